"""Speciation by cloning (Biroli, Bonnaire, de Bortoli & Mézard, arXiv 2402.18491): a reverse trajectory started
at T ~ N(0, σ_T² I) is run down to a branch time t_b, copied, and the copies run on independently to t_min;
φ(t_b) = P(two copies end in the same class) = E[p² + (1 − p)²] for two classes, and I = 2φ − 1.
Times, branch times and step counts are traced values: one compilation serves a whole cloning curve.
"""

from __future__ import annotations

import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_positive_int, denoiser_from_score, is_concrete

from .samplers import get_sampler
from .schedules import Schedule
from .scores import as_pytree_callable

Array = Any


def evolve(key: Array, score_fn: Any, schedule: Schedule, x: Array, t_start: Array, t_end: Array, num_steps: Array,
           sampler: str = "euler_maruyama") -> Array:
    """x at t_end from x (batch, n) at t_start > t_end: num_steps steps of the sampler on the uniform grid
    t_k = t_start + (t_end − t_start) k/num_steps, step k with noise from fold_in(key, k).

    The schedule is used as it is (its T plays no part), and t_start, t_end and num_steps are traced, so one
    compilation serves every start time, end time and step count (per shapes, score structure, schedule and
    sampler). Same steps as `physics.trajectory.reverse_sample` with its uniform grid from t_start."""
    get_sampler(sampler)
    x = jnp.asarray(x)
    if is_concrete(t_start, t_end, num_steps):
        if not float(t_start) > float(t_end) >= 0:
            raise ValueError(f"need t_start > t_end >= 0, got t_start = {float(t_start)}, t_end = {float(t_end)}")
        if int(num_steps) != num_steps or int(num_steps) < 0:
            raise ValueError(f"num_steps must be an integer >= 0, got {num_steps!r}")
    dtype = jnp.result_type(x.dtype, float)
    return _evolve(key, as_pytree_callable(score_fn), schedule, x.astype(dtype), jnp.asarray(t_start, dtype),
                   jnp.asarray(t_end, dtype), jnp.asarray(num_steps, jnp.int32), sampler)


@functools.partial(jax.jit, static_argnums=(2, 7))
def _evolve(key, score_fn, schedule, x, t_start, t_end, num_steps, sampler):
    step = get_sampler(sampler)
    span = t_end - t_start

    def body(k, x):
        t = t_start + span * k / num_steps
        s = jnp.where(k + 1 == num_steps, t_end, t_start + span * (k + 1) / num_steps)
        return step(jax.random.fold_in(key, k), x, t, s, score_fn, schedule)[0]

    return jax.lax.fori_loop(0, num_steps, body, x)


