"""Stochastic entropies along the paths of a diffusion: system, medium, total, and the discrete path log-ratio.

A diffusion with drift A(x, t) and isotropic noise, dx = A dt + g dW on ℝⁿ, has temperature (diffusion
coefficient, unit mobility) D(t) = g²/2. Along one path X = (x_t), Seifert's stochastic entropies are
(Seifert, Rep. Prog. Phys. 75, 126001 (2012), eqs. 44–48; Yu & Huang, arXiv 2405.11932, Sec. III):

    system   Δs_sys = ln p_start(x_start) − ln p_end(x_end)
    medium   Δs_m   = ∫ (A/D) ∘ dx            (heat over temperature, Stratonovich product ∘)
    total    Σ      = Δs_sys + Δs_m,          ⟨e^{−Σ}⟩ = 1 (integral fluctuation theorem, IFT).

Stratonovich ↔ Itô: for dx = A dt + g dW and h = A/D,  ∫ h ∘ dx = ∫ h · dx + ½ ∫ g² ∇·h dt
                                                        = ∫ h · dx + ∫ ∇·A dt.
On a time grid t_0 < … < t_K (step Δ_k) the path is simulated by Euler–Maruyama (`physics.integrator`) with the
kernel K_k(y | x) = N(y; x + A(x, t_k) Δ_k, g²(t_k) Δ_k I). The backward process uses the same protocol read in
reverse, K†_k(x | y) = N(x; y + A(y, t_k) Δ_k, g²(t_k) Δ_k I). Per step we record

    Stratonovich  (A(x_k) + A(x_{k+1}))/2 · Δx / D               (trapezoid rule)
    Itô           A(x_k) · Δx / D,   correction ∇·A(x_k) Δ_k
    path ratio    ln K_k(x_{k+1}|x_k) − ln K†_k(x_k|x_{k+1})
                  = Stratonovich + (|A(x_{k+1})|² − |A(x_k)|²) Δ_k / (2 g²).

Σ_path = Δs_sys + Σ_k (path ratio) is the log-ratio ln P_F[X]/P_B[X̃] of the discrete path measures, so
⟨e^{−Σ_path}⟩ = 1 and the Crooks relation P_F(Σ)/P_B(−Σ) = e^{Σ} hold exactly at any step size (for any
normalised p_end); the Stratonovich Σ converges to it as Δ → 0.

A generative run of `physics.trajectory.reverse_sample` (Euler–Maruyama, A_R = −f x + g² ∇ln p_t in the generative
time) that keeps its `Info` gives the path ratio from the noise it drew (`reverse_run_path_ratio`):
ln K_k = −½|ξ_k|² − (n/2) ln(2π g²(t_k) Δ_k), and the backward kernel of the same dynamics with the reversed
protocol, K†_k(x_k | x_{k+1}) = N(x_k; x_{k+1} + A_R(x_{k+1}, t_{k+1}) Δ_k, g²(t_{k+1}) Δ_k I), needs the score at
(x_{k+1}, t_{k+1}), which the next step kept:
    ln K_k − ln K†_k = ½(|ξ†_k|² − |ξ_k|²) + (n/2) ln(g²(t_{k+1})/g²(t_k)),
    ξ†_k = (x_k − x_{k+1} − A_R(x_{k+1}, t_{k+1}) Δ_k)/√(g²(t_{k+1}) Δ_k).
⟨e^{−Σ_path}⟩ = 1 exactly again, and ⟨Σ_path⟩ → ∫ π dt (`physics.entropy_rates`) as Δ → 0.
"""

from __future__ import annotations

import functools
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import tweedie_score

from .integrator import Info, integrate, sde_euler_maruyama
from .scores import as_pytree_callable
from .schedules import Schedule

Array = Any
DriftFn = Callable[[Array, Array], Array]


class PathIncrements(NamedTuple):
    """Per-step terms of the medium entropy, each of shape (num_steps, batch) (module docstring)."""

    stratonovich: Array
    ito: Array
    ito_correction: Array
    path_ratio: Array


