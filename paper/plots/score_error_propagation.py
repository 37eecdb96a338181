"""Score noise and score bias propagated into the generated law (study kind score_error_propagation).

The exact denoiser D is replaced by D̂ = (1 − b) D + ε ζ, ζ ~ N(0, I) fresh at every step; generated spins
sign(x_{t_min}), all runs of a target coupled to its exact-score run (the same key).
(a), (b) TV of the generated P(m) against the exact law, against ε and b, with the TV that the same number of
    exact draws gives (band: mean ± sd) and, dashed, the exact-score run's TV.
(c), (d) |Δ⟨m²⟩| against the coupled exact-score run (paired standard errors), with the fitted power law
    A εˣ, A bˣ (emcee) and its exponent.
(e) The measured TV between the laws of m with and without the error against the Pinsker bound √(KL/2) of the
    path KL (Girsanov sum); points below the diagonal obey the bound.
(f) SK: generated energy per spin minus the exact (enumeration), against ε and b (standard errors), dashed: the
    exact-score run's; the exponent of the paired energy difference to the exact-score run in the legend.
"""

from __future__ import annotations

import json

import matplotlib.ticker
import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _legend, _parameters

FAMILIES = {"noise": (r"denoiser noise $\varepsilon$", r"\varepsilon"), "bias": (r"denoiser shrinkage $b$", "b")}


def _targets(ds) -> list[str]:
    return [str(t) for t in np.atleast_1d(ds.target.values)] if "target" in ds.dims else [str(ds.attrs.get("target", ""))]


def _row(ds, target):
    return ds.sel(target=target) if "target" in ds.dims else ds


def _label(target: str) -> str:
    model, _, n = target.partition(":")
    return {"curie_weiss": "CW", "sk": "SK"}.get(model, model) + f" $N={n}$"


def _tv(ax, ds, family):
    for k, target in enumerate(_targets(ds)):
        r, color = _row(ds, target), f"C{k}"
        levels = r[family].values
        pos = levels > 0
        tv, err = r[f"{family}_tv"].values, r[f"{family}_tv_err"].values
        ax.errorbar(levels[pos], tv[pos], err[pos], fmt="o-", ms=3, color=color, label=_label(target))
        floor, sd = float(r.tv_floor), float(r.tv_floor_sd)
        ax.fill_between(levels[pos], floor - sd, floor + sd, color=color, alpha=0.15, lw=0)
        ax.axhline(tv[0], color=color, ls="--", lw=0.7)
    ax.plot([], [], "--", color="k", lw=0.7, label="exact-score run")
    ax.fill_between([], [], [], color="k", alpha=0.15, lw=0, label="exact draws (floor)")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(FAMILIES[family][0])
    ax.set_ylabel(r"TV of generated $P(m)$ vs exact")
    ax.set_title("(a)" if family == "noise" else "(b)", loc="left")
    _legend.place(ax, fontsize=5)


def _effect(ax, ds, family):
    symbol = FAMILIES[family][1]
    for k, target in enumerate(_targets(ds)):
        r, color = _row(ds, target), f"C{k}"
        levels = r[family].values
        pos = levels > 0
        dm2, err = r[f"{family}_dm2"].values, r[f"{family}_dm2_err"].values
        x, x_err = float(r[f"{family}_exponent"]), float(r[f"{family}_exponent_err"])
        label = _label(target) + (f": ${symbol}^{{{x:.2f}\\pm{x_err:.2f}}}$" if np.isfinite(x) else ": unresolved")
        ax.errorbar(levels[pos], np.abs(dm2[pos]), err[pos], fmt="o", ms=3, color=color, label=label)
        if np.isfinite(x):
            ln_a = float(r[f"{family}_ln_amplitude"])
            grid = np.geomspace(levels[pos].min(), levels[pos].max(), 50)
            ax.plot(grid, np.exp(ln_a) * grid**x, "-", color=color, lw=0.8)
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel(FAMILIES[family][0])
    ax.set_ylabel(r"$|\Delta\langle m^2\rangle|$ vs exact-score run")
    ax.set_title("(c)" if family == "noise" else "(d)", loc="left")
    _legend.place(ax, fontsize=5)


def _pinsker(ax, ds):
    lo = []
    for k, target in enumerate(_targets(ds)):
        r, color = _row(ds, target), f"C{k}"
        for family, marker in (("noise", "o"), ("bias", "s")):
            pos = r[family].values > 0
            bound, tv, err = (r[f"{family}_{v}"].values[pos] for v in ("pinsker", "tv_pair", "tv_pair_err"))
            seen = tv > 0  # an empirical TV of exactly 0 (identical histograms) has no place on a log axis
            ax.errorbar(bound[seen], tv[seen], np.minimum(err[seen], 0.9 * tv[seen]), fmt=marker, ms=3,
                        mfc="none" if family == "bias" else color, color=color)
            lo.extend(bound[bound > 0])
    for family, marker in (("noise", "o"), ("bias", "s")):
        ax.plot([], [], marker, color="k", mfc="none" if family == "bias" else "k", ms=3, ls="none",
                label=f"{family} ({'ε' if family == 'noise' else 'b'} > 0)")
    grid = np.geomspace(min(lo) if lo else 1e-3, 1.0, 20)
    ax.plot(grid, grid, "-", color="0.4", lw=0.7, label=r"TV $=\sqrt{\mathrm{KL}/2}$")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel(r"Pinsker bound $\sqrt{\mathrm{KL}_{\rm path}/2}$ (capped at 1)")
    ax.set_ylabel("TV(error run, exact-score run) of $P(m)$")
    ax.set_title("(e)", loc="left")
    _legend.place(ax, fontsize=5)


