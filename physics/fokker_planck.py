"""The Fokker–Planck residual of a score, in its two forms (Deveney et al., arXiv 2311.15996).

For u = ln p_t of dx = f(t) x dt + g(t) dW on ℝⁿ (∇·(f x) = n f):
    R_u = ∂_t u + n f + f x·∇u − (g²/2)(Δu + |∇u|²) = 0                       (log-density form)
and its gradient, which needs only the score s = ∇u (the additive c(t) of u drops out):
    R_s = ∇R_u = ∂_t s + f ∇(x·s) − (g²/2) ∇(∇·s + |s|²) = 0                 (score form).
Both by automatic differentiation (`fp_residual`, `fp_residual_log_density`); `physics.learned` uses them as
regularisers of score matching.

In 1-D any score is a gradient: u(x, t) = ∫ˣ s dx' − ln ∫ exp(∫ˣ s) is the normalised log-density it implies,
so R_u is defined for either network (`fp_residual_1d`), with the normalisation fixing c(t), and its mean square
under the exact p_t measures how far a learned score is from a solution of the Fokker–Planck equation
(`fp_residual_norm_1d`).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from .schedules import Schedule
from .scores import as_pytree_callable

Array = Any


def _times(x: Array, t: Array) -> Array:
    return jnp.broadcast_to(jnp.asarray(t, dtype=x.dtype), x.shape[:1])


@jax.jit
def fp_residual(score_fn: Any, schedule: Schedule, x: Array, t: Array) -> Array:
    """Score form R_s(x, t) = ∂_t s + f ∇(x·s) − (g²/2) ∇(∇·s + |s|²) (module docstring).

    score_fn: a pytree-callable (x (batch, n), t) → (batch, n); the schedule is a pytree argument (traced
    fields, `physics.schedules`). x: (batch, n); t: scalar or (batch,) (one time per point); returns (batch, n)."""

    def s(y, tau):
        return score_fn(y[None], tau)[0]

    def one(y, tau):
        dsdt = jax.jacfwd(s, argnums=1)(y, tau)
        grad_xs = jax.grad(lambda z: jnp.dot(z, s(z, tau)))(y)
        grad_q = jax.grad(lambda z: jnp.trace(jax.jacfwd(s)(z, tau)) + jnp.sum(s(z, tau) ** 2))(y)
        return dsdt + schedule.drift(tau) * grad_xs - 0.5 * schedule.diffusion2(tau) * grad_q

    return jax.vmap(one)(x, _times(x, t))


def fp_residual_log_density(log_density_fn: Any, schedule: Schedule, x: Array, t: Array) -> Array:
    """Log-density form R_u(x, t) = ∂_t u + n f + f x·∇u − (g²/2)(Δu + |∇u|²) (Deveney et al.,
    arXiv 2311.15996) of u = log_density_fn(x, t) (x: (batch, n), scalar t → (batch,); a function, a bound
    method such as `PotentialScore.log_density`, or a pytree-callable).

    x: (batch, n); t: scalar or (batch,); returns (batch,). Zero for u = ln p_t of the forward process."""
    return _fp_residual_log_density(_pytree_callable(log_density_fn), schedule, x, t)


def _pytree_callable(fn: Any) -> Any:
    if inspect.ismethod(fn) and dataclasses.is_dataclass(fn.__self__):
        return jax.tree_util.Partial(fn.__func__, fn.__self__)
    return as_pytree_callable(fn)


@jax.jit
def _fp_residual_log_density(log_density_fn, schedule, x, t):
    def u(y, tau):
        return log_density_fn(y[None], tau)[0]

    def one(y, tau):
        dudt = jax.grad(u, argnums=1)(y, tau)
        grad_u = jax.grad(u)(y, tau)
        lap = jnp.trace(jax.hessian(u)(y, tau))
        f, g2 = schedule.drift(tau), schedule.diffusion2(tau)
        return dudt + y.shape[0] * f + f * jnp.dot(y, grad_u) - 0.5 * g2 * (lap + jnp.sum(grad_u**2))

    return jax.vmap(one)(x, _times(x, t))


def log_density_1d(score_fn: Any, t: Array, grid: Array) -> Array:
    """The normalised log-density implied by a 1-D score on a uniform grid (G,):
    u(x) = ∫_{x₀}^x s dx' − ln ∫ exp(∫_{x₀}^{x} s dx') dx (cumulative trapezoid rule); returns (G,)."""
    s = score_fn(grid[:, None], t)[:, 0]
    h = grid[1] - grid[0]
    cum = jnp.concatenate([jnp.zeros(1, dtype=s.dtype), jnp.cumsum(0.5 * h * (s[1:] + s[:-1]))])
    w = jnp.full_like(grid, h).at[0].set(0.5 * h).at[-1].set(0.5 * h)
    return cum - jax.nn.logsumexp(cum, b=w)


@jax.jit
def fp_residual_1d(score_fn: Any, schedule: Schedule, t: Array, grid: Array) -> Array:
    """R_u (log-density form) on a uniform 1-D grid (G,) at a scalar t, for u = `log_density_1d` of any score
    (a pytree-callable): ∂_t u by forward-mode differentiation through the quadrature, ∇u = s and Δu = ∂_x s
    exactly; returns (G,)."""
    dudt = jax.jacfwd(lambda tau: log_density_1d(score_fn, tau, grid))(t)
    s = score_fn(grid[:, None], t)[:, 0]
    ds = jax.vmap(jax.grad(lambda y: score_fn(y[None, None], t)[0, 0]))(grid)
    f, g2 = schedule.drift(t), schedule.diffusion2(t)
    return dudt + f + f * grid * s - 0.5 * g2 * (ds + s**2)


def fp_residual_norm_1d(score_fn: Any, target: Any, schedule: Schedule, times: Array, grid: Array) -> np.ndarray:
    """E_{p_t}[R_u²] = ∫ p_t(x) R_u(x, t)² dx (exact marginal p_t of a 1-D target with `marginal_log_prob`,
    trapezoid rule on the uniform grid (G,)) at each of the times (T,); shape (T,). One compiled function serves
    every score, target, schedule and time of the same kinds and shapes."""
    times = np.asarray(times, dtype=float)
    grid = grid if isinstance(grid, jax.Array) else np.asarray(grid)
    return np.asarray(_fp_residual_norms(as_pytree_callable(score_fn), target, schedule, times, grid), dtype=float)


@jax.jit
def _fp_residual_norms(score_fn, target, schedule, times, grid):
    w = jnp.full_like(grid, grid[1] - grid[0]).at[0].multiply(0.5).at[-1].multiply(0.5)

    def at(t):
        p = jnp.exp(target.marginal_log_prob(grid[:, None], schedule.alpha(t), schedule.sigma(t)))
        return jnp.sum(w * p * fp_residual_1d(score_fn, schedule, t, grid) ** 2)

    return jax.lax.map(at, times)
