"""Learned scores on spin targets (Curie–Weiss or Hopfield K = 2, m their order parameter) against the exact
score (study kind learned_spin_scores; issue 16).

Every point is the mean over training seeds with its standard error (std/√seeds), as the study stores them
(`<v>_seed_mean`, `<v>_seed_sem`); each seed draws its own data set, initialisation and minibatches. Times are
diffusion times t (generation runs t = T → t_min).
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
(g) integral fluctuation theorem of the generation against N at the largest P: ⟨e^{−Σ}⟩ with the exact score and
    each learned score (Σ = ln Q[X]/P†[X], the generative path law against the forward process read backward;
    1 at any step), with its error over seeds. A score whose path KL is ≫ 1 nat gives ⟨e^{−Σ}⟩ ≈ 0 from a finite
    number of paths: the average is carried by paths too rare to be drawn (Kish ESS in ift_learned_ess).
(h) the learned score's excess entropy production ⟨Σ⟩ − ⟨Σ⟩_exact against its discrete Girsanov KL along the same
    paths, every target, N, network and P (the diagonal: equality in the continuous-time limit).
(i) the second target (Hopfield K = 2) as (a); with one target only, ⟨Σ⟩ with the exact score and the prior KL
    against N.
Panels (a)–(g) show the first target of the study (Curie–Weiss in the shipped study).
A lattice target (2-D ±J Edwards–Anderson, study learned_ea_scores) runs alone; then (e) splits the error of the
generated energy per spin ⟨H⟩/N instead of ⟨m²⟩, (f) speciates along the top eigenvector of ⟨s_i s_j⟩, and (i) is
the total variation of the generated law from the exact one over all 2^N states (filled) and of P(q) (open), with
the exact score and for exact samples (the finite-sample floor).
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


def _config(ds) -> dict:
    return json.loads(ds.attrs["config"]) if isinstance(ds.attrs.get("config"), str) else {}


def _mean_err(ds: xr.Dataset, name: str, **where) -> tuple[np.ndarray, np.ndarray]:
    """The stored mean over training seeds of `name` and its standard error, at the coordinates `where`."""
    return (ds[f"{name}_seed_mean"].sel(**where).values, ds[f"{name}_seed_sem"].sel(**where).values)


def _score_error(ax, ds, place, label="(a) score error"):
    n = ds.n.values[-1]
    t = ds.time.values
    for b, net in enumerate(ds.network.values):
        for c, size in enumerate(ds.train_size.values):
            m, e = _mean_err(ds, "score_error", n=n, network=net, train_size=size)
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
    ax.set_title(f"{label}, N = {n} (dotted: $t_S$)", loc="left")
    place(ax, handles=handles, fontsize=4.5, ncols=2, corners=("upper right", "upper left"))


def _n_axis(ax, n):
    ax.set_xscale("log")
    ax.set_xticks(n, [f"{int(v)}" for v in n])
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())


def _memorisation(ax, ds, place):
    n = ds.n.values[-1]
    t = ds.time.values
    for c, size in enumerate(ds.train_size.values):
        for b, net in enumerate(ds.network.values):
            m, e = _mean_err(ds, "memorisation_index", n=n, network=net, train_size=size)
            shown = np.isfinite(m)
            ax.errorbar(t[shown], m[shown], e[shown], fmt="o" + _STYLES[c % 4], ms=2.5, lw=0.9, color=f"C{b}")
    handles = [mlines.Line2D([], [], color=f"C{b}", marker="o", ms=2.5, lw=0.9, label=net)
               for b, net in enumerate(ds.network.values)]
    handles += [mlines.Line2D([], [], color="k", ls=_STYLES[c % 4], lw=0.9, label=f"P = {size}")
                for c, size in enumerate(ds.train_size.values)]
    ax.axhline(0.5, color="0.5", lw=0.5)
    if "t_collapse_empirical" in ds:
        for c, size in enumerate(ds.train_size.values):
            t_c = float(ds.t_collapse_empirical_seed_mean.sel(n=n, train_size=size))
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
        m, e = _mean_err(ds, "path_kl_forward", network=net, train_size=size)
        ax.errorbar(n * _shift(b, count), m, e, fmt="o-", ms=3, lw=0.9, color=f"C{b}", label=f"{net}: forward")
        m, e = _mean_err(ds, "path_kl_reverse", network=net, train_size=size)
        ax.errorbar(n * _shift(b, count) * 1.03, m, e, fmt="s--", ms=3, lw=0.9, mfc="none", color=f"C{b}",
                    label=f"{net}: learned paths")
    _n_axis(ax, n)
    ax.set_yscale("log")
    ax.set_xlabel("spins N")
    ax.set_ylabel(r"$\int \frac{1}{2} g^2 E|s_\theta - s|^2 dt$ (nat)")
    ax.set_title(f"(d) Girsanov path KL, P = {size}", loc="left")
    place(ax, fontsize=4.5, ncols=1)


def _split(ax, ds, place, stat="m2", ylabel=r"part of $\langle m^2\rangle_{\rm gen}-\langle m^2\rangle$"):
    n = ds.n.values.astype(float)
    size = ds.train_size.values[-1]
    count = ds.sizes["network"] + 3
    for b, net in enumerate(ds.network.values):
        m, e = _mean_err(ds, f"{stat}_split_score", network=net, train_size=size)
        ax.errorbar(n * _shift(b, count), m, e, fmt="o-", ms=3, lw=0.9, color=f"C{b}", label=f"score: {net}")
    for k, (name, fmt, color, label) in enumerate((
            (f"{stat}_split_discretisation", "^-", "k", "discretisation"),
            (f"{stat}_split_prior", "s--", "0.45", "prior"),
            (f"{stat}_error_exact_start", "v:", "0.65", "left: sampling"))):
        m, e = _mean_err(ds, name)
        ax.errorbar(n * _shift(count - 3 + k, count), m, e, fmt=fmt, color=color, ms=3, lw=0.9, label=label)
    ax.axhline(0.0, color="0.5", lw=0.5)
    _n_axis(ax, n)
    ax.set_xlabel("spins N")
    ax.set_ylabel(ylabel)
    ax.set_title(f"(e) generated-law error split, P = {size}", loc="left")
    place(ax, fontsize=4.5)


def _speciation(ax, ds, place):
    n = ds.n.values.astype(float)
    size = ds.train_size.values[-1]
    count = ds.sizes["network"] + 1
    for b, net in enumerate(ds.network.values):
        good = ds.t_speciation_learned.sel(network=net, train_size=size).notnull().all("seed").values
        m, e = _mean_err(ds, "t_speciation_learned", network=net, train_size=size)
        ax.errorbar((n * _shift(b, count))[good], m[good], e[good], fmt="o-", ms=3, lw=0.9, color=f"C{b}", label=net)
    m, e = _mean_err(ds, "t_speciation_exact")
    ax.errorbar(n * _shift(count - 1, count), m, e, fmt="k^-", ms=3, lw=0.9, label="exact score")
    ax.plot(n, ds.t_speciation_theory.values, "k:", lw=0.9, label=r"$\frac{1}{2}\ln\Lambda_{\max}$ (covariance)")
    _n_axis(ax, n)
    ax.set_xlabel("spins N")
    ax.set_ylabel(r"speciation time $t_S$")
    ax.set_title(f"(f) speciation, P = {size}", loc="left")
    place(ax, fontsize=4.5)


def _curves(ax, ds, place, target):
    n, size = ds.n.values[-1], ds.train_size.values[0]
    sel = (ds.curve_n.values == n) & (ds.curve_train_size.values == size) & (ds.curve_target.values == target)
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


def _ift(ax, ds, place):
    n = ds.n.values.astype(float)
    size = ds.train_size.values[-1]
    count = ds.sizes["network"] + 1
    for b, net in enumerate(ds.network.values):
        m, e = _mean_err(ds, "ift_learned", network=net, train_size=size)
        ax.errorbar(n * _shift(b, count), m, e, fmt="o-", ms=3, lw=0.9, color=f"C{b}", label=net)
    m, e = _mean_err(ds, "ift_exact")
    ax.errorbar(n * _shift(count - 1, count), m, e, fmt="k^-", ms=3, lw=0.9, label="exact score")
    ax.axhline(1.0, color="0.5", lw=0.6, ls=":")
    _n_axis(ax, n)
    ax.set_xlabel("spins N")
    ax.set_ylabel(r"$\langle e^{-\Sigma}\rangle$")
    ax.set_title(f"(g) fluctuation theorem, P = {size}", loc="left")
    place(ax, fontsize=4.5)


def _excess(ax, full, place):
    x_all, y_low = [], [-1e-2]
    markers = ("o", "s", "^", "v")
    for i, target in enumerate(full.target.values):
        for b, net in enumerate(full.network.values):
            m_x, e_x = _mean_err(full, "girsanov_kl_ift", target=target, network=net)
            m_y, e_y = _mean_err(full, "entropy_production_excess", target=target, network=net)
            ax.errorbar(m_x.ravel(), m_y.ravel(), e_y.ravel(), e_x.ravel(), fmt=markers[i % 4], ms=3, lw=0.8,
                        color=f"C{b}", mfc="none" if i else None, label=f"{_TARGETS.get(str(target), target)}: {net}")
            x_all.append(m_x.ravel())
            y_low.append(float(np.nanmin(m_y - e_y)))
    x = np.concatenate(x_all)
    x = x[x > 0]
    if x.size:
        line = np.geomspace(x.min() / 2, x.max() * 2, 20)
        ax.plot(line, line, color="0.5", lw=0.6, ls=":")
    ax.set_xscale("log")
    ax.set_yscale("symlog", linthresh=1e-2)
    ax.set_ylim(bottom=1.5 * min(y_low))
    ax.set_xlabel(r"Girsanov $\sum_k \frac{b_k^2}{2V_k} E|s_\theta-s|^2$ (nat)")
    ax.set_ylabel(r"$\langle\Sigma\rangle-\langle\Sigma\rangle_{\rm exact}$ (nat)")
    ax.set_title("(h) excess entropy production", loc="left")
    place(ax, fontsize=4.0)


def _exact_entropy(ax, ds, place):
    n = ds.n.values.astype(float)
    m, e = _mean_err(ds, "entropy_production_exact")
    ax.errorbar(n, m, e, fmt="k^-", ms=3, lw=0.9, label=r"$\langle\Sigma\rangle$, exact score")
    m, e = _mean_err(ds, "prior_kl")
    ax.errorbar(n * 1.03, m, e, fmt="s--", color="0.45", ms=3, lw=0.9, label=r"KL$(\pi\,\|\,p_T)$")
    _n_axis(ax, n)
    ax.set_xlabel("spins N")
    ax.set_ylabel("nat")
    ax.set_title("(i) exact-score entropy production", loc="left")
    place(ax, fontsize=4.5)


def _state_tv(ax, ds, place):
    """(i) of a lattice target: TV over the 2^N states and of P(q), learned and exact score, with the floor."""
    n = ds.n.values.astype(float)
    size = ds.train_size.values[-1]
    count = ds.sizes["network"] + 2
    for b, net in enumerate(ds.network.values):
        for name, fmt in (("tv_states_learned", "o-"), ("tv_overlap_learned", "s--")):
            m, e = _mean_err(ds, name, network=net, train_size=size)
            ax.errorbar(n * _shift(b, count), m, e, fmt=fmt, ms=3, lw=0.9, color=f"C{b}", mfc="none" if "q" in fmt
                        else None, label=f"{net}" if name == "tv_states_learned" else None)
    for k, (stem, color, label) in enumerate((("exact", "k", "exact score"), ("floor", "0.55", "exact samples"))):
        for name, fmt in ((f"tv_states_{stem}", "^-"), (f"tv_overlap_{stem}", "v--")):
            m, e = _mean_err(ds, name)
            ax.errorbar(n * _shift(count - 2 + k, count), m, e, fmt=fmt, ms=3, lw=0.9, color=color,
                        label=label if name.startswith("tv_states") else None)
    ax.plot([], [], "k-", lw=0.9, label=r"states ($2^N$)")
    ax.plot([], [], "k--", lw=0.9, label=r"$P(q)$")
    _n_axis(ax, n)
    ax.set_ylim(0, 1.45)
    ax.set_xlabel("spins N")
    ax.set_ylabel("total variation")
    ax.set_title(f"(i) generated law: states, P(q); P = {size}", loc="left")
    place(ax, fontsize=4.5, ncols=2, corners=("upper left", "upper right"))


_TARGETS = {"curie_weiss": "Curie–Weiss", "hopfield2": "Hopfield K = 2",
            "edwards_anderson": "2-D ±J Edwards–Anderson"}


def plot(ds: xr.Dataset):
    full = ds
    first = str(full.target.values[0])
    ds = full.sel(target=first)
    fig, axes = style.figure(ncols=3, nrows=3, width=style.DOUBLE, height=2.3)
    legends = []  # placed once the whole figure is laid out (`_legend.place`)

    def place(ax, **kwargs):
        legends.append((ax, kwargs))

    _score_error(axes[0, 0], ds, place)
    _memorisation(axes[0, 1], ds, place)
    _curves(axes[0, 2], ds, place, first)  # panel (c)
    _path_kl(axes[1, 0], ds, place)
    lattice = "energy_split_score" in ds
    if lattice:
        _split(axes[1, 1], ds, place, "energy", r"part of $\langle H\rangle_{\rm gen}/N-\langle H\rangle/N$")
    else:
        _split(axes[1, 1], ds, place)
    _speciation(axes[1, 2], ds, place)
    _ift(axes[2, 0], ds, place)
    _excess(axes[2, 1], full, place)
    if full.sizes["target"] > 1:
        second = str(full.target.values[1])
        _score_error(axes[2, 2], full.sel(target=second), place, label=f"(i) {_TARGETS.get(second, second)}")
    elif lattice:
        _state_tv(axes[2, 2], ds, place)
    else:
        _exact_entropy(axes[2, 2], ds, place)
    names = ", ".join(_TARGETS.get(str(t), str(t)) for t in full.target.values)
    title = f"{names}: DSM-trained scores vs the exact score (mean ± s.e. over training seeds)"
    if full.sizes["target"] > 1:
        title += f"\npanels (a)–(g): {_TARGETS.get(first, first)}; (h): every target; (i): {_TARGETS.get(second, second)}"
    text = _parameters.lines(ds, ("N=n", "β=beta", "P=train_sizes", "seeds=seeds", "networks=networks")
                             + (("bond seed=pattern_seed",) if lattice else ()),
                             ("max steps=train_steps", "batch=batch", "lr=lr", "hidden=hidden", "depth=depth",
                              "patience=patience"), ("T=T", "t_min=t_min", "paths=num_paths",
                              "reverse steps=num_steps", "fine ×=fine_factor", "sampler=sampler"),
                             ("IFT steps=ift_steps", "IFT sampler=ift_sampler"), extra="OU noising")
    style.subtitle(fig, title + ("\n" + text if _config(ds) else ""))
    for ax, kwargs in legends:
        _legend.place(ax, **kwargs)
    return fig


def summary(full: xr.Dataset) -> str:
    lines = ["Learned vs exact score (mean ± standard error over training seeds):"]
    for target in full.target.values:
        lines.append(f"target {target}:")
        lines.extend(_summary_lines(full.sel(target=target)))
    return "\n".join(lines)


def _summary_lines(ds: xr.Dataset) -> list[str]:
    def fmt(name, **where):
        m, e = _mean_err(ds, name, **where)
        return f"{float(m):.4g} ± {float(e):.2g}"

    def fmt_finite(name, **where):
        finite = int(ds[name].sel(**where).count())
        return f"{fmt(name, **where)} ({finite}/{ds.sizes['seed']} seeds finite)"

    lines = []
    for n in ds.n.values:
        lines.append(f"N = {n}: exact-score TV = {fmt('tv_exact', n=n)} (fine steps {fmt('tv_exact_fine', n=n)}, "
                     f"fine + exact start {fmt('tv_exact_start', n=n)}, floor {fmt('tv_floor', n=n)}), "
                     f"t_S exact = {fmt('t_speciation_exact', n=n)}, ½ ln Λ_max = "
                     f"{float(ds.t_speciation_theory.sel(n=n)):.4f}")
        lines.append(f"  IFT ⟨e^(−Σ)⟩ exact score {fmt('ift_exact', n=n)}, ⟨Σ⟩ exact score "
                     f"{fmt('entropy_production_exact', n=n)}, prior KL {fmt('prior_kl', n=n)}")
        lines.append(f"  ⟨m²⟩ error split: discretisation {fmt('m2_split_discretisation', n=n)}, prior "
                     f"{fmt('m2_split_prior', n=n)}, left with exact score, fine steps and exact start "
                     f"{fmt('m2_error_exact_start', n=n)}")
        if "energy_split_score" in ds:
            lines.append(f"  energy/N error split: discretisation {fmt('energy_split_discretisation', n=n)}, prior "
                         f"{fmt('energy_split_prior', n=n)}, left {fmt('energy_error_exact_start', n=n)}; TV over "
                         f"states exact score {fmt('tv_states_exact', n=n)} (floor {fmt('tv_states_floor', n=n)}), "
                         f"P(q) exact score {fmt('tv_overlap_exact', n=n)} (floor {fmt('tv_overlap_floor', n=n)})")
            for net in ds.network.values:
                for size in ds.train_size.values:
                    where = dict(n=n, network=net, train_size=size)
                    lines.append(f"  {net}, P = {size}: energy/N error {fmt('energy_error_learned', **where)}, score "
                                 f"part {fmt('energy_split_score', **where)}; TV states "
                                 f"{fmt('tv_states_learned', **where)}, P(q) {fmt('tv_overlap_learned', **where)}")
        for size in ds.train_size.values:
            lines.append(f"  P = {size}: exact empirical score collapse time t_C = "
                         f"{fmt_finite('t_collapse_empirical', n=n, train_size=size)}")
        for net in ds.network.values:
            for size in ds.train_size.values:
                where = dict(n=n, network=net, train_size=size)
                i = int(ds.score_error_seed_mean.sel(**where).argmax("time"))
                t_i, t_0 = float(ds.time[i]), float(ds.time[0])
                lines.append(
                    f"  {net}, P = {size}: max ε = {fmt('score_error', time=t_i, **where)} at t = {t_i:.3g}; "
                    f"ε(t_min) vs population {fmt('score_error', time=t_0, **where)}, "
                    f"vs empirical {fmt('score_error_empirical', time=t_0, **where)}; "
                    f"path KL forward {fmt('path_kl_forward', **where)}, learned paths "
                    f"{fmt('path_kl_reverse', **where)}; TV {fmt('tv_learned', **where)}; ⟨m²⟩ error "
                    f"{fmt('m2_error_learned', **where)}, score part {fmt('m2_split_score', **where)}; follows its "
                    f"data set below t = {fmt_finite('t_collapse_learned', **where)}; t_S "
                    f"{fmt('t_speciation_learned', **where)}; best step {fmt('best_step', **where)}; IFT "
                    f"{fmt('ift_learned', **where)}, ⟨Σ⟩ {fmt('entropy_production_learned', **where)}, excess over "
                    f"the exact score {fmt('entropy_production_excess', **where)}, Girsanov along the IFT paths "
                    f"{fmt('girsanov_kl_ift', **where)}")
    return lines
