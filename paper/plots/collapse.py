"""Collapse of generation onto the training points under the exact empirical score (Biroli, Bonnaire,
de Bortoli & Mézard, arXiv 2402.18491).

(a) The mean end-point overlap E q(t), q = E[x | x_t]·x₀/|x₀|² (standard errors over paths), against t/t_C with
t_C = ½ ln(1 + σ²/(n^{2/d} − 1)) (their Eq. 8); one series per (n, d), offset horizontally for legibility;
stars: the measured collapse time, where E q = ½ (bootstrap error). (b) The relative excess
t_C,measured/t_C − 1 against 1/d, with its error: Eq. 8 is the d → ∞ limit at fixed ln n/d, so the excess
should vanish as d grows.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _legend, _parameters


#: Panel labels in the figure's notation (`style.sweep_panels`).
SYMBOLS = {"num_points": "n"}


def plot(ds: xr.Dataset):
    fig, (ax1, ax2) = style.figure(ncols=2, width=style.DOUBLE, height=2.5)
    panels = style.sweep_panels(ds, "t_c", (), SYMBOLS)
    ratio = (ds.time / ds.t_c_theory).values.ravel()
    grid = np.unique(np.round(ratio, 8))
    step = float(np.min(np.diff(grid))) if grid.size > 1 else 0.1
    shifts = (np.arange(len(panels)) - (len(panels) - 1) / 2) * (0.3 * step / max(len(panels) - 1, 1))
    for k, (label, one) in enumerate(panels):
        color = f"C{k}"
        theory = float(one.t_c_theory)
        ax1.errorbar(one.time.values / theory + shifts[k], one.overlap, one.overlap_err, fmt="o-", ms=2.5, lw=0.7,
                     color=color, label=rf"$E\,q(t)$, {label}" if label else r"$E\,q(t)$")
        ax1.errorbar(float(one.t_c) / theory + shifts[k], 0.5, xerr=float(one.t_c_err) / theory, fmt="*", ms=6,
                     color=color, mec="k", mew=0.4, zorder=5, label=None)
    ax1.axhline(0.5, color="k", lw=0.6, ls="--", label=r"$E\,q = 1/2$: measured $t_C$ (stars)")
    ax1.axvline(1.0, color="0.4", lw=0.6, ls=":", label=r"$t_C$ of Eq. 8")
    ax1.set_xlabel(r"diffusion time $t/t_C$, $t_C = \frac{1}{2}\ln(1 + \sigma^2/(n^{2/d} - 1))$")
    ax1.set_ylabel("end-point overlap\n" + r"$E\,q(t)$, $q = E[x|x_t]\cdot x_0/|x_0|^2$")
    handles, labels = ax1.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda k: (not labels[k].startswith(r"$E\,q(t)$"), k))
    ax1.legend([handles[k] for k in order], [labels[k] for k in order], loc="upper center",
               bbox_to_anchor=(0.5, -0.25), ncols=2)
    ax1.set_title(f"(a) series offset by up to ±{abs(shifts).max():.3f} in $t/t_C$ for legibility"
                  if len(panels) > 1 else "(a)", loc="left")

    excess = (ds.t_c / ds.t_c_theory - 1)
    excess_err = ds.t_c_err / ds.t_c_theory
    inverse_d = 1.0 / np.unique(np.atleast_1d(ds.d.values))
    width = (inverse_d.max() if inverse_d.size else 1.0) * 0.04
    groups = style.sweep_panels(ds, "t_c", ("d",), SYMBOLS) if "d" in ds["t_c"].dims else [("", ds.expand_dims(d=[ds.d.item()]))]
    offsets = (np.arange(len(groups)) - (len(groups) - 1) / 2) * width
    for k, (label, one) in enumerate(groups):
        e = (one.t_c / one.t_c_theory - 1).values
        de = (one.t_c_err / one.t_c_theory).values
        ax2.errorbar(1.0 / one.d.values + offsets[k], e, de, fmt="o", color=f"C{k}",
                     label=f"measured, {label}" if label else "measured")
    ax2.axhline(0.0, color="k", lw=0.6, label=r"Eq. 8 ($d \to \infty$ at fixed $\ln n/d$)")
    ax2.set_xlim(0, 1.25 * inverse_d.max())
    high, low = float((excess + excess_err).max()), float((excess - excess_err).min())
    if np.isfinite(high) and np.isfinite(low):
        span = max(high, 0.0) - min(low, 0.0) or 1.0
        ax2.set_ylim(min(low, 0.0) - 0.1 * span, max(high, 0.0) + 0.1 * span)
    ax2.set_xlabel("inverse dimension $1/d$")
    ax2.set_ylabel("relative excess\n" + r"$t_C^{\rm measured}/t_C - 1$")
    ax2.set_title(f"(b) series offset by ±{abs(offsets).max():.4f} in $1/d$" if len(groups) > 1 else "(b)",
                  loc="left")
    style.subtitle(fig, "Exact empirical score of n Gaussian points in d dimensions: " + _parameters.lines(
        ds, ("n=num_points", "d", "σ²=sigma2"), ("paths=batch", "times=num_times", "bootstrap resamples=bootstrap"),
        extra="OU schedule; errors: standard error over paths, bootstrap ($t_C$)"))
    _legend.place(ax2)
    return fig


def summary(ds: xr.Dataset) -> str:
    lines = []
    for label, one in style.sweep_panels(ds, "t_c", ()):
        rel, drel = float(one.t_c / one.t_c_theory - 1), float(one.t_c_err / one.t_c_theory)
        lines.append(f"{label:26s} t_C measured = {float(one.t_c):.4f} ± {float(one.t_c_err):.4f}   theory "
                     f"{float(one.t_c_theory):.4f}   relative excess {rel:+.3f} ± {drel:.3f}")
    return "\n".join(lines)
