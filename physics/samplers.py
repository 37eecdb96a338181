"""Reverse-time samplers: one step from time t down to s < t, driven by a score function.

Every sampler is a pure function
    step(key, x, t, s, score_fn, schedule) -> (x_s, StepInfo)
with x of shape (batch, n) and score_fn(x, t) ≈ ∇ ln p_t(x). A sampler never knows which target it runs.
Notation (Song et al., ICLR 2021, "Score-based generative modeling through SDEs"): f = d ln α/dt, g² = dσ²/dt − 2fσ², Δ = t − s > 0, ξ ~ N(0, I), and the
denoiser D = (x + σ² score)/α from Tweedie's formula.

    euler_maruyama  reverse SDE dx = [f x − g² ∇ln p_t] dt + g dW̄, Euler–Maruyama:
                    x_s = x − (f x − g² S) Δ + g √Δ ξ
    ddpm            exponential integrator / ancestral step: x_s drawn from the forward bridge
                    q(x_s | x_t = x, x₀ = D), mean (α_{t|s} σ_s²/σ_t²) x + (α_s σ²_{t|s}/σ_t²) D,
                    variance σ²_{t|s} σ_s²/σ_t², with α_{t|s} = α_t/α_s, σ²_{t|s} = σ_t² − α_{t|s}² σ_s²
                    (Ho et al. 2020, eqs. 6–7, in continuous time)
    pf_euler        probability-flow ODE dx/dt = f x − ½ g² ∇ln p_t, explicit Euler
    pf_heun         the same ODE, Heun's second-order predictor–corrector (Karras et al. 2022, alg. 1)
    ddim            deterministic DDIM (η = 0): x_s = α_s D + σ_s ε̂, ε̂ = (x − α_t D)/σ_t (Song et al. 2021, eq. 12)
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

from statphys.models.base import denoiser_from_score

Array = Any
ScoreFn = Callable[[Array, Array], Array]


class StepInfo(NamedTuple):
    """What a step saw: the score at (x_t, t) and the standard normal noise it used (zeros if none)."""

    score: Array
    noise: Array


def euler_maruyama(key, x, t, s, score_fn, schedule):
    dt = t - s
    score = score_fn(x, t)
    noise = jax.random.normal(key, x.shape, x.dtype)
    drift = schedule.drift(t) * x - schedule.diffusion2(t) * score
    return x - drift * dt + jnp.sqrt(schedule.diffusion2(t) * dt) * noise, StepInfo(score, noise)


def ddpm(key, x, t, s, score_fn, schedule):
    score = score_fn(x, t)
    alpha_t, sigma_t, alpha_s, sigma_s = schedule.alpha(t), schedule.sigma(t), schedule.alpha(s), schedule.sigma(s)
    denoised = denoiser_from_score(score, x, alpha_t, sigma_t)
    alpha_ts = alpha_t / alpha_s
    var_ts = sigma_t**2 - alpha_ts**2 * sigma_s**2
    mean = (alpha_ts * sigma_s**2 * x + alpha_s * var_ts * denoised) / sigma_t**2
    noise = jax.random.normal(key, x.shape, x.dtype)
    return mean + jnp.sqrt(var_ts * sigma_s**2 / sigma_t**2) * noise, StepInfo(score, noise)


def _ode_velocity(x, t, score, schedule):
    return schedule.drift(t) * x - 0.5 * schedule.diffusion2(t) * score


def pf_euler(key, x, t, s, score_fn, schedule):
    del key
    score = score_fn(x, t)
    return x - _ode_velocity(x, t, score, schedule) * (t - s), StepInfo(score, jnp.zeros_like(x))


def pf_heun(key, x, t, s, score_fn, schedule):
    del key
    score = score_fn(x, t)
    v_t = _ode_velocity(x, t, score, schedule)
    x_pred = x - v_t * (t - s)
    v_s = _ode_velocity(x_pred, s, score_fn(x_pred, s), schedule)
    return x - 0.5 * (v_t + v_s) * (t - s), StepInfo(score, jnp.zeros_like(x))


def ddim(key, x, t, s, score_fn, schedule):
    del key
    score = score_fn(x, t)
    alpha_t, sigma_t = schedule.alpha(t), schedule.sigma(t)
    denoised = denoiser_from_score(score, x, alpha_t, sigma_t)
    eps = (x - alpha_t * denoised) / sigma_t
    return schedule.alpha(s) * denoised + schedule.sigma(s) * eps, StepInfo(score, jnp.zeros_like(x))


SAMPLERS: dict[str, Callable] = {
    "euler_maruyama": euler_maruyama,
    "ddpm": ddpm,
    "pf_euler": pf_euler,
    "pf_heun": pf_heun,
    "ddim": ddim,
}
STOCHASTIC = frozenset({"euler_maruyama", "ddpm"})


def get_sampler(name: str) -> Callable:
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}; choose one of {sorted(SAMPLERS)}")
    return SAMPLERS[name]
