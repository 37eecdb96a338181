"""Exact dimensional reduction of the reverse dynamics for laws that are isotropic Gaussian off a subspace.

A target *splits* when its data law factorises as
    p₀(x) = p_∥(Qᵀx) · N(P⊥x; 0, v P⊥),      Q (d, r) orthonormal,  P⊥ = I − QQᵀ,
for instance a Gaussian mixture Σ_k w_k N(μ_k, v I_d) with Q spanning the centres (`models.GaussianMixture.
orthogonal_split`; Biroli, Bonnaire, de Bortoli & Mézard, arXiv 2402.18491, mixtures of two Gaussians at ±m
with unit variance: r = 1 whatever d). The noised law factorises the same way, with variance
c_t = α_t² v + σ_t² off the subspace, so the score splits exactly:
    ∇ ln p_t(x) = Q ∇ ln p_{∥,t}(Qᵀx) − P⊥x / c_t.
A reverse sampler step is linear in (x, score, ξ) and the noise ξ ~ N(0, I_d) splits into the independent
parts Qᵀξ ~ N(0, I_r) and P⊥ξ. Hence, step for step and for every sampler of `physics.samplers`:
  * y = Qᵀx follows the same sampler run on p_∥ in r dimensions (cost r per particle and step, not d);
  * every coordinate of P⊥x follows the same sampler on the score −x/c_t: a linear Gaussian recursion
        x⊥_{k+1} = a_k x⊥_k + b_k ξ_k,
    with (a_k, b_k) read off the sampler's own step, so after K steps
        x⊥_K = A x⊥_0 + √V P⊥ζ,   A = Π_k a_k,   V = Σ_k b_k² Π_{j>k} a_j²,   ζ ~ N(0, I_d),
    independent of y. The pair (y_K, x⊥_K) has exactly the law of the full d-dimensional discretised run
    (equality in law, time discretisation included), and classes depend on y only.
"""

from __future__ import annotations

import functools
from typing import Any, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_positive_int

from .forward import prior_sample
from .samplers import get_sampler
from .schedules import Schedule
from .scores import ExactScore
from .trajectory import Observable, Trajectory, reverse_sample

Array = Any


class Reduction(NamedTuple):
    """p₀(x) = p_∥(Qᵀx) N(P⊥x; 0, v P⊥): the basis Q (d, r), the r-dimensional target p_∥, v ≥ 0."""

    basis: Array
    target: Any
    variance: float

    @property
    def dim(self) -> int:
        return self.basis.shape[0]

    @property
    def rank(self) -> int:
        return self.basis.shape[1]

    def project(self, x: Array) -> Array:
        """Qᵀx for rows x (..., d) -> (..., r)."""
        return jnp.asarray(x) @ jnp.asarray(self.basis, jnp.asarray(x).dtype)

    def orthogonal(self, x: Array) -> Array:
        """P⊥x = x − Q Qᵀx, shape of x."""
        q = jnp.asarray(self.basis, jnp.asarray(x).dtype)
        return x - (x @ q) @ q.T


def reduction_of(target: Any) -> Reduction:
    """The exact reduction of a target that offers ``orthogonal_split() -> (Q, p_∥, v)`` (a capability:
    `models.GaussianMixture` with one shared variance); a ValueError names the fix otherwise."""
    split = getattr(target, "orthogonal_split", None)
    if split is None:
        raise ValueError(f"{type(target).__name__} has no orthogonal_split(): the reduction needs a law that is "
                         "isotropic Gaussian off a subspace (e.g. GaussianMixture with one shared variance)")
    basis, reduced, variance = split()
    basis = np.asarray(basis, dtype=np.float64)
    if basis.ndim != 2 or not np.allclose(basis.T @ basis, np.eye(basis.shape[1]), atol=1e-10):
        raise ValueError("orthogonal_split() must return a basis with orthonormal columns, shape (d, r)")
    if not variance >= 0:
        raise ValueError(f"the orthogonal variance must be >= 0, got {variance!r}")
    return Reduction(basis, reduced, float(variance))


