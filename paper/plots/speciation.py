"""Curie–Weiss speciation: class information of the denoiser along generation and the speciation time t_S.

(a) I(t) = E[m_D(t)²]/⟨m²⟩ (exact forward law, standard errors over paths) against t − ½ ln Λ, Λ = N⟨m²⟩, one
series per swept point, offset horizontally for legibility; I* = 0.5504 is the class information of a
binary channel at signal-to-noise ratio 1, and the stars mark the measured t_S (where I = I*, bootstrap
error). (b) t_S − ½ ln Λ against N: the measured times with their errors, the theory t_S = ½ ln Λ (zero
line; Biroli & Mézard 2024, with the exact Curie–Weiss Λ = N⟨m²⟩) and its large-N form.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _parameters


#: Panel labels in the figure's notation (`style.sweep_panels`).
SYMBOLS = {"n": "N", "beta": "β"}


def plot(ds: xr.Dataset):
    if "n" not in ds.variables:  # N not swept (the default profile): the run's N, from its config
        ds = ds.assign_coords(n=json.loads(ds.attrs["config"])["n"])
    fig, (ax1, ax2) = style.figure(ncols=2, width=style.DOUBLE, height=2.5)
    panels = style.sweep_panels(ds, "t_s", (), SYMBOLS)
    grid = np.unique(np.round(ds["time_shift"].values.ravel(), 10))
    step = float(np.min(np.diff(grid))) if grid.size > 1 else 0.1
    shifts = (np.arange(len(panels)) - (len(panels) - 1) / 2) * 0.25 * step / max(len(panels) - 1, 1)
    for k, (label, one) in enumerate(panels):
        color = f"C{k}"
        x = one.time_shift.values + shifts[k]
        ax1.errorbar(x, one.class_information, one.class_information_err, fmt="o-", ms=2.5, lw=0.7, color=color,
                     label=rf"$I(t)$, {label}" if label else r"$I(t)$")
        ax1.errorbar(float(one.t_s - one.t_s_theory) + shifts[k], float(one.threshold), xerr=float(one.t_s_err),
                     fmt="*", ms=6, color=color, mec="k", mew=0.4, zorder=5,
                     label=rf"$t_S$: $I = I^*$" + (" (in the colour of its series)" if len(panels) > 1 else "")
                     if k == 0 else "_nolegend_")
    ax1.axhline(float(ds.threshold.max()), color="k", lw=0.6, ls="--",
                label=rf"$I^* = {float(ds.threshold.max()):.4f}$ (binary channel, SNR 1)")
    ax1.axvline(0.0, color="0.4", lw=0.6, ls=":", label=r"theory $t_S = \frac{1}{2}\ln\Lambda$")
    ax1.set_xlabel(r"diffusion time $t - \frac{1}{2}\ln\Lambda$, $\Lambda = N\langle m^2\rangle$")
    ax1.set_ylabel("class information\n" + r"$I(t) = E[m_D^2]/\langle m^2\rangle$")
    handles, labels = ax1.get_legend_handles_labels()
    order = sorted(range(len(labels)), key=lambda k: (not labels[k].startswith("$I(t)"),
                                                      not labels[k].startswith("$t_S$"), k))
    ax1.legend([handles[k] for k in order], [labels[k] for k in order], loc="upper center",
               bbox_to_anchor=(0.5, -0.25), ncols=2)
    ax1.set_title(f"(a) series offset by up to ±{abs(shifts).max():.3f} in t for legibility" if len(panels) > 1
                  else "(a)", loc="left")

    groups = style.sweep_panels(ds, "t_s", ("n",), SYMBOLS) if "n" in ds["t_s"].dims else [("", ds.expand_dims(n=[ds.n.item()]))]
    for k, (label, one) in enumerate(groups):
        n = one.n.values
        ax2.errorbar(n, (one.t_s - one.t_s_theory).values, one.t_s_err.values, fmt="o", color=f"C{k}",
                     label="measured $t_S$" + (f", {label}" if label else ""))
        ax2.plot(n, (one.t_s_limit - one.t_s_theory).values, "x--", lw=0.6, color=f"C{k}",
                 label="large-$N$ form (exact)" + (f", {label}" if label else ""))
    ax2.axhline(0.0, color="k", lw=0.6, label=r"$t_S = \frac{1}{2}\ln\Lambda$ (exact $\Lambda$)")
    ax2.set_xscale("log")
    ax2.set_xlabel("number of spins $N$")
    ax2.set_ylabel(r"$t_S - \frac{1}{2}\ln\Lambda$")
    low, high = ax2.get_ylim()
    span = max(abs(low), abs(high))
    ax2.set_ylim(-1.1 * span, 1.1 * span)
    sizes = np.unique(ds.n.values)
    ax2.set_xlim(sizes.min() / 1.5, sizes.max() * 1.5)
    ax2.set_xticks(sizes, [str(n) for n in sizes])
    ax2.minorticks_off()
    ax2.set_title("(b)", loc="left")
    style.subtitle(fig, "Curie–Weiss speciation, exact forward law (OU): " + _parameters.lines(
        ds, ("N=n", "β=beta"), ("paths=batch", "times=num_times"),
        extra="errors: standard error over paths, bootstrap ($t_S$)"))
    ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncols=2)  # under the panel, as (a)'s: none on the data
    return fig


def summary(ds: xr.Dataset) -> str:
    lines = []
    for label, one in style.sweep_panels(ds, "t_s", ()):
        lines.append(f"{label:20s} t_S = {float(one.t_s):.4f} ± {float(one.t_s_err):.4f}   "
                     f"½ ln Λ = {float(one.t_s_theory):.4f}   large-N form {float(one.t_s_limit):.4f}")
    return "\n".join(lines)
