"""Learned scores on spin targets (Curie–Weiss or Hopfield K = 2, m their order parameter) against the exact
score (study kind learned_spin_scores; issue 16).

Every point is the mean over training seeds with its standard error (std/√seeds); each seed draws its own
data set, initialisation and minibatches. Times are diffusion times t (generation runs t = T → t_min).
(a) relative score error ε(t) = σ_t² E‖s_θ − s‖²/N at the largest N, per network and training-set size P
    (values below 10⁻⁶, rounding of the "spin" head's exact t → 0 limit, fall below the axis).
(b) memorisation at the largest N: the index ε_pop/(ε_pop + ε_emp) of ε against the population score and
    against the empirical score of the network's training set (0: s_θ follows the population score, 1: the
    data set's), per seed then averaged, drawn where the two exact scores differ (their ε above 10⁻²); vertical
    lines: collapse time of the exact empirical score of each P (mean over seeds).
(c) held-out DSM loss during training (every seed) at the largest N and the smallest P.
(d) score part of the Girsanov path KL, over exact forward samples (filled) and along the learned reverse
    paths (open), against N at the largest P.
(e) the error of the generated ⟨m²⟩ split by changing one ingredient at a time, against N at the largest P:
    score part (learned − exact score, same sampler, steps, start and noise) per network, discretisation part
    (exact score, num_steps − fine_factor × num_steps steps), prior part (exact score, fine steps,
    N(0, σ_T² I) − exact p_T start), and what is left with all three exact (sampling error of the paths).
(f) speciation time of the generated trajectories against N: learned, exact score, and ½ ln Λ_max with Λ_max the
    top eigenvalue of the covariance (N⟨m²⟩ for Curie–Weiss).
"""

from __future__ import annotations

import json

import matplotlib.lines as mlines
import matplotlib.ticker as mticker
import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _legend, _parameters

_STYLES = ("-", "--", ":", "-.")
_FLOOR = 1e-6
#: (b) is drawn where the exact empirical and population scores differ: σ²E|s_emp − s|²/N above this.
_DISTINCT = 1e-2


def _config(ds) -> dict:
    return json.loads(ds.attrs["config"]) if isinstance(ds.attrs.get("config"), str) else {}


def _mean_err(da: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    seeds = da.sizes["seed"]
    return da.mean("seed").values, da.std("seed", ddof=1).values / np.sqrt(seeds)


def _score_error(ax, ds, place):
    n = ds.n.values[-1]
    t = ds.time.values
    for b, net in enumerate(ds.network.values):
        for c, size in enumerate(ds.train_size.values):
            m, e = _mean_err(ds.score_error.sel(n=n, network=net, train_size=size))
            keep = m > 0
            ax.errorbar(t[keep], m[keep], e[keep], fmt="o" + _STYLES[c % 4], ms=2.5, lw=0.9, color=f"C{b}")
    top = float(ds.score_error.sel(n=n).max())
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_ylim(_FLOOR, top * 1e5)
    # the t_S marker stops just above the data, below the legend that the top five decades leave room for
    reach = (np.log10(top) - np.log10(_FLOOR)) / (np.log10(top) + 5 - np.log10(_FLOOR))
    ax.axvline(float(ds.t_speciation_theory.sel(n=n)), ymax=min(reach + 0.05, 1.0), color="0.5", lw=0.6, ls=":")
    handles = [mlines.Line2D([], [], color=f"C{b}", marker="o", ms=2.5, lw=0.9, label=net)
               for b, net in enumerate(ds.network.values)]
    handles += [mlines.Line2D([], [], color="k", ls=_STYLES[c % 4], lw=0.9, label=f"P = {size}")
                for c, size in enumerate(ds.train_size.values)]
    ax.set_xlabel(r"diffusion time $t$")
    ax.set_ylabel(r"$\epsilon(t)=\sigma_t^2 E|s_\theta-s|^2/N$")
    ax.set_title(f"(a) score error, N = {n} (dotted: $t_S$)", loc="left")
    place(ax, handles=handles, fontsize=4.5, ncols=2, corners=("upper right", "upper left"))


def _n_axis(ax, n):
    ax.set_xscale("log")
    ax.set_xticks(n, [f"{int(v)}" for v in n])
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())