class PathEntropy(NamedTuple):
    """Stochastic entropies of a batch of paths; totals of shape (batch,), increments (num_steps, batch)."""

    x_start: Array  # (batch, n)
    x_end: Array  # (batch, n)
    system: Array  # ln p_start(x_start) − ln p_end(x_end)
    increments: PathIncrements

    @property
    def medium(self) -> Array:
        """Δs_m = ∫ (A/D) ∘ dx (Stratonovich)."""
        return jnp.sum(self.increments.stratonovich, axis=0)

    @property
    def medium_ito(self) -> Array:
        """∫ (A/D) · dx (Itô), without the conversion term."""
        return jnp.sum(self.increments.ito, axis=0)

    @property
    def ito_correction(self) -> Array:
        """∫ ∇·A dt, the Stratonovich − Itô difference."""
        return jnp.sum(self.increments.ito_correction, axis=0)

    @property
    def total(self) -> Array:
        """Σ = Δs_sys + Δs_m (Stratonovich)."""
        return self.system + self.medium

    @property
    def total_path(self) -> Array:
        """Σ_path = ln P_F[X]/P_B[X̃] of the discrete path measures (exact IFT at any step)."""
        return self.system + jnp.sum(self.increments.path_ratio, axis=0)


def _divergence(drift_fn: DriftFn, x: Array, t: Array) -> Array:
    """∇·A(x, t) for each row of x, (batch,), by exact Jacobian traces (small n)."""

    def single(y):
        return jnp.trace(jax.jacfwd(lambda z: drift_fn(z[None], t)[0])(y))

    return jax.vmap(single)(x)


def _step_terms(x0, x1, t, dt, drift_fn, diffusion2, ito_correction=True):
    a0, a1 = drift_fn(x0, t), drift_fn(x1, t)
    dx = x1 - x0
    strat = jnp.sum((a0 + a1) * dx, axis=-1) / diffusion2
    ito = 2.0 * jnp.sum(a0 * dx, axis=-1) / diffusion2
    corr = _divergence(drift_fn, x0, t) * dt if ito_correction else jnp.full_like(strat, jnp.nan)
    ratio = strat + (jnp.sum(a1**2, axis=-1) - jnp.sum(a0**2, axis=-1)) * dt / (2.0 * diffusion2)
    return PathIncrements(strat, ito, corr, ratio)


def _check_times(times: Array) -> Array:
    times = jnp.asarray(times)
    tn = np.asarray(times)
    if tn.ndim != 1 or tn.size < 2 or not np.all(np.diff(tn) > 0):
        raise ValueError(f"times must be a strictly increasing 1-D grid of at least 2 times, got shape {tn.shape}")
    return times


def is_pytree(obj: Any) -> bool:
    """Whether obj is a registered pytree (a target jit can take as an argument) rather than an opaque object."""
    return not jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(obj))


def path_entropy(
    key: Array,
    x_start: Array,
    drift_fn: DriftFn,
    diffusion2_fn: Callable[[Array], Array],
    times: Array,
    log_p_start: Callable[[Array], Array],
    log_p_end: Callable[[Array], Array],
    *,
    backward: bool = False,
    ito_correction: bool = True,
) -> PathEntropy:
    """Simulate dx = A dt + g dW by Euler–Maruyama (`integrator.sde_euler_maruyama` run by `integrator.integrate`)
    and record the entropy increments of each step (module docstring), as one compiled function.

    Args:
        key: PRNG key; step k uses fold_in(key, k).
        x_start: (batch, n) start states, drawn from the law whose log-density is log_p_start.
        drift_fn: A(x, t), (batch, n) -> (batch, n).
        diffusion2_fn: g²(t) (scalar).
        times: increasing grid t_0 < … < t_K of the process time, (K + 1,).
        log_p_start, log_p_end: ln p at t_0 and t_K, (batch, n) -> (batch,).
        backward: run the backward process instead: x_start is then the state at t_K, drawn from p_end,
            and the kernels K†_k are applied for k = K−1, …, 0. The returned entropies are those of the
            forward functional Σ_F evaluated on the generated path (Σ_B = −Σ_F; Crooks relation).
        ito_correction: compute ∇·A (exact Jacobian trace, n drift evaluations per step); NaN when False.

    Returns:
        PathEntropy; ``x_start``/``x_end`` are the states at t_0/t_K in both cases.
    """
    times = _check_times(times)
    x_start = jnp.asarray(x_start)
    if x_start.ndim != 2:
        raise ValueError(f"x_start must have shape (batch, n), got {x_start.shape}")
    fns = [as_pytree_callable(fn) for fn in (drift_fn, diffusion2_fn, log_p_start, log_p_end)]
    return _given_paths(key, x_start, times, *fns, backward=backward, ito_correction=ito_correction)


@functools.partial(jax.jit, static_argnames=("backward", "ito_correction"))
def _given_paths(key, x_start, times, drift_fn, diffusion2_fn, log_p_start, log_p_end, *, backward, ito_correction):
    """`path_entropy` on checked inputs."""
    return _paths(key, x_start, Clock(times), lambda x, c: drift_fn(x, c.time), lambda c: diffusion2_fn(c.time),
                  log_p_start, log_p_end, backward, ito_correction)


