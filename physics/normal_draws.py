"""Standard normal draws ξ ~ N(0, I) bit for bit equal to ``jax.random.normal``, faster on the CPU.

    standard_normal(key, shape, dtype)     exactly jax.random.normal(key, shape, dtype)
    fold_in(key, data), split(key, num)    jax.random.fold_in and jax.random.split (as a tuple), each one
                                           compiled function: outside jit they run op by op, each operation one
                                           more compiled module per process

For a threefry2x32 key in float32 the bits come from `threefry2x32`, the Threefry-2x32 hash with its 20 rounds
written out (Salmon, Moraes, Dror & Shaw, "Parallel random numbers: as easy as 1, 2, 3", SC '11, Sec. 3.2), the
same integer arithmetic as JAX's `threefry2x32_p`, which XLA:CPU runs as a loop of 5 iterations of 4 rounds
(each a pass over the arrays in memory); written out, the rounds and jax.random.normal's transform of the bits
(uniform, then √2 erf⁻¹) fuse into one kernel. The reverse samplers (`physics.samplers`, `physics.discrete`) and
the forward SDE steps (`physics.integrator.sde_euler_maruyama`) draw their noise here; `physics.forward.noise_at`
keeps jax.random.normal (fused with its product α x₀ + σ ξ the draw would round differently in float32).
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


fold_in = jax.jit(jax.random.fold_in)


@functools.partial(jax.jit, static_argnums=1)
def split(key: Array, num: int = 2) -> tuple[Array, ...]:
    """jax.random.split(key, num) as a tuple of num keys."""
    return tuple(jax.random.split(key, num))
