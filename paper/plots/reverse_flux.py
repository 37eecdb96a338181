"""Reverse entropy flux against the speciation time over σ², and the exact reverse SDE for σ² > 2 (study kind
reverse_flux; Yu & Huang, arXiv 2405.11932, Secs. III C and IV; data ½N(±μ, σ²), OU noising).

(a) φ_R against diffusion time t for a few σ² (exact quadrature), with its zero t_flux and t_S.
(b) t_flux(σ²) against t_S(σ²) (reverse-SDE drift instability at x = 0), with the bimodality time of p_t, the
    probability-flow drift instability and t_USB = ½ ln(σ² − 1) of the third regime σ² > 2 (exact, no error bars).
(c) Histograms of exact-score reverse-SDE samples at the largest step count (Poisson errors) against p_{t_min}.
(d) ⟨x²⟩ and ⟨x⁴⟩ of those samples minus the exact values, relative, against the number of steps (standard errors).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _legend, _parameters


def _config(ds) -> dict:
    return json.loads(ds.attrs["config"]) if isinstance(ds.attrs.get("config"), str) else {}


def _flux_curves(ax, ds):
    t = ds.time.values
    for k, s2 in enumerate(ds.curve_sigma2.values):
        row = ds.sel(curve_sigma2=s2)
        color = f"C{k}"
        ax.plot(t, row.flux_reverse.values, "-", color=color, label=f"$\\sigma^2 = {s2:g}$")
        tf, ts = float(row.curve_t_flux), float(row.curve_t_speciation)
        ax.plot(tf, 0.0, "o", mfc="none", color=color, ms=5)
        ax.plot(ts, 0.0, "|", color=color, ms=10, mew=1.5)
    ax.plot([], [], "o", mfc="none", color="k", label=r"$\phi_R = 0$: $t_{\rm flux}$")
    ax.plot([], [], "|", color="k", ms=8, mew=1.5, label=r"$t_S$")
    ax.axhline(0, color="0.5", lw=0.5)
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_xlabel(r"diffusion time $t$ (generation runs $t=T\to0$)")
    ax.set_ylabel(r"reverse flux $\phi_R$ (exact)")
    ax.set_title("(a)", loc="left")
    _legend.place(ax, fontsize=5.5, corners=("upper right", "lower left", "lower right", "upper left"))


def _times(ax, ds):
    s2 = ds.sigma2.values
    ax.axvspan(2.0, float(s2[-1]) * 1.05, color="0.9", lw=0, label=r"third regime $\sigma^2>2$")
    ax.plot(s2, ds.t_flux.values, "o-", ms=2.5, color="C1", label=r"$t_{\rm flux}$: $\phi_R$ changes sign")
    ax.plot(s2, ds.t_speciation.values, "s-", ms=2.5, color="C3",
            label=r"$t_S$: reverse-SDE drift unstable at $x=0$")
    for name, fmt, color, label in (
            ("t_bimodal", "--", "C0", r"$p_t$ bimodal ($\mu_t^2=\Gamma_t$)"),
            ("t_pf_ode", ":", "C2", r"PF-ODE drift unstable at $x=0$"),
            ("t_usb", "-.", "k", r"$t_{\rm USB}=\frac{1}{2}\ln(\sigma^2-1)$")):
        if np.isfinite(ds[name].values).any():  # each exists only for some σ² (never the PF-ODE one at μ = 1)
            ax.plot(s2, ds[name].values, fmt, color=color, lw=0.9, label=label)
    cross = float(ds.sigma2_flux_equals_speciation)
    if np.isfinite(cross):
        ax.axvline(cross, color="0.4", lw=0.6, ls=(0, (4, 2)))
        ax.text(cross * 1.05, 0.97, f"$t_{{\\rm flux}}=t_S$ at $\\sigma^2={cross:.3f}$;\nleft of it the flux flips "
                "before\nspeciation in generation order", ha="left", va="top", fontsize=5.5,
                transform=ax.get_xaxis_transform())
    ax.set_xscale("log")
    ax.set_xlim(float(s2[0]) * 0.95, float(s2[-1]) * 1.05)
    ax.set_ylim(0, 2.3 * float(np.nanmax([ds.t_flux.max(), ds.t_speciation.max()])))
    ax.set_xlabel(r"component variance $\sigma^2$")
    ax.set_ylabel(r"diffusion time $t$")
    ax.set_title("(b)", loc="left")
    ax.legend(loc="center left", fontsize=5, bbox_to_anchor=(0.0, 0.62))


def _histograms(ax, ds):
    x = ds.x.values
    steps = int(ds.num_steps.values[-1])
    for k, s2 in enumerate(ds.usb_sigma2.values):
        row = ds.sel(usb_sigma2=s2)
        r = row.sel(num_steps=steps)
        color = f"C{k}"
        ax.plot(x, row.histogram_exact.values, "-", color=color, lw=0.9)
        ax.errorbar(x, row.histogram.values, row.histogram_err.values, fmt=".", ms=2, elinewidth=0.6, color=color,
                    label=f"$\\sigma^2={s2:g}$: KS $D={float(r.ks_statistic):.4f}$, $p={float(r.ks_pvalue):.2f}$")
    ax.plot([], [], "-", color="k", lw=0.9, label=r"exact $p_{t_{\min}}$")
    ax.set_xlabel(r"generated $x$ (reverse SDE, exact score)")
    ax.set_ylabel("density")
    ax.set_title(f"(c) {steps} steps", loc="left")
    _legend.place(ax, fontsize=5)


def _moments(ax, ds):
    steps = ds.num_steps.values.astype(float)
    n = ds.sizes["usb_sigma2"]
    shift = np.exp((np.arange(n) - (n - 1) / 2) * 0.06)
    for k, s2 in enumerate(ds.usb_sigma2.values):
        row = ds.sel(usb_sigma2=s2)
        color = f"C{k}"
        m2, m4 = float(row.m2_exact), float(row.m4_exact)
        ax.errorbar(steps * shift[k], (row.m2.values - m2) / m2, row.m2_err.values / m2, fmt="o", ms=3,
                    color=color, label=f"$\\sigma^2={s2:g}$: $\\langle x^2\\rangle$")
        ax.errorbar(steps * shift[k] * 1.1, (row.m4.values - m4) / m4, row.m4_err.values / m4, fmt="s", ms=3,
                    mfc="none", color=color, label=f"$\\sigma^2={s2:g}$: $\\langle x^4\\rangle$")
    ax.axhline(0, color="k", lw=0.5)
    ax.set_xscale("log")
    ax.set_xlabel("Euler–Maruyama steps")
    ax.set_ylabel("relative error of the moment")
    ax.set_title("(d)", loc="left")
    _legend.place(ax, fontsize=5, ncols=2)


def plot(ds: xr.Dataset):
    fig, axes = style.figure(ncols=2, nrows=2, width=style.DOUBLE, height=2.5)
    _flux_curves(axes[0, 0], ds)
    _times(axes[0, 1], ds)
    _histograms(axes[1, 0], ds)
    _moments(axes[1, 1], ds)
    cfg = _config(ds)
    text = _parameters.lines(ds, ("μ=mu", "σ² curves=curve_sigma2", "σ² grid from=sigma2_min", "to=sigma2_max"),
                             ("reverse SDE: σ²=usb_sigma2", "samples=num_samples", "steps=num_steps", "T=T",
                              "t_min=sde_t_min", "sampler=sampler"),
                             extra="OU noising; times are diffusion times")
    style.subtitle(fig, "½N(±μ, σ²): reverse entropy flux vs speciation; exact-score reverse SDE\n" + text
                   if cfg else "½N(±μ, σ²): reverse entropy flux vs speciation; exact-score reverse SDE")
    return fig


def summary(ds: xr.Dataset) -> str:
    lines = ["Reverse entropy flux φ_R sign change t_flux vs t_S (reverse-SDE drift instability at x = 0), "
             "diffusion time (generation runs t = T → 0):"]
    for s2 in ds.curve_sigma2.values:
        row = ds.sel(curve_sigma2=s2)
        tf, ts = float(row.curve_t_flux), float(row.curve_t_speciation)
        order = "before" if tf > ts else "after"
        lines.append(f"  σ² = {s2:g}: t_flux = {tf:.4f} ({int(row.curve_flux_zero_count)} zero), t_S = {ts:.4f}: "
                     f"the flux flips {order} speciation in generation order")
    lines.append(f"  t_flux = t_S at σ² = {float(ds.sigma2_flux_equals_speciation):.4f}; zeros per σ² on the grid: "
                 f"{sorted(set(int(c) for c in ds.flux_zero_count.values))}")
    lines.append("Exact-score reverse SDE vs p_{t_min} (KS; ⟨x²⟩, ⟨x⁴⟩ minus exact, ± standard error):")
    for s2 in ds.usb_sigma2.values:
        for k in ds.num_steps.values:
            r = ds.sel(usb_sigma2=s2, num_steps=k)
            lines.append(f"  σ² = {s2:g}, {int(k)} steps: KS D = {float(r.ks_statistic):.4f}, p = "
                         f"{float(r.ks_pvalue):.3f}; Δ⟨x²⟩ = {float(r.m2 - r.m2_exact):+.4f} ± {float(r.m2_err):.4f}; "
                         f"Δ⟨x⁴⟩ = {float(r.m4 - r.m4_exact):+.3f} ± {float(r.m4_err):.3f}")
    return "\n".join(lines)
