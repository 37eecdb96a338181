"""The forward (noising) process x_t = α_t x₀ + σ_t ξ, sampled exactly or simulated as an SDE."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .schedules import Schedule

Array = Any


def noise(key: Array, x0: Array, schedule: Schedule, t: Array) -> Array:
    """Exact sample of x_t | x₀ = α_t x₀ + σ_t ξ."""
    return schedule.alpha(t) * x0 + schedule.sigma(t) * jax.random.normal(key, x0.shape, x0.dtype)


def prior_sample(key: Array, schedule: Schedule, t: Array, shape: tuple[int, ...], dtype=float) -> Array:
    """Start of a reverse run: N(0, σ_t² I), the law of x_t when α_t x₀ is forgotten."""
    return schedule.sigma(t) * jax.random.normal(key, shape, dtype)


def simulate_sde(key: Array, x0: Array, schedule: Schedule, times: Array) -> Array:
    """Euler–Maruyama paths of dx = f(t) x dt + g(t) dW on an increasing time grid.

    Returns the states at every time of ``times``, shape (len(times),) + x0.shape; the noise of step k is
    a function of (key, k), so paths are reproducible step by step.
    """

    def step(x, k):
        t, dt = times[k], times[k + 1] - times[k]
        xi = jax.random.normal(jax.random.fold_in(key, k), x.shape, x.dtype)
        x = x + schedule.drift(t) * x * dt + jnp.sqrt(schedule.diffusion2(t) * dt) * xi
        return x, x

    _, path = jax.lax.scan(step, x0, jnp.arange(len(times) - 1))
    return jnp.concatenate([x0[None], path])