class Clock(NamedTuple):
    """The times of a path's grid, (K + 1,), with what its dynamics needs there: the schedule's f, g², and for
    generative paths the diffusion time t and α(t), σ(t) (None where not needed). Step k of a path is handed
    Clock[k] (`integrator.sde_euler_maruyama` with ``time_of``), so that the compiled scan does not depend on
    the schedule."""

    time: Array
    drift: Array | None = None
    diffusion2: Array | None = None
    t: Array | None = None
    alpha: Array | None = None
    sigma: Array | None = None


def _paths(key, x_start, clock, drift, diffusion2, log_p_start, log_p_end, backward, ito_correction):
    """The path entropies on the grid ``clock`` (a `Clock`): drift(x, clock[k]) and diffusion2(clock[k]) are A and g²
    at step k; backward a bool or a traced boolean (one compiled function runs both directions)."""
    num_steps = clock.time.shape[0] - 1
    sampler = sde_euler_maruyama(drift, diffusion2, time_of=lambda c: c.time)

    def swap(a, b):
        """(b, a) for the backward process, (a, b) for the forward one."""
        return jnp.where(backward, b, a), jnp.where(backward, a, b)

    def terms(old, new, info, t, s):
        x0, x1 = swap(old.x, new.x)
        return _step_terms(x0, x1, t, s.time - t.time, drift, diffusion2(t), ito_correction)

    steps = jnp.arange(num_steps)
    order = jnp.where(backward, steps[::-1], steps)
    at = lambda index: jax.tree_util.tree_map(lambda a: a[index], clock)  # noqa: E731
    last, incs = integrate(key, sampler, None, None, sampler.init(x_start), at(order), at(order + 1), labels=order,
                           observe=terms)
    incs = jax.tree_util.tree_map(lambda a: jnp.where(backward, a[::-1], a), incs)
    x0, xk = swap(x_start, last.x)
    return PathEntropy(x0, xk, log_p_start(x0) - log_p_end(xk), incs)


def forward_process(target: Any, schedule: Schedule):
    """(drift_fn, diffusion2_fn, log_p(t)) of the noising SDE dx = f x dt + g dW for a target with a
    closed-form marginal (`marginal_log_prob`, e.g. Gaussian, GaussianMixture)."""
    check_closed_form(target)

    def drift_fn(x, t):
        return schedule.drift(t) * x

    def log_p(t):
        return lambda x: target.marginal_log_prob(x, schedule.alpha(t), schedule.sigma(t))

    return drift_fn, schedule.diffusion2, log_p


def check_closed_form(target: Any) -> None:
    """Raise a ValueError unless the target has a closed-form marginal_log_prob (needed for −ln p_t)."""
    if not hasattr(target, "marginal_log_prob"):
        raise ValueError(
            f"target {type(target).__name__} has no closed-form marginal_log_prob; the system entropy −ln p_t needs "
            "it (use a Gaussian or GaussianMixture, or the path log-ratio with a known start law)"
        )


def forward_entropy(key: Array, target: Any, schedule: Schedule, *, num_trajectories: int, num_steps: int,
                    t_start: float = 0.0, t_end: float | None = None, backward: bool = False,
                    ito_correction: bool = True) -> PathEntropy:
    """Entropies of forward noising paths on the uniform grid t_start = t_0 < … < t_K = t_end (default T).

    x_{t_start} ~ p_{t_start} exactly (backward=False), or the backward process from x_{t_end} ~ p_{t_end}.
    Use t_start > 0 for schedules with g(0) = 0 (cond-OT), where the medium entropy ∫ (A/D) ∘ dx is singular.
    ito_correction=False skips ∇·A (the field ito_correction is then NaN).

    Compiled in three pieces: the draws (shared by every schedule, direction and generative path of a target),
    the schedule on the grid (`Clock`), and the paths (shared by every schedule and both directions). A target
    that is not a pytree runs op by op.
    """
    check_closed_form(target)
    t_start = float(t_start)
    t_end = schedule.T if t_end is None else float(t_end)
    if not 0 <= t_start < t_end <= schedule.T:
        raise ValueError(f"need 0 <= t_start < t_end <= T = {schedule.T}, got t_start = {t_start}, t_end = {t_end}")
    compiled = is_pytree(target)
    clock, ends, (g2_start, f_end) = (_forward_clock_jit if compiled else _forward_clock)(
        schedule, t_start, t_end, backward, num_steps=num_steps)
    if float(g2_start) <= 0:
        raise ValueError(f"g²(t_start) = 0 at t_start = {t_start} (schedule {schedule.name!r}); choose t_start > 0")
    if not np.isfinite(float(f_end)):
        raise ValueError(f"the drift f(t_end) is not finite at t_end = {t_end}; choose t_end < T for this schedule")
    x0, xi, k_path = (_draws_jit if compiled else _draws)(key, target, num_trajectories=num_trajectories)
    return (_forward_paths_jit if compiled else _forward_paths)(
        k_path, x0, xi, clock, ends, target, backward, noise_start=(t_end if backward else t_start) > 0,
        ito_correction=ito_correction)


