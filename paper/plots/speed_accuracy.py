"""Speed–accuracy relations (Ikeda et al., arXiv 2407.04495, eqs. 80–83) for each schedule.

Top row (one panel per swept point): η = (ΔW₁)²/(τ D₀) ≤ c₁ = ∫ v_loss² dt ≤ c₂ = ∫ v₂² dt per schedule, with
the path-length bound (∫ v₂ dt)²/τ (also ≥ η, not c₁) beside them; the four quantities of a schedule are offset
horizontally. Bottom row: v₂(t)² (solid) and v_loss(t)² (dashed) against forward time t. 1-D mixture: exact
quadrature, no error bars. Curie–Weiss: Monte Carlo over trajectories, one-standard-error bars (bands on the
curves, whose dots mark the RK4 grid).
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from statphys.paper import style

QUANTITIES = (
    ("eta", r"$\eta=(\Delta W_1)^2/(\tau D_0)$", "o", "0.2"),
    ("c1", r"$c_1=\int_0^\tau v_{\rm loss}^2\,dt$", "s", "C3"),
    ("c2", r"$c_2=\int_0^\tau v_2^2\,dt=\int_0^\tau T_t\dot S_{\rm tot}\,dt$", "D", "C0"),
    ("path_length_bound", r"path-length bound $(\int_0^\tau v_2\,dt)^2/\tau$", "^", "C2"),
)
NAMES = {"cosine": "cosine", "cond_ot": "cond-OT", "ot": r"OT ($W_2$ geodesic)"}
NAMES_SHORT = {"cosine": "cos", "cond_ot": "cond-OT", "ot": "OT"}


def _hierarchy(ax, s, statistical: bool, first: bool, compact: bool) -> None:
    names = [str(n) for n in s["schedule"].values]
    x = np.arange(len(names))
    values = []
    for j, (var, label, marker, color) in enumerate(QUANTITIES):
        if var not in s:
            continue
        err = s[var + "_err"].values if statistical and var + "_err" in s else None
        ax.errorbar(x + (j - 1.5) * 0.16, s[var].values, yerr=err, fmt=marker, color=color, ms=3.5,
                    elinewidth=0.8, label=label)
        values.append(s[var].values)
    ax.set_xticks(x, [NAMES_SHORT.get(n, n) if compact else NAMES.get(n, n) for n in names])
    ax.set_xlim(-0.6, len(names) - 0.4)
    values = np.concatenate(values)
    if values.max() > 20 * values.min() > 0:
        ax.set_yscale("log")
    else:
        ax.set_ylim(0, 1.1 * values.max())
    if first:
        ax.set_ylabel(r"$\eta$, $c_1$, $c_2$ (length$^2$/time)")


def _curves(ax, s, statistical: bool, first: bool) -> None:
    top = float(np.nanmax(s["v2_sq"].values))
    for k, name in enumerate(str(n) for n in s["schedule"].values):
        r = s.sel(schedule=name)
        t = r["t"].values if statistical else r["time"].values
        for var, ls, what in (("v2_sq", "-", r"$v_2^2$"), ("v_loss_sq", "--", r"$v_{\rm loss}^2$")):
            y = r[var].values
            keep = y > 0
            ax.plot(t[keep], y[keep], color=f"C{k}", ls=ls, marker="." if statistical else None, ms=2.5,
                    label=f"{what}, {NAMES.get(name, name)}")
            if statistical and var + "_err" in r:
                e = r[var + "_err"].values
                ax.fill_between(t[keep], np.maximum(y - e, y * 1e-3)[keep], (y + e)[keep], color=f"C{k}", alpha=0.2,
                                lw=0)
    ax.set_yscale("log")
    ax.set_ylim(1e-4 * top, 3 * top)  # v₂ = 0 exactly at t = τ for the cosine schedule (ṁ E[y] = 0, σ̇ = 0)
    ax.set_xlabel(r"forward time $t$")
    if first:
        ax.set_ylabel(r"$v_2^2(t)$, $v_{\rm loss}^2(t)$ (length$^2$/time$^2$)")


#: Panel titles in the notation of the figure's header (`style.sweep_panels`).
SYMBOLS = {"cw_n": "N", "cw_beta": "β", "mu": "μ"}


def plot(ds: xr.Dataset):
    statistical = "c2_err" in ds  # the Curie–Weiss check; the mixture results are exact quadrature
    panels = style.sweep_panels(ds, "eta", ("schedule",), SYMBOLS)
    ncols = min(len(panels), 4)
    nrows = -(-len(panels) // ncols)
    compact = ncols > 1
    fig, axes = style.figure(ncols=ncols, nrows=2 * nrows, width=style.DOUBLE * (0.8 if ncols == 1 else 1.0),
                             height=1.9 if ncols == 1 else 2.2, squeeze=False)
    for i, (title, s) in enumerate(panels):
        row, col = 2 * (i // ncols), i % ncols
        _hierarchy(axes[row, col], s, statistical, col == 0, compact)
        axes[row, col].set_title(title)
        _curves(axes[row + 1, col], s, statistical, col == 0)
    for i in range(len(panels), nrows * ncols):
        axes[2 * (i // ncols), i % ncols].set_visible(False)
        axes[2 * (i // ncols) + 1, i % ncols].set_visible(False)
    legends = [axes[row, 0].get_legend_handles_labels() for row in (0, 1)]
    if compact:
        fig.legend(legends[0][0] + legends[1][0], legends[0][1] + legends[1][1], loc="outside lower center", ncols=4)
    else:
        for row, (handles, labels) in enumerate(legends):
            axes[row, 0].legend(handles, labels, loc="center left", bbox_to_anchor=(1.03, 0.5))
    if statistical:
        head = "Curie–Weiss, exact score, PF ODE (RK4), W$_1$ of the projection $\\sum_i x_i/\\sqrt{N}$\n" + style.describe(
            ds, "N=cw_n", "β=cw_beta", "τ=tau", "start N(a·1/√N, b²I), shift a=shift", "scale b=scale",
            "trajectories=num_traj", "RK4 steps=num_steps", extra="error bars: 1 s.e.")
    else:
        head = "1-D mixture ½N(μ,σ²)+½N(−μ,σ²), exact velocity\n" + style.describe(
            ds, "μ=mu", "σ=sigma", "τ=tau", "start N(a, b²), shift a=shift", "scale b=scale", "nodes=num_nodes",
            extra="exact quadrature (no error bars)")
    style.subtitle(fig, head + "; generation runs from t = τ to 0")
    return fig


def summary(ds: xr.Dataset) -> str:
    lines = []
    for label, s in style.sweep_panels(ds, "eta", ("schedule",)):
        if "c2_err" in s:  # Curie–Weiss
            for name in s["schedule"].values:
                r = s.sel(schedule=name)
                lines.append(f"{label:20s} {name:8s} eta = {float(r.eta):.4f} ± {float(r.eta_err):.4f} <= "
                             f"c1 = {float(r.c1):.4f} ± {float(r.c1_err):.4f} <= c2 = {float(r.c2):.4f} ± {float(r.c2_err):.4f}"
                             f"; path-length bound = {float(r.path_length_bound):.4f} ± {float(r.path_length_bound_err):.4f}")
            lines.append(f"{label:20s} dW1 = {float(s.delta_w1):.4f} ± {float(s.delta_w1_err):.4f} (W1 from the true start "
                         f"{float(s.w1_true_start):.4f}), D0 = {float(s.d0):.4f}")
            continue
        for name in s["schedule"].values:
            r = s.sel(schedule=name)
            ratio = float((r.v_loss_sq / r.v2_sq).max())
            lines.append(f"{label:20s} {name:8s} eta = {float(r.eta):.5f} <= c1 = {float(r.c1):.5f} <= c2 = {float(r.c2):.5f}"
                         f"; eta along this flow = {float(r.eta_flow):.5f}; path-length bound = "
                         f"{float(r.path_length_bound):.5f}; max_t v_loss²/v2² = {ratio:.4f} <= 1")
        lines.append(f"{label:20s} dW1 = {float(s.delta_w1):.4f} (samples {float(s.delta_w1_samples):.4f} ± "
                     f"{float(s.delta_w1_samples_err):.4f}), D0 = {float(s.d0):.4f}")
    return "\n".join(lines)
