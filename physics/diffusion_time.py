"""The diffusion-time trade-off of Franzese et al. (arXiv 2206.05173).

Their bound (Franzese et al., arXiv 2206.05173):  E log p^{θ,T} ≥ E log p_data − G(s_θ, T) − KL(p_T ‖ p_noise),
    G(s_θ, T) = ½ ∫_{t_min}^T g(t)² E_{p_t} ‖s_θ(x, t) − ∇ ln p_t(x)‖² dt.
KL(p_T ‖ p_noise) falls with T; G does not, so the bound has a best T. With the exact score G = 0 and the cost
of a larger T at a fixed number of steps is the discretisation error, measured exactly on Gaussian data
(`physics.convergence.gaussian_error`, init="prior": prior mismatch included).

Schedules. Their VP SDE has β(t) = β₀ + (β₁ − β₀) t, fixed in t and truncated at T (`franzese_vp`); OU is
β ≡ 2. For any VP schedule p_t is the law of √ᾱ(t) x₀ + √(1 − ᾱ(t)) ξ, so KL(p_T ‖ ·) depends on T only
through ᾱ(T), and with g² dt = −d ln ᾱ,
    G = ½ ∫_{ᾱ(T)}^{ᾱ(t_min)} E_{p(ᾱ)} ‖s_θ − ∇ ln p‖² d ln ᾱ,
so two VP schedules are compared at equal ᾱ(T) (`vp_schedule_for_abar`).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import numpy as np

from statphys.models.base import GaussianMarginal, mixture_components

from .convergence import gaussian_kl
from .learned import squared_score_errors
from .schedules import Schedule, make_schedule
from .scores import as_pytree_callable

Array = Any
DIFFUSION_SCHEDULES = ("ou", "vp_linear")


def prior_kl(target: Any, schedule: Schedule, t: float | None = None, grid: int = 20001,
             prior_variance: float = 1.0) -> float:
    """KL(p_t ‖ N(0, v I)) at t (default schedule.T), v = prior_variance (1: Franzese et al.'s p_noise; the
    samplers of this package start from v = σ_T²): closed form for `Gaussian`, quadrature for a 1-D mixture."""
    t = schedule.T if t is None else t
    if not (prior_variance > 0 and math.isfinite(prior_variance)):
        raise ValueError(f"prior_variance must be > 0, got {prior_variance!r}")
    if isinstance(target, GaussianMarginal):
        mean, cov = _gaussian_marginal(target, schedule, t)
        return gaussian_kl(mean, cov, np.zeros(target.n), prior_variance * np.eye(target.n))
    if target.n != 1:
        raise ValueError(f"prior_kl needs a Gaussian target or a 1-D mixture, got n = {target.n}")
    _, means, variances = mixture_components(target, "prior_kl")
    spread = max(float(np.sqrt(np.max(variances))), math.sqrt(prior_variance), 1.0)
    half = 12.0 + float(np.max(np.abs(means))) + 12.0 * spread
    x = np.linspace(-half, half, grid)
    logp = np.asarray(_marginal_log_prob(target, schedule, t, x[:, None]))
    logq = -0.5 * x**2 / prior_variance - 0.5 * np.log(2 * np.pi * prior_variance)
    return float(np.trapezoid(np.exp(logp) * (logp - logq), x))


@jax.jit
def _gaussian_marginal(target, schedule, t):
    """(mean (n,), cov (n, n)) of p_t for a Gaussian target; target and schedule are pytree arguments."""
    g = target.marginal(schedule.alpha(t), schedule.sigma(t))
    return g.mean, g.cov


@jax.jit
def _marginal_log_prob(target, schedule, t, x):
    """ln p_t(x) at x (G, n); target and schedule are pytree arguments."""
    return target.marginal_log_prob(x, schedule.alpha(t), schedule.sigma(t))


def franzese_vp(T: float, *, beta_min: float = 0.1, beta_max: float = 20.0, t_min: float = 1e-3) -> Schedule:
    """VP schedule with β(t) = β_min + (β_max − β_min) t on [0, T] (Franzese et al., arXiv 2206.05173): β(t)
    does not depend on T, which only truncates it. ᾱ(t) = exp(−β_min t − ½(β_max − β_min) t²)."""
    return make_schedule("vp_linear", T=T, t_min=t_min, beta_min=beta_min,
                         beta_max=beta_min + (beta_max - beta_min) * T)


def time_for_abar(name: str, abar: float, *, beta_min: float = 0.1, beta_max: float = 20.0) -> float:
    """The time t with ᾱ(t) = abar: OU t = −½ ln ᾱ; `franzese_vp` the root of
    β_min t + ½(β_max − β_min) t² = −ln ᾱ."""
    if not 0 < abar < 1:
        raise ValueError(f"abar must be in (0, 1), got {abar!r}")
    L = -math.log(abar)
    if name == "ou":
        return 0.5 * L
    if name == "vp_linear":
        a = beta_max - beta_min
        return L / beta_min if a == 0 else (-beta_min + math.sqrt(beta_min**2 + 2 * a * L)) / a
    raise ValueError(f"unknown schedule {name!r}; choose one of {list(DIFFUSION_SCHEDULES)}")


def vp_schedule_for_abar(name: str, abar_T: float, abar_min: float, *, beta_min: float = 0.1,
                         beta_max: float = 20.0) -> Schedule:
    """OU (`ou`) or Franzese's linear VP (`vp_linear`) with ᾱ(T) = abar_T and ᾱ(t_min) = abar_min. OU is built as
    the linear VP schedule with β ≡ 2 (α = e^{−t}, σ² = 1 − e^{−2t}, f = −1, g² = 2, bit for bit those of
    `make_schedule("ou")`), so that both schedules of a sweep are one pytree class, whose fields are traced: one
    compiled function serves both."""
    if not 0 < abar_T < abar_min < 1:
        raise ValueError(f"need 0 < abar_T < abar_min < 1, got {abar_T!r}, {abar_min!r}")
    T = time_for_abar(name, abar_T, beta_min=beta_min, beta_max=beta_max)
    t_min = time_for_abar(name, abar_min, beta_min=beta_min, beta_max=beta_max)
    if name == "ou":
        beta_min = beta_max = 2.0
    return franzese_vp(T, beta_min=beta_min, beta_max=beta_max, t_min=t_min)


def score_term(key: Array, score_fn: Any, target: Any, schedule: Schedule, num_times: int = 24,
               num: int = 2048) -> tuple[float, float]:
    """G = ½ ∫_{t_min}^T g² E_{p_t}‖s_θ − ∇ ln p_t‖² dt and its Monte-Carlo standard error.

    Trapezoid rule on `num_times` log-spaced times; at each, `num` exact samples of p_t (independent keys), so
    the error is ½ (Σ_i (w_i g_i² se_i)²)^{1/2} with se_i the standard error of the mean at time i."""
    times = np.geomspace(schedule.t_min, schedule.T, num_times)
    w = np.zeros(num_times)
    w[1:] += 0.5 * np.diff(times)
    w[:-1] += 0.5 * np.diff(times)
    sq = np.asarray(squared_score_errors(key, as_pytree_callable(score_fn), target, schedule, times, num=num),
                    dtype=float)
    g2 = np.asarray(_diffusion2(schedule, times), dtype=float)
    means, ses = sq.mean(axis=1), sq.std(axis=1, ddof=1) / np.sqrt(num)
    return float(0.5 * np.sum(w * g2 * means)), float(0.5 * np.sqrt(np.sum((w * g2 * ses) ** 2)))


@jax.jit
def _diffusion2(schedule, times):
    """g(t)² at the times; the schedule is a pytree argument."""
    return schedule.diffusion2(times)


def best_time(times: Array, values: Array) -> float:
    """The T of the smallest value (grid minimum; the caller chooses the grid)."""
    values = np.asarray(values, dtype=float)
    if np.asarray(times).shape != values.shape or values.size == 0:
        raise ValueError("times and values must be non-empty and of equal shape")
    return float(np.asarray(times)[int(np.nanargmin(values))])
