"""Figure of the sampler_convergence study: error against the number of steps, and its local decay exponent.

Gaussian target (exact moment propagation, no statistical error): top row √KL against the number of steps,
continuous-time samplers (against N, uniform grid) and Li et al.'s discrete samplers (against T, schedule of
arXiv 2306.09251 eq. 5); bottom row the decay exponent −Δ ln √KL / Δ ln N (or T) between successive grid
points, at their geometric mean. Grey reference curves in the bottom right are the local exponents p − k/ln T
of the shapes T^{−p} lnᵏT: dashed, the published bounds (p = ½, 1, 2 of 2306.09251 and 2403.03852, log
factors dropped); dotted, the shapes (ln T/T)^q lnʲT = T^{−q} ln^{q+j}T of errors of a scheme of order q.

Curie–Weiss target (statistical): TV − floor with its standard error, and the fitted rates.
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from statphys.paper import style

CONTINUOUS = {
    "pf_euler": ("PF-ODE, Euler", "o"),
    "pf_heun": ("PF-ODE, Heun", "s"),
    "ddim": ("DDIM (exponential integrator)", "^"),
    "ddpm": ("DDPM ancestral", "v"),
    "euler_maruyama": ("reverse SDE, Euler–Maruyama", "D"),
}
DISCRETE = {
    "li_ode": ("ODE [1]", "o"),
    "li_ddpm": ("DDPM-type [1]", "v"),
    "li_ddim": ("DDIM", "^"),
    "li_ddim_acc": ("accelerated DDIM [2]", "s"),
    "li_ddpm_acc": ("accelerated DDPM [2]", "D"),
}
SOURCES = "[1] Li et al. arXiv 2306.09251, [2] arXiv 2403.03852"
#: Reference shapes T^{−p} ln^k T drawn as local exponents p − k/ln T: (p, k, label, line style).
REFERENCES = (
    (0.5, 0, r"$T^{-1/2}$", (0, (6, 3))),
    (1.0, 0, r"$T^{-1}$", (0, (6, 3))),
    (2.0, 0, r"$T^{-2}$", (0, (6, 3))),
    (1.0, 1, r"$T^{-1}\ln T$", (0, (1, 1.2))),
    (1.0, 2, r"$T^{-1}\ln^2 T$", (0, (1, 1.2))),
    (2.0, 2, r"$T^{-2}\ln^2 T$", (0, (1, 1.2))),
)


def _bound_label(ds, sampler) -> str:
    p = float(ds.bound_exponent.sel(sampler=sampler)) if "bound_exponent" in ds else float("nan")
    if not np.isfinite(p):
        return ""
    return r"; $T^{-1/2}$" if p == 0.5 else rf"; $T^{{-{p:g}}}$"


def _present(ds, table):
    return [s for s in table if s in ds.sampler.values]


def _offsets(count: int) -> np.ndarray:
    """Multiplicative horizontal offsets (±4 % at most) that separate coinciding series on a log axis."""
    return 1.04 ** (np.arange(count) - (count - 1) / 2) if count > 1 else np.ones(1)


def plot(ds: xr.Dataset):
    statistical = "error_sd" in ds
    groups = [(name, table) for name, table in (("continuous", CONTINUOUS), ("discrete", DISCRETE))
              if _present(ds, table)]
    nrows = 1 if statistical else 2
    fig, axes = style.figure(ncols=len(groups), nrows=nrows, width=style.DOUBLE if len(groups) > 1 else style.SINGLE,
                             height=2.5, squeeze=False)
    steps = ds.num_steps.values.astype(float)
    for col, (name, table) in enumerate(groups):
        samplers = _present(ds, table)
        offsets = _offsets(len(samplers))
        variable = "N" if name == "continuous" else "T"
        letter = "ab"[col]
        ax = axes[0, col]
        for k, s in enumerate(samplers):
            label, marker = table[s]
            label = f"{label}{_bound_label(ds, s)}"
            e = ds.error.sel(sampler=s).values
            color = f"C{k}"
            if statistical:
                sd = ds.error_sd.sel(sampler=s).values
                rate, rate_err = float(ds.rate.sel(sampler=s)), float(ds.rate_err.sel(sampler=s))
                if np.isfinite(rate):
                    label += rf"; fit $p = {rate:.2f} \pm {rate_err:.2f}$"
                ok = e > 0
                ax.errorbar(steps[ok] * offsets[k], e[ok], sd[ok], marker=marker, color=color, ls="-",
                            mfc="white", label=label)
            else:
                ax.plot(steps * offsets[k], e, marker=marker, color=color, mfc="white", label=label)
        ax.set(xscale="log", yscale="log", xlabel=f"number of steps ${variable}$")
        if statistical:
            ax.set_ylabel("TV$(\\hat P, P)$ − finite-sample floor")
        else:
            ax.set_ylabel(r"error $\sqrt{\mathrm{KL}(\hat p\,\|\,p)}$ (exact)")
        if name == "continuous":
            ax.set_title(f"({letter}) continuous time: OU schedule, uniform grid of $N$ steps")
            title = "continuous-time samplers"
        else:
            ax.set_title(f"({letter}) Li et al.'s schedule ([1] eq. 5), $T$ steps")
            title = "samplers on Li et al.'s schedule; TV bound"
        if statistical and name == "discrete":
            title += "; fit in $T/\\ln T$"
        handles, labels = ax.get_legend_handles_labels()
        fig.legend(handles, labels, loc=f"outside lower {'left' if col == 0 else 'right'}", ncol=2, fontsize=6,
                   title=f"({letter}{'' if statistical else ', ' + 'cd'[col]}) {title}", title_fontsize=6,
                   alignment="left")
        if statistical:
            continue
        ax = axes[1, col]
        mids = ds.num_steps_mid.values.astype(float)
        for k, s in enumerate(samplers):
            label, marker = table[s]
            ax.plot(mids * offsets[k], ds.decay_exponent.sel(sampler=s).values, marker=marker, color=f"C{k}",
                    mfc="white", label=label)
        ax.set_xscale("log")
        ax.set_xlabel(rf"number of steps ${variable}$ (geometric mean $\sqrt{{{variable}_i {variable}_{{i+1}}}}$)")
        ax.set_ylabel(rf"local exponent $-\Delta\ln\sqrt{{\mathrm{{KL}}}}\,/\,\Delta\ln {variable}$")
        ax.set_title(f"({'cd'[col]}) local decay exponent")
        if name == "continuous":
            for q in (1.0, 2.0):
                ax.axhline(q, color="0.5", lw=0.8, ls=(0, (6, 3)), zorder=0)
                ax.annotate(f"order {q:g}", (1.0, q), xycoords=("axes fraction", "data"), xytext=(3, 0),
                            textcoords="offset points", va="center", fontsize=6, color="0.3", annotation_clip=False)
            ax.set_ylim(0.4, 2.3)
        else:
            grid = np.geomspace(mids[0], mids[-1], 200)
            ends = []
            for p, k, text, dash in REFERENCES:
                end = p - k / np.log(grid[-1])
                crowded = any(abs(end - other) < 0.15 for other in ends)  # stagger labels that would touch
                if not crowded:
                    ends.append(end)
                ax.plot(grid, p - k / np.log(grid), color="0.25", lw=0.8, ls=dash, zorder=3)
                ax.annotate(text, (1.0, end), xycoords=("axes fraction", "data"), xytext=(36 if crowded else 3, 0),
                            textcoords="offset points", va="center", fontsize=6, color="0.3", annotation_clip=False)
            ax.set_ylim(0.3, 2.6)
            ax.text(0.02, 0.97, "grey: local exponent $p - k/\\ln T$ of $T^{-p}\\ln^k T$\n"
                    "dashed: published TV bounds [1, 2], log factors dropped", transform=ax.transAxes, va="top",
                    fontsize=6,
                    color="0.3")
    style.subtitle(fig, _subtitle(ds))
    return fig


def _subtitle(ds) -> str:
    config = json.loads(ds.attrs.get("config", "{}"))
    get = lambda name: f"{config[name]:g}" if name in config else "?"  # noqa: E731
    target = ds.attrs.get("target_label", ds.attrs.get("target", ""))
    if "error_sd" in ds:
        method = (f"P̂: generated, P: exact magnetisation law; TV over {config.get('seeds', '?')} seeds of "
                  f"{config.get('batch', '?')} samples (mean ± s.e.); points at or below the floor not shown")
    else:
        method = ("p̂: generated law, p: exact law at t_min (a) or of X_1 (b); "
                  "exact moment propagation (no statistical error)")
    return (f"{target}; exact score; OU schedule T = {get('diffusion_time')}, t_min = {get('t_min')}; "
            f"Li et al.'s schedule c0 = {get('c0')}, c1 = {get('c1')}; profile {ds.attrs.get('profile', '?')}\n"
            f"{method};\n{SOURCES}; markers offset horizontally by ≤ 4 % for visibility")


def summary(ds: xr.Dataset) -> dict:
    """Local decay exponents at the largest number of steps (deterministic: no error), and the bounds."""
    out = {}
    if "decay_exponent_last" in ds:
        for s in ds.sampler.values:
            out[f"decay_exponent_last[{s}]"] = float(ds.decay_exponent_last.sel(sampler=s))
            out[f"order_last[{s}]"] = float(ds.order_last.sel(sampler=s))
        if {"li_ddim", "li_ddim_acc"} <= set(ds.sampler.values):
            last = ds.error.isel(num_steps=-1)
            out["ddim_over_acc_last"] = float(last.sel(sampler="li_ddim") / last.sel(sampler="li_ddim_acc"))
    return out
