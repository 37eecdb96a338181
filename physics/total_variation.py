"""Total variation between an empirical law on a finite grid and an exact one, with its finite-sample null.

TV(p̂, p) = ½ Σ_k |p̂_k − p_k|. The TV of B exact draws is not zero but biased upwards (E TV ≈ Σ_k √(p_k(1 − p_k)/(2πB))
for large B), so a generated law is compared with the null distribution of TV(p̂_B, p) for p̂_B the frequencies of B
draws from p (multinomial, `null_tv`), not with zero.
"""

from __future__ import annotations

import numpy as np


def histogram_tv(counts: np.ndarray, probs: np.ndarray) -> float:
    """½ Σ_k |c_k/Σc − p_k|: counts (K,) (or frequencies) against the law probs (K,) on the same grid."""
    return 0.5 * float(np.abs(counts / counts.sum() - probs).sum())


def null_tv(probs: np.ndarray, size: int, seed: int = 0, reps: int = 2000) -> np.ndarray:
    """TV(p̂, p) of ``reps`` multinomial samples of ``size`` draws from probs (K,) (normalised first) against
    probs: the finite-sample null distribution, shape (reps,)."""
    rng = np.random.default_rng(seed)
    return 0.5 * np.abs(rng.multinomial(size, probs / probs.sum(), size=reps) / size - probs).sum(1)


def total_variation(samples: np.ndarray, values: np.ndarray, probs: np.ndarray, seed: int = 0, num_null: int = 2000):
    """Total variation ½Σ|p̂ − p| between the empirical law of ``samples`` (on the grid ``values``) and ``probs``,
    with its sampling distribution under the null hypothesis (samples exactly from ``probs``).

    Samples are assigned to the nearest grid value. The null distribution comes from ``num_null`` multinomial
    draws of the same size from ``probs`` (TV of a finite sample is biased upwards, so the comparison is with
    the null, not with zero).

    Args:
        samples: any shape, flattened to (B,); values: the grid (K,); probs: the exact law on it (K,).
    Returns:
        (tv, null mean, null standard deviation, p-value P_null(TV ≥ tv)), floats.
    """
    samples = np.asarray(samples, dtype=np.float64).reshape(-1)
    values, probs = np.asarray(values, dtype=np.float64), np.asarray(probs, dtype=np.float64)
    if samples.size == 0:
        raise ValueError("samples must not be empty")
    index = np.argmin(np.abs(samples[:, None] - values[None, :]), axis=1)
    tv = histogram_tv(np.bincount(index, minlength=values.size), probs)
    null = null_tv(probs, samples.size, seed, num_null)
    return tv, float(null.mean()), float(null.std()), float((np.sum(null >= tv) + 1) / (num_null + 1))
