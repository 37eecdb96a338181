"""Ensemble entropy rates of the forward (noising) and reverse (generative) diffusions from the probability current.

Rates at time t (Yu & Huang, arXiv 2405.11932, Sec. III B): for dx = A dt + g dW with D = g²/2 and current
velocity ν = A − D ∇ln p_t (J = ν p_t),
    entropy production π = E|ν|²/D,   medium entropy flux φ = E[A·ν]/D,   dS/dt = π − φ.
Forward process A = f x: ν = f x − ½ g² ∇ln p_t (the probability-flow velocity). Reverse process in the
generative time τ = T − t: A_R = −f x + g² ∇ln p_t, ν_R = −ν, hence π_R = π, dS_R/dτ = −dS/dt.
For data N(0, s₀² I): v_t = α² s₀² + σ², ν = (v̇/2v) x, π = n v̇²/(2 v g²) (OU: (v − 1)²/v per dimension).
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
import scipy.optimize

from .forward import noise
from .path_entropy import check_closed_form, is_pytree
from .schedules import Schedule

Array = Any


def _velocity(target, schedule, x, t):
    score = target.marginal_score(x, schedule.alpha(t), schedule.sigma(t))
    return schedule.drift(t) * x - 0.5 * schedule.diffusion2(t) * score, score


class RateEstimate(NamedTuple):
    value: float
    stderr: float


def entropy_production_rate(key: Array, target: Any, schedule: Schedule, t: float, *, num_samples: int,
                            direction: Array | None = None) -> RateEstimate:
    """π(t) = E_{p_t}|ν|²/D, ν = f x − ½ g² ∇ln p_t, D = g²/2, by Monte Carlo over exact samples of p_t.

    With a unit vector e (direction), the part carried by that mode, π_e = E_{p_t}(e·ν)²/D (e.g. the
    magnetisation mode e = 1/√N of a ferromagnet); π = Σ_e π_e over an orthonormal basis. One compiled function
    per kind of target and schedule serves every t; a target that is not a pytree (`SpinMarginal`) runs op by op.
    """
    run = _rate_samples if is_pytree(target) else _rate_samples_body
    vals = np.asarray(run(key, target, schedule, t, direction, num_samples=num_samples))
    return RateEstimate(float(vals.mean()), float(vals.std(ddof=1) / np.sqrt(num_samples)))


def _rate_samples_body(key, target, schedule, t, direction, *, num_samples):
    """|ν|²/D (direction None) or (e·ν)²/D at num_samples exact samples of p_t, (num_samples,)."""
    x0 = target.sample(jax.random.fold_in(key, 0), num_samples)
    x = noise(jax.random.fold_in(key, 1), x0, schedule, t)
    nu, _ = _velocity(target, schedule, x, t)
    sq = jnp.sum(nu**2, axis=-1) if direction is None else (nu @ jnp.asarray(direction)) ** 2
    return sq / (0.5 * schedule.diffusion2(t))


_rate_samples = jax.jit(_rate_samples_body, static_argnames=("num_samples",))


def total_entropy_production(key: Array, target: Any, schedule: Schedule, t0: float, t1: float, *,
                             num_samples: int, num_nodes: int = 32) -> RateEstimate:
    """∫_{t0}^{t1} π(t) dt by Gauss–Legendre in t (num_nodes) and Monte Carlo at each node (independent)."""
    if not t1 > t0:
        raise ValueError(f"need t1 > t0, got t0 = {t0}, t1 = {t1}")
    nodes, weights = np.polynomial.legendre.leggauss(num_nodes)
    ts = 0.5 * (t1 - t0) * nodes + 0.5 * (t1 + t0)
    ws = 0.5 * (t1 - t0) * weights
    est = [entropy_production_rate(jax.random.fold_in(key, i), target, schedule, float(t), num_samples=num_samples)
           for i, t in enumerate(ts)]
    return RateEstimate(float(sum(w * e.value for w, e in zip(ws, est))),
                        float(np.sqrt(sum((w * e.stderr) ** 2 for w, e in zip(ws, est)))))


def gaussian_entropy_production_rate(schedule: Schedule, t: Array, s0: float, n: int = 1) -> Array:
    """Closed form for data N(0, s₀² I): π = n v̇²/(2 v g²), v = α² s₀² + σ², v̇ = 2 f v + g²."""
    t = jnp.asarray(t, dtype=float)
    v = schedule.alpha(t) ** 2 * s0**2 + schedule.sigma(t) ** 2
    g2 = schedule.diffusion2(t)
    vdot = 2 * schedule.drift(t) * v + g2
    return n * vdot**2 / (2 * v * g2)


class EnsembleRates(NamedTuple):
    """Ensemble rates at the times t (arrays (num_times,)); reverse quantities are per unit generative time."""

    t: Array
    entropy_production: Array  # π = π_R
    flux_forward: Array  # φ = E[A ν]/D, A = f x
    entropy_rate_forward: Array  # dS/dt = π − φ
    flux_reverse: Array  # φ_R = E[A_R ν_R]/D, A_R = −f x + g² ∇ln p_t
    entropy_rate_reverse: Array  # dS_R/dτ = π − φ_R = −dS/dt


def ensemble_rates_1d(target: Any, schedule: Schedule, times: Array, *, x_max: float = 12.0,
                      num_points: int = 4001) -> EnsembleRates:
    """π, φ, dS/dt of the forward and reverse processes of a 1-D target by quadrature on a grid.

    p_t, ∇ln p_t in closed form (target.marginal_log_prob / marginal_score); Simpson's rule on
    [−x_max, x_max] (Yu & Huang, arXiv 2405.11932, eqs. 20–24 for f = −1, D = 1).
    """
    check_closed_form(target)
    if target.n != 1:
        raise ValueError(f"ensemble_rates_1d needs a 1-D target, got n = {target.n}")
    times = np.atleast_1d(np.asarray(times, float))
    out = []
    for t in times:
        xs, p, nu, score, f, g2 = (np.asarray(a) for a in _rate_integrands(target, schedule, t, float(x_max),
                                                                            num_points=num_points))
        integ = lambda y: scipy.integrate.simpson(y * p, x=xs)  # noqa: E731
        d, drift = 0.5 * float(g2), float(f)
        pi = integ(nu**2) / d
        phi = integ(drift * xs * nu) / d
        phi_r = integ((-drift * xs + 2 * d * score) * (-nu)) / d
        out.append((t, pi, phi, pi - phi, phi_r, pi - phi_r))
    return EnsembleRates(*map(np.asarray, zip(*out)))


@functools.partial(jax.jit, static_argnames=("num_points",))
def _rate_integrands(target, schedule, t, x_max, *, num_points):
    """The grid xs (G,) on [−x_max, x_max]; p_t(x), ν(x, t), ∇ln p_t(x) on it, (G,) each; f(t), g(t)² at the
    time t. One compiled function serves every time, and every target and schedule of the same kinds."""
    xs = jnp.linspace(-x_max, x_max, num_points)
    x = xs[:, None]
    p = jnp.exp(target.marginal_log_prob(x, schedule.alpha(t), schedule.sigma(t)))
    nu, score = _velocity(target, schedule, x, t)
    return xs, p, nu[:, 0], score[:, 0], schedule.drift(t), schedule.diffusion2(t)


def reverse_flux_zero(target: Any, schedule: Schedule, t_lo: float, t_hi: float) -> float:
    """Diffusion time t in (t_lo, t_hi) where the reverse medium-entropy flux φ_R changes sign (brentq on
    `ensemble_rates_1d`).

    Time direction: t is the forward (noising) diffusion time, t = 0 data; generation runs t = T → 0, with
    generative time τ = T − t, so a zero at smaller t comes later in generation order. For ½N(±1, 1) under OU
    t_flux ≈ 0.081 < t_S = ½ ln 2 ≈ 0.347 in diffusion time: the sign change comes after speciation in generation
    order (tests/test_thermodynamics.py); for the σ-dependence see `physics.mixture_flux.gmm_reverse_flux_zeros`.
    """
    fn = lambda t: float(ensemble_rates_1d(target, schedule, [t]).flux_reverse[0])  # noqa: E731
    if fn(t_lo) * fn(t_hi) > 0:
        raise ValueError(f"the reverse flux has the same sign at t_lo = {t_lo} and t_hi = {t_hi}; widen the bracket")
    return float(scipy.optimize.brentq(fn, t_lo, t_hi, xtol=1e-10))
