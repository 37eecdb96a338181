"""Fluctuation theorems for the total entropy Σ of a set of paths (`physics.path_entropy`).

    integral (IFT)    ⟨e^{−Σ}⟩ = 1                        (Seifert, Rep. Prog. Phys. 75, 126001 (2012), eq. 48)
    detailed (Crooks) P_F(Σ)/P_B(−Σ) = e^{Σ}               (Crooks, PRE 60, 2721 (1999), eq. 10)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

Array = Any


class ExpAverage(NamedTuple):
    """⟨e^{−Σ}⟩ with its standard error and the Kish effective sample size (Σw)²/Σw² of w = e^{−Σ}."""

    mean: float
    stderr: float
    ess: float
    num: int


def exponential_average(sigma: Array) -> ExpAverage:
    """⟨e^{−Σ}⟩ over paths, standard error std(w)/√N, and the Kish ESS of the weights w = e^{−Σ}.

    The ESS says how many paths carry the average: when it is a small fraction of N the standard error is
    itself unreliable (rare paths with large w dominate), and a pass within the error bar means little.
    """
    s = np.asarray(sigma, dtype=float).ravel()
    if s.size < 2 or not np.all(np.isfinite(s)):
        raise ValueError(f"sigma must hold at least 2 finite values, got {s.size} values")
    w = np.exp(-s)
    return ExpAverage(float(w.mean()), float(w.std(ddof=1) / np.sqrt(s.size)), float(w.sum() ** 2 / np.sum(w**2)), s.size)


class CrooksFit(NamedTuple):
    """Weighted least-squares fit ln[P_F(Σ)/P_B(−Σ)] = a + b Σ over histogram bins; b = 1 by Crooks."""

    slope: float
    slope_err: float
    intercept: float
    intercept_err: float
    centers: Array
    log_ratio: Array
    log_ratio_err: Array


def crooks_fit(sigma_forward: Array, sigma_backward: Array, *, num_bins: int = 30, min_count: int = 20) -> CrooksFit:
    """Fit the detailed fluctuation theorem P_F(Σ)/P_B(−Σ) = e^{Σ} (Crooks, PRE 60, 2721 (1999), eq. 10).

    sigma_forward: Σ_F on forward paths; sigma_backward: the same functional Σ_F evaluated on backward paths
    (so that its law is P_B(−Σ_B = ·)). Bins with fewer than min_count paths in either sample are dropped;
    the error of each log-ratio is √(1/n_F + 1/n_B) (Poisson counts).
    """
    f, b = np.asarray(sigma_forward, float).ravel(), np.asarray(sigma_backward, float).ravel()
    lo, hi = max(np.quantile(f, 0.001), np.quantile(b, 0.001)), min(np.quantile(f, 0.999), np.quantile(b, 0.999))
    if not hi > lo:
        raise ValueError("the forward and backward samples of Σ do not overlap; use more paths or a shorter protocol")
    edges = np.linspace(lo, hi, num_bins + 1)
    nf, _ = np.histogram(f, edges)
    nb, _ = np.histogram(b, edges)
    keep = (nf >= min_count) & (nb >= min_count)
    if keep.sum() < 3:
        raise ValueError(f"only {keep.sum()} histogram bins have >= {min_count} paths in both samples; use more paths")
    centers = 0.5 * (edges[1:] + edges[:-1])[keep]
    y = np.log(nf[keep] / f.size) - np.log(nb[keep] / b.size)
    err = np.sqrt(1.0 / nf[keep] + 1.0 / nb[keep])
    coef, cov = np.polyfit(centers, y, 1, w=1.0 / err, cov="unscaled")
    return CrooksFit(float(coef[0]), float(np.sqrt(cov[0, 0])), float(coef[1]), float(np.sqrt(cov[1, 1])), centers, y, err)
