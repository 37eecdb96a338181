"""Discretisation error of Euler–Maruyama against the exact path law (`physics.exact_paths`), Curie–Weiss.

    python benchmarks/euler_maruyama_bias.py [--n 256] [--batch 4096] [--steps 200 400 800]

Curie–Weiss N = n, β = 1.2, OU T = 5, t_min = 1e-3, start N(0, σ_T² I), float32, exact score. For the exact
path sampler (the continuous-time law at the 201 times of a 200-step grid) and for `reverse_sample` with
Euler–Maruyama at each step count: ⟨(Σᵢxᵢ)²⟩/N of the state at t_min with its standard error, the wall time of
the call (compilation included), and for Euler–Maruyama the difference from the exact sampler in standard errors.
For reference the value from the exact p_T, α²N⟨m²⟩ + σ² at t_min (exact P(M); the prior differs from p_T by
O(e^{−2T})). A first-order scheme's difference halves when its steps double.
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models import CurieWeiss
from statphys.physics.exact_paths import exact_reverse_paths
from statphys.physics.schedules import make_schedule
from statphys.physics.scores import ExactScore
from statphys.physics.trajectory import reverse_sample


def _statistic(x, n):
    values = np.asarray(x, np.float64).sum(1) ** 2 / n
    return values.mean(), values.std() / np.sqrt(len(values))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--batch", type=int, default=4096)
    parser.add_argument("--steps", type=int, nargs="+", default=[200, 400, 800])
    args = parser.parse_args()
    n, batch = args.n, args.batch
    target = CurieWeiss(n, 1.2)
    schedule = make_schedule("ou", T=5.0, t_min=1e-3)
    m, p = target.magnetization_law()
    a, s = float(schedule.alpha(schedule.t_min)), float(schedule.sigma(schedule.t_min))
    print(f"Curie–Weiss N = {n}, β = 1.2, batch {batch}, OU T = 5, t_min = 1e-3, float32; "
          f"from the exact p_T: {a**2 * n * np.sum(p * m**2) + s**2:.3f}")
    print("| sampler | ⟨(Σx)²⟩/N at t_min | wall (s) | minus exact paths (standard errors) |")
    print("|---|---|---|---|")
    started = time.perf_counter()
    exact = exact_reverse_paths(jax.random.PRNGKey(11), target, schedule, num_steps=200, batch=batch, record_every=1,
                                dtype=jnp.float32).x
    ref, ref_err = _statistic(exact, n)
    print(f"| exact_reverse_paths (continuous-time law) | {ref:.3f} ± {ref_err:.3f} | "
          f"{time.perf_counter() - started:.1f} | — |", flush=True)
    for steps in args.steps:
        started = time.perf_counter()
        x = reverse_sample(jax.random.PRNGKey(12 + steps), ExactScore(target, schedule), schedule, num_steps=steps,
                           batch=batch, n=n, dtype=jnp.float32).x
        value, err = _statistic(x, n)
        print(f"| Euler–Maruyama, {steps} steps | {value:.3f} ± {err:.3f} | {time.perf_counter() - started:.1f} | "
              f"{(value - ref) / np.hypot(err, ref_err):+.1f} |", flush=True)


if __name__ == "__main__":
    main()
