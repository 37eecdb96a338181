"""How much of the lag of generation behind the forward law is the time step: SK at β < 1 generated with the AMP
score (no Monte-Carlo chains) at several numbers of DDPM steps (log spacing, as `spin_glass_scaling`), the
disorder-averaged q₁₂ = |D_AMP(x_t)|²/N compared at the times the coarsest grid shares with the others (a geometric
grid of k·K steps contains the K-step grid), and against the replica-symmetric theory q(λ) of
`physics.replica_symmetric` (exact as N → ∞ for β < 1).

    .venv/bin/python scripts/amp_step_lag.py --sizes 64 128 --steps 100 200 400 --num-disorder 32

Prints, per N and number of steps, [q₁₂(K steps) − q₁₂(finest)] with its error over disorder samples (independent
keys per run) at λ = α²/σ² ≈ 0.3, 1, 3, 10, and the same against the theory.
"""
from __future__ import annotations

import argparse
import time

import jax
import numpy as np

from statphys.models.sk import SherringtonKirkpatrick
from statphys.physics import replica_symmetric as rs
from statphys.physics.amp import AMPDenoiser
from statphys.physics.schedules import make_schedule, noise_levels
from statphys.physics.scores import ExactScore
from statphys.physics.trajectory import reverse_sample

jax.config.update("jax_enable_x64", True)


def q12_along_generation(key, couplings, beta, schedule, num_steps, batch):
    """q₁₂(t) = ⟨|D_AMP(x_t)|²⟩/N over the batch, at every step of a DDPM run with the AMP score."""
    n = couplings.shape[0]
    run = reverse_sample(key, ExactScore(AMPDenoiser(couplings, beta), schedule), schedule, num_steps=num_steps,
                         batch=batch, n=n, sampler="ddpm", spacing="log", record_every=1,
                         observables={"q12": lambda x, denoised, t: (denoised * denoised).sum(-1) / n})
    return np.asarray(run.times), np.asarray(run.observables["q12"]).mean(-1)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--steps", type=int, nargs="+", default=[100, 200, 400])
    parser.add_argument("--beta", type=float, default=0.5)
    parser.add_argument("--num-disorder", type=int, default=32)
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args(argv)
    steps = sorted(args.steps)
    if any(k % steps[0] for k in steps):
        parser.error("every number of steps must be a multiple of the smallest")
    schedule = make_schedule("ou", T=3.0, t_min=0.01)
    for n in args.sizes:
        start = time.perf_counter()
        curves = {}
        for k in steps:
            runs = []
            for d in range(args.num_disorder):
                couplings = SherringtonKirkpatrick.random(n, 1.0, seed=d).couplings
                key = jax.random.fold_in(jax.random.key(k), d)
                times, q12 = q12_along_generation(key, couplings, args.beta, schedule, k, args.batch)
                runs.append(q12[:: k // steps[0]])
            curves[k] = np.stack(runs)  # (D, steps[0] + 1)
        coarse_times = times[:: steps[-1] // steps[0]]
        alpha, sigma = (np.asarray(v) for v in noise_levels(schedule, coarse_times))
        lam = alpha**2 / sigma**2
        theory = rs.rs_overlap(args.beta, lam)
        at = [int(np.argmin(np.abs(lam - target))) for target in (0.3, 1.0, 3.0, 10.0)]
        print(f"N = {n}, beta = {args.beta}, {args.num_disorder} samples x {args.batch} particles "
              f"({time.perf_counter() - start:.0f} s)")
        finest = curves[steps[-1]]
        for k in steps:
            gap = curves[k] - finest
            mean, err = gap.mean(0), gap.std(0, ddof=1) / np.sqrt(gap.shape[0])
            vs_theory = curves[k].mean(0) - theory
            vs_err = curves[k].std(0, ddof=1) / np.sqrt(gap.shape[0])
            print(f"  {k:4d} steps: " + "  ".join(
                f"lam={lam[i]:.2g}: - {steps[-1]} steps {mean[i]:+.4f} ± {err[i]:.4f}, - theory {vs_theory[i]:+.4f} "
                f"± {vs_err[i]:.4f}" for i in at))


if __name__ == "__main__":
    main()
