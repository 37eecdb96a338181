"""Discrete-time samplers in the form analysed by Li, Wei, Chen & Chi, and their accelerated variants.

Forward chain (Li et al., arXiv 2306.09251, sec. 2): X_t = √α_t X_{t−1} + √(1−α_t) W_t, t = 1…T, so that
X_t = √ᾱ_t X₀ + √(1−ᾱ_t) ε with ᾱ_t = Π_{k≤t} α_k. Step sizes β_t = 1 − α_t (their eq. 5):

    β₁ = T^{−c₀},   β_{t+1} = (c₁ ln T / T) · min{β₁ (1 + c₁ ln T / T)^t, 1}.

The first ≈ (c₀/c₁) T steps grow β geometrically (constant steps in ln β), the rest take β = c₁ ln T / T:
the step size of every phase is ∝ ln T / T, so a scheme of order q has error ∝ (ln T / T)^q.

The score at step t is s_t(x) = ∇ ln q_t(x) of the law of X_t, i.e. score_fn(x, alpha=√ᾱ_t, sigma=√(1−ᾱ_t)),
and ε_t(x) = −√(1−ᾱ_t) s_t(x). A run starts from Y_T and applies t = T, T−1, …, 2, ending at Y₁, which is
compared with X₁ (the theorems bound TV(q₁, p₁); β₁ = T^{−c₀} makes X₁ ≈ X₀). Samplers (Z, Z⁺ ~ N(0, I)):

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
(t = T, no ε_{T+1}) is a plain DDIM step. li_ddpm, li_ddpm_acc, li_ddim and li_ddim_acc (κ_t included)
are the update rules stated in the README of the authors' public repository for 2403.03852
(TimofeyEfimov/AcceleratedDiffusionSamplers); its code (functions/denoising.py) takes the same DDIM and κ_t
steps, and perturbs the accelerated stochastic step by √α_t √((1−α_t)/2) Z instead of √((1−α_t)/2) Z.
li_ode is 2306.09251's deterministic sampler as summarised above, not re-checked against that paper's text.

Every sampler is `step(key, state, t, schedule, score_fn) -> (state, StepInfo)` over a `DiscreteState`
(the current Y_t and ε_t(Y_t), which li_ddim_acc needs one step later); the noise of step t is drawn
from fold_in(key, t). A schedule may be padded past T with α = 1 (`pad_schedule`): a step there is the
identity, so one compiled run serves every T up to the padded length.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import pytree_dataclass, tweedie_score

from .samplers import StepInfo

Array = Any


class LiSchedule(NamedTuple):
    """α_t and ᾱ_t for t = 1…T, stored at index t − 1 (arrays of shape (T,))."""

    alpha: Array
    alpha_bar: Array

    @property
    def num_steps(self) -> int:
        return self.alpha.shape[0]


def li_schedule(T: int, c0: float = 2.0, c1: float = 4.0) -> LiSchedule:
    """The step sizes of Li et al. (arXiv 2306.09251, eq. 5), in float64 NumPy then as jnp arrays.

    Args:
        T: number of steps (integer ≥ 2; ln T > 0 is needed).
        c0: β₁ = T^{−c₀}, c₀ > 0.
        c1: growth and cap of the step size, c₁ > c₀ so that ᾱ_T ≈ T^{−(c₁−c₀)} → 0 (the prior is N(0, I)).
    """
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 2:
        raise ValueError(f"T (number of steps) must be an integer >= 2, got {T!r}")
    if not (isinstance(c0, (int, float)) and math.isfinite(c0) and c0 > 0):
        raise ValueError(f"c0 must be a finite number > 0 (beta_1 = T^-c0), got {c0!r}")
    if not (isinstance(c1, (int, float)) and math.isfinite(c1) and c1 > c0):
        raise ValueError(f"c1 must be > c0 = {c0} so that alpha_bar_T -> 0, got {c1!r}")
    rate = c1 * math.log(T) / T
    if rate >= 1:
        raise ValueError(f"c1 ln T / T = {rate:.3g} must be < 1 (step sizes beta_t < 1); increase T or decrease c1")
    beta = np.empty(T)
    beta[0] = float(T) ** (-c0)
    t = np.arange(1, T)
    beta[1:] = rate * np.minimum(beta[0] * (1 + rate) ** t, 1.0)
    alpha = 1.0 - beta
    return LiSchedule(jnp.asarray(alpha), jnp.asarray(np.cumprod(alpha)))


@pytree_dataclass
class TargetScore:
    """score_fn(x, alpha, sigma) = (α E[s | x] − x)/σ² from a target's exact denoiser (Tweedie)."""

    target: Any

    def __call__(self, x: Array, alpha: Array, sigma: Array) -> Array:
        return tweedie_score(self.target.posterior_mean(x, alpha, sigma), x, alpha, sigma)


