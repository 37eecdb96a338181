"""The diffusion-time trade-off of Franzese et al. (arXiv 2206.05173).

Their bound (PHYSICS.md, seed 001):  E log p^{θ,T} ≥ E log p_data − G(s_θ, T) − KL(p_T ‖ p_noise),
    G(s_θ, T) = ½ ∫_{t_min}^T g(t)² E_{p_t} ‖s_θ(x, t) − ∇ ln p_t(x)‖² dt.
KL(p_T ‖ N(0, I)) falls with T (for OU as e^{−2T}); G grows with T for an imperfect score; with the exact
score G = 0 and the cost of a larger T at a fixed number of steps is the discretisation error, measured
here exactly on Gaussian data (`physics.convergence.gaussian_error`, init="prior": prior mismatch included).
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp
import numpy as np

from models.gaussian import Gaussian, GaussianMixture

from .convergence import gaussian_kl
from .learned import score_error
from .schedules import Schedule

Array = Any


def prior_kl(target: Any, schedule: Schedule, t: float | None = None, grid: int = 20001) -> float:
    """KL(p_t ‖ N(0, I)) at t (default schedule.T): closed form for `Gaussian`, quadrature for a 1-D mixture."""
    t = schedule.T if t is None else t
    alpha, sigma = schedule.alpha(t), schedule.sigma(t)
    if isinstance(target, Gaussian):
        g = target.marginal(alpha, sigma)
        return gaussian_kl(g.mean, g.cov, np.zeros(target.n), np.eye(target.n))
    if isinstance(target, GaussianMixture) and target.n == 1:
        half = 12.0 + float(jnp.max(jnp.abs(target.means))) + 12.0 * float(jnp.sqrt(jnp.max(target.variances)))
        x = np.linspace(-half, half, grid)
        logp = np.asarray(target.marginal_log_prob(jnp.asarray(x)[:, None], alpha, sigma))
        logq = -0.5 * x**2 - 0.5 * np.log(2 * np.pi)
        return float(np.trapezoid(np.exp(logp) * (logp - logq), x))
    raise ValueError(f"prior_kl needs a Gaussian or a 1-D GaussianMixture target, got {type(target).__name__}")


def score_term(key: Array, score_fn: Any, target: Any, schedule: Schedule, num_times: int = 24, num: int = 2048) -> float:
    """G = ½ ∫_{t_min}^T g² E‖s_θ − ∇ ln p_t‖² dt, trapezoid rule on a log-spaced grid (MC inside, `num` samples)."""
    times = jnp.asarray(np.geomspace(schedule.t_min, schedule.T, num_times))
    err = score_error(key, score_fn, target, schedule, times, num) / schedule.sigma(times) ** 2
    return float(0.5 * np.trapezoid(np.asarray(schedule.diffusion2(times) * err), np.asarray(times)))


def best_time(times: Array, values: Array) -> float:
    """The T of the smallest value (grid minimum; the caller chooses the grid)."""
    values = np.asarray(values, dtype=float)
    if np.asarray(times).shape != values.shape or values.size == 0:
        raise ValueError("times and values must be non-empty and of equal shape")
    return float(np.asarray(times)[int(np.nanargmin(values))])