def _draws(key, target, *, num_trajectories):
    """(x₀ ~ target, ξ ~ N(0, I) of its shape, the key of the paths) from split(key, 3)."""
    k_data, k_noise, k_path = jax.random.split(key, 3)
    x0 = target.sample(k_data, num_trajectories)
    return x0, jax.random.normal(k_noise, x0.shape, x0.dtype), k_path


def _forward_clock(schedule, t_start, t_end, backward, *, num_steps):
    """The uniform grid t_start → t_end with f and g² (`Clock`); (α, σ) at t_start, at t_end and at the start
    time of the run (t_end when backward); (g²(t_start), f(t_end)) for the checks of `forward_entropy`."""
    times = jnp.linspace(t_start, t_end, num_steps + 1)
    t_init = jnp.where(backward, t_end, t_start)
    ends = [(schedule.alpha(t), schedule.sigma(t)) for t in (t_start, t_end, t_init)]
    checks = (schedule.diffusion2(t_start), schedule.drift(t_end))
    return Clock(times, schedule.drift(times), schedule.diffusion2(times)), ends, checks


def _forward_paths(k_path, x0, xi, clock, ends, target, backward, *, noise_start, ito_correction):
    """Noising (or backward) paths from x₀ noised to the start time, α x₀ + σ ξ (unless it is 0)."""
    start, end, init = ends
    if noise_start:
        x0 = init[0] * x0 + init[1] * xi
    log_p = lambda ab: lambda x: target.marginal_log_prob(x, *ab)  # noqa: E731
    return _paths(k_path, x0, clock, lambda x, c: c.drift * x, lambda c: c.diffusion2, log_p(start), log_p(end),
                  backward, ito_correction)


_draws_jit = jax.jit(_draws, static_argnames=("num_trajectories",))
_forward_clock_jit = jax.jit(_forward_clock, static_argnames=("num_steps",))
_forward_paths_jit = jax.jit(_forward_paths, static_argnames=("noise_start", "ito_correction"))


def reverse_entropy(key: Array, target: Any, schedule: Schedule, *, num_trajectories: int, num_steps: int,
                    score_fn: Callable | None = None, t_max: float | None = None, spacing: str = "uniform",
                    ito_correction: bool = True) -> PathEntropy:
    """Entropies of generative paths: the reverse SDE with the exact score, x_T ~ p_T exactly.

    Generative time τ = t_0 − t on the grid t_0 = schedule.time_grid(num_steps)[0] down to t_min:
        dx = [−f(t) x + g²(t) ∇ln p_t(x)] dτ + g(t) dW,   t = t_0 − τ,
    with the system entropy ln p_{t_0}(x_start) − ln p_{t_min}(x_end) (Yu & Huang, Sec. III C). score_fn(x, t)
    defaults to the target's closed-form marginal score. t_max replaces t_0 (uniform grid t_max → t_min): use it
    where the drift f = d ln α/dt diverges at T (cosine, cond-OT), since Euler–Maruyama needs |f| Δt ≪ 1.
    spacing "log" makes the grid geometric (Δt/t constant): needed where π ∝ 1/t as t → 0 (cond-OT, spins).
    Spin targets enter through `models.spin_marginal.SpinMarginal` (p_t by enumeration). ito_correction=False
    skips ∇·A (the Jacobian trace costs n drift evaluations per step); the field ito_correction is then NaN.
    Compiled in pieces as `forward_entropy` (the paths shared by every schedule); a target that is not a pytree
    (SpinMarginal) runs op by op.
    """
    check_closed_form(target)
    if spacing not in ("uniform", "log"):
        raise ValueError(f"spacing must be 'uniform' or 'log', got {spacing!r}")
    if t_max is not None:
        if not schedule.t_min < t_max <= schedule.T:
            raise ValueError(f"t_max must be in (t_min, T] = ({schedule.t_min}, {schedule.T}], got {t_max}")
        t_max = float(t_max)
    score_fn = None if score_fn is None else as_pytree_callable(score_fn)
    compiled = is_pytree(target)
    x0, xi, k_path = (_draws_jit if compiled else _draws)(key, target, num_trajectories=num_trajectories)
    clock, ends = (_reverse_clock_jit if compiled else _reverse_clock)(schedule, t_max, num_steps=num_steps,
                                                                       spacing=spacing)
    return (_reverse_paths_jit if compiled else _reverse_paths)(k_path, x0, xi, clock, ends, target, score_fn,
                                                                ito_correction=ito_correction)