def orthogonal_step_coefficients(schedule: Schedule, variance: float, times: Array,
                                 sampler: str = "euler_maruyama") -> tuple[Array, Array]:
    """(a_k, b_k) of x⊥_{k+1} = a_k x⊥_k + b_k ξ_k for each step times[k] → times[k+1], shapes (K,), (K,).

    Read off the sampler's own step on the score −x/c_t, c_t = α_t² v + σ_t², evaluated on the probe rows
    x = 1 and x = 0 with the noise it reports (StepInfo.noise): b = ⟨x'(0), ξ⟩/|ξ|² and a = mean(x'(1) − bξ),
    exact up to rounding because the step is linear; b = 0 for deterministic samplers."""
    get_sampler(sampler)
    times = jnp.asarray(times)
    return _step_coefficients(schedule, jnp.asarray(variance, times.dtype), times, sampler)


@functools.partial(jax.jit, static_argnums=(0, 3))
def _step_coefficients(schedule, variance, times, sampler):
    step = get_sampler(sampler)
    probe = jnp.stack([jnp.ones(4, times.dtype), jnp.zeros(4, times.dtype)])

    def score(x, t):
        return -x / (schedule.alpha(t) ** 2 * variance + schedule.sigma2(t))

    def one(k):
        out, info = step(jax.random.fold_in(jax.random.PRNGKey(0), k), probe, times[k], times[k + 1], score, schedule)
        xi = info.noise
        norm = jnp.sum(xi[1] ** 2)
        b = jnp.where(norm > 0, jnp.sum(out[1] * xi[1]) / jnp.where(norm > 0, norm, 1.0), 0.0)
        return jnp.mean(out[0] - b * xi[0]), b

    return jax.lax.map(one, jnp.arange(times.shape[0] - 1))


def orthogonal_law(schedule: Schedule, variance: float, times: Array,
                   sampler: str = "euler_maruyama") -> tuple[Array, Array]:
    """(A, V) with x⊥_K = A x⊥_0 + √V ζ⊥ after the steps of ``times``: A = Π a_k, V = Σ_k b_k² Π_{j>k} a_j²."""
    get_sampler(sampler)
    times = jnp.asarray(times)
    return _orthogonal_law(schedule, jnp.asarray(variance, times.dtype), times, sampler)


@functools.partial(jax.jit, static_argnums=(0, 3))
def _orthogonal_law(schedule, variance, times, sampler):
    a, b = _step_coefficients(schedule, variance, times, sampler)

    def body(carry, ab):
        gain, var = carry
        return (ab[0] * gain, ab[0] ** 2 * var + ab[1] ** 2), None

    (gain, var), _ = jax.lax.scan(body, (jnp.ones((), a.dtype), jnp.zeros((), a.dtype)), (a, b))
    return gain, var


