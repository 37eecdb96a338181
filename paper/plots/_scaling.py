"""Pieces shared by the finite-size-scaling figures (critical_exponents, hopfield_scaling)."""

from __future__ import annotations

import math

import numpy as np

MARKERS = ("o", "s", "^", "D", "v", "P")
#: Large-N Binder cumulant of the critical Curie–Weiss law P(m) ∝ exp(−N m⁴/12): U₄* = 1 − Γ(¼)²/(12 Γ(¾)²),
#: from ⟨m⁴⟩/⟨m²⟩² = Γ(5/4)Γ(1/4)/Γ(3/4)² of that quartic law.
CW_CRITICAL_BINDER = 1.0 - math.gamma(0.25) ** 2 / (12.0 * math.gamma(0.75) ** 2)


def posterior(ds, name: str, digits: int = 3) -> str:
    """Mathtext 'median^{+(hi − median)}_{−(median − lo)}' of a fitted parameter stored as name, name_lo, name_hi."""
    med, lo, hi = (float(ds[name + s]) for s in ("", "_lo", "_hi"))
    return rf"{med:.{digits}f}^{{+{hi - med:.{digits}f}}}_{{-{med - lo:.{digits}f}}}"


def collapse_panel(ax, ds, prefix: str, control: str, symbol: str, m2: str, ylabel: str, logx: bool,
                   theory: str) -> dict:
    """y = ⟨m²⟩^{1/2} N^{b_m} against x = (c − c_c) N^{a} with the fitted (median) c_c, a, b_m; error bars
    propagated from ⟨m²⟩ (δ⟨m²⟩^{1/2} = δ⟨m²⟩ / (2⟨m²⟩^{1/2})). Returns the keyword arguments of the panel's
    legend (no handles: the markers are in the figure's legend): the fit's medians and 68% intervals and the
    `theory` line, for _legend.place once the figure is complete."""
    c = ds[control].values
    c_c, a, b = (float(ds[f"{prefix}_{k}"]) for k in ("c_c", "a", "b_m"))
    for i, n in enumerate(ds.n.values):
        value, error = ds[m2].values[i], ds[f"{m2}_err"].values[i]
        root = np.sqrt(value)
        ax.errorbar((c - c_c) * n**a, root * n**b, error / (2 * root) * n**b, fmt=MARKERS[i % len(MARKERS)],
                    ms=2.5, mfc="none", mew=0.7, label=f"N = {n}")
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(rf"$({symbol} - {symbol}_c)\,N^{{a}}$")
    ax.set_ylabel(ylabel)
    digits = 4 if prefix == "traj" else 3
    fit = (rf"fit: ${symbol}_c = {posterior(ds, prefix + '_c_c', digits)}$" + "\n"
           rf"$a = {posterior(ds, prefix + '_a')}$, $b_m = {posterior(ds, prefix + '_b_m')}$")
    return {"handles": [], "title_fontsize": 6.5, "title": fit + "\n" + theory}


MEAN_FIELD = {"beta_exp": 0.5, "gamma_exp": 1.0, "binder": CW_CRITICAL_BINDER, "a": 0.5, "b_m": 0.25, "b_chi": -0.5}


def posterior_text(ds, name: str) -> str:
    """'median (+hi / -lo)' of a fitted parameter stored as name, name_lo, name_hi."""
    med, lo, hi = (float(ds[name + s]) for s in ("", "_lo", "_hi"))
    return f"{med:.4f} (+{hi - med:.4f} / -{med - lo:.4f})"