def clone_end_classes(key: Array, score_fn: Any, schedule: Schedule, x_branch: Array, t_branch: float,
                      num_clones: int, num_steps: int, classify: Callable[[Array, Array], Array],
                      sampler: str = "euler_maruyama") -> Array:
    """Classes of clones branched at t_branch: each row of x_branch (B, n) is copied num_clones times and run
    independently from t_branch to schedule.t_min in num_steps steps (`evolve`: one compilation for every
    t_branch and num_steps). classify(x, denoised) -> (batch,) integer labels, with denoised = E[s | x] at
    t_min from Tweedie's formula. Returns labels of shape (B, num_clones)."""
    check_positive_int("num_clones", num_clones)
    check_positive_int("num_steps", num_steps)
    if not schedule.t_min < t_branch:
        raise ValueError(f"t_branch must exceed t_min = {schedule.t_min}, got {t_branch}")
    x0 = jnp.repeat(jnp.asarray(x_branch), num_clones, axis=0)
    x = evolve(key, score_fn, schedule, x0, t_branch, schedule.t_min, num_steps, sampler)
    labels = _classify_at(score_fn, schedule, x, jnp.asarray(schedule.t_min, x.dtype), classify)
    return labels.reshape(x0.shape[0] // num_clones, num_clones)


def _classify_at(score_fn, schedule, x, t, classify):
    alpha, sigma = schedule.alpha(t), schedule.sigma(t)
    return classify(x, denoiser_from_score(score_fn(x, t), x, alpha, sigma))


def cloning_curve(key: Array, score_fn: Any, schedule: Schedule, branch_times: Array, *, batch: int, n: int,
                  dt: float, classify: Callable[[Array, Array], Array], num_clones: int = 2,
                  sampler: str = "euler_maruyama", dtype=None) -> Array:
    """Same-class fractions of clones for every branch time (Biroli et al., arXiv 2402.18491, cloning).

    For each branch time t_b: x_T ~ N(0, σ_T² I) (batch, n) at T = schedule.start_time, run to t_b in
    round((T − t_b)/dt) steps, each row copied num_clones times, the copies run to schedule.t_min in
    round((t_b − t_min)/dt) steps, classified at t_min. One compiled function serves every branch time.
    With a `physics.reduced` reduction, pass its r-dimensional ExactScore, n = r and a classify of the projected
    state: the classes have the same law as in d dimensions (the projection's dynamics is closed).

    Args:
        key: PRNG key; branch time b uses fold_in(key, b).
        branch_times: t_b values in (t_min, T], shape (B,).
        batch: trajectories per branch time; n: dimension.
        dt: step size (both legs); classify: (x, denoised) -> (batch,) integer labels.
    Returns:
        same-class fraction of the clone pairs of each trajectory, shape (B, batch) (`same_class_fraction`);
        its mean over the last axis estimates φ(t_b).
    """
    check_positive_int("batch", batch)
    check_positive_int("n", n)
    check_positive_int("num_clones", num_clones)
    if num_clones < 2:
        raise ValueError(f"need at least 2 clones per branch point, got {num_clones}")
    get_sampler(sampler)
    branch_times = np.atleast_1d(np.asarray(branch_times, dtype=np.float64))
    start, end = float(schedule.start_time), float(schedule.t_min)
    if not dt > 0:
        raise ValueError(f"dt must be > 0, got {dt!r}")
    if np.any(branch_times <= end) or np.any(branch_times > start):
        raise ValueError(f"branch_times must lie in (t_min, T] = ({end}, {start}], got {branch_times}")
    dtype = dtype or jnp.zeros(()).dtype
    before = np.rint((start - branch_times) / dt).astype(np.int32)
    after = np.maximum(np.rint((branch_times - end) / dt), 1).astype(np.int32)
    out = []
    for b, (t_b, k_before, k_after) in enumerate(zip(branch_times, before, after)):
        out.append(_clone_experiment(
            jax.random.fold_in(key, b), as_pytree_callable(score_fn), schedule, jnp.asarray(start, dtype),
            jnp.asarray(t_b, dtype), jnp.asarray(end, dtype), jnp.asarray(k_before), jnp.asarray(k_after),
            batch, n, num_clones, classify, sampler, jnp.dtype(dtype)))
    return jnp.stack(out)


@functools.partial(jax.jit, static_argnums=(2, 8, 9, 10, 11, 12, 13))
def _clone_experiment(key, score_fn, schedule, t_start, t_branch, t_end, steps_before, steps_after, batch, n,
                      num_clones, classify, sampler, dtype):
    x = schedule.sigma(t_start) * jax.random.normal(jax.random.fold_in(key, 2**31 - 1), (batch, n), dtype)
    x = _evolve(jax.random.fold_in(key, 0), score_fn, schedule, x, t_start, t_branch, steps_before, sampler)
    x = jnp.repeat(x, num_clones, axis=0)
    x = _evolve(jax.random.fold_in(key, 1), score_fn, schedule, x, t_branch, t_end, steps_after, sampler)
    labels = _classify_at(score_fn, schedule, x, t_end, classify).reshape(batch, num_clones)
    return same_class_fraction(labels)


def same_class_fraction(labels: Array) -> Array:
    """Committor estimate per branch point: fraction of clone pairs (a < b) with equal labels; (B, K) -> (B,)."""
    labels = jnp.asarray(labels)
    k = labels.shape[-1]
    if k < 2:
        raise ValueError(f"need at least 2 clones per branch point, got {k}")
    equal = labels[:, :, None] == labels[:, None, :]
    return (jnp.sum(equal, axis=(1, 2)) - k) / (k * (k - 1))


def sign_class(x: Array, denoised: Array) -> Array:
    """Class = sign of the denoiser magnetisation (0 or 1)."""
    return (jnp.sum(denoised, axis=-1) > 0).astype(jnp.int32)


def nearest_centre_class(centres: Array) -> Callable[[Array, Array], Array]:
    """classify(x, denoised) = argmin_k |denoised − μ_k|² for centres (K, n) (in the coordinates the run uses:
    projected centres Qᵀμ_k for a reduced run). Make it once per experiment: it is a compile-time constant."""
    centres = jnp.asarray(centres)

    def classify(x: Array, denoised: Array) -> Array:
        return jnp.argmin(jnp.sum(centres**2, -1) - 2 * denoised @ centres.T, axis=-1).astype(jnp.int32)

    return classify


def two_class_cloning_probability(t: Array, signal: float, variance: float = 1.0, num_nodes: int = 120) -> Array:
    """Exact φ(t) for ½N(m, v I) + ½N(−m, v I) under OU (α = e^{−t}, σ² = 1 − e^{−2t}) with the exact score in
    continuous time. p = P(+ | x_t) = sigmoid(2α m·x/c), c = α² v + σ², and m·x_t = ±α|m|² + √c |m| ξ, so
        φ(t) = E[p² + (1 − p)²] = ½(1 + E tanh²(r + √r ξ)),   r = α²|m|²/c,
    the binary channel of the module docstring with signal |m|² (= d for m = 1⃗; r = 1 near t = ½ ln d).
    Gauss–Hermite quadrature in ξ. Biroli, Bonnaire, de Bortoli & Mézard, arXiv 2402.18491 (speciation of a
    two-Gaussian mixture). t of any shape -> φ of that shape."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(num_nodes)
    t = np.asarray(t, dtype=np.float64)
    a2 = np.exp(-2 * t)
    r = a2 * signal / (a2 * variance + 1 - a2)
    tanh2 = np.tanh(r[..., None] + np.sqrt(r)[..., None] * nodes) ** 2
    return 0.5 * (1 + tanh2 @ weights / weights.sum())
