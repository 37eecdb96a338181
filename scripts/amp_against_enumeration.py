"""SK generated with the TAP/AMP score against the exact (enumeration) score and the exact law, at N ≤ 20 and β
around and above 1: how much of AMP's failure in the spin-glass phase is there at sizes where all is exact.

For each N, β and coupling sample d (`SherringtonKirkpatrick.random(N, seed=d)`): two DDPM runs (OU T = 3 → 0.01, log
spacing, the same key, so the same noise) with the AMP denoiser (El Alaoui, Montanari & Sellke 2022) and with the
enumeration denoiser as the score; the configurations sign(E[s | x_{t_min}]). Their energy per spin, ⟨q²⟩ and
U₄(q) over pairs of configurations (`physics.sk_generation.generated_law`, jackknife errors) are compared with the
enumerated equilibrium law, averaged over d (error √(Σ_d err_d²)/D), and the two runs with each other: the fraction
of sites where the paired AMP and exact configurations differ (El Alaoui et al.'s n⁻¹E|s − s_alg|²/4) and the paired
differences of the three observables (`physics.sk_generation.generated_law_difference`: a joint jackknife over the
pairs of configurations, so that the noise the two runs share cancels).

    .venv/bin/python scripts/amp_against_enumeration.py --sizes 12 16 --betas 0.5 1.0 1.2 1.5 --num-disorder 8
"""
from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from statphys.models.equilibrium import equilibrium
from statphys.models.sk import SherringtonKirkpatrick
from statphys.paper.formatting import format_plain
from statphys.physics import disorder as dis
from statphys.physics import sk_generation as skg
from statphys.physics.amp import AMPDenoiser
from statphys.physics.schedules import make_schedule
from statphys.physics.scores import ExactScore
from statphys.physics.trajectory import reverse_sample

jax.config.update("jax_enable_x64", True)

OBSERVABLES = {"energy": "E/N", "q2": "<q^2>", "binder": "U4(q)"}


def generated_spins(key, denoiser, schedule, num_steps, batch):
    """sign(E[s | x_{t_min}]) of a DDPM run (log spacing) with ``denoiser``'s posterior mean as the score."""
    out = reverse_sample(key, ExactScore(denoiser, schedule), schedule, num_steps=num_steps, batch=batch,
                         n=denoiser.n, sampler="ddpm", spacing="log")
    return np.sign(np.asarray(out.denoised))


def exact_law(target):
    """Enumerated E/N, ⟨q²⟩ and U₄(q) of the target."""
    eq = equilibrium(target)
    overlaps = dis.exact_replica_overlap_statistics(eq.q_values, eq.q_law, target.n)
    return {"energy": float(eq.energy), "q2": float(overlaps["q2"]), "binder": float(overlaps["binder"])}


def compare(n, beta, num_disorder, num_steps, batch, seed=0):
    """Rows {score, observable: (generated − exact, error)}, with ("paired", observable): the AMP run's value minus the
    exact-score run's, configuration by configuration (the same key, so the same noise: joint jackknife error, far
    below the unpaired errors where few sites differ), and the mean fraction of differing sites."""
    schedule = make_schedule("ou", T=3.0, t_min=0.01)
    differences = {score: {name: [] for name in OBSERVABLES} for score in ("amp", "exact")}
    differences["paired"] = {name: [] for name in OBSERVABLES}
    flipped = []
    for d in range(num_disorder):
        target = SherringtonKirkpatrick(SherringtonKirkpatrick.random(n, 1.0, seed=d).couplings, beta)
        key = jax.random.fold_in(jax.random.key(seed), 1000 * n + d)
        spins = {"amp": generated_spins(key, AMPDenoiser.from_target(target), schedule, num_steps, batch),
                 "exact": generated_spins(key, target, schedule, num_steps, batch)}
        truth, couplings = exact_law(target), np.asarray(target.couplings)
        for score, s in spins.items():
            law = skg.generated_law(s, couplings)
            for name in OBSERVABLES:
                differences[score][name].append((law[name].value - truth[name], law[name].error))
        paired = skg.generated_law_difference(spins["amp"], spins["exact"], couplings)
        for name in OBSERVABLES:
            differences["paired"][name].append((paired[name].value, paired[name].error))
        flipped.append(np.mean(spins["amp"] != spins["exact"]))
    summary = {}
    for score, by_name in differences.items():
        for name, pairs in by_name.items():
            values, errors = np.array(pairs).T
            summary[score, name] = (values.mean(), np.sqrt(np.sum(errors**2)) / len(values))
    return summary, float(np.mean(flipped))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[12, 16])
    parser.add_argument("--betas", type=float, nargs="+", default=[0.5, 1.0, 1.2, 1.5])
    parser.add_argument("--num-disorder", type=int, default=8)
    parser.add_argument("--num-steps", type=int, default=100)
    parser.add_argument("--batch", type=int, default=1024)
    args = parser.parse_args(argv)
    if max(args.sizes) > 20:
        parser.error("the exact score enumerates 2^N states: N <= 20")
    header = (["N", "β", "sites AMP ≠ exact"] + [f"{label} {score} − exact law" for score in ("AMP", "exact score")
                                                  for label in OBSERVABLES.values()]
              + [f"{label} AMP − exact score, paired" for label in OBSERVABLES.values()])
    print("| " + " | ".join(header) + " |\n|" + "---|" * len(header), flush=True)
    for n in args.sizes:
        for beta in args.betas:
            start = time.perf_counter()
            summary, flipped = compare(n, beta, args.num_disorder, args.num_steps, args.batch)
            cells = [f"{format_plain(value, error)} ({value / error:+.1f})"
                     for score in ("amp", "exact") for value, error in (summary[score, name] for name in OBSERVABLES)]
            for name in OBSERVABLES:
                value, error = summary["paired", name]
                cells.append(f"{format_plain(value, error)} ({value / error:+.1f})" if error > 0
                             else f"{value:+.4f} (all equal)")
            seconds = time.perf_counter() - start
            print(f"| {n} | {beta} | {flipped:.4f} | " + " | ".join(cells) + f" |  <!-- {seconds:.0f} s -->",
                  flush=True)


if __name__ == "__main__":
    main()
