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

from statphys.models.base import check_memory, check_positive_int, denoiser_from_score

from .forward import prior_sample
from .samplers import SAMPLERS
from .schedules import TIME_SPACINGS, Schedule
from .scores import ExactScore
from .trajectory import Observable, Trajectory, recording_stride

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

    Read off the sampler's own step on the score −x/c_t, c_t = α_t² v + σ_t², taken from the probe x = 1 (all
    entries) with the noise ξ it reports (Info.noise): x' = a + bξ entry by entry because the step is linear,
    so b = cov(x', ξ)/var(ξ) and a = mean(x' − bξ) over the entries, exact up to rounding; b = 0 for
    deterministic samplers (ξ = 0)."""
    _check_sampler(sampler)
    times = jnp.asarray(times)
    return _step_coefficients(schedule, jnp.asarray(variance, times.dtype), times, sampler)


def _check_sampler(sampler: str) -> None:
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r} for a reduced run; choose one of {sorted(SAMPLERS)}")


def _coefficients(schedule, variance, t, s, key, sampler, shape=(2, 4)):
    """(a, b) of the orthogonal recursion for the step t → s, probed on x = 1 of ``shape`` with the sampler's noise
    from ``key`` (a reduced run passes its own step's key and state shape: the noise draw is then the step's
    own, computed once in the compiled program)."""

    def score(x, t):
        return -x / (schedule.alpha(t) ** 2 * variance + schedule.sigma2(t))

    out, info = SAMPLERS[sampler](key, jnp.ones(shape, t.dtype), t, s, score, schedule)
    xi = info.noise - jnp.mean(info.noise)
    norm = jnp.sum(xi**2)
    b = jnp.where(norm > 0, jnp.sum((out - jnp.mean(out)) * xi) / jnp.where(norm > 0, norm, 1.0), 0.0)
    return jnp.mean(out - b * info.noise), b


@functools.partial(jax.jit, static_argnums=(0, 3))
def _step_coefficients(schedule, variance, times, sampler):
    return jax.lax.map(lambda k: _coefficients(schedule, variance, times[k], times[k + 1], _probe_key(k), sampler),
                       jnp.arange(times.shape[0] - 1))


def _probe_key(k):
    return jax.random.fold_in(jax.random.PRNGKey(0), k)


def orthogonal_law(schedule: Schedule, variance: float, times: Array,
                   sampler: str = "euler_maruyama") -> tuple[Array, Array]:
    """(A, V) with x⊥_K = A x⊥_0 + √V ζ⊥ after the steps of ``times`` (K + 1,): A = Π a_k,
    V = Σ_k b_k² Π_{j>k} a_j²; scalars."""
    _check_sampler(sampler)
    times = jnp.asarray(times)
    return _orthogonal_law(schedule, jnp.asarray(variance, times.dtype), times, sampler)


@functools.partial(jax.jit, static_argnums=(0, 3))
def _orthogonal_law(schedule, variance, times, sampler):
    def body(k, law):
        return _law_update(law, *_coefficients(schedule, variance, times[k], times[k + 1], _probe_key(k), sampler))

    one = jnp.ones((), variance.dtype)
    return jax.lax.fori_loop(0, times.shape[0] - 1, body, (one, jnp.zeros_like(one)))


def _law_update(law, a, b):
    """(A, V) ← (a A, a² V + b²): one step of the orthogonal law from (A, V) = (1, 0)."""
    gain, var = law
    return a * gain, a**2 * var + b**2


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
    cost r instead of d per particle and step (plus d per particle once, for the full state). The whole run
    (prior, steps, orthogonal law, full state) is one compiled function in which the step count and the
    recording stride are traced: one compilation serves every num_steps with the same number of records
    num_steps/record_every + 1 (by default 2: start and end), every target of the same shapes and every key.

    Args:
        key: PRNG key (of any implementation: ``jax.random.key(seed, impl="rbg")`` opts into another generator;
            the default PRNGKey is threefry2x32). The projected run uses k_par = split(key)[0] exactly as
            `reverse_sample` does (step k: fold_in(k_par, k); the prior y_T ~ N(0, σ_T² I_r): fold_in(k_par,
            2**31 − 1)), the orthogonal part split(key)[1].
        reduction: `reduction_of(target)`.
        num_steps, sampler, spacing, record_every: as in `reverse_sample` (continuous-time samplers).
        batch: number of trajectories when x_init is not given (then x_T ~ N(0, σ_T² I_d)).
        x_init: starting points (batch, d) at the schedule's start time.
        observables: obs(y, denoised_∥, t) of the projected state y = Qᵀx (batch, r) and its denoiser.
        full_state: also return x and E[x₀ | x] in d dimensions at t_min (else x, denoised are the (batch, r)
            projections).
        dtype: of the run when x_init is not given (default: JAX's default float).
    Returns:
        Trajectory(x (batch, d) or (batch, r), denoised likewise, times (num_records,), observables of the
        projected run (num_records, batch, ...), None).
    """
    basis = np.asarray(reduction.basis)
    d, r = basis.shape
    _check_sampler(sampler)
    if spacing not in TIME_SPACINGS:
        raise ValueError(f"unknown time spacing {spacing!r}; choose one of {list(TIME_SPACINGS)}")
    if not isinstance(num_steps, (int, np.integer)) or isinstance(num_steps, bool) or num_steps <= 0:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    num_steps = int(num_steps)
    record_every = recording_stride(num_steps, record_every)
    if x_init is None:
        check_positive_int("batch", batch)
        dtype = jax.dtypes.canonicalize_dtype(dtype or float)
    else:
        x_init = x_init if hasattr(x_init, "dtype") else np.asarray(x_init, float)
        if np.ndim(x_init) != 2 or np.shape(x_init)[1] != d or np.shape(x_init)[0] == 0:
            raise ValueError(f"x_init must have shape (batch, {d}) with batch >= 1, got {np.shape(x_init)}")
        batch, dtype = np.shape(x_init)[0], jax.dtypes.canonicalize_dtype(x_init.dtype)
    check_memory(dtype.itemsize * batch * (8 * r + (4 * d if full_state or x_init is not None else 0)),
                 f"reduced_reverse_sample with batch = {batch}, d = {d}", "run several smaller batches")
    traj, bad = _reduced_run(
        key, ExactScore(reduction.target, schedule), np.asarray(basis, dtype), np.asarray(reduction.variance, dtype),
        x_init, np.int32(num_steps), np.int32(record_every), schedule, sampler, spacing,
        tuple(sorted((observables or {}).items())), num_steps // record_every + 1, int(batch), np.dtype(dtype),
        bool(full_state))
    first_bad = int(bad)
    if first_bad <= num_steps:
        raise FloatingPointError(
            f"non-finite projected state after step {first_bad} of {num_steps} (sampler {sampler!r}, schedule "
            f"{schedule.name!r}); reduce the step size or check the score")
    return traj


