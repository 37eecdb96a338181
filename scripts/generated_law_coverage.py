"""Do the error bars of a generated law cover? ``--runs`` generations with the Monte-Carlo score
(`physics.sk_generation.mc_replica_generation`) of one Hopfield sample, each with its own keys; the spread of the
run means of E/N, ⟨Σ_μ m_μ²⟩, ⟨q²⟩, U₄(q) and ⟨max |m|⟩ (`physics.sk_generation.generated_law`) against the mean of
their delete-one jackknife errors. A ratio near 1 means one run's error bar is honest; ≈ 2 means runs scatter twice
as far. Each run is also compared with the exact law of the patterns (`models.hopfield_equilibrium`: E/N, ⟨Σ m²⟩,
⟨q²⟩ from the quadrature, U₄ and ⟨max |m|⟩ from 2 × 100000 independent configurations): mean z (a bias, in units of
one run's error), mean z² and max |z| over the runs. With ``--exact`` the B configurations of each run are drawn
independently from the exact law (`equilibrium_samples`) instead of generated: the estimator's own coverage.

    python scripts/generated_law_coverage.py --n 32 --runs 30 --steps 60 --sweeps 8 --rungs 8
    python scripts/generated_law_coverage.py --n 256 --runs 12 --batch 32 --steps 100 --sweeps 48 --rungs 16 \
        --burn-in 1000 --seed 1      # the validation's setting, on its second pattern draw
    python scripts/generated_law_coverage.py --n 512 --patterns 5 --runs 1000 --exact --seed 0 1   # the estimator

Written for the Hopfield K = 3, N = 256 validation (docs/spin_glasses_at_scale.md, "the scatter between keys"):
OU T = 3 → t_min = 0.01, ddpm, log spacing, 4 chains per particle (``--chains``), posterior ladder β … 0.3.
"""

from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from statphys.models.hopfield import Hopfield
from statphys.models.hopfield_equilibrium import equilibrium_samples, exact_observables
from statphys.paper.formatting import format_plain
from statphys.physics import make_schedule
from statphys.physics import montecarlo as mc
from statphys.physics import sk_generation as skg
from statphys.physics.mc_score import tempering_ladder

OBSERVABLES = {"energy": "E/N", "mattis2": "<sum m^2>", "q2": "<q^2>", "binder": "U4(q)", "mattis_max": "<max |m|>"}


def exact_reference(patterns, beta):
    """The exact law of the patterns and its values, observable → value (`exact_observables`; U₄ and ⟨max |m|⟩ from
    2 × 100000 independent configurations, standard errors 0.002–0.004 and ≤ 2e-4 at N = 64–1024)."""
    law, values = exact_observables(patterns, beta, num_pairs=100_000, seed=12345)
    return law, {name: values[name][0] for name in OBSERVABLES}


