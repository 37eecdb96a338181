"""Entropy production rate along Curie–Weiss generation with the exact score, against the speciation time.

Rates π(t) = E_{p_t}|ν|²/D with the current velocity ν = f x − ½g²∇ln p_t and D = g²/2 (Yu & Huang,
arXiv 2405.11932, Sec. III B), Monte-Carlo over exact samples of p_t (standard errors). (a) The excess over
independent spins Δπ = π_β − π_{β=0} (the part carried by the correlations) with its peak t_Δπ (band: ± its
error); (b) the magnetisation-mode rate π_∥ = E(e·ν)²/D, e = 1/√N, and the total π, with the closed form
π_∥ = (Λ−1)² e^{−4t}/(1 + (Λ−1)e^{−2t}) of a Gaussian mode of variance Λ (OU), whose log-slope crosses −3 at
t_× = ½ ln(Λ − 1); band: the measured crossover ± its error. Both panels: t_S = ½ ln Λ, Λ = N⟨m²⟩ exact
(dotted). Diffusion time t: generation runs t = T → 0. Colours: N; line styles: the quantity.
"""

from __future__ import annotations

import matplotlib.lines as mlines
import matplotlib.patches as mpatches
import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _parameters


def _points(ds: xr.Dataset):
    if "n" in ds.dims:
        return [(int(n), ds.sel(n=n)) for n in ds["n"].values]
    return [(int(ds["n"].values) if "n" in ds.coords else None, ds)]


def plot(ds: xr.Dataset):
    fig, (ax1, ax2) = style.figure(ncols=2, width=style.DOUBLE, height=2.9)
    colours = []
    for j, (n, s) in enumerate(_points(ds)):
        c = f"C{j}"
        colours.append(mpatches.Patch(color=c, label=f"N = {n}, Λ = N⟨m²⟩ = {float(s['lambda']):.1f}"))
        t = s["time"].values
        ax1.errorbar(t, s.excess_rate, s.excess_rate_err, fmt="o-", ms=2.5, lw=0.7, color=c)
        peak, peak_err = float(s.t_excess_peak), float(s.t_excess_peak_err)
        ax1.axvspan(peak - peak_err, peak + peak_err, color=c, alpha=0.2, lw=0)
        ax2.errorbar(t, s.mode_rate, s.mode_rate_err, fmt="o-", ms=2.5, lw=0.7, color=c)
        ax2.errorbar(t, s.entropy_production, s.entropy_production_err, fmt="s--", ms=2.5, mfc="none", lw=0.6,
                     color=c)
        lam = float(s["lambda"])
        fine = np.geomspace(t.min(), t.max(), 200)
        ax2.plot(fine, (lam - 1) ** 2 * np.exp(-4 * fine) / (1 + (lam - 1) * np.exp(-2 * fine)), "-.", lw=0.8,
                 color=c)
        cross, cross_err = float(s.t_mode_crossover), float(s.t_mode_crossover_err)
        if np.isfinite(cross):
            ax2.axvspan(cross - cross_err, cross + cross_err, color=c, alpha=0.2, lw=0)
        for ax in (ax1, ax2):
            ax.axvline(float(s.t_speciation), color=c, ls=":", lw=0.9)
    ax1.axhline(0.0, color="0.5", lw=0.5)
    ax1.set_ylabel(r"excess rate $\Delta\pi = \pi_\beta - \pi_{\beta=0}$")
    ax2.set_ylabel(r"entropy production rate $\pi_\parallel$, $\pi$")
    ax2.set_yscale("log")
    positive = np.concatenate([ds.mode_rate.values.ravel(), ds.entropy_production.values.ravel()])
    positive = positive[positive > 0]
    ax2.set_ylim(0.3 * positive.min(), 3 * positive.max())
    for ax, letter in ((ax1, "a"), (ax2, "b")):
        ax.set_xscale("log")
        ax.set_xlabel(r"diffusion time $t$ (generation runs $t = T \to 0$)")
        ax.set_title(f"({letter})", loc="left")
    grey = "0.3"
    styles = [
        mlines.Line2D([], [], color=grey, marker="o", ms=2.5, lw=0.7,
                      label=r"(a) $\Delta\pi$, excess over $\beta = 0$"),
        mpatches.Patch(color=grey, alpha=0.3, lw=0, label=r"(a) peak $t_{\Delta\pi}$ ± error"),
        mlines.Line2D([], [], color=grey, marker="o", ms=2.5, lw=0.7, label=r"(b) $\pi_\parallel$, magnetisation mode"),
        mlines.Line2D([], [], color=grey, marker="s", mfc="none", ms=2.5, ls="--", lw=0.6, label=r"(b) $\pi$, total"),
        mlines.Line2D([], [], color=grey, ls="-.", lw=0.8,
                      label=r"(b) Gaussian mode of variance $\Lambda$ (closed form)"),
        mpatches.Patch(color=grey, alpha=0.3, lw=0, label=r"(b) crossover $t_\times$ ± error"),
        mlines.Line2D([], [], color=grey, ls=":", lw=0.9, label=r"$t_S = \frac{1}{2}\ln\Lambda$ (exact $\Lambda$)"),
    ]
    fig.legend(colours + styles, [h.get_label() for h in colours + styles], loc="outside lower center", ncols=3)
    style.subtitle(fig, "Curie–Weiss, exact score, OU schedule: " + _parameters.lines(
        ds, ("N=n", "β=beta", "T"), ("samples per time=num_samples", "times=num_times"), ("bootstrap=num_bootstrap",),
        extra="errors: Monte-Carlo standard error; peak, crossover: grid resolution ⊕ bootstrap"))
    return fig


def summary(ds: xr.Dataset) -> str:
    ns = np.atleast_1d(ds["n"].values) if "n" in ds.dims else [None]
    lines = ["times are diffusion times t (generation runs t = T -> 0)"]
    for n in ns:
        s = ds.sel(n=n) if n is not None else ds
        lines.append(
            f"N={n}: Lambda = {float(s['lambda']):.2f}, t_S = {float(s.t_speciation):.3f}; peak of pi - pi_indep at "
            f"t = {float(s.t_excess_peak):.3f} ± {float(s.t_excess_peak_err):.3f}; magnetisation-mode crossover "
            f"t_x = {float(s.t_mode_crossover):.3f} ± {float(s.t_mode_crossover_err):.3f} "
            f"(Gaussian ½ln(Λ−1) = {float(s.t_gaussian_crossover):.3f})"
        )
    return "\n".join(lines)