def _reverse_clock(schedule, t_max, *, num_steps, spacing):
    """The generative grid (`Clock`): τ = t_0 − t_k from t_0 = t_max (or the schedule's start) down to t_min, with
    t = t_0 − τ, f(t), g²(t), α(t), σ(t); and (α, σ) at t_0 and at t_K."""
    if t_max is None:
        t_grid = schedule.time_grid(num_steps, spacing)
    else:
        grid = jnp.linspace if spacing == "uniform" else jnp.geomspace
        t_grid = grid(t_max, schedule.t_min, num_steps + 1)
    tau = t_grid[0] - t_grid
    t = t_grid[0] - tau
    ends = [(schedule.alpha(t_grid[k]), schedule.sigma(t_grid[k])) for k in (0, -1)]
    return Clock(tau, schedule.drift(t), schedule.diffusion2(t), t, schedule.alpha(t), schedule.sigma(t)), ends


def _reverse_paths(k_path, x0, xi, clock, ends, target, score_fn, *, ito_correction):
    """Generative paths from x_{t_0} = α(t_0) x₀ + σ(t_0) ξ; score_fn None: the target's closed-form score."""
    start, end = ends
    if score_fn is None:
        score = lambda x, c: target.marginal_score(x, c.alpha, c.sigma)  # noqa: E731
    else:
        score = lambda x, c: score_fn(x, c.t)  # noqa: E731

    def drift(x, c):
        return -c.drift * x + c.diffusion2 * score(x, c)

    log_p = lambda ab: lambda y: target.marginal_log_prob(y, *ab)  # noqa: E731
    x = start[0] * x0 + start[1] * xi
    return _paths(k_path, x, clock, drift, lambda c: c.diffusion2, log_p(start), log_p(end), False, ito_correction)


_reverse_clock_jit = jax.jit(_reverse_clock, static_argnames=("num_steps", "spacing"))
_reverse_paths_jit = jax.jit(_reverse_paths, static_argnames=("ito_correction",))


def reverse_run_path_ratio(schedule: Schedule, path: Array, info: Info, times: Array, final_denoised: Array) -> Array:
    """ln K_k(x_{k+1}|x_k) − ln K†_k(x_k|x_{k+1}) of each step of a generative Euler–Maruyama run, from the noise
    it kept (module docstring; the path log-ratio of Seifert, Rep. Prog. Phys. 75, 126001 (2012), eqs. 44–48),
    shape (K, batch).

    Args:
        schedule: the run's schedule; times: its grid t_0 > … > t_K, (K + 1,).
        path: x_k at every step, (K + 1, batch, n) (`reverse_sample(..., record_every=1, record_path=True)`).
        info: the kept `Info` (score at (x_k, t_k) and noise ξ_k, (K, batch, n) each; keep_info=True).
        final_denoised: E[s | x_K] at t_K (the run's ``denoised``), giving the score at (x_K, t_K).
    """
    times = jnp.asarray(times)
    if path.ndim != 3 or info.noise.shape != path[1:].shape or times.shape != path.shape[:1]:
        raise ValueError(f"need path (K + 1, batch, n), info (K, batch, n) and times (K + 1,), got {path.shape}, "
                         f"{info.noise.shape} and {times.shape}")
    x0, x1 = path[:-1], path[1:]
    t0, t1 = times[:-1, None, None], times[1:, None, None]
    dt = t0 - t1
    final_score = tweedie_score(final_denoised, path[-1], schedule.alpha(times[-1]), schedule.sigma(times[-1]))
    score1 = jnp.concatenate([info.score[1:], final_score[None]])
    g2_0, g2_1 = schedule.diffusion2(t0), schedule.diffusion2(t1)
    drift1 = -(schedule.drift(t1) * x1 - g2_1 * score1)
    xi_back = (x0 - x1 - drift1 * dt) / jnp.sqrt(g2_1 * dt)
    n = path.shape[-1]
    return (0.5 * (jnp.sum(xi_back**2, -1) - jnp.sum(info.noise**2, -1))
            + 0.5 * n * jnp.log(g2_1[..., 0] / g2_0[..., 0]))