def _time_at(schedule, spacing, num_steps, k, dtype):
    """t_k of `Schedule.time_grid` for a traced step count: uniform T + (t_min − T) k/K, log T (t_min/T)^{k/K}."""
    start, end = jnp.asarray(schedule.start_time, dtype), jnp.asarray(schedule.t_min, dtype)
    k = jnp.asarray(k)
    fraction = k.astype(dtype) / num_steps.astype(dtype)
    t = start + (end - start) * fraction if spacing == "uniform" else start * (end / start) ** fraction
    return jnp.where(k == num_steps, end, jnp.where(k == 0, start, t))


@functools.partial(jax.jit, static_argnums=(7, 8, 9, 10, 11, 12, 13, 14))
def _reduced_run(key, score, basis, variance, x_init, num_steps, record_every, schedule, sampler, spacing,
                 observables, num_records, batch, dtype, full_state):
    """The projected run y_{k+1} = step(y_k) over blocks of record_every steps (one step body in the compiled
    program), then the full state. Returns (Trajectory, first bad step or num_steps + 1)."""
    step = SAMPLERS[sampler]
    k_par, k_perp = jax.random.split(key)
    d, r = basis.shape
    if x_init is None:
        y = prior_sample(jax.random.fold_in(k_par, 2**31 - 1), schedule, schedule.start_time, (batch, r), dtype)
        perp_init = None
    else:
        y, perp_init = x_init @ basis, x_init - (x_init @ basis) @ basis.T

    def time_at(k):
        return _time_at(schedule, spacing, num_steps, k, dtype)

    probe_shape = y.shape if y.size >= 8 else (2, 4)

    def one_step(k, carry):
        y, bad, kept, law = carry
        key_k, t, s = jax.random.fold_in(k_par, k), time_at(k), time_at(k + 1)
        y_next, info = step(key_k, y, t, s, score, schedule)
        bad = jnp.where((bad > k) & ~jnp.all(jnp.isfinite(y_next)), (k + 1).astype(bad.dtype), bad)
        if observables:  # the score of the block's first step gives its record at no extra evaluation
            kept = jnp.where(k % record_every == 0, info.score, kept)
        if full_state:  # (A, V) of the orthogonal part, probed with the same step key
            law = _law_update(law, *_coefficients(schedule, variance, t, s, key_k, sampler, probe_shape))
        return y_next, bad, kept, law

    def record(y, score_value, t):
        denoised = denoiser_from_score(score_value, y, schedule.alpha(t), schedule.sigma(t))
        return {name: fn(y, denoised, t) for name, fn in observables}

    def block(carry, index):
        start = index * record_every
        carry_out = jax.lax.fori_loop(start, start + record_every, one_step, carry)
        return carry_out, ((record(carry[0], carry_out[2], time_at(start)) if observables else {}), time_at(start))

    kept = jnp.zeros_like(y) if observables else None
    law = (jnp.ones((), dtype), jnp.zeros((), dtype)) if full_state else None
    (y, bad, _, law), (values, rec_times) = jax.lax.scan(block, (y, num_steps + 1, kept, law),
                                                         jnp.arange(num_records - 1, dtype=num_steps.dtype))
    t_end = time_at(num_steps)
    final_score = score(y, t_end)
    final_values = record(y, final_score, t_end)
    values = {name: jnp.concatenate([values[name], final_values[name][None]]) for name in values}
    denoised = denoiser_from_score(final_score, y, schedule.alpha(t_end), schedule.sigma(t_end))
    times = jnp.concatenate([rec_times, t_end[None]])
    if not full_state:
        return Trajectory(y, denoised, times, values, None), bad
    # x = Q y + x⊥ with x⊥ from its exact law after the steps, and E[x₀ | x] = Q D_∥ + (αv/(α²v + σ²)) x⊥
    gain, var = law
    zeta = jax.random.normal(k_perp, (batch, d), dtype)
    zeta = zeta - (zeta @ basis) @ basis.T
    if perp_init is None:
        perp = jnp.sqrt(gain**2 * schedule.sigma2(time_at(0)) + var) * zeta
    else:
        perp = gain * perp_init + jnp.sqrt(var) * zeta
    alpha, sigma2 = schedule.alpha(t_end), schedule.sigma2(t_end)
    x = y @ basis.T + perp
    return Trajectory(x, denoised @ basis.T + alpha * variance / (alpha**2 * variance + sigma2) * perp, times, values,
                      None), bad


def reduced_posterior_mean(reduction: Reduction, x: Array, alpha: Array, sigma: Array) -> Array:
    """E[x₀ | x] rebuilt from the reduction: Q D_∥(Qᵀx) + (α v/(α² v + σ²)) P⊥x, shape of x."""
    q = jnp.asarray(reduction.basis, jnp.asarray(x).dtype)
    parallel = reduction.target.posterior_mean(reduction.project(x), alpha, sigma) @ q.T
    return parallel + alpha * reduction.variance / (alpha**2 * reduction.variance + sigma**2) * reduction.orthogonal(x)


def reduced_score(reduction: Reduction, x: Array, alpha: Array, sigma: Array) -> Array:
    """∇ ln p_t(x) = (α E[x₀ | x] − x)/σ² rebuilt from the reduction, shape of x (for checks)."""
    return (alpha * reduced_posterior_mean(reduction, x, alpha, sigma) - x) / sigma**2

