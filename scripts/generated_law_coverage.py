"""Do the error bars of a generated law cover? ``--runs`` generations with the Monte-Carlo score
(`physics.sk_generation.mc_replica_generation`) of one Hopfield sample, each with its own keys; the spread of the
run means of E/N, ⟨Σ_μ m_μ²⟩ and ⟨q²⟩ (`physics.sk_generation.generated_law`) against the mean of their
delete-one jackknife errors. A ratio near 1 means one run's error bar is honest; ≈ 2 means runs scatter twice as far.

    python scripts/generated_law_coverage.py --n 32 --runs 30 --steps 60 --sweeps 8 --rungs 8
    python scripts/generated_law_coverage.py --n 256 --runs 12 --batch 32 --steps 100 --sweeps 48 --rungs 16 \
        --burn-in 1000 --seed 1      # the validation's setting, on its second pattern draw

Written for the Hopfield K = 3, N = 256 validation (docs/spin_glasses_at_scale.md, "the scatter between keys"):
OU T = 3 → t_min = 0.01, ddpm, log spacing, 4 chains per particle, posterior ladder β … 0.3.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from statphys.models.hopfield import Hopfield
from statphys.paper.formatting import format_plain
from statphys.physics import make_schedule
from statphys.physics import montecarlo as mc
from statphys.physics import sk_generation as skg
from statphys.physics.mc_score import tempering_ladder

OBSERVABLES = {"energy": "E/N", "mattis2": "<sum m^2>", "q2": "<q^2>"}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=32)
    parser.add_argument("--patterns", type=int, default=3)
    parser.add_argument("--beta", type=float, default=1.5)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--sweeps", type=int, default=8, help="sweeps per step and rung")
    parser.add_argument("--rungs", type=int, default=8, help="posterior ladder beta ... 0.3")
    parser.add_argument("--burn-in", type=int, default=200, help="posterior sweeps before the first step")
    parser.add_argument("--seed", type=int, default=0, help="disorder seed of the patterns")
    parser.add_argument("--first-key", type=int, default=0, help="run r uses jax.random.key(first_key + r)")
    args = parser.parse_args(argv)
    patterns = Hopfield.random(args.n, args.patterns, 1.0, seed=args.seed).patterns
    couplings, field, beta = skg.pairwise_form(Hopfield(patterns, args.beta))
    xi = np.asarray(patterns, float)
    kernel = mc.PatternCouplings(xi.T / np.sqrt(args.n))
    schedule = make_schedule("ou", T=3.0, t_min=0.01)
    ladder = tempering_ladder(args.beta, 0.3, args.rungs)
    values, errors = [], []
    start = time.time()
    for run in range(args.runs):
        result = skg.mc_replica_generation(jax.random.key(args.first_key + run), kernel, field, beta, schedule,
                                           num_steps=args.steps, batch=args.batch, chains_per_x=4,
                                           sweeps_per_step=args.sweeps, burn_in=args.burn_in, ladder=ladder)
        law = skg.generated_law(result.generated, couplings, xi)
        values.append([law[name].value for name in OBSERVABLES])
        errors.append([law[name].error for name in OBSERVABLES])
        print(f"run {run + 1}/{args.runs} ({time.time() - start:.0f} s): " + ", ".join(
            f"{label} {format_plain(law[name].value, law[name].error)}" for name, label in OBSERVABLES.items()),
              flush=True)
    values, errors = np.array(values), np.array(errors)
    print(f"Hopfield K = {args.patterns}, N = {args.n}, beta = {args.beta}: {args.runs} runs x {args.batch} "
          f"configurations, {args.steps} steps, {args.rungs} rungs x {args.sweeps} sweeps ({time.time() - start:.0f} s)")
    for i, label in enumerate(OBSERVABLES.values()):
        spread, quoted = values[:, i].std(ddof=1), errors[:, i].mean()
        print(f"{label:>10}: mean {values[:, i].mean():.4f}, run-to-run sd {spread:.4f}, mean jackknife error "
              f"{quoted:.4f}, ratio {spread / quoted:.2f}")


if __name__ == "__main__":
    main()
