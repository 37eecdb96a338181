"""Discrete-time samplers in the form analysed by Li, Wei, Chen & Chi, and their accelerated variants.

Li et al. write T for the number of steps; here it is K = num_steps (T is the diffusion time of
`physics.schedules`). Forward chain (Li et al., arXiv 2306.09251, sec. 2): X_t = √α_t X_{t−1} + √(1−α_t) W_t,
t = 1…K, so that X_t = √ᾱ_t X₀ + √(1−ᾱ_t) ε with ᾱ_t = Π_{k≤t} α_k. Step sizes β_t = 1 − α_t (their eq. 5):

    β₁ = K^{−c₀},   β_{t+1} = (c₁ ln K / K) · min{β₁ (1 + c₁ ln K / K)^t, 1}.

The first ≈ (c₀/c₁) K steps grow β geometrically (constant steps in ln β), the rest take β = c₁ ln K / K:
the step size of every phase is ∝ ln K / K, so a scheme of order q has error ∝ (ln K / K)^q.

The clock of these samplers is the step index t: the score at step t is s_t(x) = ∇ ln q_t(x) of the law of
X_t (noise levels √ᾱ_t, √(1−ᾱ_t); `LiExactScore` for a target with an exact denoiser), and
ε_t(x) = −√(1−ᾱ_t) s_t(x). A run starts from Y_K and applies t = K, K−1, …, 2, ending at Y₁, which is
compared with X₁ (the theorems bound TV(q₁, p₁); β₁ = K^{−c₀} makes X₁ ≈ X₀). Samplers (Z, Z⁺ ~ N(0, I)):

    li_ode        Y_{t−1} = α_t^{−½} (Y_t + ½(1 − α_t) s_t(Y_t))                  (2306.09251, deterministic)
    li_ddpm       Y_{t−1} = α_t^{−½} (Y_t + (1 − α_t) s_t(Y_t) + √(1 − α_t) Z)      (2306.09251, DDPM-type)
    li_ddpm_acc   Y⁺ = Y_t + √((1−α_t)/2) Z,
                  Y_{t−1} = α_t^{−½} (Y⁺ + (1 − α_t) s_t(Y⁺)) + √((1−α_t)/2) Z⁺      (2403.03852, stochastic)
    li_ddim       DDIM: Y_{t−1} = Y_t/√α_t + (√(1−ᾱ_{t−1}) − √(1−ᾱ_t)/√α_t) ε_t(Y_t)
                  = √ᾱ_{t−1} [Y_t/√ᾱ_t + (λ_{t−1} − λ_t) ε_t(Y_t)],  λ = √((1−ᾱ)/ᾱ)   (2403.03852, DDIM)
    li_ddim_acc   the DDIM step plus κ_t (ε_{t+1}(Y_{t+1}) − ε_t(Y_t)), with
                  κ_t = √ᾱ_{t−1}/(ᾱ_t − ᾱ_{t+1}) · [ᾱ_t λ_{t−1} + arcsin √ᾱ_{t−1} − ᾱ_t λ_t − arcsin √ᾱ_t]
                                                                                  (2403.03852, deterministic)

li_ddim_acc is second order: with y = x/√ᾱ the probability-flow ODE reads dy/dλ = ε; interpolating ε
linearly in ᾱ through steps t+1 and t and integrating exactly (∫ᾱ dλ = arctan λ) gives κ_t. The first step
(t = K, no ε_{K+1}) is a plain DDIM step. li_ddpm, li_ddpm_acc, li_ddim and li_ddim_acc (κ_t included)
are the update rules stated in the README of the authors' public repository for 2403.03852
(TimofeyEfimov/AcceleratedDiffusionSamplers); its code (functions/denoising.py) takes the same DDIM and κ_t
steps, and perturbs the accelerated stochastic step by √α_t √((1−α_t)/2) Z instead of √((1−α_t)/2) Z.
li_ode is 2306.09251's deterministic sampler as summarised above.

Every sampler is a `physics.integrator.Sampler`: ``step(key, state, t, s, score, schedule)`` with t the step
index, s = t − 1 and schedule a `LiSchedule`; the state's history is ε_t(Y_t) (li_ddim_acc needs it one step
later; the others carry it unused), (batch, n). `discrete_sample` runs t = K…2 with `integrate`, the noise of
step t from fold_in(key, t). A schedule may be padded past K with α = 1 (`pad_schedule`): a step there is the
identity, so one compiled run serves every K up to the padded length.
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import pytree_dataclass, tweedie_score

from .integrator import Info, Sampler, SamplerState, as_score, evaluate, integrate
from .normal_draws import standard_normal

Array = Any


class LiSchedule(NamedTuple):
    """α_t and ᾱ_t for t = 1…K, stored at index t − 1 (arrays of shape (K,))."""

    alpha: Array
    alpha_bar: Array

    @property
    def num_steps(self) -> int:
        return self.alpha.shape[0]


def li_schedule(num_steps: int, c0: float = 2.0, c1: float = 4.0) -> LiSchedule:
    """The step sizes of Li et al. (arXiv 2306.09251, eq. 5), in float64 NumPy then as jnp arrays, shapes (K,).

    Args:
        num_steps: K, the number of steps (integer ≥ 2; ln K > 0 is needed).
        c0: β₁ = K^{−c₀}, c₀ > 0.
        c1: growth and cap of the step size, c₁ > c₀ so that ᾱ_K ≈ K^{−(c₁−c₀)} → 0 (the prior is N(0, I)).
    """
    alpha, alpha_bar = li_arrays(num_steps, c0, c1)
    return LiSchedule(jax.device_put(alpha), jax.device_put(alpha_bar))


def li_arrays(num_steps: int, c0: float = 2.0, c1: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """(α_t, ᾱ_t) of `li_schedule` as float64 NumPy arrays (K,), with its checks."""
    if isinstance(num_steps, bool) or not isinstance(num_steps, (int, np.integer)) or num_steps < 2:
        raise ValueError(f"num_steps must be an integer >= 2, got {num_steps!r}")
    if not (isinstance(c0, (int, float)) and math.isfinite(c0) and c0 > 0):
        raise ValueError(f"c0 must be a finite number > 0 (beta_1 = K^-c0), got {c0!r}")
    if not (isinstance(c1, (int, float)) and math.isfinite(c1) and c1 > c0):
        raise ValueError(f"c1 must be > c0 = {c0} so that alpha_bar_K -> 0, got {c1!r}")
    rate = c1 * math.log(num_steps) / num_steps
    if rate >= 1:
        raise ValueError(f"c1 ln K / K = {rate:.3g} must be < 1 (step sizes beta_t < 1); increase num_steps or "
                         "decrease c1")
    beta = np.empty(num_steps)
    beta[0] = float(num_steps) ** (-c0)
    t = np.arange(1, num_steps)
    beta[1:] = rate * np.minimum(beta[0] * (1 + rate) ** t, 1.0)
    alpha = 1.0 - beta
    return alpha, np.cumprod(alpha)


@pytree_dataclass
class LiExactScore:
    """s_t(x) = (√ᾱ_t E[s | x] − x)/(1 − ᾱ_t) on Li et al.'s clock (step index t), from a target's exact denoiser
    E[s | √ᾱ_t s + √(1−ᾱ_t) ξ = x] (Tweedie); x (batch, n) -> (batch, n)."""

    target: Any
    schedule: LiSchedule

    def __call__(self, x: Array, t: Array) -> Array:
        abar = self.schedule.alpha_bar[t - 1]
        alpha, sigma = jnp.sqrt(abar), jnp.sqrt(1 - abar)
        return tweedie_score(self.target.posterior_mean(x, alpha, sigma), x, alpha, sigma)


def li_init(x: Array, score_state: Any = None) -> SamplerState:
    """Start state of a Li et al. sampler: x (batch, n), history ε = 0 (no step K + 1)."""
    return SamplerState(x, jnp.zeros_like(x), score_state)


def _levels(schedule: LiSchedule, t: Array) -> tuple[Array, Array, Array]:
    """(α_t, ᾱ_t, ᾱ_{t−1}) for a 1-based step index t ≥ 2."""
    return schedule.alpha[t - 1], schedule.alpha_bar[t - 1], schedule.alpha_bar[t - 2]


def _li_ode(key, state, t, s, score, schedule):
    a, abar, _ = _levels(schedule, t)
    value, score_state = evaluate(score, key, 1, state.x, t, state.score_state)
    x = (state.x + 0.5 * (1 - a) * value) / jnp.sqrt(a)
    return SamplerState(x, -jnp.sqrt(1 - abar) * value, score_state), Info(value, jnp.zeros_like(state.x))


def _li_ddpm(key, state, t, s, score, schedule):
    a, abar, _ = _levels(schedule, t)
    value, score_state = evaluate(score, key, 1, state.x, t, state.score_state)
    z = standard_normal(key, state.x.shape, state.x.dtype)
    x = (state.x + (1 - a) * value + jnp.sqrt(1 - a) * z) / jnp.sqrt(a)
    return SamplerState(x, -jnp.sqrt(1 - abar) * value, score_state), Info(value, z)


def _li_ddpm_acc(key, state, t, s, score, schedule):
    a, abar, _ = _levels(schedule, t)
    z = standard_normal(key, (2,) + state.x.shape, state.x.dtype)
    half = jnp.sqrt((1 - a) / 2)
    x_plus = state.x + half * z[0]
    value, score_state = evaluate(score, key, 1, x_plus, t, state.score_state)
    x = (x_plus + (1 - a) * value) / jnp.sqrt(a) + half * z[1]
    return (SamplerState(x, -jnp.sqrt(1 - abar) * value, score_state),
            Info(value, jnp.concatenate([z[0], z[1]], axis=-1)))


def _ddim_parts(key, state, t, score, schedule):
    """(DDIM update, ε_t(Y_t), s_t(Y_t), score state, ᾱ_t, ᾱ_{t−1}) of step t."""
    _, abar, abar_prev = _levels(schedule, t)
    value, score_state = evaluate(score, key, 1, state.x, t, state.score_state)
    eps = -jnp.sqrt(1 - abar) * value
    lam, lam_prev = jnp.sqrt((1 - abar) / abar), jnp.sqrt((1 - abar_prev) / abar_prev)
    update = jnp.sqrt(abar_prev) * (state.x / jnp.sqrt(abar) + (lam_prev - lam) * eps)
    return update, eps, value, score_state, abar, abar_prev


def _li_ddim(key, state, t, s, score, schedule):
    x, eps, value, score_state, _, _ = _ddim_parts(key, state, t, score, schedule)
    return SamplerState(x, eps, score_state), Info(value, jnp.zeros_like(state.x))


def ddim_correction(abar_next: Array, abar: Array, abar_prev: Array) -> Array:
    """κ_t of li_ddim_acc (module docstring; Li et al., arXiv 2403.03852) from (ᾱ_{t+1}, ᾱ_t, ᾱ_{t−1}), arrays of one
    shape (broadcast); 0 where ᾱ_{t+1} = ᾱ_t (no step t+1)."""
    gap = abar - abar_next
    lam, lam_prev = jnp.sqrt((1 - abar) / abar), jnp.sqrt((1 - abar_prev) / abar_prev)
    bracket = abar * lam_prev + jnp.arcsin(jnp.sqrt(abar_prev)) - abar * lam - jnp.arcsin(jnp.sqrt(abar))
    return jnp.where(gap > 0, jnp.sqrt(abar_prev) * bracket / jnp.where(gap > 0, gap, 1.0), 0.0)


def _li_ddim_acc(key, state, t, s, score, schedule):
    ddim, eps, value, score_state, abar, abar_prev = _ddim_parts(key, state, t, score, schedule)
    abar_next = schedule.alpha_bar[jnp.minimum(t, schedule.num_steps - 1)]
    x = ddim + ddim_correction(abar_next, abar, abar_prev) * (state.history - eps)
    return SamplerState(x, eps, score_state), Info(value, jnp.zeros_like(state.x))


def pad_schedule(schedule: LiSchedule, length: int) -> LiSchedule:
    """The schedule continued to `length` steps with α_t = 1 (β_t = 0, ᾱ constant): steps past K are identities
    (every update rule of the module docstring is the identity at α_t = 1, ᾱ_t = ᾱ_{t−1}). Arrays (length,)."""
    num_steps = schedule.num_steps
    if length < num_steps:
        raise ValueError(f"cannot pad a schedule of {num_steps} steps to {length}")
    pad = length - num_steps
    return LiSchedule(jnp.concatenate([schedule.alpha, jnp.ones(pad, schedule.alpha.dtype)]),
                      jnp.concatenate([schedule.alpha_bar, jnp.full(pad, schedule.alpha_bar[-1])]))


DISCRETE_SAMPLERS: dict[str, Sampler] = {
    "li_ode": Sampler(li_init, _li_ode),
    "li_ddpm": Sampler(li_init, _li_ddpm),
    "li_ddpm_acc": Sampler(li_init, _li_ddpm_acc),
    "li_ddim": Sampler(li_init, _li_ddim),
    "li_ddim_acc": Sampler(li_init, _li_ddim_acc),
}
DISCRETE_STOCHASTIC = frozenset({"li_ddpm", "li_ddpm_acc"})
#: Exponent p of the TV bounds ∝ K^{−p} (log factors and dimension left out), as stated in the abstracts of
#: 2306.09251 (ODE 1/T, DDPM-type 1/√T) and 2403.03852 (DDIM 1/T, accelerated DDIM 1/T², accelerated DDPM 1/T).
BOUND_EXPONENT = {"li_ode": 1.0, "li_ddpm": 0.5, "li_ddpm_acc": 1.0, "li_ddim": 1.0, "li_ddim_acc": 2.0}
#: Order q of each scheme in its step size h ∝ ln K / K: the error of a smooth problem is ∝ h^q.
SCHEME_ORDER = {"li_ode": 1.0, "li_ddpm": 1.0, "li_ddpm_acc": 1.0, "li_ddim": 1.0, "li_ddim_acc": 2.0}


def discrete_sample(
    key: Array, score: Any, schedule: LiSchedule, x_init: Array, sampler: str = "li_ode"
) -> Array:
    """Run steps t = K…2 from Y_K = x_init (batch, n); returns Y₁ (batch, n), a sample of ≈ q₁.

    score: a score on the step-index clock, score(x, t) ≈ s_t(x) (e.g. `LiExactScore(target, schedule)`), or a
    stateful score (`physics.integrator`, initialised with fold_in(key, 2**31 − 2) at t = K). Step t draws
    its noise from fold_in(key, t).
    """
    if sampler not in DISCRETE_SAMPLERS:
        raise ValueError(f"unknown discrete sampler {sampler!r}; choose one of {sorted(DISCRETE_SAMPLERS)}")
    x_init = jnp.asarray(x_init)
    if x_init.ndim != 2:
        raise ValueError(f"x_init must have shape (batch, n), got {x_init.shape}")
    return _discrete_run(key, as_score(score), schedule, x_init, sampler)


@functools.partial(jax.jit, static_argnums=(4,))
def _discrete_run(key, score, schedule, x_init, sampler):
    method = DISCRETE_SAMPLERS[sampler]
    steps = jnp.arange(schedule.num_steps, 1, -1)
    state = method.init(x_init, score.init(jax.random.fold_in(key, 2**31 - 2), x_init, steps[0]))
    state, _ = integrate(key, method, score, schedule, state, steps, steps - 1, labels=steps)
    return state.x
