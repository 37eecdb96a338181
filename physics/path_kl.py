"""Path KL between the forward (noising) and generative path laws, by Girsanov's theorem.

Generation with a score s_θ from N(0, σ_T² I) (Franzese et al., arXiv 2206.05173, eq. 5):
    KL(forward path law ‖ generative path law) = KL(p_T ‖ N(0, σ_T² I)) + ∫ ½ g² E_{p_t}‖s_θ − ∇ln p_t‖² dt.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .forward import noise
from .path_entropy import check_closed_form
from .schedules import Schedule

Array = Any


class PathKL(NamedTuple):
    """KL(forward ‖ generative) = prior + score_gap, each with a Monte-Carlo standard error."""

    prior: float
    prior_err: float
    score_gap: float
    score_gap_err: float

    @property
    def total(self) -> float:
        return self.prior + self.score_gap

    @property
    def total_err(self) -> float:
        return float(np.hypot(self.prior_err, self.score_gap_err))


def path_kl(key: Array, target: Any, schedule: Schedule, score_fn: Callable[[Array, Array], Array], *,
            num_samples: int, num_nodes: int = 32, t_min: float | None = None) -> PathKL:
    """Girsanov path KL: KL(p_T ‖ N(0, σ_T² I)) + ∫_{t_min}^T ½ g² E_{p_t}‖s_θ − ∇ln p_t‖² dt.

    Both terms by Monte Carlo over exact samples of p_t; the time integral by Gauss–Legendre (num_nodes).
    score_fn(x, t) is the approximate score s_θ; the exact one is the target's marginal_score.
    """
    check_closed_form(target)
    t_min = schedule.t_min if t_min is None else float(t_min)
    T = schedule.T
    if not np.isfinite(float(schedule.drift(T))):
        raise ValueError(f"schedule {schedule.name!r} has an infinite drift at T; the path KL needs α_T > 0")

    def sample(k, t):
        x0 = target.sample(jax.random.fold_in(k, 0), num_samples)
        return noise(jax.random.fold_in(k, 1), x0, schedule, t)

    xT = sample(jax.random.fold_in(key, num_nodes), T)
    sT = schedule.sigma(T)
    log_prior = -0.5 * jnp.sum(xT**2, axis=-1) / sT**2 - 0.5 * target.n * jnp.log(2 * jnp.pi * sT**2)
    d = np.asarray(target.marginal_log_prob(xT, schedule.alpha(T), sT) - log_prior)
    nodes, weights = np.polynomial.legendre.leggauss(num_nodes)
    ts = 0.5 * (T - t_min) * nodes + 0.5 * (T + t_min)
    ws = 0.5 * (T - t_min) * weights
    means, errs = [], []
    for i, t in enumerate(ts):
        x = sample(jax.random.fold_in(key, i), t)
        diff = score_fn(x, t) - target.marginal_score(x, schedule.alpha(t), schedule.sigma(t))
        vals = np.asarray(0.5 * schedule.diffusion2(t) * jnp.sum(diff**2, axis=-1))
        means.append(vals.mean())
        errs.append(vals.std(ddof=1) / np.sqrt(num_samples))
    return PathKL(float(d.mean()), float(d.std(ddof=1) / np.sqrt(d.size)), float(np.dot(ws, means)),
                  float(np.sqrt(np.sum((ws * np.asarray(errs)) ** 2))))
