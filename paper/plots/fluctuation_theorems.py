"""Fluctuation theorems and ensemble entropy rates of the forward (noising) and reverse (generative) diffusions.

Left column, one panel per swept (schedule, target): the ensemble rates of Yu & Huang (arXiv 2405.11932,
Sec. III) by quadrature of the closed-form p_t (exact, no error bars): total entropy production π, the flux
φ and dS/dt of the forward process, the flux φ_R and dS_R/dt of the reverse process, with the time where φ_R
changes sign and their speciation time t_S (reverse-drift instability at x = 0, mixture with the OU schedule
only). Right: every estimate whose theory value is 1, with its standard error: the integral fluctuation
theorem ⟨e^{−Σ}⟩ for forward and generative paths, with the discrete path log-ratio and the Stratonovich Σ;
the slope of ln[P_F(Σ)/P_B(−Σ)] against Σ (Crooks); and ⟨Σ⟩/∫π dt of forward paths.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _legend, _parameters

ESTIMATES = (
    ("ift_forward_path", "IFT\nforward\npath"),
    ("ift_forward_stratonovich", "IFT\nforward\nStrat."),
    ("ift_reverse_path", "IFT\nreverse\npath"),
    ("ift_reverse_stratonovich", "IFT\nreverse\nStrat."),
    ("crooks_slope", "Crooks\nslope"),
    ("sigma_ratio", r"$\frac{\langle\Sigma\rangle}{\int\pi\,dt}$"),
)


def _estimate(s, name):
    if name == "sigma_ratio":
        rate = float(s.integrated_rate)
        return float(s.mean_sigma_forward) / rate, float(s.mean_sigma_forward_err) / rate
    return float(s[name]), float(s[f"{name}_err"])


def plot(ds: xr.Dataset):
    panels = style.sweep_panels(ds, "ift_forward_path", ())
    rows = len(panels)
    fig, axes = style.figure(ncols=2, nrows=rows, width=style.DOUBLE, height=2.3 if rows <= 2 else 1.7,
                             squeeze=False, gridspec_kw={"width_ratios": [1.2, 1] if rows <= 2 else [1, 1]})
    grid = axes[0, 1].get_gridspec()
    for ax in axes[:, 1]:
        ax.remove()
    summary = fig.add_subplot(grid[:, 1])
    for k, (label, s) in enumerate(panels):
        ax = axes[k, 0]
        t = np.asarray(s["time"].values, float)
        ok = np.isfinite(t) & np.isfinite(np.asarray(s.entropy_production.values, float))
        t = t[ok]
        ax.plot(t, s.entropy_production.values[ok], "k-", label=r"$\pi$, entropy production")
        ax.plot(t, s.flux_forward.values[ok], "C0-", label=r"$\phi$, forward flux")
        ax.plot(t, s.entropy_rate_forward.values[ok], "C0--", label=r"$dS/dt$, forward")
        ax.plot(t, s.flux_reverse.values[ok], "C1-", label=r"$\phi_R$, reverse flux")
        ax.plot(t, s.entropy_rate_reverse.values[ok], "C1--", label=r"$dS_R/dt$, reverse")
        if "t_speciation_drift" in s and np.isfinite(float(s.t_speciation_drift)):
            ax.axvline(float(s.t_speciation_drift), color="C3", ls=":", lw=0.9,
                       label=r"$t_S$, reverse-drift instability")
        if np.isfinite(float(s.t_reverse_flux_zero)):
            ax.axvline(float(s.t_reverse_flux_zero), color="C1", ls=":", lw=0.9, label=r"$\phi_R = 0$")
        ax.axhline(0, color="0.6", lw=0.5)
        ax.set_xlim(0, float(np.nanmax(ds["time"].values)))
        ax.set_ylabel("rate (exact quadrature)")
        ax.set_title(f"({chr(97 + k)}) {label}", loc="left")
    axes[-1, 0].set_xlabel(r"diffusion time $t$ (generation runs $t = T \to 0$)")
    handles = {}
    for ax in axes[:, 0]:
        for handle, text in zip(*ax.get_legend_handles_labels()):
            handles.setdefault(text, handle)
    axes[-1, 0].legend(list(handles.values()), list(handles.keys()), loc="upper center", bbox_to_anchor=(0.5, -0.3),
                       ncols=3)

    x = np.arange(len(ESTIMATES))
    offsets = (np.arange(rows) - (rows - 1) / 2) * (0.6 / max(rows, 1))
    markers = ("o", "s", "^", "D", "v", "P")
    for k, (label, s) in enumerate(panels):
        values = np.array([_estimate(s, name) for name, _ in ESTIMATES])
        summary.errorbar(x + offsets[k], values[:, 0], values[:, 1], fmt=markers[k % len(markers)], color=f"C{k + 2}",
                         label=f"({chr(97 + k)}) {label}")
    summary.axhline(1.0, color="k", lw=0.6, label="theory: 1")
    summary.set_xticks(x, [text for _, text in ESTIMATES], fontsize=6.5)
    summary.set_ylabel(r"$\langle e^{-\Sigma}\rangle$, Crooks slope, $\langle\Sigma\rangle/\int\pi\,dt$")
    summary.set_title(f"({chr(97 + rows)}) fluctuation theorems (standard errors)", loc="left")
    config = json.loads(ds.attrs.get("config", "{}"))
    targets = set(np.atleast_1d(ds["target"].values if "target" in ds.coords else config.get("target", [])))
    models = []
    if "mixture" in targets:
        models += ["mixture ½N(μ, σ²) + ½N(−μ, σ²): μ=mu", "σ=sigma"]
    if "gaussian" in targets:
        models += ["Gaussian N(0, s₀²): s₀=s0"]
    style.subtitle(fig, "One-dimensional data, exact score: " + _parameters.lines(
        ds, ["target", "schedule"], models,
        ("paths=num_trajectories", "steps=num_steps", "T", "t_min", "quadrature times=num_times"),
        extra="errors: standard error"))
    _legend.place(summary, **({} if rows <= 2 else {"fontsize": 6}))  # smaller for 3+ series: narrower than the panel
    return fig


def summary(ds: xr.Dataset) -> str:
    lines = []
    for label, s in style.sweep_panels(ds, "ift_forward_path", ()):
        lines.append(
            f"{label:28s} IFT fwd {float(s.ift_forward_path):.4f} ± {float(s.ift_forward_path_err):.4f} "
            f"(ESS {float(s.ess_forward_path):.0f}), rev {float(s.ift_reverse_path):.4f} ± "
            f"{float(s.ift_reverse_path_err):.4f} (ESS {float(s.ess_reverse_path):.0f}); Crooks slope "
            f"{float(s.crooks_slope):.3f} ± {float(s.crooks_slope_err):.3f}; <Sigma> {float(s.mean_sigma_forward):.4f} ± "
            f"{float(s.mean_sigma_forward_err):.4f} vs int pi dt {float(s.integrated_rate):.4f}"
        )
    return "\n".join(lines)
