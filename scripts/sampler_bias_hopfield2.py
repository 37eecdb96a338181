"""The bias of a reverse sampler alone, at any N: Hopfield with K = 2 patterns has an exact score at every N (the
two-group split of `models.hopfield`), and an exact law of its Mattis overlaps (the two groups' independent
Curie–Weiss magnetisation laws, m_{1,2} = (N_A m_A ± N_B m_B)/N). Generated spins
sign(x_{t_min}) of ``--paths`` reverse paths (float64) against that law: ⟨Σ_μ m_μ²⟩ and ⟨max_μ |m_μ|⟩, with standard
errors over the paths.

    python scripts/sampler_bias_hopfield2.py --n 256 --steps 25 50 100 200 400 [--sampler ddpm] [--beta 1.5]

Written for the Hopfield K = 3, N = 256 validation (docs/spin_glasses_at_scale.md, "the time step"): OU T = 3 →
t_min = 0.01, log spacing, as there.
"""

from __future__ import annotations

import argparse
import math
import time

import jax
import numpy as np

from statphys.models.curie_weiss import CurieWeiss
from statphys.models.hopfield import Hopfield, group_beta
from statphys.physics import ExactScore, make_schedule, reverse_sample


def exact_overlaps(target: Hopfield) -> np.ndarray:
    """(⟨Σ_μ m_μ²⟩, ⟨max_μ |m_μ|⟩) of a K = 2 Hopfield model with h = 0, exactly: the two groups are independent
    Curie–Weiss models (`models.hopfield.group_beta`, `CurieWeiss.magnetization_law`), m_{1,2} = (N_A m_A ± N_B m_B)/N;
    ⟨Σ m²⟩ is `Hopfield.overlap_moments`."""
    n, (size_a, size_b) = target.n, target.group_sizes
    (m_a, p_a), (m_b, p_b) = (CurieWeiss(size, group_beta(float(target.beta), size, n)).magnetization_law()
                              for size in (size_a, size_b))
    sum_a, sum_b = size_a * m_a[:, None], size_b * m_b[None, :]
    largest = np.maximum(np.abs(sum_a + sum_b), np.abs(sum_a - sum_b)) / n
    return np.array([target.overlap_moments()[0], np.sum(p_a[:, None] * p_b[None, :] * largest)])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--beta", type=float, default=1.5)
    parser.add_argument("--paths", type=int, default=4000)
    parser.add_argument("--steps", type=int, nargs="+", default=[50, 100, 200])
    parser.add_argument("--sampler", default="ddpm")
    parser.add_argument("--seed", type=int, default=0, help="disorder seed of the patterns")
    args = parser.parse_args(argv)
    jax.config.update("jax_enable_x64", True)
    target = Hopfield.random(args.n, 2, args.beta, seed=args.seed)
    patterns = np.asarray(target.patterns, float)
    exact = exact_overlaps(target)
    print(f"Hopfield K = 2, N = {args.n}, beta = {args.beta}, groups {target.group_sizes}: exact <sum m^2> "
          f"{exact[0]:.5f}, <max|m|> {exact[1]:.5f}", flush=True)
    schedule = make_schedule("ou", T=3.0, t_min=0.01)
    score = ExactScore(target, schedule)
    for steps in args.steps:
        start = time.time()
        run = reverse_sample(jax.random.PRNGKey(steps), score, schedule, num_steps=steps, batch=args.paths, n=args.n,
                             sampler=args.sampler, spacing="log")
        m = np.sign(np.asarray(run.x)) @ patterns.T / args.n
        values = np.stack([np.sum(m**2, 1), np.max(np.abs(m), 1)], 1)
        diff, err = values.mean(0) - exact, values.std(0, ddof=1) / math.sqrt(args.paths)
        print(f"{args.sampler} {steps:4d} steps: <sum m^2> - exact {diff[0]:+.4f} ± {err[0]:.4f} (z {diff[0] / err[0]:+.1f}), "
              f"<max|m|> - exact {diff[1]:+.4f} ± {err[1]:.4f} (z {diff[1] / err[1]:+.1f})  [{time.time() - start:.0f} s]",
              flush=True)


if __name__ == "__main__":
    main()
