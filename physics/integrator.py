"""One integrator: a sampler is a pair (init, step) over a `SamplerState`, run by one `lax.scan` (`integrate`).

    sampler.init(x, score_state=None) -> SamplerState(x, history, score_state)
    sampler.step(key, state, t, s, score, schedule) -> (state, Info)

advances the state from time t to time s on the schedule's clock (s < t for generation, s > t for a forward
SDE). ``history`` is what a multistep sampler carries from one step to the next (the previous ε of Li et al.'s
accelerated DDIM, `physics.discrete`; None for one-step samplers); ``score_state`` is the state of a stateful
score. `Info` is what the step saw: the score at (x_t, t) and the standard normal noise ξ it drew (zeros for a
deterministic step), shapes (batch, n) (Li et al.'s accelerated DDPM draws two: (batch, 2n)).

A score is either a pure function score_fn(x, t) ≈ ∇ ln p_t(x) or a stateful score with
    init(key, x, t) -> score_state,        score(key, x, t, score_state) -> (∇ ln p_t(x), score_state)
(e.g. the persistent Monte-Carlo chains of `physics.mc_score`). `as_score` adapts a pure one, in this one place.
A sampler evaluates the score of its i-th evaluation in a step (i = 1, 2, …) with key fold_in(key, i) and draws
its own noise from ``key`` itself, so a pure score leaves the noise of every step as it was.

Generic updates shared by every path integrator of the package (reverse samplers, forward paths, entropy
production, the PF-ODE of the speed–accuracy relations):
    euler_maruyama_update   x + A Δ + √(g² Δ) ξ, Δ > 0   (Euler–Maruyama for dx = A dt + g dW; Kloeden & Platen,
                                                           Numerical Solution of SDEs (1992), eq. 9.1.1)
    rk4_update              classical Runge–Kutta for dx/du = v(x, u) (Hairer, Nørsett & Wanner, Solving ODEs I,
                                                           Sec. II.1, Table 1.2)
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from statphys.models.base import pytree_dataclass

from .normal_draws import standard_normal
from .scores import as_pytree_callable

Array = Any


class Info(NamedTuple):
    """What a step saw: the score at (x_t, t), (batch, n), and the standard normal noise it drew (zeros if none)."""

    score: Array
    noise: Array


class SamplerState(NamedTuple):
    """The state a sampler advances: x (batch, n), a multistep sampler's history (None for one-step samplers),
    and the state of a stateful score (None for a pure score)."""

    x: Array
    history: Any = None
    score_state: Any = None


class Sampler(NamedTuple):
    """A sampler: ``init(x, score_state=None) -> SamplerState`` and
    ``step(key, state, t, s, score, schedule) -> (SamplerState, Info)`` (module docstring).

    Calling it, ``sampler(key, x, t, s, score_fn, schedule) -> (x_s, Info)``, takes one step from a fresh state
    with a pure score_fn(x, t) (one-step samplers; the form `physics.reduced` and `physics.transitions` use)."""

    init: Callable
    step: Callable

    def __call__(self, key: Array, x: Array, t: Array, s: Array, score_fn: Any, schedule: Any) -> tuple[Array, Info]:
        state, info = self.step(key, self.init(x), t, s, as_score(score_fn), schedule)
        return state.x, info


def one_step_init(x: Array, score_state: Any = None) -> SamplerState:
    """init of a sampler without history: SamplerState(x (batch, n), None, score_state)."""
    return SamplerState(x, None, score_state)


@pytree_dataclass
class PureScore:
    """A pure score_fn(x, t) seen as a stateful score without state."""

    fn: Any

    def init(self, key: Array, x: Array, t: Array) -> None:
        return None

    def __call__(self, key: Array, x: Array, t: Array, state: Any) -> tuple[Array, Any]:
        return self.fn(x, t), state


def is_stateful(score: Any) -> bool:
    """Whether ``score`` follows the stateful protocol (has ``init``)."""
    return callable(getattr(score, "init", None))


def as_score(score: Any) -> Any:
    """The stateful form of a score: a stateful score as it is, a pure score_fn(x, t) ≈ ∇ ln p_t(x),
    (batch, n) -> (batch, n), wrapped in `PureScore` (a plain function first made a pytree)."""
    return score if is_stateful(score) else PureScore(as_pytree_callable(score))


def evaluate(score: Any, key: Array, i: int, x: Array, t: Array, score_state: Any) -> tuple[Array, Any]:
    """The i-th score evaluation of a step (i ≥ 1): score(fold_in(key, i), x, t, score_state) (key None: None)."""
    return score(None if key is None else jax.random.fold_in(key, i), x, t, score_state)


def euler_maruyama_update(x: Array, drift: Array, diffusion2: Array, dt: Array, noise: Array) -> Array:
    """x + A Δ + √(g² Δ) ξ: one Euler–Maruyama step of dx = A dt + g dW with Δ = dt > 0 (A = drift, g² = diffusion2,
    ξ = noise; Kloeden & Platen (1992), eq. 9.1.1). A reverse-time SDE passes its drift in the direction of the
    step. x, drift, noise (batch, n); diffusion2, dt scalars (or broadcastable)."""
    return x + drift * dt + jnp.sqrt(diffusion2 * dt) * noise


def rk4_update(velocity: Callable[[Array, Array], Array], x: Array, u: Array, h: Array) -> Array:
    """One classical Runge–Kutta step of dx/du = velocity(x, u) from u to u + h (h of either sign):
    k₁ = v(x, u), k₂ = v(x + h k₁/2, u + h/2), k₃ = v(x + h k₂/2, u + h/2), k₄ = v(x + h k₃, u + h),
    x + h (k₁ + 2k₂ + 2k₃ + k₄)/6 (Hairer, Nørsett & Wanner, Solving ODEs I, Table II.1.2). x of any shape,
    velocity(x, u) of the same shape; u, h scalars."""
    k1 = velocity(x, u)
    k2 = velocity(x + 0.5 * h * k1, u + 0.5 * h)
    k3 = velocity(x + 0.5 * h * k2, u + 0.5 * h)
    k4 = velocity(x + h * k3, u + h)
    return x + h * (k1 + 2 * k2 + 2 * k3 + k4) / 6


def sde_euler_maruyama(drift_fn: Callable[[Array, Array], Array], diffusion2_fn: Callable[[Array], Array],
                       time_of: Callable[[Any], Array] | None = None) -> Sampler:
    """Sampler of a given SDE dx = A(x, t) dt + g(t) dW forward in its time (s > t), Euler–Maruyama:
    x_s = x + A(x, t)(s − t) + √(g²(t)(s − t)) ξ, ξ from `normal_draws.standard_normal` (the numbers of
    jax.random.normal). drift_fn(x, t): (batch, n) -> (batch, n); diffusion2_fn(t) = g². The step ignores the
    score and the schedule; Info.score is zeros. With time_of, the t and s a step is handed are records (e.g.
    the time with the SDE's coefficients there, `path_entropy.Clock`) and time_of(t) is the time."""
    time_of = (lambda t: t) if time_of is None else time_of

    def step(key, state, t, s, score, schedule):
        dt = time_of(s) - time_of(t)
        noise = standard_normal(key, state.x.shape, state.x.dtype)
        x = euler_maruyama_update(state.x, drift_fn(state.x, t), diffusion2_fn(t), dt, noise)
        return state._replace(x=x), Info(jnp.zeros_like(x), noise)

    return Sampler(one_step_init, step)


def ode_rk4(velocity_fn: Callable[[Array, Array], Array]) -> Sampler:
    """Sampler of a given ODE dx/du = v(x, u) from u = t to u = s by one RK4 step (`rk4_update`); deterministic,
    Info.score and Info.noise are zeros."""

    def step(key, state, t, s, score, schedule):
        x = rk4_update(velocity_fn, state.x, t, s - t)
        return state._replace(x=x), Info(jnp.zeros_like(x), jnp.zeros_like(x))

    return Sampler(one_step_init, step)


def integrate(
    key: Array | None,
    sampler: Sampler,
    score: Any,
    schedule: Any,
    state: SamplerState,
    t_from: Array,
    t_to: Array,
    labels: Array | None = None,
    observe: Callable | None = None,
) -> tuple[SamplerState, Any]:
    """Run the steps t_from[k] → t_to[k], k = 0…K−1, as one `lax.scan`; step k draws from fold_in(key, labels[k])
    (labels default to k; key None for deterministic samplers).

    Args:
        score: a stateful score (`as_score`), or None for samplers that ignore it.
        state: the start state, e.g. sampler.init(x, score.init(...)).
        t_from, t_to: (K,) times of each step (or pytrees of leading axis K that a sampler reads times from,
            `sde_euler_maruyama` with ``time_of``).
        observe: observe(state, new_state, info, t, s) -> pytree recorded at every step, stacked to leading
            axis K (e.g. ``lambda old, new, info, t, s: info`` keeps the Info); None records nothing.
    Returns:
        (final state, stacked records or None).
    """
    labels = jnp.arange(jax.tree_util.tree_leaves(t_from)[0].shape[0]) if labels is None else labels

    def body(current, inputs):
        label, t, s = inputs
        step_key = None if key is None else jax.random.fold_in(key, label)
        new, info = sampler.step(step_key, current, t, s, score, schedule)
        return new, (None if observe is None else observe(current, new, info, t, s))

    return jax.lax.scan(body, state, (labels, t_from, t_to))
