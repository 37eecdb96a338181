"""Exact results for spin targets by enumeration of all 2ᴺ configurations (N ≤ MAX_ENUMERATION_N = 20).

State k ∈ [0, 2ᴺ) is the configuration `spins_from_index(k, N)` (bit = 1 → spin −1, most significant bit is
spin 0; NetKet's ``Spin(0.5, N).all_states()`` order). Nothing of size batch × 2ᴺ is ever formed: the
denoiser streams over chunks of the state index.

Denoiser (PHYSICS.md, "Score, denoiser, reverse dynamics"): the posterior is the target in the extra field
u = α x/σ²,
    E[s | x_t = x] = Σ_s s exp(ln w(s) + u·s) / Σ_s exp(ln w(s) + u·s),
evaluated with an online log-sum-exp over chunks of states (the |s|² = N term of the Gaussian cancels).

Thermodynamics from the Boltzmann weights P(s) = w(s)/Z: ln Z, the energy ⟨H⟩ of the target's `energy`
(log_weight = −β H + h·Σs up to a constant), the law of the magnetisation m = Σs/N, and the exact overlap
law between two independent replicas,
    P(q) = Σ_{s,s'} P(s) P(s') δ(q − s·s'/N).
Writing s' = s ⊙ τ, the sum over s is the autocorrelation C(τ) = Σ_s P(s) P(s ⊙ τ) on the group {±1}ᴺ,
diagonalised by the Walsh–Hadamard transform: C = WHT⁻¹[(WHT P)²], O(N 2ᴺ) instead of 4ᴺ; then
P(q) sums C(τ) over τ with N − popcount(k_τ) = (N + Σ τ)/2 spins up, q = Στ/N.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special

from .base import Array, check_enumerable, check_noise_level, spins_from_index

#: Default number of states per step of the streamed enumeration.
CHUNK_SIZE = 4096


def _chunking(n: int, chunk_size: int) -> tuple[int, int]:
    """(states per chunk, number of chunks); both powers of two dividing 2ⁿ."""
    check_enumerable(n)
    if isinstance(chunk_size, bool) or not isinstance(chunk_size, (int, np.integer)) or chunk_size <= 0:
        raise ValueError(f"chunk_size must be a positive integer, got {chunk_size!r}")
    chunk = min(2 ** int(np.floor(np.log2(chunk_size))), 2**n)
    return chunk, 2**n // chunk


def posterior_mean(
    log_weight: Callable[[Array], Array], n: int, x: Array, alpha: Array, sigma: Array, chunk_size: int = CHUNK_SIZE
) -> Array:
    """E[s | x_t = x] = Σ_s s softmax_s(ln w(s) + α x·s/σ²) over all 2ⁿ states, streamed over chunks.

    Args:
        log_weight: ln w(s) for configurations of shape (chunk, n) → (chunk,).
        n: number of spins (≤ MAX_ENUMERATION_N, checked before any compute).
        x: noisy configurations, shape (batch, n) or (n,).
        alpha, sigma: the schedule at the current time (σ > 0).
    Returns:
        the posterior means, shape of x.
    """
    chunk, num_chunks = _chunking(n, chunk_size)
    check_noise_level(alpha, sigma)
    x = jnp.asarray(x)
    flat = x.reshape(-1, n)
    dtype = jnp.result_type(flat.dtype, float)
    u = (alpha / sigma**2 * flat).astype(dtype)

    def body(carry, start):
        running_max, normaliser, weighted = carry
        s = spins_from_index(start + jnp.arange(chunk, dtype=jnp.int32), n, dtype)
        logits = log_weight(s)[None, :] + u @ s.T  # (batch, chunk)
        new_max = jnp.maximum(running_max, jnp.max(logits, axis=-1))
        rescale = jnp.exp(running_max - new_max)
        p = jnp.exp(logits - new_max[:, None])
        return (new_max, normaliser * rescale + p.sum(-1), weighted * rescale[:, None] + p @ s), None

    batch = flat.shape[0]
    init = (jnp.full((batch,), -jnp.inf, dtype), jnp.zeros((batch,), dtype), jnp.zeros((batch, n), dtype))
    starts = jnp.arange(num_chunks, dtype=jnp.int32) * chunk
    (_, normaliser, weighted), _ = jax.lax.scan(body, init, starts)
    return (weighted / normaliser[:, None]).reshape(x.shape)


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
    index = jax.random.categorical(key, log_weights(target, chunk_size), shape=(num,))
    return spins_from_index(index.astype(jnp.int32), target.n, jnp.zeros(()).dtype)


def down_spins(n: int) -> np.ndarray:
    """Number of −1 spins of every state (popcount of the index), shape (2ⁿ,), int."""
    check_enumerable(n)
    k = np.arange(2**n, dtype=np.int64)
    return np.array([bin(v).count("1") for v in range(256)], dtype=np.int64)[
        np.stack([(k >> (8 * b)) & 255 for b in range(3)])
    ].sum(0)


def walsh_hadamard(values: np.ndarray) -> np.ndarray:
    """Unnormalised fast Walsh–Hadamard transform of a vector of length 2ⁿ (float64 NumPy):
    (W v)_k = Σ_j (−1)^{popcount(j & k)} v_j; W² = 2ⁿ I."""
    v = np.array(values, dtype=np.float64)
    n = int(round(np.log2(v.size)))
    if v.ndim != 1 or v.size != 2**n:
        raise ValueError(f"values must be a vector of length 2^n, got shape {v.shape}")
    v = v.reshape((2,) * n)
    for axis in range(n):
        a, b = np.take(v, 0, axis=axis), np.take(v, 1, axis=axis)
        v = np.stack([a + b, a - b], axis=axis)
    return v.reshape(-1)


class Thermodynamics(NamedTuple):
    """Exact equilibrium quantities of an n-spin target (float64 NumPy); per-spin quantities divide by n."""

    log_z: float  # ln Σ_s w(s)
    free_energy: float  # f = −ln Z/(β N) (nan at β = 0)
    energy: float  # ⟨H⟩/N of the target's coupling energy (nan when the target defines none)
    energy2: float  # ⟨H²⟩/N²
    magnetization: float  # ⟨m⟩, m = Σ s/N
    m2: float  # ⟨m²⟩
    abs_magnetization: float  # ⟨|m|⟩
    m_values: np.ndarray  # (n + 1,) m = 2k/N − 1 for k = 0..N up spins (as CurieWeiss)
    m_law: np.ndarray  # (n + 1,) P(m)
    q_values: np.ndarray  # (n + 1,) q = 2k/N − 1
    q_law: np.ndarray  # (n + 1,) P(q) between two independent replicas
    q2: float  # ⟨q²⟩ (N⟨q²⟩ is the spin-glass susceptibility)


def thermodynamics(target: Any, chunk_size: int = CHUNK_SIZE) -> Thermodynamics:
    """Exact thermodynamics of a spin target (module docstring) by enumeration of its 2ⁿ states."""
    n = target.n
    check_enumerable(n)
    lw = np.asarray(log_weights(target, chunk_size), dtype=np.float64)
    log_z = float(scipy.special.logsumexp(lw))
    p = np.exp(lw - log_z)
    k = n - down_spins(n)  # up spins; for the overlap, spins with s_i = s'_i
    m_law = np.bincount(k, weights=p, minlength=n + 1)
    m_values = 2.0 * np.arange(n + 1) / n - 1.0
    corr = walsh_hadamard(walsh_hadamard(p) ** 2) / 2**n
    q_law = np.clip(np.bincount(k, weights=corr, minlength=n + 1), 0.0, None)
    q_law /= q_law.sum()
    energy_fn = getattr(target, "energy", None)
    if energy_fn is not None:
        e = np.asarray(_target_map(target, "energy", chunk_size), dtype=np.float64)
        energy, energy2 = float(p @ e) / n, float(p @ e**2) / n**2
    else:
        energy = energy2 = float("nan")
    beta = float(np.asarray(getattr(target, "beta", np.nan)))
    return Thermodynamics(
        log_z=log_z,
        free_energy=-log_z / (beta * n) if beta > 0 else float("nan"),
        energy=energy,
        energy2=energy2,
        magnetization=float(m_law @ m_values),
        m2=float(m_law @ m_values**2),
        abs_magnetization=float(m_law @ np.abs(m_values)),
        m_values=m_values,
        m_law=m_law,
        q_values=m_values.copy(),
        q_law=q_law,
        q2=float(q_law @ m_values**2),
    )


def total_variation(samples: np.ndarray, values: np.ndarray, probs: np.ndarray, seed: int = 0, num_null: int = 2000):
    """Total variation ½Σ|p̂ − p| between the empirical law of ``samples`` (on the grid ``values``) and ``probs``,
    with its sampling distribution under the null hypothesis (samples exactly from ``probs``).

    Samples are assigned to the nearest grid value. The null distribution comes from ``num_null`` multinomial
    draws of the same size from ``probs`` (TV of a finite sample is biased upwards, so the comparison is with
    the null, not with zero). Returns (tv, null mean, null standard deviation, p-value P_null(TV ≥ tv)).
    """
    samples = np.asarray(samples, dtype=np.float64).reshape(-1)
    values, probs = np.asarray(values, dtype=np.float64), np.asarray(probs, dtype=np.float64)
    if samples.size == 0:
        raise ValueError("samples must not be empty")
    index = np.argmin(np.abs(samples[:, None] - values[None, :]), axis=1)
    empirical = np.bincount(index, minlength=values.size) / samples.size
    tv = 0.5 * float(np.abs(empirical - probs).sum())
    rng = np.random.default_rng(seed)
    null = 0.5 * np.abs(rng.multinomial(samples.size, probs / probs.sum(), size=num_null) / samples.size - probs).sum(1)
    return tv, float(null.mean()), float(null.std()), float((np.sum(null >= tv) + 1) / (num_null + 1))