def _memorisation(ax, ds, place):
    n = ds.n.values[-1]
    t = ds.time.values
    for c, size in enumerate(ds.train_size.values):
        gap = ds.empirical_score_gap.sel(n=n, train_size=size).mean("seed").values
        shown = gap > _DISTINCT
        for b, net in enumerate(ds.network.values):
            row = ds.sel(n=n, network=net, train_size=size)
            index = row.score_error / (row.score_error + row.score_error_empirical)
            m, e = _mean_err(index)
            ax.errorbar(t[shown], m[shown], e[shown], fmt="o" + _STYLES[c % 4], ms=2.5, lw=0.9, color=f"C{b}")
    handles = [mlines.Line2D([], [], color=f"C{b}", marker="o", ms=2.5, lw=0.9, label=net)
               for b, net in enumerate(ds.network.values)]
    handles += [mlines.Line2D([], [], color="k", ls=_STYLES[c % 4], lw=0.9, label=f"P = {size}")
                for c, size in enumerate(ds.train_size.values)]
    ax.axhline(0.5, color="0.5", lw=0.5)
    if "t_collapse_empirical" in ds:
        for c, size in enumerate(ds.train_size.values):
            t_c = float(ds.t_collapse_empirical.sel(n=n, train_size=size).mean("seed"))
            if np.isfinite(t_c):
                ax.axvline(t_c, color="k", lw=0.7, ls=_STYLES[c % 4])
    ax.set_xscale("log")
    ax.set_ylim(-0.05, 1.35)
    ax.set_xlabel(r"diffusion time $t$")
    ax.set_ylabel(r"$\epsilon_{\rm pop}/(\epsilon_{\rm pop}+\epsilon_{\rm emp})$")
    ax.set_title(f"(b) memorisation, N = {n} (vertical: $t_C$)", loc="left")
    place(ax, handles=handles, fontsize=4.5, ncols=2, corners=("upper right", "upper left", "center right"))


def _shift(k: int, count: int) -> float:
    return float(np.exp((k - (count - 1) / 2) * 0.05))


def _path_kl(ax, ds, place):
    n = ds.n.values.astype(float)
    size = ds.train_size.values[-1]
    count = ds.sizes["network"]
    for b, net in enumerate(ds.network.values):
        row = ds.sel(network=net, train_size=size)
        m, e = _mean_err(row.path_kl_forward)
        ax.errorbar(n * _shift(b, count), m, e, fmt="o-", ms=3, lw=0.9, color=f"C{b}", label=f"{net}: forward")
        m, e = _mean_err(row.path_kl_reverse)
        ax.errorbar(n * _shift(b, count) * 1.03, m, e, fmt="s--", ms=3, lw=0.9, mfc="none", color=f"C{b}",
                    label=f"{net}: learned paths")
    _n_axis(ax, n)
    ax.set_yscale("log")
    ax.set_xlabel("spins N")
    ax.set_ylabel(r"$\int \frac{1}{2} g^2 E|s_\theta - s|^2 dt$ (nat)")
    ax.set_title(f"(d) Girsanov path KL, P = {size}", loc="left")
    place(ax, fontsize=4.5, ncols=1)


def _split(ax, ds, place):
    n = ds.n.values.astype(float)
    size = ds.train_size.values[-1]
    count = ds.sizes["network"] + 3
    for b, net in enumerate(ds.network.values):
        m, e = _mean_err(ds.m2_split_score.sel(network=net, train_size=size))
        ax.errorbar(n * _shift(b, count), m, e, fmt="o-", ms=3, lw=0.9, color=f"C{b}", label=f"score: {net}")
    for k, (name, fmt, color, label) in enumerate((
            ("m2_split_discretisation", "^-", "k", "discretisation"),
            ("m2_split_prior", "s--", "0.45", "prior"),
            ("m2_error_exact_start", "v:", "0.65", "left: sampling"))):
        m, e = _mean_err(ds[name])
        ax.errorbar(n * _shift(count - 3 + k, count), m, e, fmt=fmt, color=color, ms=3, lw=0.9, label=label)
    ax.axhline(0.0, color="0.5", lw=0.5)
    _n_axis(ax, n)
    ax.set_xlabel("spins N")
    ax.set_ylabel(r"part of $\langle m^2\rangle_{\rm gen}-\langle m^2\rangle$")
    ax.set_title(f"(e) generated-law error split, P = {size}", loc="left")
    place(ax, fontsize=4.5)


def _speciation(ax, ds, place):
    n = ds.n.values.astype(float)
    size = ds.train_size.values[-1]
    count = ds.sizes["network"] + 1
    for b, net in enumerate(ds.network.values):
        row = ds.t_speciation_learned.sel(network=net, train_size=size)
        good = row.notnull().all("seed").values
        m, e = _mean_err(row)
        ax.errorbar((n * _shift(b, count))[good], m[good], e[good], fmt="o-", ms=3, lw=0.9, color=f"C{b}", label=net)
    m, e = _mean_err(ds.t_speciation_exact)
    ax.errorbar(n * _shift(count - 1, count), m, e, fmt="k^-", ms=3, lw=0.9, label="exact score")
    ax.plot(n, ds.t_speciation_theory.values, "k:", lw=0.9, label=r"$\frac{1}{2}\ln\Lambda_{\max}$ (covariance)")
    _n_axis(ax, n)
    ax.set_xlabel("spins N")
    ax.set_ylabel(r"speciation time $t_S$")
    ax.set_title(f"(f) speciation, P = {size}", loc="left")
    place(ax, fontsize=4.5)


