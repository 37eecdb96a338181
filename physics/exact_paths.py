"""The path law of the continuous-time reverse SDE, sampled exactly: one posterior draw, then forward bridges.

The forward process x₀ → x_t is Markov, so x₀ is independent of the later states given x_t, and the reverse SDE
with the exact score (Anderson, Stoch. Proc. Appl. 12, 313 (1982); Song et al., ICLR 2021, eq. 6) has the
transition kernel of the forward process read backward,
    p(x_s | x_t) = ∫ dx₀ P(x₀ | x_t) q(x_s | x_t, x₀),   s < t,
with q the forward bridge (`physics.samplers.forward_bridge`, the ddpm step with the draw in place of the
denoiser). Draw x₀ ~ P(x₀ | x_T) once at the start x_T and then x_s ~ q(x_s | x_t, x₀) at each earlier time of
the grid T = t₀ > t₁ > … > t_min. By induction, given the states drawn so far the law of x₀ is P(x₀ | x_t) at
the latest time t (Bayes with the bridge: P(x₀ | x_t) q(x_s | x_t, x₀) ∝ P(x₀ | x_s) p(x_t | x_s)), so each
new state has the law p(x_s | x_t) and the states at the grid times have exactly the joint law of the
continuous-time reverse SDE started from x_T, whatever the law of x_T (the prior N(0, σ_T² I) included):
no discretisation error, whatever the spacing of the grid, and the cost is one posterior draw plus one
Gaussian per component and recorded time. It is the limit of every SDE sampler of `physics.samplers` as its
steps shrink, not the law of a discretised run (to measure a sampler's discretisation error, compare the two);
the probability-flow ODE has other paths (the same marginals only from the exact p_T).

The target needs the `models.base.PosteriorSampler` capability: `models.Gaussian`, `models.GaussianMixture`
(closed form), `models.CurieWeiss` (the Hubbard–Stratonovich field through the magnetisation posterior, O(N²) per
row, or above N = 1024 by rejection, O(N^{3/2}); then independent spins), the
pairwise Ising targets (SK, Edwards–Anderson) and Hopfield at N ≤ 20 (Gumbel-max over the 2ᴺ states, the cost of
one score evaluation), and `models.DataSet` / `models.FiniteSupport` (Gumbel-max over the support).
"""

from __future__ import annotations

import functools
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import PosteriorSampler, check_memory, check_positive_int, is_concrete

from .normal_draws import standard_normal
from .samplers import forward_bridge
from .schedules import Schedule
from .trajectory import Observable, Trajectory, recording_stride

Array = Any


def exact_reverse_paths(
    key: Array,
    target: Any,
    schedule: Schedule,
    *,
    num_steps: int,
    batch: int | None = None,
    x_init: Array | None = None,
    spacing: str = "uniform",
    observables: Mapping[str, Observable] | None = None,
    record_every: int | None = None,
    record_path: bool = False,
    dtype=None,
    return_data: bool = False,
) -> Trajectory | tuple[Trajectory, Array]:
    """States of the continuous-time reverse SDE at the recording times of `physics.trajectory.reverse_sample`
    (the times T, t_r, t_2r, …, t_min of ``schedule.time_grid(num_steps, spacing)``, r = record_every), exact in
    law (module docstring); only those times are drawn, so the cost does not depend on num_steps.

    Args:
        key: PRNG key; the prior uses fold_in(key, 2**31 - 1) (as `reverse_sample`), the posterior draw
            fold_in(key, 2**31 - 3), the bridge to recording time k fold_in(key, k).
        target: a target with ``posterior_sample(key, x, alpha, sigma)`` (`models.base.PosteriorSampler`).
        schedule, num_steps, spacing, observables, record_every, record_path, dtype: as `reverse_sample`; an
            observable obs(x, denoised, t) gets denoised = the target's exact E[x₀ | x_t = x].
        batch: number of paths from x_T ~ N(0, σ_T² I) (without x_init); x_init: the start x_T, (batch, n).
        return_data: also return the posterior draw x₀ (batch, n): the end point of the path as t → 0.
    Returns:
        Trajectory (info None), and x₀ with return_data.
    """
    if not isinstance(target, PosteriorSampler):
        raise ValueError(f"exact_reverse_paths needs exact posterior draws (posterior_sample(key, x, alpha, sigma): "
                         f"Gaussians, Curie–Weiss, spin targets with N <= 20, data sets), {type(target).__name__} "
                         "has none; run physics.trajectory.reverse_sample with its score instead")
    check_positive_int("num_steps", num_steps)
    record_every = recording_stride(num_steps, record_every)
    n = int(target.n)
    if x_init is None:
        check_positive_int("batch", batch)
        dtype = jnp.dtype(dtype or jnp.zeros(()).dtype)
        prior_scale = schedule.sigma(schedule.start_time)
    else:
        x_init = jnp.asarray(x_init, dtype)
        if x_init.ndim != 2 or x_init.shape[-1] != n or x_init.shape[0] == 0:
            raise ValueError(f"x_init must have shape (batch, n = {n}) with batch >= 1, got {x_init.shape}")
        if is_concrete(x_init) and not np.all(np.isfinite(np.asarray(x_init))):
            raise ValueError("x_init holds NaN or infinite entries")
        batch, dtype, prior_scale = x_init.shape[0], x_init.dtype, None
    times = schedule.time_grid(num_steps, spacing)[::record_every]  # checks the spacing
    num_records = int(times.shape[0])
    check_memory(jnp.dtype(dtype).itemsize * batch * (6 * n + 2 * (n + 1) + (num_records * n if record_path else 0)),
                 f"exact_reverse_paths with batch = {batch}, n = {n}"
                 + (f", {num_records} recorded paths" if record_path else ""),
                 "run several smaller batches" + (" or record fewer times" if record_path else ""))
    trajectory, data = _exact_paths(key, target, schedule, jnp.asarray(times, dtype), x_init, prior_scale,
                                    observables=tuple(sorted((observables or {}).items())), record_path=record_path,
                                    prior_shape=(batch, n), prior_dtype=jnp.dtype(dtype))
    return (trajectory, data) if return_data else trajectory


@functools.partial(jax.jit, static_argnames=("observables", "record_path", "prior_shape", "prior_dtype"))
def _exact_paths(key, target, schedule, times, x_init, prior_scale, *, observables, record_path, prior_shape,
                 prior_dtype):
    if x_init is None:
        x_init = prior_scale * standard_normal(jax.random.fold_in(key, 2**31 - 1), prior_shape, prior_dtype)
    data = target.posterior_sample(jax.random.fold_in(key, 2**31 - 3), x_init, schedule.alpha(times[0]),
                                   schedule.sigma(times[0])).astype(x_init.dtype)

    def denoise(x, t):
        return target.posterior_mean(x, schedule.alpha(t), schedule.sigma(t))

    def record(x, t):
        denoised = denoise(x, t) if observables else None
        return {name: fn(x, denoised, t) for name, fn in observables}, (x if record_path else None)

    def step(x, inputs):
        index, t, s = inputs
        x_s = forward_bridge(x, data, t, s, schedule, standard_normal(jax.random.fold_in(key, index), x.shape, x.dtype))
        return x_s, record(x_s, s)

    indices = jnp.arange(1, times.shape[0], dtype=jnp.int32)
    x_final, recorded = jax.lax.scan(step, x_init, (indices, times[:-1], times[1:]))
    first = record(x_init, times[0])
    observed, path = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first, recorded)
    trajectory = Trajectory(x_final, denoise(x_final, times[-1]), times, observed, path)
    return trajectory, data