def _energy(ax, ds):
    drawn = False
    for k, target in enumerate(_targets(ds)):
        r = _row(ds, target)
        if not np.isfinite(float(r.energy_exact)):
            continue
        for family, marker in (("noise", "o"), ("bias", "s")):
            levels = r[family].values
            pos = levels > 0
            x, x_err = float(r[f"{family}_energy_exponent"]), float(r[f"{family}_energy_exponent_err"])
            power = (f": $\\propto {FAMILIES[family][1]}^{{{x:.2f}\\pm{x_err:.2f}}}$" if np.isfinite(x)
                     else ": unresolved")
            ax.errorbar(levels[pos], r[f"{family}_de_exact"].values[pos], r[f"{family}_de_err"].values[pos],
                        fmt=marker + "-", ms=3, color=f"C{k}", mfc="none" if family == "bias" else f"C{k}",
                        label=f"{_label(target)}, {family}{power}")
            ax.axhline(float(r[f"{family}_de_exact"].values[0]), color=f"C{k}", ls="--", lw=0.7)
            drawn = True
    if drawn:
        ax.plot([], [], "--", color="k", lw=0.7, label="exact-score run")
        ax.axhline(0, color="k", lw=0.4)
        ax.set_xscale("log")
        _legend.place(ax, fontsize=5)
    else:
        ax.text(0.5, 0.5, "no SK target in this run", ha="center", va="center", transform=ax.transAxes)
    ax.set_xlabel(r"error level $\varepsilon$ or $b$")
    ax.set_ylabel(r"$e_{\rm gen} - e_{\rm exact}$ (energy per spin)")
    ax.set_title("(f) SK", loc="left")


def plot(ds: xr.Dataset):
    fig, axes = style.figure(ncols=2, nrows=3, width=style.DOUBLE, height=2.4)
    _tv(axes[0, 0], ds, "noise")
    _tv(axes[0, 1], ds, "bias")
    _effect(axes[1, 0], ds, "noise")
    _effect(axes[1, 1], ds, "bias")
    _pinsker(axes[2, 0], ds)
    _energy(axes[2, 1], ds)
    cfg = json.loads(ds.attrs["config"]) if isinstance(ds.attrs.get("config"), str) else {}
    text = _parameters.lines(ds, ("targets=target", "CW β=beta", "SK β=sk_beta", "SK disorder seed=disorder_seed"),
                             ("ε=noise", "b=bias"),
                             ("sampler=sampler", "steps=num_steps", "spacing=spacing", "T=T", "t_min=t_min",
                              "samples=num_samples", "bootstrap=bootstrap"),
                             extra="OU; D̂ = (1 − b) D + εζ")
    title = "Score error propagated into the generated law"
    style.subtitle(fig, title + "\n" + text if cfg else title)
    return fig


def summary(ds: xr.Dataset) -> str:
    lines = ["Score error D̂ = (1 − b) D + εζ: exponent of |Δ⟨m²⟩| (vs the coupled exact-score run) and TV of P(m):"]
    for target in _targets(ds):
        r = _row(ds, target)
        lines.append(f"  {target}: noise exponent {float(r.noise_exponent):.3f} ± {float(r.noise_exponent_err):.3f}, "
                     f"bias exponent {float(r.bias_exponent):.3f} ± {float(r.bias_exponent_err):.3f}; energy exponents "
                     f"noise {float(r.noise_energy_exponent):.3f} ± {float(r.noise_energy_exponent_err):.3f}, bias "
                     f"{float(r.bias_energy_exponent):.3f} ± {float(r.bias_energy_exponent_err):.3f}; TV floor "
                     f"{float(r.tv_floor):.4f} ± {float(r.tv_floor_sd):.4f}")
        for family in ("noise", "bias"):
            for level in r[family].values[1:]:
                q = r.sel({family: level})
                lines.append(f"    {family} = {level:g}: TV {float(q[f'{family}_tv']):.4f} ± "
                             f"{float(q[f'{family}_tv_err']):.4f}; Δ⟨m²⟩ {float(q[f'{family}_dm2']):+.5f} ± "
                             f"{float(q[f'{family}_dm2_err']):.5f}; TV vs exact-score run "
                             f"{float(q[f'{family}_tv_pair']):.4f} ≤ Pinsker {float(q[f'{family}_pinsker']):.4f}")
    return "\n".join(lines)
