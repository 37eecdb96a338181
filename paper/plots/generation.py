"""Curie–Weiss generation with the exact score: generated P(m) against the exact law, and the total variation.

One panel per swept point: the histogram of m = (1/N) Σᵢ sign(xᵢ) at t_min per sampler, as a density
P(m)/Δm with Δm = 2/N, error bars √(c(1 − c/S))/(S Δm) for c of S samples in a bin (binomial); the samplers are
offset horizontally by a fraction of Δm so that their error bars do not overlap. The line is the exact law
P(m) ∝ C(N, k) exp(βNm²/2 + βhNm) (enumeration over M = Nm). Last panel: TV = ½ Σ_m |P̂(m) − P(m)| per
sampler with its bootstrap error, against the TV of as many exact samples (mean ± s.d., the finite-sample
floor).
"""

from __future__ import annotations

import math

import matplotlib.patches as mpatches
import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _parameters

#: Panel titles in the figure's notation (`style.sweep_panels`).
SYMBOLS = {"n": "N", "beta": "β"}


def plot(ds: xr.Dataset):
    panels = style.sweep_panels(ds, "tv", ("sampler",), SYMBOLS)
    samplers = [str(s) for s in ds["sampler"].values]
    single = len(panels) == 1
    if single:
        fig, grid = style.figure(ncols=2, width=style.DOUBLE, height=2.4, gridspec_kw={"width_ratios": [1.6, 1]})
        axes = list(grid)
    else:
        rows = math.ceil((len(panels) + 1) / 2)
        fig, grid = style.figure(ncols=2, nrows=rows, width=style.DOUBLE, height=2.0, squeeze=False)
        axes = list(grid.ravel())
        for ax in axes[len(panels) + 1:]:
            ax.remove()
    offsets = (np.arange(len(samplers)) - (len(samplers) - 1) / 2) * (0.6 / max(len(samplers), 1))
    for ax, (title, sel) in zip(axes, panels):
        m = sel["m"].values
        p = sel["p_exact"].values
        ok = np.isfinite(p)
        width = (m[1] - m[0]) if m.size > 1 else 1.0
        ax.plot(m[ok], p[ok] / width, "k-", lw=1.0, label=r"exact $P(m)$ (enumeration)", zorder=3)
        for j, sampler in enumerate(samplers):
            c = np.nan_to_num(sel["counts"].sel(sampler=sampler).values.astype(float))
            total = c.sum()
            err = np.sqrt(c * (1 - c / total)) / total / width
            ax.errorbar(m[ok] + offsets[j] * width, (c / total / width)[ok], yerr=err[ok], fmt="o", ms=1.8,
                        elinewidth=0.6, capsize=0, color=f"C{j}", label=sampler.replace("_", "-"))
        ax.set_title(title, loc="left")
        ax.set_xlabel("magnetisation $m$")
        ax.set_ylabel(r"density $P(m)/\Delta m$")

    ax = axes[len(panels)]
    for k, (_, sel) in enumerate(panels):
        floor, floor_sd = float(sel["tv_floor"]), float(sel["tv_floor_sd"])
        left, right = (-0.5, len(samplers) - 0.5) if single else (k - 0.4, k + 0.4)
        ax.fill_between([left, right], floor - floor_sd, floor + floor_sd, color="0.85", lw=0)
        ax.plot([left, right], [floor, floor], color="0.4", lw=0.8)
        for j, sampler in enumerate(samplers):
            s = sel.sel(sampler=sampler)
            x = j if single else k + 0.6 * offsets[j]
            ax.errorbar(x, float(s["tv"]), yerr=float(s["tv_err"]), fmt="o", color=f"C{j}")
    if single:
        ax.set_xticks(np.arange(len(samplers)), [s.replace("_", "-") for s in samplers])
        ax.set_xlim(-0.5, len(samplers) - 0.5)
        ax.set_xlabel("sampler")
    else:
        ax.set_xticks(np.arange(len(panels)), [title.replace(", ", "\n") for title, _ in panels])
        ax.set_xlim(-0.6, len(panels) - 0.4)
    top = max(float((ds["tv"] + ds["tv_err"]).max()), float((ds["tv_floor"] + ds["tv_floor_sd"]).max()))
    ax.set_ylim(0, 1.15 * top)
    ax.set_ylabel(r"total variation TV$(\hat P, P)$")
    ax.set_title("total variation of the law of $m$", loc="left")
    handles, labels = axes[0].get_legend_handles_labels()
    floor = mpatches.Patch(color="0.85", label="TV of as many exact samples (mean ± s.d.)")
    fig.legend(handles + [floor], labels + [floor.get_label()], loc="outside lower center", ncols=len(labels) + 1)
    style.subtitle(fig, "Curie–Weiss, exact score: " + _parameters.lines(
        ds, ("N=n", "β=beta", "h"), ("samples=num_samples", "steps=num_steps", "schedule", "T", "t_min"),
        extra="errors: binomial (histogram), bootstrap (TV)"))
    return fig


def summary(ds: xr.Dataset) -> str:
    lines = []
    for title, sel in style.sweep_panels(ds, "tv", ("sampler",)):
        for sampler in sel["sampler"].values:
            s = sel.sel(sampler=sampler)
            lines.append(
                f"{title:20s} {sampler:16s} TV = {float(s.tv):.4f} ± {float(s.tv_err):.4f}   "
                f"(exact-sampler floor {float(s.tv_floor):.4f} ± {float(s.tv_floor_sd):.4f})"
            )
    return "\n".join(lines)
