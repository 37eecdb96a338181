"""Run a reverse sampler over a time grid as one `lax.scan`, recording observables along the way.

    result = reverse_sample(key, score_fn, schedule, num_steps=200, batch=1024, n=64,
                            sampler="euler_maruyama", observables={"m": magnetization})

The samplers are those of `physics.samplers` on the protocol of `physics.integrator` (init/step over a
`SamplerState`); the score is a pure score_fn(x, t) or a stateful score (init/call, e.g. the Monte-Carlo score
of `physics.mc_score`), whose state rides in the scan carry. An observable is a function
obs(x, denoised, t) -> array with leading axis batch, evaluated at the times t_0 = T, t_r, t_2r, …
(r = record_every) and at t_min; ``denoised`` = E[s | x_t = x] comes from the score the step already computed
(Tweedie), at no extra cost. Only the observables are stored (shape (num_records, batch, …)); whole paths only
with record_path=True, and the `Info` of every step (score and noise, (num_steps, batch, n) each) only with
keep_info=True: memory does not grow with the number of steps otherwise. The noise of step k is drawn from
fold_in(key, k), so runs are reproducible step by step. A NaN or infinity in the state is reported with the
first time at which it appeared: the scan checks the state once per record block (a per-step check costs a pass
over (batch, n) per step) and, when a block ends non-finite, the run is repeated with a check after every step
(the same numbers: the noise of step k depends only on k) to name the first bad step.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_memory, check_positive_int, denoiser_from_score

from .integrator import Info, as_score, evaluate
from .normal_draws import standard_normal
from .samplers import SAMPLERS
from .schedules import TIME_SPACINGS, Schedule

Array = Any
Observable = Callable[[Array, Array, Array], Array]


class Trajectory(NamedTuple):
    x: Array  # final state at t_min, (batch, n)
    denoised: Array  # E[s | x_{t_min}], (batch, n)
    times: Array  # recording times, (num_records,)
    observables: dict  # name -> (num_records, batch, ...)
    path: Array | None  # (num_records, batch, n) when record_path
    info: Info | None = None  # score and noise of every step, (num_steps, batch, n) each, when keep_info
    score_state: Any = None  # final state of a stateful score (None for a pure score)


def magnetization(x: Array, denoised: Array, t: Array) -> Array:
    """m of the denoiser, (1/N) Σᵢ E[sᵢ | x_t]."""
    return jnp.mean(denoised, axis=-1)


def sign_magnetization(x: Array, denoised: Array, t: Array) -> Array:
    """m of the spins sign(x_t)."""
    return jnp.mean(jnp.sign(x), axis=-1)


_RUN_SETTINGS = ("schedule", "num_steps", "sampler", "spacing", "observables", "record_every", "record_path",
                 "keep_info", "prior_shape", "prior_dtype", "check_every_step")  # compile-time arguments of `_run`


def recording_stride(num_steps: int, record_every: int | None) -> int:
    """The recording stride of a run of num_steps steps: record_every (None: num_steps, only the start and the
    end), refused unless it is a positive divisor of num_steps."""
    record_every = num_steps if record_every is None else record_every
    if not isinstance(record_every, (int, np.integer)) or record_every <= 0 or num_steps % record_every:
        raise ValueError(f"record_every must be a positive divisor of num_steps = {num_steps}, got {record_every!r}")
    return int(record_every)


def reverse_sample(
    key: Array,
    score_fn: Any,
    schedule: Schedule,
    *,
    num_steps: int,
    batch: int | None = None,
    n: int | None = None,
    x_init: Array | None = None,
    sampler: str = "euler_maruyama",
    spacing: str = "uniform",
    observables: Mapping[str, Observable] | None = None,
    record_every: int | None = None,
    record_path: bool = False,
    keep_info: bool = False,
    dtype=None,
) -> Trajectory:
    """Integrate the reverse dynamics from T (x_T ~ N(0, σ_T² I) unless x_init is given) down to t_min.

    Args:
        key: PRNG key; step k uses fold_in(key, k) (its i-th score evaluation fold_in(fold_in(key, k), i), the
            final one at t_min fold_in(fold_in(key, num_steps), 1)), the prior fold_in(key, 2**31 - 1), the
            initial state of a stateful score fold_in(key, 2**31 - 2).
        score_fn: pytree-callable score_fn(x, t) (e.g. `physics.scores.ExactScore`), a plain function, or a
            stateful score (`physics.integrator`: init(key, x, t), score(key, x, t, state) -> (score, state)).
        schedule: the noise schedule; its `time_grid(num_steps, spacing)` gives the times.
        num_steps: number of steps from T to t_min.
        batch, n: number of trajectories and dimension (when x_init is not given).
        sampler: a name in `physics.samplers.SAMPLERS`.
        spacing: "uniform" or "log" (geometric: needed by deterministic samplers on discrete data).
        observables: name -> obs(x, denoised, t), recorded every ``record_every`` steps and at t_min.
        record_every: recording stride (default: only the start and the end); must divide num_steps.
        record_path: also store x at every recording time.
        keep_info: also return the `Info` of every step (score at x_{t_k} and noise ξ_k, (num_steps, batch, n)).
    Returns:
        Trajectory; x_{k+1} = step(x_k, Info_k) reproduces the path (e.g. Euler–Maruyama
        x_{k+1} = x_k − (f x_k − g² S_k) Δ_k + g √Δ_k ξ_k).
    """
    args, settings = _prepare(key, score_fn, schedule, num_steps, batch, n, x_init, sampler, spacing, observables,
                              record_every, record_path, keep_info, dtype)
    result, bad_step = _run(*args, **settings, check_every_step=False)
    if int(bad_step) < num_steps + 1:
        first_bad = int(_run(*args, **settings, check_every_step=True)[1])
        _raise_non_finite(first_bad, schedule, num_steps, spacing, sampler)
    return result


def reverse_sample_stacked(
    keys: Array,
    score_fns: Any,
    schedule: Schedule,
    *,
    num_steps: int,
    batch: int,
    n: int,
    sampler: str = "euler_maruyama",
    spacing: str = "uniform",
    observables: Mapping[str, Observable] | None = None,
    record_every: int | None = None,
    dtype=None,
) -> Trajectory:
    """D independent `reverse_sample` runs in one compiled program (`jax.vmap` over the runs): run d uses
    keys[d] and the score d of ``score_fns``, one pytree score whose array leaves all carry a leading axis D
    (e.g. D disorder samples' scores stacked with ``jax.tree_util.tree_map(lambda *a: jnp.stack(a), *scores)``).
    Run d is `reverse_sample`(keys[d], score d, …) up to floating-point rounding (the same draws: they depend on
    the key, the shape and the index only). On a GPU, where a small run is bound by the latency of its sequential
    steps, the D runs share that latency (measured gains: `physics.sk_generation.mc_replica_generation_samples`).

    Args:
        keys: (D, …) PRNG keys; the other arguments as `reverse_sample` (from the prior, no x_init).
    Returns:
        Trajectory whose arrays carry the leading axis D (times included).
    Raises:
        FloatingPointError naming the first run and step whose state is not finite.
    """
    num = int(jax.tree_util.tree_leaves(keys)[0].shape[0])
    (_, score, _, prior_scale), settings = _prepare(None, score_fns, schedule, num_steps, batch, n, None, sampler,
                                                    spacing, observables, record_every, False, False, dtype,
                                                    copies=num)

    result, bad = _run_stacked(keys, score, prior_scale, **settings, check_every_step=False)
    if np.any(np.asarray(bad) < num_steps + 1):
        first = np.asarray(_run_stacked(keys, score, prior_scale, **settings, check_every_step=True)[1])
        d = int(np.argmin(first))
        _raise_non_finite(int(first[d]), schedule, num_steps, spacing, sampler, f" of run {d} of {num}")
    return result


def _prepare(key, score_fn, schedule, num_steps, batch, n, x_init, sampler, spacing, observables, record_every,
             record_path, keep_info, dtype, copies=1):
    """`reverse_sample`'s checks (with the memory of ``copies`` runs) → (args of `_run`, its static settings)."""
    if sampler not in SAMPLERS:
        raise ValueError(f"unknown sampler {sampler!r} for a continuous-time schedule; choose one of "
                         f"{sorted(SAMPLERS)} (Li et al.'s samplers run on their own schedule: "
                         "physics.discrete.discrete_sample)")
    if spacing not in TIME_SPACINGS:
        raise ValueError(f"unknown time spacing {spacing!r}; choose one of {list(TIME_SPACINGS)}")
    if not isinstance(num_steps, int) or num_steps <= 0:
        raise ValueError(f"num_steps must be a positive integer, got {num_steps!r}")
    record_every = recording_stride(num_steps, record_every)
    if x_init is None:
        if batch is None or n is None:
            raise ValueError("give either x_init or both batch and n")
        check_positive_int("batch", batch)
        check_positive_int("n", n)
    else:
        x_init = jnp.asarray(x_init)
        if x_init.ndim != 2 or 0 in x_init.shape:
            raise ValueError(f"x_init must have shape (batch, n) with batch, n >= 1, got {x_init.shape}")
        batch, n = x_init.shape
    target_n = getattr(getattr(score_fn, "target", None), "n", None)
    if isinstance(target_n, int) and target_n != n:
        raise ValueError(f"the state has n = {n} components but the score's target has n = {target_n}")
    itemsize = jnp.dtype(dtype or (x_init.dtype if x_init is not None else jnp.zeros(()).dtype)).itemsize
    num_records = num_steps // record_every + 1
    per_run = itemsize * batch * n * (8 + (num_records if record_path else 0) + (2 * num_steps if keep_info else 0))
    check_memory(copies * per_run,
                 (f"{copies} runs of " if copies > 1 else "") + f"reverse_sample with batch = {batch}, n = {n}"
                 + (f", {num_records} recorded paths" if record_path else "")
                 + (f", the Info of {num_steps} steps" if keep_info else ""),
                 "run several smaller batches (e.g. physics.sharding or a loop over keys)"
                 + (" or record fewer times" if record_path else "") + (" or keep_info=False" if keep_info else ""))
    observables = tuple(sorted((observables or {}).items()))
    if x_init is None:
        prior = (schedule.sigma(schedule.start_time), (batch, n), jnp.dtype(dtype or jnp.zeros(()).dtype))
    else:
        prior = (None, None, None)
    args = (key, as_score(score_fn), x_init, prior[0])
    settings = dict(schedule=schedule, num_steps=num_steps, sampler=sampler, spacing=spacing, observables=observables,
                    record_every=record_every, record_path=record_path, keep_info=bool(keep_info),
                    prior_shape=prior[1], prior_dtype=prior[2])
    return args, settings


@functools.partial(jax.jit, static_argnames=_RUN_SETTINGS)
def _run_stacked(keys, score, prior_scale, **settings):
    """`_run` from the prior, vmapped over the leading axis of keys and of the score's leaves."""
    return jax.vmap(lambda key, one: _run(key, one, None, prior_scale, **settings))(keys, score)


def _raise_non_finite(first_bad, schedule, num_steps, spacing, sampler, where=""):
    times = schedule.time_grid(num_steps, spacing)
    raise FloatingPointError(
        f"non-finite state after step {first_bad} of {num_steps}{where} (t = "
        f"{float(times[min(first_bad, num_steps)]):.6g}, sampler {sampler!r}, schedule {schedule.name!r}); reduce "
        "the step size or check the score"
    )


@functools.partial(jax.jit, static_argnames=_RUN_SETTINGS)
def _run(key, score, x_init, prior_scale, *, schedule, num_steps, sampler, spacing, observables, record_every,
         record_path, keep_info, prior_shape, prior_dtype, check_every_step):
    """The scan of `reverse_sample`, from x_init or (x_init None) from the prior σ_T ξ, ξ of prior_shape and
    prior_dtype drawn from fold_in(key, 2**31 − 1) (σ_T = prior_scale, evaluated outside as
    `physics.forward.prior_sample` does, so that x_T is that function's, bit for bit); also returns the first
    step k (1 ≤ k ≤ num_steps) whose state x_k is not finite, num_steps + 1 if none: exact with
    check_every_step, else the last step of the first record block that ends non-finite."""
    method = SAMPLERS[sampler]
    if x_init is None:
        # the barrier keeps σ_T out of the draw's fused kernel, whose rounding would otherwise differ from the
        # separate product of `physics.forward.prior_sample`
        noise = standard_normal(jax.random.fold_in(key, 2**31 - 1), prior_shape, prior_dtype)
        x_init = prior_scale * jax.lax.optimization_barrier(noise)
    times = schedule.time_grid(num_steps, spacing).astype(x_init.dtype)
    state = method.init(x_init, score.init(jax.random.fold_in(key, 2**31 - 2), x_init, times[0]))
    # with observables, each block's first step is taken apart so that its score (needed for the record) is the
    # only one kept unless keep_info; without, the block is one scan: one copy of the step in the program
    peel = 1 if observables else 0

    def record(x, score_value, t):
        denoised = denoiser_from_score(score_value, x, schedule.alpha(t), schedule.sigma(t))
        return {name: fn(x, denoised, t) for name, fn in observables}

    def one_step(carry, k):
        state, bad = carry
        new, info = method.step(jax.random.fold_in(key, k), state, times[k], times[k + 1], score, schedule)
        if check_every_step:
            bad = jnp.where((bad > k) & ~jnp.all(jnp.isfinite(new.x)), k + 1, bad)
        return (new, bad), info

    def block(carry, start):
        x_start = carry[0].x
        if peel:
            carry, first = one_step(carry, start)

        def body(c, k):
            c, step_info = one_step(c, k)
            return c, (step_info if keep_info else None)

        (end, bad), infos = jax.lax.scan(body, carry, start + peel + jnp.arange(record_every - peel))
        if not check_every_step:
            bad = jnp.where((bad > start) & ~jnp.all(jnp.isfinite(end.x)), start + record_every, bad)
        if peel and keep_info:
            infos = jax.tree_util.tree_map(lambda a, b: jnp.concatenate([a[None], b]), first, infos)
        values = record(x_start, first.score, times[start]) if peel else {}
        return (end, bad), ((values, x_start if record_path else None), infos)

    starts = jnp.arange(0, num_steps, record_every)
    (state, bad), ((values, path), infos) = jax.lax.scan(block, (state, jnp.asarray(num_steps + 1)), starts)
    x = state.x
    final_score, score_state = evaluate(score, jax.random.fold_in(key, num_steps), 1, x, times[-1], state.score_state)
    final_values = record(x, final_score, times[-1])
    values = {k: jnp.concatenate([values[k], final_values[k][None]]) for k in values}
    if record_path:
        path = jnp.concatenate([path, x[None]])
    if keep_info:
        infos = jax.tree_util.tree_map(lambda a: a.reshape((num_steps,) + a.shape[2:]), infos)
    denoised = denoiser_from_score(final_score, x, schedule.alpha(times[-1]), schedule.sigma(times[-1]))
    rec_times = jnp.concatenate([times[starts], times[-1:]])
    return Trajectory(x, denoised, rec_times, values, path, infos, score_state), bad