def _curves(ax, ds, place):
    n, size = ds.n.values[-1], ds.train_size.values[0]
    sel = (ds.curve_n.values == n) & (ds.curve_train_size.values == size)
    for b, net in enumerate(ds.network.values):
        for r in ds.seed.values:
            rows = sel & (ds.curve_network.values == net) & (ds.curve_seed.values == r)
            ax.plot(ds.curve_step.values[rows], ds.curve_val_loss.values[rows], "-", lw=0.8, color=f"C{b}",
                    label=net if r == ds.seed.values[0] else None)
    ax.set_yscale("log")
    ax.set_xlabel("optimiser steps")
    ax.set_ylabel("held-out DSM loss")
    ax.set_title(f"(c) training, N = {n}, P = {size}", loc="left")
    place(ax, fontsize=4.5)


def plot(ds: xr.Dataset):
    fig, axes = style.figure(ncols=3, nrows=2, width=style.DOUBLE, height=2.3)
    legends = []  # placed once the whole figure is laid out (`_legend.place`)

    def place(ax, **kwargs):
        legends.append((ax, kwargs))

    _score_error(axes[0, 0], ds, place)
    _memorisation(axes[0, 1], ds, place)
    _curves(axes[0, 2], ds, place)  # panel (c)
    _path_kl(axes[1, 0], ds, place)
    _split(axes[1, 1], ds, place)
    _speciation(axes[1, 2], ds, place)
    target = {"hopfield2": "Hopfield K = 2"}.get(_config(ds).get("target"), "Curie–Weiss")
    title = f"{target}: DSM-trained scores vs the exact score (mean ± s.e. over training seeds)"
    text = _parameters.lines(ds, ("N=n", "β=beta", "P=train_sizes", "seeds=seeds", "networks=networks"),
                             ("max steps=train_steps", "batch=batch", "lr=lr", "hidden=hidden", "depth=depth",
                              "patience=patience"), ("T=T", "t_min=t_min", "paths=num_paths",
                              "reverse steps=num_steps", "fine ×=fine_factor", "sampler=sampler"),
                             extra="OU noising")
    style.subtitle(fig, title + ("\n" + text if _config(ds) else ""))
    for ax, kwargs in legends:
        _legend.place(ax, **kwargs)
    return fig


def summary(ds: xr.Dataset) -> str:
    def fmt(da):
        m, e = _mean_err(da)
        return f"{float(m):.4g} ± {float(e):.2g}"

    def fmt_finite(da):
        finite = da.where(np.isfinite(da), drop=True)
        if finite.size < 2:
            return f"{float(finite.mean()) if finite.size else float('nan'):.4g} ({finite.size} seed(s) finite)"
        return f"{fmt(finite)} ({finite.size}/{da.size} seeds finite)"

    lines = ["Learned vs exact score (mean ± standard error over training seeds):"]
    for n in ds.n.values:
        lines.append(f"N = {n}: exact-score TV = {fmt(ds.tv_exact.sel(n=n))} (fine steps "
                     f"{fmt(ds.tv_exact_fine.sel(n=n))}, fine + exact start {fmt(ds.tv_exact_start.sel(n=n))}, "
                     f"floor {fmt(ds.tv_floor.sel(n=n))}), "
                     f"t_S exact = {fmt(ds.t_speciation_exact.sel(n=n))}, ½ ln Λ_max = "
                     f"{float(ds.t_speciation_theory.sel(n=n)):.4f}")
        lines.append(f"  ⟨m²⟩ error split: discretisation {fmt(ds.m2_split_discretisation.sel(n=n))}, prior "
                     f"{fmt(ds.m2_split_prior.sel(n=n))}, left with exact score, fine steps and exact start "
                     f"{fmt(ds.m2_error_exact_start.sel(n=n))}")
        for size in ds.train_size.values:
            lines.append(f"  P = {size}: exact empirical score collapse time t_C = "
                         f"{fmt_finite(ds.t_collapse_empirical.sel(n=n, train_size=size))}")
        for net in ds.network.values:
            for size in ds.train_size.values:
                row = ds.sel(n=n, network=net, train_size=size)
                peak = row.score_error.mean("seed")
                i = int(peak.argmax("time"))
                first = row.isel(time=0)
                lines.append(
                    f"  {net}, P = {size}: max ε = {fmt(row.score_error.isel(time=i))} at t = {float(ds.time[i]):.3g}; "
                    f"ε(t_min) vs population {fmt(first.score_error)}, "
                    f"vs empirical {fmt(first.score_error_empirical)}; "
                    f"path KL forward {fmt(row.path_kl_forward)}, learned paths {fmt(row.path_kl_reverse)}; "
                    f"TV {fmt(row.tv_learned)}; ⟨m²⟩ error {fmt(row.m2_error_learned)}, score part "
                    f"{fmt(row.m2_split_score)}; follows its data set below t = "
                    f"{fmt_finite(row.t_collapse_learned)}; t_S {fmt(row.t_speciation_learned)}; "
                    f"best step {fmt(row.best_step)}")
    return "\n".join(lines)