def reduced_reverse_sample(
    key: Array,
    reduction: Reduction,
    schedule: Schedule,
    *,
    num_steps: int,
    batch: int | None = None,
    x_init: Array | None = None,
    sampler: str = "euler_maruyama",
    spacing: str = "uniform",
    observables: Mapping[str, Observable] | None = None,
    record_every: int | None = None,
    full_state: bool = True,
    dtype=None,
) -> Trajectory:
    """`physics.trajectory.reverse_sample` of a splitting target, run in the r projected coordinates, with the
    orthogonal part drawn from its exact law after the same discrete steps (module docstring).

    Equal in law to ``reverse_sample(key, ExactScore(target, schedule), schedule, ...)`` in d dimensions, at
    cost r instead of d per particle and step (plus d per particle once, for the full state).

    Args:
        key: PRNG key (the reduced run uses split(key)[0], the orthogonal part split(key)[1]).
        reduction: `reduction_of(target)`.
        num_steps, sampler, spacing, record_every: as in `reverse_sample`.
        batch: number of trajectories when x_init is not given (then x_T ~ N(0, σ_T² I_d)).
        x_init: starting points (batch, d) at the schedule's start time.
        observables: obs(y, denoised_∥, t) of the projected state y = Qᵀx (batch, r) and its denoiser.
        full_state: also return x and E[x₀ | x] in d dimensions at t_min (else x, denoised are the (batch, r)
            projections).
    Returns:
        Trajectory(x (batch, d) or (batch, r), denoised likewise, times, observables of the projected run, None).
    """
    basis = reduction.basis
    d, r = basis.shape
    k_par, k_perp = jax.random.split(key)
    if x_init is None:
        check_positive_int("batch", batch)
        dtype = dtype or jnp.zeros(()).dtype
        y_init = prior_sample(jax.random.fold_in(k_par, 2**31 - 1), schedule, schedule.start_time, (batch, r), dtype)
        perp_init = None
    else:
        x_init = jnp.asarray(x_init)
        if x_init.ndim != 2 or x_init.shape[1] != d:
            raise ValueError(f"x_init must have shape (batch, {d}), got {x_init.shape}")
        y_init, perp_init = reduction.project(x_init), reduction.orthogonal(x_init)
        batch, dtype = x_init.shape[0], x_init.dtype
    par = reverse_sample(k_par, ExactScore(reduction.target, schedule), schedule, num_steps=num_steps, x_init=y_init,
                         sampler=sampler, spacing=spacing, observables=observables, record_every=record_every)
    if not full_state:
        return par
    x, denoised = _full_state(k_perp, jnp.asarray(basis, dtype), par.x, par.denoised, perp_init,
                              jnp.asarray(reduction.variance, dtype), schedule, num_steps, sampler, spacing)
    return Trajectory(x, denoised, par.times, par.observables, None)


@functools.partial(jax.jit, static_argnums=(6, 7, 8, 9))
def _full_state(key, q, y, denoised_par, perp_init, variance, schedule, num_steps, sampler, spacing):
    """x = Q y + x⊥ with x⊥ from its exact law after the steps, and E[x₀ | x] = Q D_∥ + (αv/(α²v + σ²)) x⊥."""
    times = schedule.time_grid(num_steps, spacing).astype(y.dtype)
    gain, var = _orthogonal_law(schedule, variance, times, sampler)
    zeta = jax.random.normal(key, (y.shape[0], q.shape[0]), y.dtype)
    zeta = zeta - (zeta @ q) @ q.T
    if perp_init is None:
        perp = jnp.sqrt(gain**2 * schedule.sigma2(times[0]) + var) * zeta
    else:
        perp = gain * perp_init + jnp.sqrt(var) * zeta
    alpha, sigma2 = schedule.alpha(times[-1]), schedule.sigma2(times[-1])
    return y @ q.T + perp, denoised_par @ q.T + alpha * variance / (alpha**2 * variance + sigma2) * perp


def reduced_posterior_mean(reduction: Reduction, x: Array, alpha: Array, sigma: Array) -> Array:
    """E[x₀ | x] rebuilt from the reduction: Q D_∥(Qᵀx) + (α v/(α² v + σ²)) P⊥x, shape of x."""
    q = jnp.asarray(reduction.basis, jnp.asarray(x).dtype)
    parallel = reduction.target.posterior_mean(reduction.project(x), alpha, sigma) @ q.T
    return parallel + alpha * reduction.variance / (alpha**2 * reduction.variance + sigma**2) * reduction.orthogonal(x)


def reduced_score(reduction: Reduction, x: Array, alpha: Array, sigma: Array) -> Array:
    """∇ ln p_t(x) = (α E[x₀ | x] − x)/σ² rebuilt from the reduction, shape of x (for checks)."""
    return (alpha * reduced_posterior_mean(reduction, x, alpha, sigma) - x) / sigma**2