class DiscreteState(NamedTuple):
    """Y_t (batch, n) and ε_t(Y_t) = −√(1−ᾱ_t) s_t(Y_t) (batch, n)."""

    x: Array
    eps: Array


def _levels(schedule: LiSchedule, t: Array) -> tuple[Array, Array, Array]:
    """(α_t, ᾱ_t, ᾱ_{t−1}) for a 1-based step index t ≥ 2."""
    return schedule.alpha[t - 1], schedule.alpha_bar[t - 1], schedule.alpha_bar[t - 2]


def _score(score_fn, x, abar):
    return score_fn(x, jnp.sqrt(abar), jnp.sqrt(1 - abar))


def li_ode(key, state, t, schedule, score_fn):
    del key
    a, abar, _ = _levels(schedule, t)
    s = _score(score_fn, state.x, abar)
    x = (state.x + 0.5 * (1 - a) * s) / jnp.sqrt(a)
    return DiscreteState(x, -jnp.sqrt(1 - abar) * s), StepInfo(s, jnp.zeros_like(state.x))


def li_ddpm(key, state, t, schedule, score_fn):
    a, abar, _ = _levels(schedule, t)
    s = _score(score_fn, state.x, abar)
    z = jax.random.normal(key, state.x.shape, state.x.dtype)
    x = (state.x + (1 - a) * s + jnp.sqrt(1 - a) * z) / jnp.sqrt(a)
    return DiscreteState(x, -jnp.sqrt(1 - abar) * s), StepInfo(s, z)


def li_ddpm_acc(key, state, t, schedule, score_fn):
    a, abar, _ = _levels(schedule, t)
    z = jax.random.normal(key, (2,) + state.x.shape, state.x.dtype)
    half = jnp.sqrt((1 - a) / 2)
    x_plus = state.x + half * z[0]
    s = _score(score_fn, x_plus, abar)
    x = (x_plus + (1 - a) * s) / jnp.sqrt(a) + half * z[1]
    return DiscreteState(x, -jnp.sqrt(1 - abar) * s), StepInfo(s, jnp.concatenate([z[0], z[1]], axis=-1))


def _ddim_parts(state, t, schedule, score_fn):
    """(DDIM update, ε_t(Y_t), s_t(Y_t), ᾱ_t, ᾱ_{t−1}) of step t."""
    _, abar, abar_prev = _levels(schedule, t)
    s = _score(score_fn, state.x, abar)
    eps = -jnp.sqrt(1 - abar) * s
    lam, lam_prev = jnp.sqrt((1 - abar) / abar), jnp.sqrt((1 - abar_prev) / abar_prev)
    return jnp.sqrt(abar_prev) * (state.x / jnp.sqrt(abar) + (lam_prev - lam) * eps), eps, s, abar, abar_prev


def li_ddim(key, state, t, schedule, score_fn):
    del key
    x, eps, s, _, _ = _ddim_parts(state, t, schedule, score_fn)
    return DiscreteState(x, eps), StepInfo(s, jnp.zeros_like(state.x))


def ddim_correction(abar_next: Array, abar: Array, abar_prev: Array) -> Array:
    """κ_t of li_ddim_acc (module docstring) from (ᾱ_{t+1}, ᾱ_t, ᾱ_{t−1}); 0 where ᾱ_{t+1} = ᾱ_t (no step t+1)."""
    gap = abar - abar_next
    lam, lam_prev = jnp.sqrt((1 - abar) / abar), jnp.sqrt((1 - abar_prev) / abar_prev)
    bracket = abar * lam_prev + jnp.arcsin(jnp.sqrt(abar_prev)) - abar * lam - jnp.arcsin(jnp.sqrt(abar))
    return jnp.where(gap > 0, jnp.sqrt(abar_prev) * bracket / jnp.where(gap > 0, gap, 1.0), 0.0)


