"""Franz–Parisi potential of Curie–Weiss (study kind franz_parisi).

(a) V(q; t) in the overlap q = s·s′/N with a posterior reference s′ (sampling errors) at a few diffusion times, for
the largest N; (b) the class gap N ΔV against t − t_S for every N; (c) the time where the secondary minimum appears
(spinodal) and the time where N ΔV = 1 against the speciation time t_S = ½ ln N⟨m²⟩.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _legend, _parameters


def _runs(ds):
    swept = "n" in ds.t_s.dims
    return (ds.stack(run=["n"]) if swept else ds.expand_dims(run=[0])), swept


def _potential(ax, flat, swept):
    last = flat.isel(run=-1)
    q = last.q_spin.values
    size = int(last.n) if swept else None
    for t in last.time.values[:: max(1, last.sizes["time"] // 3)][:4]:
        row = last.sel(time=t)
        v, err = row.spin_v.values, row.spin_v_err.values
        scale = size or 1
        ax.errorbar(q[::8], scale * (v[::8] - np.nanmin(v)), scale * err[::8], fmt="-", lw=0.9, elinewidth=0.5,
                    label=f"t = {t:.2f}")
    ax.set_xlabel(r"overlap $q=s\cdot s'/N$")
    ax.set_ylabel(r"$N(V-\min V)$" if swept else r"$V-\min V$")
    _legend.place(ax, fontsize=5, title=f"Curie–Weiss N = {size}" if size else "Curie–Weiss", title_fontsize=5.5,
                  ncols=2, corners=("upper right", "upper left", "center right"))


def _gap_and_times(ax_gap, ax_times, flat, swept):
    markers = ("o", "s", "^", "D", "v")
    for i in range(flat.sizes["run"]):
        one = flat.isel(run=i)
        lab = f"N = {one.n.item()}" if swept else "CW"
        ax_gap.errorbar(one.time - one.t_s, one.class_gap, one.class_gap_err, fmt=markers[i % 5] + "-", ms=2, lw=0.8,
                        elinewidth=0.5, label=lab)
        ax_times.plot(float(one.t_s), float(one.t_degenerate), "o", color=f"C{i}",
                      label=f"{lab}: $N\\Delta V=1$ (interpolated)")
        ax_times.errorbar(float(one.t_s), float(one.t_appear), float(one.t_appear_resolution), fmt="s", mfc="none",
                          color=f"C{i}", label=f"{lab}: secondary minimum appears")
    ax_gap.set_yscale("log")
    ax_gap.axhline(1.0, color="k", lw=0.5)
    ax_gap.set_xlabel(r"$t - t_S$, $t_S=\frac{1}{2}\ln N\langle m^2\rangle$")
    ax_gap.set_ylabel(r"class gap $N\Delta V$")
    _legend.place(ax_gap, fontsize=5.5)
    lo, hi = ax_times.get_xlim()
    ax_times.plot([lo, hi], [lo, hi], color="0.6", lw=0.5, label="$t = t_S$")
    ax_times.set_xlabel(r"$t_S=\frac{1}{2}\ln N\langle m^2\rangle$")
    ax_times.set_ylabel(r"diffusion time $t$")
    _legend.place(ax_times, fontsize=5)


def plot(ds: xr.Dataset):
    flat, swept = _runs(ds)
    fig, axes = style.figure(ncols=3, nrows=1, width=style.DOUBLE, height=2.3)
    config = _parameters.lines(ds, ("β=beta", "N=n"), ("samples of (s′, x_t) per t=num_samples", "times=num_t"),
                               extra="posterior references, exact two-group sum")
    _potential(axes[0], flat, swept)
    _gap_and_times(axes[1], axes[2], flat, swept)
    style.subtitle(fig, "Franz–Parisi potential of Curie–Weiss in the overlap: " + config)
    return fig


def summary(ds: xr.Dataset) -> str:
    flat, swept = _runs(ds)
    lines = []
    for i in range(flat.sizes["run"]):
        one = flat.isel(run=i)
        label = f"n={one.n.item()}" if swept else ""
        lines.append(f"{label:8s} secondary minimum (q = {float(one.q_secondary):+.3f}) appears at t = "
                     f"{float(one.t_appear):.3f} ± {float(one.t_appear_resolution):.3f}; N ΔV = 1 at t = "
                     f"{float(one.t_degenerate):.3f};  t_S = ½ ln Λ = {float(one.t_s):.3f}")
    return "\n".join(lines)
