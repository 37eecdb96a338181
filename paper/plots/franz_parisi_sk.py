"""Quenched Franz–Parisi potential of SK by umbrella Monte Carlo (study kind franz_parisi_sk).

V̄(q; t) − min V̄ against the overlap q = s·s′/N with a posterior reference, one curve per diffusion time (error
bars: disorder error of the quenched mean; curves offset slightly in q so that the bars stay apart), with the
global and (where there is one) the secondary minimum marked, among the levels every disorder draw visited.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _legend, _parameters


def plot(ds: xr.Dataset):
    fig, ax = style.figure(width=style.SINGLE, height=2.5)
    q = ds.q.values
    times = ds.time.values
    offsets = (np.arange(times.size) - (times.size - 1) / 2) * 0.012
    for k, t in enumerate(times):
        row = ds.sel(time=t)
        v = row.v.values
        line = ax.errorbar(q + offsets[k], v - np.nanmin(v), row.v_error.values, fmt=".-", ms=3, lw=0.8,
                           label=f"t = {t:g}")
        for name, marker in (("q_global", "v"), ("q_secondary", "^")):
            x = float(row[name])
            if np.isfinite(x):
                y = (v - np.nanmin(v))[int(np.argmin(np.abs(q - x)))]
                ax.plot(x, y, marker, ms=5, mfc="none", color=line[0].get_color())
    ax.plot([], [], "v", mfc="none", color="k", label="global minimum")
    if np.isfinite(ds.q_secondary.values).any():
        ax.plot([], [], "^", mfc="none", color="k", label="secondary minimum")
    ax.set_xlabel(r"overlap $q=s\cdot s'/N$")
    ax.set_ylabel(r"$\bar V-\min\bar V$ (± disorder error)")
    _legend.place(ax, fontsize=5, title=f"SK N = {int(ds.n)}, {int(ds.num_disorder)} disorder draws",
                  title_fontsize=5.5)
    config = _parameters.lines(ds, ("N=n", "β=beta", "couplings seed=couplings_seed"),
                               ("disorder draws=num_disorder", "chains per window=chains", "sweeps=sweeps"),
                               ("PT sweeps=pt_sweeps",), extra="umbrella MC + WHAM")
    style.subtitle(fig, "Quenched Franz–Parisi potential of SK:\n" + config)
    return fig


def summary(ds: xr.Dataset) -> str:
    lines = [f"SK N = {int(ds.n)}, umbrella MC + WHAM, {int(ds.num_disorder)} disorder draws "
             f"(PT references, min swap acceptance {float(ds.pt_swap_min):.2f}):"]
    for t in ds.time.values:
        row = ds.sel(time=t)
        z = float(row.enum_max_z) if "enum_max_z" in ds else float("nan")
        lines.append(f"  t = {t:g}: global minimum of V̄ at q = {float(row.q_global):+.3f}, secondary "
                     + (f"at q = {float(row.q_secondary):+.3f}" if np.isfinite(row.q_secondary) else "none")
                     + f"; max error {np.nanmax(row.v_error.values):.3f} (MC-only "
                     f"{np.nanmax(row.v_mc_error.values):.3f}); draws per level "
                     f"{int(row.num_draws.min())}..{int(row.num_draws.max())}"
                     + (f"; vs enumeration max |z| = {z:.2f}" if np.isfinite(z) else ""))
    return "\n".join(lines)
