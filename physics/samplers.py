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

The stochastic samplers draw ξ with `standard_normal`: the numbers of ``jax.random.normal(key, shape, dtype)``, bit
for bit, computed faster on the CPU (the Threefry hash unrolled into one fused kernel).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.extend.random import define_prng_impl
from jax.extend.random import threefry_prng_impl as _threefry_impl

from statphys.models.base import denoiser_from_score

from .discrete import DISCRETE_SAMPLERS
from .integrator import Info, Sampler, evaluate, euler_maruyama_update, one_step_init

Array = Any

_THREEFRY_ROTATIONS = ((13, 15, 26, 6), (17, 29, 16, 24))


def threefry2x32(k1: Array, k2: Array, x1: Array, x2: Array) -> tuple[Array, Array]:
    """The Threefry-2x32 hash with 20 rounds (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as
    1, 2, 3", SC '11, Sec. 3.2 and Table 4), written out round by round: key words k1, k2 (uint32 scalars),
    counter words x1, x2 (uint32, any one shape) -> two uint32 arrays of that shape. The same integer arithmetic
    as JAX's `threefry2x32_p`, which XLA:CPU runs as a loop of 5 iterations of 4 rounds (each iteration a pass
    over the arrays in memory); written out, the 20 rounds and the use of the bits fuse into one kernel."""
    keys = (k1, k2, k1 ^ k2 ^ np.uint32(0x1BD11BDA))
    x1, x2 = x1 + keys[0], x2 + keys[1]
    for i in range(5):
        for r in _THREEFRY_ROTATIONS[i % 2]:
            x1 = x1 + x2
            x2 = ((x2 << np.uint32(r)) | (x2 >> np.uint32(32 - r))) ^ x1
        x1, x2 = x1 + keys[(i + 1) % 3], x2 + keys[(i + 2) % 3] + np.uint32(i + 1)
    return x1, x2


def _threefry_bits(key: Array, bit_width: int, shape: tuple[int, ...]) -> Array:
    """random_bits of JAX's threefry2x32 implementation (``jax_threefry_partitionable``: element i of the
    row-major flattened shape hashes the counter (0, i); 32 bits: the xor of the two words, 64 bits: their
    concatenation) through `threefry2x32`; other settings are JAX's own."""
    size = math.prod(shape)
    if not jax.config.jax_threefry_partitionable or bit_width not in (32, 64) or size >= 2**32:
        return _threefry_impl.random_bits(key, bit_width, shape)
    hi, lo = threefry2x32(key[0], key[1], jnp.zeros(shape, np.uint32), lax.iota(np.uint32, size).reshape(shape))
    if bit_width == 32:
        return hi ^ lo
    return (hi.astype(np.uint64) << np.uint64(32)) | lo.astype(np.uint64)


#: JAX's threefry2x32 PRNG (same seeds, splits, fold_in and bits) with the bits drawn by `threefry2x32`.
THREEFRY_UNROLLED = define_prng_impl(key_shape=_threefry_impl.key_shape, seed=_threefry_impl.seed,
                                     split=_threefry_impl.split, random_bits=_threefry_bits,
                                     fold_in=_threefry_impl.fold_in, name="threefry2x32_unrolled", tag="fryu")


@functools.cache
def _threefry_spec():
    return jax.random.key_impl(jax.random.key(0, impl="threefry2x32"))


def standard_normal(key: Array, shape: tuple[int, ...], dtype: Any) -> Array:
    """ξ ~ N(0, I) of the given shape and dtype: exactly ``jax.random.normal(key, shape, dtype)``. In float32, a
    threefry2x32 key (a raw uint32 (2,) key under the default implementation, or a typed one) draws its bits
    through `THREEFRY_UNROLLED` (the same bits, faster on the CPU); any other key or dtype goes to
    jax.random.normal (in float64 the fused kernel can round a sampler's update differently, by ~1e-15)."""
    if jnp.dtype(dtype) != jnp.float32:
        return jax.random.normal(key, shape, dtype)
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        if jax.random.key_impl(key) != _threefry_spec():
            return jax.random.normal(key, shape, dtype)
        key = jax.random.key_data(key)
    elif jax.config.jax_default_prng_impl != "threefry2x32" or key.shape != (2,):
        return jax.random.normal(key, shape, dtype)
    return jax.random.normal(jax.random.wrap_key_data(key, impl=THREEFRY_UNROLLED), shape, dtype)


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
    alpha_t, sigma_t, alpha_s, sigma_s = schedule.alpha(t), schedule.sigma(t), schedule.alpha(s), schedule.sigma(s)
    denoised = denoiser_from_score(value, x, alpha_t, sigma_t)
    alpha_ts = alpha_t / alpha_s
    var_ts = sigma_t**2 - alpha_ts**2 * sigma_s**2
    mean = (alpha_ts * sigma_s**2 * x + alpha_s * var_ts * denoised) / sigma_t**2
    noise = standard_normal(key, x.shape, x.dtype)
    x_s = mean + jnp.sqrt(var_ts * sigma_s**2 / sigma_t**2) * noise
    return state._replace(x=x_s, score_state=score_state), Info(value, noise)


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
