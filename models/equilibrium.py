"""Exact equilibrium of a spin target by enumeration of its 2ᴺ states (N ≤ MAX_ENUMERATION_N = 20).

Equilibrium quantities from the Boltzmann weights P(s) = w(s)/Z (`equilibrium`; the weights from
`models.enumeration.log_weights`): ln Z, the energy ⟨H⟩ of the target's `energy` (log_weight = −β H + h·Σs up to a
constant), the law of the magnetisation m = Σs/N, and the exact overlap law between two independent replicas,
    P(q) = Σ_{s,s'} P(s) P(s') δ(q − s·s'/N).
Writing s' = s ⊙ τ, the sum over s is the autocorrelation C(τ) = Σ_s P(s) P(s ⊙ τ) on the group {±1}ᴺ,
diagonalised by the Walsh–Hadamard transform: C = WHT⁻¹[(WHT P)²], O(N 2ᴺ) instead of 4ᴺ; then
P(q) sums C(τ) over τ with N − popcount(k_τ) = (N + Σ τ)/2 spins up, q = Στ/N.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np
import scipy.special

from .base import check_enumerable
from .enumeration import CHUNK_SIZE, _target_map, log_weights


def down_spins(n: int) -> np.ndarray:
    """Number of −1 spins of every state (popcount of the index), shape (2ⁿ,), int."""
    check_enumerable(n)
    k = np.arange(2**n, dtype=np.int64)
    return np.array([bin(v).count("1") for v in range(256)], dtype=np.int64)[
        np.stack([(k >> (8 * b)) & 255 for b in range(3)])
    ].sum(0)


def walsh_hadamard(values: np.ndarray) -> np.ndarray:
    """Unnormalised fast Walsh–Hadamard transform (float64 NumPy), values (2ⁿ,) → (2ⁿ,):
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


class Equilibrium(NamedTuple):
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


def equilibrium(target: Any, chunk_size: int = CHUNK_SIZE) -> Equilibrium:
    """Exact equilibrium quantities of a spin target (module docstring) by enumeration of its 2ⁿ states.

    target: n ≤ 20 spins with log_weight (chunk, n) → (chunk,) (and optionally energy, same shapes, and beta).
    Returns Equilibrium: floats, and the laws m_values, m_law, q_values, q_law, each (n + 1,).
    """
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
    return Equilibrium(
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
