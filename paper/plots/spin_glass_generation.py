"""Spin-glass targets generated with the exact enumeration score: the law of m, ⟨m²⟩ and the energy per spin.

One group of markers per target (and other swept values), one marker per sampler, offset within the group:
(a) TV = ½ Σ_m |P̂(m) − P(m)| with its bootstrap error, against the TV of as many exact samples (grey box:
mean ± s.d. of the null distribution); (b) ⟨m²⟩_generated − ⟨m²⟩_exact and (c) e_generated − e_exact (energy
per spin), standard errors over the samples, the exact values by enumeration of the 2ᴺ states (a data set
has no energy function: no marker in (c)).
"""

from __future__ import annotations

import json

import numpy as np
import xarray as xr

from statphys.paper import style
from statphys.paper.plots import _parameters

NAMES = {"sk": "SK", "hopfield": "Hopfield", "edwards_anderson": "EA", "dataset": "data set"}


def _cases(da: xr.DataArray) -> xr.DataArray:
    groups = [d for d in da.dims if d not in ("sampler", "m")]
    return da.stack(case=groups) if groups else da.expand_dims(case=[0])


def _label(case) -> str:
    values = case if isinstance(case, tuple) else (case,)
    return "\n".join(NAMES.get(str(v), str(v)) for v in values)


def plot(ds: xr.Dataset):
    samplers = [str(s) for s in ds["sampler"].values]
    fig, axes = style.figure(ncols=3, width=style.DOUBLE, height=2.4)
    cases = _cases(ds["tv"])["case"].values
    x = np.arange(len(cases))
    step = 0.7 / len(samplers)
    offsets = (np.arange(len(samplers)) - (len(samplers) - 1) / 2) * step
    ax = axes[0]
    null, null_sd = _cases(ds["tv_null_mean"]), _cases(ds["tv_null_sd"])
    for j, sampler in enumerate(samplers):
        mean, sd = null.sel(sampler=sampler).values, null_sd.sel(sampler=sampler).values
        ax.bar(x + offsets[j], 2 * sd, step * 0.9, bottom=mean - sd, color="0.85", lw=0,
               label="as many exact samples\n(mean ± s.d.)" if j == 0 else None)
        ax.hlines(mean, x + offsets[j] - 0.45 * step, x + offsets[j] + 0.45 * step, color="0.4", lw=0.8)
    panels = (
        (axes[0], "tv", "tv_err", None, r"total variation TV$(\hat P, P)$"),
        (axes[1], "m2", "m2_err", "m2_exact", r"$\langle m^2\rangle_{\rm gen} - \langle m^2\rangle_{\rm exact}$"),
        (axes[2], "energy", "energy_err", "energy_exact", r"energy/spin $e_{\rm gen} - e_{\rm exact}$"),
    )
    for ax, name, err, exact, ylabel in panels:
        value, error = _cases(ds[name]), _cases(ds[err])
        reference = _cases(ds[exact]).values if exact else 0.0
        for j, sampler in enumerate(samplers):
            ax.errorbar(x + offsets[j], value.sel(sampler=sampler).values - reference,
                        error.sel(sampler=sampler).values,
                        fmt="o", color=f"C{j}", label=sampler.replace("_", "-"))
        if exact:
            ax.axhline(0.0, color="k", lw=0.6, label="exact (enumeration)")
        ax.set_xticks(x, [_label(c) for c in cases], fontsize=6)
        ax.set_xlim(-0.5, len(cases) - 0.5)
        ax.set_ylabel(ylabel)
        ax.set_xlabel("target")
    top = float(np.nanmax(np.concatenate([(ds.tv + ds.tv_err).values.ravel(),
                                          (ds.tv_null_mean + ds.tv_null_sd).values.ravel()])))
    axes[0].set_ylim(0, 1.15 * top)
    for ax, name in zip(axes[1:], ("m2", "energy")):
        span = max(abs(v) for v in ax.get_ylim())
        ax.set_ylim(-span, span)
        missing = np.all(np.isnan(_cases(ds[name]).values), axis=_cases(ds[name]).dims.index("sampler"))
        for k in np.nonzero(missing)[0]:
            ax.text(x[k], 0.5 * span, "no\nenergy", ha="center", va="center", fontsize=6, color="0.4")
    handles, labels = axes[0].get_legend_handles_labels()
    extra = axes[1].get_legend_handles_labels()
    keep = [k for k, label in enumerate(extra[1]) if label not in labels]
    fig.legend(handles + [extra[0][k] for k in keep], labels + [extra[1][k] for k in keep],
               loc="outside lower center", ncols=len(samplers) + 2)
    models = {str(m) for m in np.atleast_1d(ds["model"].values if "model" in ds.coords
                                               else json.loads(ds.attrs.get("config", "{}")).get("model", []))}
    details = (("hopfield", ("Hopfield patterns=num_patterns",)),
               ("edwards_anderson", ("Edwards–Anderson (EA) bonds=bonds", "EA lattice=lattice")),
               ("dataset", ("data set: SK samples=num_data",)))
    per_model = tuple(name for model, names in details if model in models for name in names)
    style.subtitle(fig, "Spin-glass targets, exact enumeration score: " + _parameters.lines(
        ds, ("N=n", "β=beta", "disorder seed=disorder_seed"), *((per_model,) if per_model else ()),
        ("samples=num_samples", "steps=num_steps", "schedule", "T", "t_min"),
        extra="errors: bootstrap (TV), standard error (⟨m²⟩, e)"))
    return fig
