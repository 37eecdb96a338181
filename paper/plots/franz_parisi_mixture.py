"""Franz–Parisi potential of the 1-D mixture ½N(±μ, σ²) (study kind franz_parisi_mixture).

Rows, one per time of Yu & Huang's Fig. 11 (arXiv 2405.11932, Sec. V): V(q), V′(q), V″(q) by quadrature (exact up
to quadrature error, no error bars) against q = (x₀ − x₀′)², x₀′ a posterior draw, with every inflection point
(V″ = 0) marked and an independent Monte-Carlo estimate of V″ with its standard error. Right column: the inflection
points along a scan of the diffusion time t, the window where additional ones exist (edges: V″ = V‴ = 0) and the
small-t limit law q = q′*Δ_t/a²; below it, their number against t.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _legend, _parameters


def _config(ds) -> dict:
    return json.loads(ds.attrs["config"]) if isinstance(ds.attrs.get("config"), str) else {}


def inflections(ds, prefix: str, t) -> np.ndarray:
    """The inflection points at time t (increasing q) from the flat list ``<prefix>_inflection_q``."""
    q = ds[f"{prefix}_inflection_q"]
    return q.values[q[f"{prefix}_inflection_time"].values == t]


def _mark_inflections(axes, qs):
    for ax in axes:
        for x in qs:
            ax.axvline(x, color="0.55", ls=":", lw=0.8)


def _rows(axes, ds, samples: int):
    q = ds.q_gmm.values
    for r, t in enumerate(ds.gmm_time.values):
        row = ds.sel(gmm_time=t)
        qs = inflections(ds, "gmm", t)
        ax_v, ax_d1, ax_d2 = axes[r, 0], axes[r, 1], axes[r, 2]
        ax_v.plot(q, row.gmm_v.values, "C0-", label="$V$ (quadrature)")
        ax_d1.plot(q, row.gmm_dv.values, "C0-", label=r"$V'$ (quadrature)")
        ax_d2.plot(q, row.gmm_d2v.values, "C0-", label=r"$V''$ (quadrature)")
        ax_d2.axhline(0, color="k", lw=0.5)
        _mark_inflections((ax_v, ax_d1, ax_d2), qs)
        ax_d2.plot(qs, np.zeros_like(qs), "o", mfc="none", color="C3", label=f"inflection points ({qs.size})")
        ax_d2.errorbar(row.gmm_check_q.values, row.gmm_check_d2v.values, row.gmm_check_d2v_err.values, fmt="s",
                       ms=2.5, color="C1", label=f"$V''$ Monte Carlo ({samples:,} draws)")
        ax_d2.set_yscale("symlog", linthresh=1.0)
        ax_d2.set_ylim(min(-30.0, 1.2 * float(np.min(row.gmm_d2v.values[q > 0.5 * q[0] + 0.05]))), 30.0)
        ax_v.text(0.96, 0.04, f"$t = {t:g}$\n" + "\n".join(f"$q^*={x:.3f}$" for x in qs), transform=ax_v.transAxes,
                  va="bottom", ha="right", fontsize=6)
        ax_v.set_ylabel(r"$V(q,t)$")
        ax_d1.set_ylabel(r"$\partial_q V$")
        ax_d2.set_ylabel(r"$\partial_q^2 V$ (symlog)")
        for ax in (ax_v, ax_d1, ax_d2):
            ax.set_xlim(0, float(q[-1]))
    for ax in axes[ds.sizes["gmm_time"] - 1, :3]:
        ax.set_xlabel(r"$q=(x_0-x_0')^2$")
    _legend.place(axes[0, 2], fontsize=5.5)


def _scan(ax_map, ax_count, ds):
    t = ds.scan_time.values
    lo, hi = float(ds.window_t_lo), float(ds.window_t_hi)
    for ax in (ax_map, ax_count):
        if np.isfinite(lo) and np.isfinite(hi):
            ax.axvspan(lo, hi, color="C2", alpha=0.15, lw=0, label="extra inflections")
        ax.set_xscale("log")
    ax_map.plot(ds.scan_inflection_time.values, ds.scan_inflection_q.values, "o", ms=2.2, color="C0",
                label=r"$V''=0$")
    ax_map.plot(t, ds.scan_limit_law_q.values, "k--", lw=0.8,
                label=rf"$t\to0$: ${float(ds.limit_law_q_prime):.2f}\,\Delta_t/a^2$")
    ax_map.plot([lo, hi], [float(ds.window_q_lo), float(ds.window_q_hi)], "*", ms=6, color="C3",
                label=r"$V''=V'''=0$")
    ax_map.plot(ds.gmm_inflection_time.values, ds.gmm_inflection_q.values, "D", mfc="none", color="C1", ms=4,
                label="Fig. 11 times")
    ax_map.set_yscale("log")
    ax_map.set_ylim(1e-5, 1e2)
    ax_map.set_ylabel(r"inflection point $q^*$")
    window = f"window\n{lo:.4f} < t < {hi:.4f}" if np.isfinite(lo) and np.isfinite(hi) else "no window found"
    ax_map.text(0.04, 0.97, window, transform=ax_map.transAxes, va="top", fontsize=6)
    ax_map.legend(loc="lower right", fontsize=5)
    ax_count.step(t, ds.scan_inflections.values, where="mid", color="C0", label="count on the scan")
    ax_count.set_ylim(0, 5)
    ax_count.set_yticks([0, 1, 2, 3])
    ax_count.set_ylabel("number of inflections")
    ax_count.set_xlabel(r"diffusion time $t$")
    _legend.place(ax_count, fontsize=5.5)


def plot(ds: xr.Dataset):
    rows = ds.sizes["gmm_time"]
    nrows = max(rows, 2)  # the right column needs two rows: inflection map, count
    fig, axes = style.figure(ncols=4, nrows=nrows, width=style.DOUBLE, height=1.7, squeeze=False)
    grid = axes[0, 3].get_gridspec()
    for ax in axes[: nrows - 1, 3]:
        ax.remove()
    for ax in axes[rows:, :3].ravel():
        ax.axis("off")
    ax_map = fig.add_subplot(grid[0: nrows - 1, 3])
    config = _parameters.lines(ds, ("μ=mu", "σ²=sigma2", "t=gmm_times"),
                               ("t scan=num_scan", "q points per t=scan_num_q"),
                               extra="posterior references; V by quadrature, V'' also by Monte Carlo")
    _rows(axes, ds, int(_config(ds).get("gmm_check_samples", 0)))
    _scan(ax_map, axes[nrows - 1, 3], ds)
    style.subtitle(fig, "Franz–Parisi potential of the 1-D mixture ½N(±μ, σ²): " + config)
    return fig


def summary(ds: xr.Dataset) -> str:
    params = _config(ds)
    lines = [f"1-D mixture (μ = {params.get('mu', '?')}, σ² = {params.get('sigma2', '?')}): inflection points of V(q) "
             "at t = " + "; ".join(
                 f"{t:g}: {int(c)} (q = {', '.join(f'{x:.4f}' for x in inflections(ds, 'gmm', t))})"
                 for t, c in zip(ds.gmm_time.values, ds.gmm_inflections.values)),
             f"  V″ quadrature vs Monte Carlo at q = {', '.join(f'{x:g}' for x in ds.gmm_check_q.values)}: "
             f"max |z| = {float(ds.gmm_check_max_z):.2f}",
             f"  additional inflection points for {float(ds.window_t_lo):.5f} < t < {float(ds.window_t_hi):.5f} "
             f"(pairs merge at q = {float(ds.window_q_lo):.4f} and {float(ds.window_q_hi):.4f}; V″ = V‴ = 0 "
             f"to {float(ds.window_residual):.1e}); counts along the scan: "
             + " ".join(f"{t:.4g}:{int(c)}" for t, c in zip(ds.scan_time.values, ds.scan_inflections.values))]
    return "\n".join(lines)
