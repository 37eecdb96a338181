"""Exact results for spin targets by enumeration of all 2ᴺ configurations (N ≤ MAX_ENUMERATION_N = 20).

State k ∈ [0, 2ᴺ) is the configuration `spins_from_index(k, N)` (bit = 1 → spin −1, most significant bit is
spin 0; NetKet's ``Spin(0.5, N).all_states()`` order). Nothing of size batch × 2ᴺ is ever formed: the
denoiser streams over chunks of the state index.

Denoiser: the posterior P(s | x_t = x) ∝ P(s) exp(α x·s/σ²) is the target in the extra field
u = α x/σ²,
    E[s | x_t = x] = Σ_s s exp(ln w(s) + u·s) / Σ_s exp(ln w(s) + u·s)
(the |s|² = N term of the Gaussian cancels). Kernel: split s = (s_hi, s_lo) into the first N − m and the
last m spins (state index k = hi·2^m + lo; `_low_bits`: m = 11 at batch 16, 7 at batch 1024 for N = 20).
The field is separable, u·s = u_hi·s_hi + u_lo·s_lo, and ln w(s) does not depend on the particle, so with
X[hi, lo] = exp(ln w − max_lo ln w) (once per call, shared by the batch), E_lo[b, lo] = exp(u_lo·s_lo − max)
and E_hi[b, hi] = exp(u_hi·s_hi + max_lo ln w − running max),
    Z_b = Σ_hi E_hi[b, hi] (E_lo Xᵀ)[b, hi],   Σ_s p s_lo = ((E_hi X) ⊙ E_lo) s_lo,   Σ_s p s_hi = (E_hi ⊙ E_lo Xᵀ) s_hi:
two (batch × 2^m) × (2^m × rows) matmuls per chunk of rows, 2ᴺ + batch·(2^m + 2^{N−m}) exponentials per
call instead of batch·2ᴺ, and an online maximum over chunks of rows (Milakov & Gimelshein 2018). All
factors are ≤ 1, and nothing is lost as long as the range R of ln w within a row stays below `_range_limit`
(≈ 52 in float32, ≈ 653 in float64): beyond it the element-wise kernel (one exponential per particle and
state) is used (inside a traced program a lax.cond, and under vmap both kernels run; called eagerly, the
element-wise kernel is compiled only when the matmul kernel reports a row beyond the limit).
A quadratic ln w = ½ sᵀKs + b·s (`Quadratic`, pairwise Ising targets) is evaluated block-wise from K
(`quadratic_posterior_mean`), any other ln w on each chunk's states.

Equilibrium quantities (ln Z, energy, P(m), P(q)) from these weights: `models.equilibrium`; p_t of a spin target
(path entropies): `models.spin_marginal`.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from .base import Array, check_enumerable, check_noise_level, spins_from_index

#: Default number of states per step of the streamed enumeration.
CHUNK_SIZE = 2**16


def _chunking(n: int, chunk_size: int) -> tuple[int, int]:
    """(states per chunk, number of chunks); both powers of two dividing 2ⁿ."""
    check_enumerable(n)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunk = min(2 ** int(np.floor(np.log2(chunk_size))), 2**n)
    return chunk, 2**n // chunk


#: States per step of the element-wise kernel (the fallback forms (batch, ELEMENTWISE_CHUNK) arrays).
ELEMENTWISE_CHUNK = 4096


class Quadratic(NamedTuple):
    """A quadratic log-weight ln w(s) = ½ sᵀ K s + b·s: K (n, n) symmetric, b (n,) (pairwise Ising: K = βJ, b = h1)."""

    K: Array
    b: Array


def _low_bits(chunk: int, batch: int) -> int:
    """m, the number of low spins: 32 rows of high states per chunk when possible, and the (batch, 2^m)
    accumulators at most 2¹⁷ numbers (they are updated at every chunk, so they should stay in cache)."""
    log_chunk = int(np.log2(chunk))
    budget = max(5, 17 - int(np.ceil(np.log2(max(batch, 1)))))
    return max(0, min(log_chunk - 5, budget)) if log_chunk >= 5 else 0


def posterior_mean(
    log_weight: Callable[[Array], Array], n: int, x: Array, alpha: Array, sigma: Array, chunk_size: int = CHUNK_SIZE
) -> Array:
    """E[s | x_t = x] = Σ_s s softmax_s(ln w(s) + α x·s/σ²) over all 2ⁿ states, streamed over chunks
    (the matmul kernel of the module docstring; ln w evaluated on each chunk's states).

    Args:
        log_weight: ln w(s) for configurations of shape (chunk, n) → (chunk,).
        n: number of spins (≤ MAX_ENUMERATION_N, checked before any compute).
        x: noisy configurations, shape (batch, n) or (n,).
        alpha, sigma: the schedule at the current time (σ > 0).
        chunk_size: states per step (rounded down to a power of two, at most 2ⁿ).
    Returns:
        the posterior means, shape of x.
    """
    _chunking(n, chunk_size)
    check_noise_level(alpha, sigma)
    return _dispatch(_generic_posterior_mean, (_as_pytree_function(log_weight), x, alpha, sigma), (n, chunk_size),
                     _work(x, n))


def _as_pytree_function(fn: Callable) -> jax.tree_util.Partial:
    """A bound method of a pytree target becomes Partial(method, target): the target's arrays are traced leaves
    and the method is static, so one compilation serves every call with the same target type and shapes."""
    owner = getattr(fn, "__self__", None)
    if owner is not None and not jax.tree_util.treedef_is_leaf(jax.tree_util.tree_structure(owner)):
        return jax.tree_util.Partial(fn.__func__, owner)
    return jax.tree_util.Partial(fn)


#: XLA options for an eager call whose work batch · 2ᴺ is at most FAST_COMPILE_MAX_WORK, on the CPU: the
#: element-wise fusions emitted by the legacy elemental emitter and LLVM at optimisation level 2 (XLA's defaults: the
#: fusion emitters, level 3). The first call of the issue-18 row (SK N = 20, batch 16) compiles in 0.24 s instead of
#: 0.6 s, and its result is bit for bit the same (benchmarks/RESULTS.md); at batch 1024 a warm call would be 60 %
#: slower, hence the bound: beyond it the compilation is a small part of a call anyway.
FAST_COMPILE_OPTIONS = {"xla_cpu_use_fusion_emitters": False, "xla_backend_optimization_level": 2}
FAST_COMPILE_MAX_WORK = 64 * 2**20


class _Kernels(NamedTuple):
    """One kernel jitted twice: with XLA's default options and with FAST_COMPILE_OPTIONS."""

    default: Callable
    fast_compile: Callable


def _jit_kernels(fn: Callable, static_argnums: tuple) -> _Kernels:
    """fn jitted with the defaults and with FAST_COMPILE_OPTIONS (the defaults again for a jax.jit without
    ``compiler_options``)."""
    default = jax.jit(fn, static_argnums=static_argnums)
    try:
        return _Kernels(default, jax.jit(fn, static_argnums=static_argnums, compiler_options=FAST_COMPILE_OPTIONS))
    except TypeError:
        return _Kernels(default, default)


_fast_compile_supported = [True]


def _dispatch(kernels: _Kernels, args: tuple, static: tuple, work: int) -> Array:
    """Inside a traced program: ``kernel(..., "either")``, both kernels compiled under a lax.cond. Called eagerly:
    the matmul kernel alone, and the element-wise kernel compiled and run only when a row range of ln w exceeds
    `_range_limit` (a first call compiles 0–38 % less: benchmarks/RESULTS.md); with FAST_COMPILE_OPTIONS on the
    CPU when work = batch · 2ᴺ ≤ FAST_COMPILE_MAX_WORK (an XLA that does not know them falls back to the defaults)."""
    if any(isinstance(leaf, jax.core.Tracer) for leaf in jax.tree_util.tree_leaves(args)):
        return kernels.default(*args, *static, "either")
    kernel = kernels.default
    if _fast_compile_supported[0] and work <= FAST_COMPILE_MAX_WORK and jax.default_backend() == "cpu":
        kernel = kernels.fast_compile
    try:
        out, within_range = kernel(*args, *static, "matmul")
    except jax.errors.JaxRuntimeError as error:
        if kernel is kernels.default or "No such compile option" not in str(error):
            raise
        _fast_compile_supported[0] = False
        kernel = kernels.default
        out, within_range = kernel(*args, *static, "matmul")
    return out if bool(within_range) else kernel(*args, *static, "elementwise")


def _work(x: Array, n: int) -> int:
    """batch · 2ⁿ, the number of (particle, state) pairs of a call."""
    return int(np.prod(np.shape(x)[:-1], dtype=np.int64)) * 2**n


def _generic_posterior_mean_fn(log_weight, x, alpha, sigma, n, chunk_size, kernel):
    def block(s_hi, s_lo):
        rows, low = s_hi.shape[0], s_lo.shape[0]
        s = jnp.concatenate([jnp.broadcast_to(s_hi[:, None, :], (rows, low, s_hi.shape[1])),
                             jnp.broadcast_to(s_lo[None, :, :], (rows, low, s_lo.shape[1]))], axis=-1)
        return log_weight(s.reshape(rows * low, n)).reshape(rows, low)

    return _posterior_mean(block, n, x, alpha, sigma, chunk_size, kernel)


_generic_posterior_mean = _jit_kernels(_generic_posterior_mean_fn, (4, 5, 6))


def quadratic_posterior_mean(quadratic: Quadratic, x: Array, alpha: Array, sigma: Array,
                             chunk_size: int = CHUNK_SIZE) -> Array:
    """`posterior_mean` for ln w(s) = ½ sᵀKs + b·s without evaluating ln w state by state:
        ln w(s_hi, s_lo) = [½ s_hiᵀK_hh s_hi + b_hi·s_hi] + [½ s_loᵀK_ll s_lo + b_lo·s_lo] + s_hiᵀ K_hl s_lo,
    the last term one (rows, n − m) × (n − m, m) × (m, 2^m) matmul per chunk (2m operations per state instead
    of 2n²). Equal to ``posterior_mean(lambda s: ½ sᵀKs + b·s, n, ...)`` up to rounding."""
    K, b = jnp.asarray(quadratic.K), jnp.asarray(quadratic.b)
    n = K.shape[-1]
    if K.shape != (n, n) or b.shape != (n,):
        raise ValueError(f"Quadratic needs K of shape (n, n) and b of shape (n,), got {K.shape} and {b.shape}")
    _chunking(n, chunk_size)
    check_noise_level(alpha, sigma)
    return _dispatch(_quadratic_posterior_mean, (K, b, x, alpha, sigma), (chunk_size,), _work(x, n))


def _quadratic_posterior_mean_fn(K, b, x, alpha, sigma, chunk_size, kernel):
    def block(s_hi, s_lo):
        hi, dtype = s_hi.shape[1], s_hi.dtype
        k_hh, k_hl, k_ll = (K[:hi, :hi].astype(dtype), K[:hi, hi:].astype(dtype), K[hi:, hi:].astype(dtype))
        w_hi = 0.5 * jnp.sum((s_hi @ k_hh) * s_hi, axis=-1) + s_hi @ b[:hi].astype(dtype)
        w_lo = 0.5 * jnp.sum((s_lo @ k_ll) * s_lo, axis=-1) + s_lo @ b[hi:].astype(dtype)
        return w_hi[:, None] + w_lo[None, :] + (s_hi @ k_hl) @ s_lo.T

    return _posterior_mean(block, K.shape[-1], x, alpha, sigma, chunk_size, kernel)


_quadratic_posterior_mean = _jit_kernels(_quadratic_posterior_mean_fn, (5, 6))


def _range_limit(dtype, n: int) -> float:
    """Largest row range R of ln w for which the matmul kernel loses nothing: every dropped (underflowed)
    product is below the smallest normal number, so the lost mass is ≤ 2ⁿ · tiny · e^R, kept below
    eps/e⁵ relative (float32: ≈ 52, float64: ≈ 653)."""
    info = jnp.finfo(dtype)
    return float(-np.log(float(info.tiny)) - n * np.log(2.0) + np.log(float(info.eps)) - 5.0)


def _posterior_mean(block, n, x, alpha, sigma, chunk_size, kernel):
    """kernel "either": the matmul kernel, with the element-wise kernel as fallback when a row range of ln w exceeds
    `_range_limit` (a lax.cond); "matmul": (the matmul kernel's result, whether every row range is within the
    limit); "elementwise": the element-wise kernel alone."""
    x = jnp.asarray(x)
    flat = x.reshape(-1, n)
    dtype = jnp.result_type(flat.dtype, float)
    u = (alpha / sigma**2 * flat).astype(dtype)
    chunk, num_chunks = _chunking(n, chunk_size)
    low_bits = _low_bits(chunk, flat.shape[0])
    small = min(chunk, ELEMENTWISE_CHUNK)
    small_bits = min(low_bits, int(np.log2(small)))

    def elementwise():
        return _elementwise_kernel(block, n, u, small, 2**n // small, small_bits).reshape(x.shape)

    if kernel == "elementwise":
        return elementwise()
    result, row_range = _matmul_kernel(block, n, u, chunk, num_chunks, low_bits)
    within_range = row_range <= _range_limit(dtype, n)
    if kernel == "matmul":
        return result.reshape(x.shape), within_range
    return jax.lax.cond(within_range, lambda: result.reshape(x.shape), elementwise)


def _matmul_kernel(block, n, u, chunk, num_chunks, low_bits):
    """Σ_s s p(s) with p = e^{ln w + u·s} factorised over s = (s_hi, s_lo) (module docstring).

    Returns (E[s | x] (batch, n), the largest row range max_lo ln w − min_lo ln w over finite entries)."""
    dtype = u.dtype
    rows, hi_bits = chunk >> low_bits, n - low_bits
    s_lo = spins_from_index(jnp.arange(2**low_bits, dtype=jnp.int32), low_bits, dtype)  # (L, m)
    u_hi = u[:, :hi_bits]
    field_lo = u[:, hi_bits:] @ s_lo.T  # (batch, L)
    e_lo = jnp.exp(field_lo - jnp.max(field_lo, axis=1, keepdims=True))  # (batch, L), max 1

    def body(carry, row_start):
        running_max, normaliser, p_lo, w_hi, row_range = carry
        s_hi = spins_from_index(row_start + jnp.arange(rows, dtype=jnp.int32), hi_bits, dtype)  # (rows, n − m)
        log_w = block(s_hi, s_lo)  # (rows, L)
        finite = jnp.isfinite(log_w)
        row_max = jnp.max(log_w, axis=1)
        row_max = jnp.where(jnp.isfinite(row_max), row_max, 0.0)
        row_min = jnp.min(jnp.where(finite, log_w, row_max[:, None]), axis=1)
        weights = jnp.exp(log_w - row_max[:, None])  # X (rows, L), max 1 per row
        a = u_hi @ s_hi.T + row_max  # (batch, rows)
        new_max = jnp.maximum(running_max, jnp.max(a, axis=1))
        rescale = jnp.exp(running_max - new_max)
        e_hi = jnp.exp(a - new_max[:, None])  # (batch, rows)
        q = e_hi * (e_lo @ weights.T)  # (batch, rows): Σ_lo p over each row of states
        return (new_max, normaliser * rescale + jnp.sum(q, axis=1), p_lo * rescale[:, None] + e_hi @ weights,
                w_hi * rescale[:, None] + q @ s_hi, jnp.maximum(row_range, jnp.max(row_max - row_min))), None

    batch = u.shape[0]
    init = (jnp.full((batch,), -jnp.inf, dtype), jnp.zeros((batch,), dtype), jnp.zeros((batch, 2**low_bits), dtype),
            jnp.zeros((batch, hi_bits), dtype), jnp.zeros((), dtype))
    starts = jnp.arange(num_chunks, dtype=jnp.int32) * rows
    (_, normaliser, p_lo, w_hi, row_range), _ = jax.lax.scan(body, init, starts)
    return jnp.concatenate([w_hi, (p_lo * e_lo) @ s_lo], axis=1) / normaliser[:, None], row_range


def _elementwise_kernel(block, n, u, chunk, num_chunks, low_bits):
    """Σ_s s p(s) with one exponential per (particle, state) and an online maximum over chunks of states: exact
    whatever the range of ln w. (batch, n)."""
    dtype = u.dtype
    rows, hi_bits = chunk >> low_bits, n - low_bits
    s_lo = spins_from_index(jnp.arange(2**low_bits, dtype=jnp.int32), low_bits, dtype)
    u_hi, field_lo = u[:, :hi_bits], u[:, hi_bits:] @ s_lo.T

    def body(carry, row_start):
        running_max, normaliser, p_lo, w_hi = carry
        s_hi = spins_from_index(row_start + jnp.arange(rows, dtype=jnp.int32), hi_bits, dtype)
        logits = block(s_hi, s_lo)[None] + (u_hi @ s_hi.T)[:, :, None] + field_lo[:, None, :]  # (batch, rows, L)
        new_max = jnp.maximum(running_max, jnp.max(logits, axis=(1, 2)))
        rescale = jnp.exp(running_max - new_max)
        p = jnp.exp(logits - new_max[:, None, None])
        row_sums = jnp.sum(p, axis=2)
        return (new_max, normaliser * rescale + jnp.sum(row_sums, axis=1), p_lo * rescale[:, None] + jnp.sum(p, axis=1),
                w_hi * rescale[:, None] + row_sums @ s_hi), None

    batch = u.shape[0]
    init = (jnp.full((batch,), -jnp.inf, dtype), jnp.zeros((batch,), dtype), jnp.zeros((batch, 2**low_bits), dtype),
            jnp.zeros((batch, hi_bits), dtype))
    starts = jnp.arange(num_chunks, dtype=jnp.int32) * rows
    (_, normaliser, p_lo, w_hi), _ = jax.lax.scan(body, init, starts)
    return jnp.concatenate([w_hi, p_lo @ s_lo], axis=1) / normaliser[:, None]


def state_map(fn: Callable[[Array], Array], n: int, chunk_size: int = CHUNK_SIZE, dtype=None) -> Array:
    """fn evaluated on every state, in index order: shape (2ⁿ,) for fn: (chunk, n) → (chunk,)."""
    chunk, num_chunks = _chunking(n, chunk_size)
    dtype = dtype or jnp.zeros(()).dtype
    starts = jnp.arange(num_chunks, dtype=jnp.int32) * chunk
    values = jax.lax.map(lambda start: fn(spins_from_index(start + jnp.arange(chunk, dtype=jnp.int32), n, dtype)), starts)
    return values.reshape(-1)


def log_weights(target: Any, chunk_size: int = CHUNK_SIZE) -> Array:
    """ln w(s) of every state of a spin target, shape (2ⁿ,) (compiled once per target type and shapes)."""
    check_enumerable(target.n)
    return _target_map(target, "log_weight", chunk_size)


@jax.jit(static_argnums=(1, 2))
def _target_map(target: Any, method: str, chunk_size: int) -> Array:
    return state_map(getattr(target, method), target.n, chunk_size)


def sample(target: Any, key: Array, num: int, chunk_size: int = CHUNK_SIZE) -> Array:
    """Exact samples s ~ P by drawing state indices from the enumerated weights, shape (num, n)."""
    return _draw_states(key, log_weights(target, chunk_size), num, target.n, jnp.zeros(()).dtype)


@jax.jit(static_argnums=(2, 3, 4))
def _draw_states(key: Array, log_w: Array, num: int, n: int, dtype) -> Array:
    index = jax.random.categorical(key, log_w, shape=(num,))
    return spins_from_index(index.astype(jnp.int32), n, dtype)

