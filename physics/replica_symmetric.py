"""Replica-symmetric theory of the SK posterior along generation.

Replica-symmetric theory (N → ∞). With the posterior field h = α x/σ² = λ s₀ + √λ ξ, λ = α²/σ² and s₀ ~ SK at
β (a spiked GOE at β < 1), the cavity field on a spin is H = (λ + β²q) s₀ + √(λ + β²q) G, G ~ N(0, 1), and
    q = E tanh(λ + β²q + √(λ + β²q) G)                 (= E tanh² by the Nishimori identity)
(El Alaoui, Montanari & Sellke, arXiv 2203.05093, "Sampling from the SK Gibbs measure via algorithmic
stochastic localization": the replica-symmetric fixed point q_*(β, t) of their analysis, at their t = λ).
The solution is stable while
    β² a < 1,   a = E sech⁴(λ + β²q + √(λ + β²q) G)    (de Almeida & Thouless, J. Phys. A 11, 983 (1978)),
and then χ_SG = a/(1 − β² a) (the geometric series of cavity responses); at λ = 0, q = 0 and
χ_SG = 1/(1 − β²). This holds for β < 1, where the SK measure is contiguous to the planted (spiked) model that the
equation describes; for β > 1 the early posterior (λ → 0) is the replica-symmetry-broken SK measure and this
equation does not apply (its solution has no AT instability there), so no theory is given for β ≥ 1. Mean-field
finite-size scaling at the equilibrium SK transition: χ_SG ~ N^{1/3}, scaling variable (β − 1) N^{1/3}
(Kirkpatrick & Sherrington, Phys. Rev. B 17, 4384 (1978); Parisi, Ritort & Slanina, J. Phys. A 26, 3775 (1993)).
"""

from __future__ import annotations

from typing import Any

import numpy as np

Array = Any


_NODES, _WEIGHTS = np.polynomial.hermite_e.hermegauss(121)
_WEIGHTS = _WEIGHTS / _WEIGHTS.sum()


def _check_high_temperature(beta: float, snr: Array) -> np.ndarray:
    lam = np.asarray(snr, dtype=float)
    if not 0 <= beta < 1:
        raise ValueError(f"the replica-symmetric theory along generation holds for 0 <= beta < 1 (the high-temperature "
                         f"phase, where s0 ~ SK is contiguous to the planted model), got beta = {beta}")
    if np.any(~np.isfinite(lam)) or np.any(lam < 0):
        raise ValueError(f"snr = alpha^2/sigma^2 must be finite and >= 0, got {snr}")
    return lam


def _cavity(beta: float, lam: float, q: float) -> np.ndarray:
    v = lam + beta**2 * q
    return v + np.sqrt(v) * _NODES


def _sech4(h: np.ndarray) -> np.ndarray:
    e = np.exp(-2.0 * np.abs(h))
    return (2.0 * np.sqrt(e) / (1.0 + e)) ** 4


def rs_overlap(beta: float, snr: Array) -> np.ndarray:
    """q(β, λ) = E tanh(λ + β²q + √(λ + β²q) G), G ~ N(0, 1), for 0 ≤ β < 1 (module docstring), by iteration
    from q = 1 (the largest solution) with Gauss–Hermite quadrature, for every λ = α²/σ² of ``snr`` (any shape)."""
    lam = _check_high_temperature(beta, snr)
    out = np.empty(lam.shape)
    for idx, value in np.ndenumerate(lam):
        q = 1.0
        for _ in range(100000):
            new = float(np.sum(_WEIGHTS * np.tanh(_cavity(beta, value, q))))
            if abs(new - q) < 1e-14:
                break
            q = new
        out[idx] = new
    return out


def rs_spin_glass_susceptibility(beta: float, snr: Array) -> np.ndarray:
    """χ_SG = a/(1 − β² a), a = E sech⁴(λ + β²q + √(λ + β²q) G) at q = `rs_overlap`, for 0 ≤ β < 1 (where
    β² a ≤ β² < 1: the replica-symmetric solution is stable at every λ); 1/(1 − β²) at λ = 0."""
    lam = _check_high_temperature(beta, snr)
    q = rs_overlap(beta, lam)
    a = np.vectorize(lambda l, qq: float(np.sum(_WEIGHTS * _sech4(_cavity(beta, l, qq)))))(lam, q)
    return a / (1.0 - beta**2 * a)
