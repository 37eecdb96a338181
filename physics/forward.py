"""The forward (noising) process x_t = α_t x₀ + σ_t ξ, sampled exactly (`noise`) or simulated as an SDE."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .integrator import integrate, sde_euler_maruyama
from .schedules import Schedule

Array = Any


def noise(key: Array, x0: Array, schedule: Schedule, t: Array) -> Array:
    """Exact sample of x_t | x₀ = α_t x₀ + σ_t ξ, ξ ~ N(0, I) drawn from ``key``; x0 of any shape, same shape out
    (Song et al., ICLR 2021, eq. 29 for VP/VE; the schedules of `physics.schedules`)."""
    return noise_at(key, x0, schedule.alpha(t), schedule.sigma(t))


def noise_at(key: Array, x0: Array, alpha: Array, sigma: Array) -> Array:
    """`noise` at given noise levels: α x₀ + σ ξ, ξ ~ N(0, I) of x0's shape and dtype drawn from ``key``."""
    return alpha * x0 + sigma * jax.random.normal(key, x0.shape, x0.dtype)


def prior_sample(key: Array, schedule: Schedule, t: Array, shape: tuple[int, ...], dtype=float) -> Array:
    """Start of a reverse run: N(0, σ_t² I), the law of x_t when α_t x₀ is forgotten; array of ``shape``."""
    return schedule.sigma(t) * jax.random.normal(key, shape, dtype)


def simulate_sde(key: Array, x0: Array, schedule: Schedule, times: Array) -> Array:
    """Euler–Maruyama paths of the noising SDE dx = f(t) x dt + g(t) dW on an increasing time grid:
    x_{k+1} = x_k + f(t_k) x_k Δ_k + √(g²(t_k) Δ_k) ξ_k (`integrator.sde_euler_maruyama`).

    Args:
        key: PRNG key; step k draws ξ_k from fold_in(key, k).
        x0: (batch, n) states at times[0]; times: (K + 1,) increasing.
    Returns:
        the states at every time of ``times``, shape (K + 1,) + x0.shape.
    """
    times = jnp.asarray(times)
    sampler = sde_euler_maruyama(lambda x, t: schedule.drift(t) * x, schedule.diffusion2)
    _, path = integrate(key, sampler, None, schedule, sampler.init(x0), times[:-1], times[1:],
                        observe=lambda old, new, info, t, s: new.x)
    return jnp.concatenate([x0[None], path])