def coverage(values, errors, exact):
    """Per observable (columns of values/errors (R, O) in OBSERVABLES order): run-to-run sd / mean jackknife error,
    and the z of the runs against the exact values: mean z, mean z², max |z|, the fractions of |z| > 2 and > 3
    (0.046 and 0.0027 for a standard normal), and the z themselves."""
    z = (values - np.array([exact[name] for name in OBSERVABLES])) / errors
    return {name: {"mean": values[:, i].mean(), "ratio": values[:, i].std(ddof=1) / errors[:, i].mean(),
                   "mean_z": z[:, i].mean(), "mean_z2": np.mean(z[:, i] ** 2), "max_z": np.max(np.abs(z[:, i])),
                   "beyond_2": np.mean(np.abs(z[:, i]) > 2), "beyond_3": np.mean(np.abs(z[:, i]) > 3), "z": z[:, i]}
            for i, name in enumerate(OBSERVABLES)}


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
    parser.add_argument("--chains", type=int, default=4, help="Monte-Carlo chains per particle (the score's average)")
    parser.add_argument("--seed", type=int, nargs="+", default=[0],
                        help="disorder seeds of the patterns; with several, also their average as the validation takes it")
    parser.add_argument("--first-key", type=int, default=0,
                        help="run r of the i-th draw uses jax.random.key(first_key + r), folded in with i for i > 0 "
                             "(with --exact: numpy seed first_key + r + 1000000 i)")
    parser.add_argument("--exact", action="store_true",
                        help="draw each run's configurations from the exact law instead of generating them")
    args = parser.parse_args(argv)
    how = ("independent configurations of the exact law" if args.exact else
           f"{args.steps} steps, {args.chains} chains x {args.rungs} rungs x {args.sweeps} sweeps")
    per_draw = []
    for index, seed in enumerate(args.seed):
        start = time.time()
        values, errors, exact = draw_runs(args, index, seed)
        print(f"Hopfield K = {args.patterns}, N = {args.n}, beta = {args.beta}, pattern draw {seed}: {args.runs} runs "
              f"x {args.batch} configurations, {how} ({time.time() - start:.0f} s)")
        result = report(values, errors, exact)
        per_draw.append((values, errors, exact))
    if len(per_draw) > 1:
        print(f"Averaged over the {len(per_draw)} pattern draws (the validation's table; errors √(Σ_d err_d²)/D):")
        result = report(np.mean([v for v, _, _ in per_draw], 0),
                        np.sqrt(np.sum([e**2 for _, e, _ in per_draw], 0)) / len(per_draw),
                        {name: np.mean([x[name] for _, _, x in per_draw]) for name in OBSERVABLES})
    return result


def draw_runs(args, index, seed):
    """``args.runs`` laws of B configurations of pattern draw ``seed`` (generated, or exact with ``--exact``):
    values and errors (R, O) and the exact values."""
    patterns = Hopfield.random(args.n, args.patterns, 1.0, seed=seed).patterns
    couplings, field, beta = skg.pairwise_form(Hopfield(patterns, args.beta))
    xi = np.asarray(patterns, float)
    kernel = mc.PatternCouplings(xi.T / np.sqrt(args.n))
    schedule = make_schedule("ou", T=3.0, t_min=0.01)
    ladder = tempering_ladder(args.beta, 0.3, args.rungs)
    law, exact = exact_reference(xi, args.beta)
    values, errors = [], []
    start = time.time()
    for run in range(args.runs):
        if args.exact:
            spins = equilibrium_samples(xi, law, args.batch, seed=args.first_key + run + 1_000_000 * index)
        else:
            key = jax.random.key(args.first_key + run)
            spins = skg.mc_replica_generation(key if index == 0 else jax.random.fold_in(key, index), kernel, field,
                                              beta, schedule, num_steps=args.steps, batch=args.batch,
                                              chains_per_x=args.chains, sweeps_per_step=args.sweeps,
                                              burn_in=args.burn_in, ladder=ladder).generated
        law_run = skg.generated_law(spins, couplings, xi)
        values.append([law_run[name].value for name in OBSERVABLES])
        errors.append([law_run[name].error for name in OBSERVABLES])
        if not args.exact:
            print(f"run {run + 1}/{args.runs} ({time.time() - start:.0f} s): " + ", ".join(
                f"{label} {format_plain(law_run[name].value, law_run[name].error)}"
                for name, label in OBSERVABLES.items()), flush=True)
    return np.array(values), np.array(errors), exact


def report(values, errors, exact):
    """Print and return `coverage` of the runs."""
    result = coverage(values, errors, exact)
    for name, label in OBSERVABLES.items():
        c = result[name]
        print(f"{label:>10}: mean {c['mean']:.4f} (exact {exact[name]:.4f}), run-to-run sd / mean jackknife error "
              f"{c['ratio']:.2f}; against the exact value: mean z {c['mean_z']:+.2f}, mean z^2 {c['mean_z2']:.2f}, "
              f"max |z| {c['max_z']:.2f}, |z| > 2 in {c['beyond_2']:.3f}, |z| > 3 in {c['beyond_3']:.3f}")
    return result


if __name__ == "__main__":
    main()
