"""Reverse-time samplers: one step from time t down to s < t, driven by a score, on the protocol of
`physics.integrator` (``init(x, score_state) -> SamplerState``, ``step(key, state, t, s, score, schedule) ->
(state, Info)``), with x of shape (batch, n) and score ≈ ∇ ln p_t. A sampler never knows which target it runs.
Notation (Song et al., ICLR 2021, "Score-based generative modeling through SDEs"): f = d ln α/dt,
g² = dσ²/dt − 2fσ², Δ = t − s > 0, ξ ~ N(0, I), S = score(x, t), and the denoiser D = (x + σ² S)/α from
Tweedie's formula.

    euler_maruyama  reverse SDE dx = [f x − g² ∇ln p_t] dt + g dW̄ (Song et al. 2021, eq. 6), Euler–Maruyama:
                    x_s = x − (f x − g² S) Δ + g √Δ ξ
    ddpm            exponential integrator / ancestral step: x_s drawn from the forward bridge
                    q(x_s | x_t = x, x₀ = D), mean (α_{t|s} σ_s²/σ_t²) x + (α_s σ²_{t|s}/σ_t²) D,
                    variance σ²_{t|s} σ_s²/σ_t², with α_{t|s} = α_t/α_s, σ²_{t|s} = σ_t² − α_{t|s}² σ_s²
                    (Ho et al. 2020, eqs. 6–7, in continuous time)
    pf_euler        probability-flow ODE dx/dt = f x − ½ g² ∇ln p_t (Song et al. 2021, eq. 13), explicit Euler
    pf_heun         the same ODE, Heun's second-order predictor–corrector (Karras et al. 2022, alg. 1)
    ddim            deterministic DDIM (η = 0): x_s = α_s D + σ_s ε̂, ε̂ = (x − α_t D)/σ_t (Song et al. 2021, eq. 12)

Li et al.'s discrete-time samplers (`physics.discrete`) follow the same protocol on their own clock (the step
index); `get_sampler` finds both kinds.

The stochastic samplers draw ξ with `physics.normal_draws.standard_normal`: the numbers of
``jax.random.normal(key, shape, dtype)``, bit for bit, computed faster on the CPU.
"""

from __future__ import annotations

from typing import Any

import jax.numpy as jnp

from statphys.models.base import denoiser_from_score

from .discrete import DISCRETE_SAMPLERS
from .integrator import Info, Sampler, evaluate, euler_maruyama_update, one_step_init
from .normal_draws import standard_normal

Array = Any


def _euler_maruyama(key, state, t, s, score, schedule):
    x = state.x
    value, score_state = evaluate(score, key, 1, x, t, state.score_state)
    noise = standard_normal(key, x.shape, x.dtype)
    drift = schedule.drift(t) * x - schedule.diffusion2(t) * value
    x_s = euler_maruyama_update(x, -drift, schedule.diffusion2(t), t - s, noise)
    return state._replace(x=x_s, score_state=score_state), Info(value, noise)


def _ddpm(key, state, t, s, score, schedule):
    x = state.x
    value, score_state = evaluate(score, key, 1, x, t, state.score_state)
    denoised = denoiser_from_score(value, x, schedule.alpha(t), schedule.sigma(t))
    noise = standard_normal(key, x.shape, x.dtype)
    x_s = forward_bridge(x, denoised, t, s, schedule, noise)
    return state._replace(x=x_s, score_state=score_state), Info(value, noise)


def forward_bridge(x: Array, data: Array, t: Array, s: Array, schedule: Any, noise: Array) -> Array:
    """A draw of the forward bridge q(x_s | x_t = x, x₀ = data), s < t, from standard normal ``noise``: mean
    (α_{t|s} σ_s²/σ_t²) x + (α_s σ²_{t|s}/σ_t²) data, variance σ²_{t|s} σ_s²/σ_t² (the ddpm step above)."""
    alpha_t, sigma_t, alpha_s, sigma_s = schedule.alpha(t), schedule.sigma(t), schedule.alpha(s), schedule.sigma(s)
    alpha_ts = alpha_t / alpha_s
    var_ts = sigma_t**2 - alpha_ts**2 * sigma_s**2
    mean = (alpha_ts * sigma_s**2 * x + alpha_s * var_ts * data) / sigma_t**2
    return mean + jnp.sqrt(var_ts * sigma_s**2 / sigma_t**2) * noise


def _ode_velocity(x, t, score, schedule):
    """Probability-flow velocity f x − ½ g² S."""
    return schedule.drift(t) * x - 0.5 * schedule.diffusion2(t) * score


def _pf_euler(key, state, t, s, score, schedule):
    x = state.x
    value, score_state = evaluate(score, key, 1, x, t, state.score_state)
    x_s = x - _ode_velocity(x, t, value, schedule) * (t - s)
    return state._replace(x=x_s, score_state=score_state), Info(value, jnp.zeros_like(x))


def _pf_heun(key, state, t, s, score, schedule):
    x = state.x
    value, score_state = evaluate(score, key, 1, x, t, state.score_state)
    v_t = _ode_velocity(x, t, value, schedule)
    x_pred = x - v_t * (t - s)
    value_s, score_state = evaluate(score, key, 2, x_pred, s, score_state)
    v_s = _ode_velocity(x_pred, s, value_s, schedule)
    x_s = x - 0.5 * (v_t + v_s) * (t - s)
    return state._replace(x=x_s, score_state=score_state), Info(value, jnp.zeros_like(x))


def _ddim(key, state, t, s, score, schedule):
    x = state.x
    value, score_state = evaluate(score, key, 1, x, t, state.score_state)
    alpha_t, sigma_t = schedule.alpha(t), schedule.sigma(t)
    denoised = denoiser_from_score(value, x, alpha_t, sigma_t)
    eps = (x - alpha_t * denoised) / sigma_t
    x_s = schedule.alpha(s) * denoised + schedule.sigma(s) * eps
    return state._replace(x=x_s, score_state=score_state), Info(value, jnp.zeros_like(x))


euler_maruyama = Sampler(one_step_init, _euler_maruyama)
ddpm = Sampler(one_step_init, _ddpm)
pf_euler = Sampler(one_step_init, _pf_euler)
pf_heun = Sampler(one_step_init, _pf_heun)
ddim = Sampler(one_step_init, _ddim)

#: Continuous-time samplers (run by `physics.trajectory.reverse_sample` on a `Schedule`).
SAMPLERS: dict[str, Sampler] = {
    "euler_maruyama": euler_maruyama,
    "ddpm": ddpm,
    "pf_euler": pf_euler,
    "pf_heun": pf_heun,
    "ddim": ddim,
}
STOCHASTIC = frozenset({"euler_maruyama", "ddpm"})


def get_sampler(name: str) -> Sampler:
    """The sampler called ``name``: continuous-time (SAMPLERS) or Li et al.'s discrete-time (DISCRETE_SAMPLERS)."""
    if name in SAMPLERS:
        return SAMPLERS[name]
    if name in DISCRETE_SAMPLERS:
        return DISCRETE_SAMPLERS[name]
    raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS) + sorted(DISCRETE_SAMPLERS)}")