def li_ddim_acc(key, state, t, schedule, score_fn):
    del key
    ddim, eps, s, abar, abar_prev = _ddim_parts(state, t, schedule, score_fn)
    abar_next = schedule.alpha_bar[jnp.minimum(t, schedule.num_steps - 1)]
    x = ddim + ddim_correction(abar_next, abar, abar_prev) * (state.eps - eps)
    return DiscreteState(x, eps), StepInfo(s, jnp.zeros_like(state.x))


def pad_schedule(schedule: LiSchedule, length: int) -> LiSchedule:
    """The schedule continued to `length` steps with α_t = 1 (β_t = 0, ᾱ constant): steps past T are identities."""
    T = schedule.num_steps
    if length < T:
        raise ValueError(f"cannot pad a schedule of {T} steps to {length}")
    pad = length - T
    return LiSchedule(jnp.concatenate([schedule.alpha, jnp.ones(pad, schedule.alpha.dtype)]),
                      jnp.concatenate([schedule.alpha_bar, jnp.full(pad, schedule.alpha_bar[-1])]))


DISCRETE_SAMPLERS: dict[str, Callable] = {
    "li_ode": li_ode,
    "li_ddpm": li_ddpm,
    "li_ddpm_acc": li_ddpm_acc,
    "li_ddim": li_ddim,
    "li_ddim_acc": li_ddim_acc,
}
DISCRETE_STOCHASTIC = frozenset({"li_ddpm", "li_ddpm_acc"})
#: Exponent p of the TV bounds ∝ T^{−p} (log factors and dimension left out), as stated in the abstracts of
#: 2306.09251 (ODE 1/T, DDPM-type 1/√T) and 2403.03852 (DDIM 1/T, accelerated DDIM 1/T², accelerated DDPM 1/T).
BOUND_EXPONENT = {"li_ode": 1.0, "li_ddpm": 0.5, "li_ddpm_acc": 1.0, "li_ddim": 1.0, "li_ddim_acc": 2.0}
#: Order q of each scheme in its step size h ∝ ln T / T: the error of a smooth problem is ∝ h^q.
SCHEME_ORDER = {"li_ode": 1.0, "li_ddpm": 1.0, "li_ddpm_acc": 1.0, "li_ddim": 1.0, "li_ddim_acc": 2.0}


def get_discrete_sampler(name: str) -> Callable:
    if name not in DISCRETE_SAMPLERS:
        raise ValueError(f"unknown discrete sampler {name!r}; choose one of {sorted(DISCRETE_SAMPLERS)}")
    return DISCRETE_SAMPLERS[name]


def discrete_sample(
    key: Array, score_fn: Any, schedule: LiSchedule, x_init: Array, sampler: str = "li_ode"
) -> Array:
    """Run steps t = T…2 from Y_T = x_init (batch, n); returns Y₁ (batch, n), a sample of ≈ q₁.

    score_fn(x, alpha, sigma) must be a pytree-callable (e.g. `TargetScore(target)`).
    """
    get_discrete_sampler(sampler)
    x_init = jnp.asarray(x_init)
    if x_init.ndim != 2:
        raise ValueError(f"x_init must have shape (batch, n), got {x_init.shape}")
    return _discrete_run(key, score_fn, schedule, x_init, sampler)


@functools.partial(jax.jit, static_argnums=(4,))
def _discrete_run(key, score_fn, schedule, x_init, sampler):
    step = DISCRETE_SAMPLERS[sampler]
    T = schedule.num_steps

    def body(state, t):
        state, _ = step(jax.random.fold_in(key, t), state, t, schedule, score_fn)
        return state, None

    state, _ = jax.lax.scan(body, DiscreteState(x_init, jnp.zeros_like(x_init)), jnp.arange(T, 1, -1))
    return state.x
