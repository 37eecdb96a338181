"""Speed–accuracy relations (Ikeda et al., arXiv 2407.04495) on a 1-D symmetric Gaussian mixture.

For each schedule (cosine, cond-OT, the W₂ geodesic "ot") and a perturbed start N(shift, scale²):
η = (ΔW₁)²/(τ D₀) ≤ c₁ = (∫ v₂ dt)²/τ ≤ c₂ = ∫ T_t Ṡ_tot dt (definitions: physics/speed_accuracy.py).
ΔW₁ by quadrature (exact map in 1-D) and from samples (scipy.stats.wasserstein_distance, with the
Bobkov–Ledoux error scale).
"""

from __future__ import annotations

import pathlib

import numpy as np
import xarray as xr

from models.gaussian import GaussianMixture
from physics import speed_accuracy as sa

DESCRIPTION = "Speed–accuracy bound (ΔW1)²/(τ D0) ≤ ∫ T dS_tot: η ≤ c1 ≤ c2 per schedule on a 1-D mixture"
PARAMS = {
    "schedules": (list, ["cosine", "cond_ot", "ot"]),
    "mu": (float, 1.0),
    "sigma": (float, 1.0),
    "tau": (float, 1.0),
    "shift": (float, 1.0),
    "scale": (float, 1.0),
    "num_samples": (int, 20000),
    "num_nodes": (int, 64),
}
SWEEP = ("shift", "mu")


def validate(params: dict) -> None:
    for name in params["schedules"]:
        if name not in sa.SCHEDULES:
            raise ValueError(f"[params] schedules: unknown schedule {name!r}; allowed: {sa.SCHEDULES}")
    if params["tau"] <= 0:
        raise ValueError(f"[params] tau must be > 0, got {params['tau']}")
    if not 0 < params["scale"] < np.sqrt(2):
        raise ValueError(f"[params] scale must be in (0, √2) for a finite Pearson χ², got {params['scale']}")
    if params["sigma"] <= 0:
        raise ValueError(f"[params] sigma must be > 0, got {params['sigma']}")
    for name in ("num_samples", "num_nodes"):
        if params[name] <= 1:
            raise ValueError(f"[params] {name} must be > 1, got {params[name]}")


def run(params: dict, key) -> xr.Dataset:
    target = GaussianMixture.symmetric(params["mu"], params["sigma"], 1)
    rows = [sa.speed_accuracy(target, name, params["tau"], params["shift"], params["scale"], num_nodes=params["num_nodes"])
            for name in params["schedules"]]
    dw1_s, dw1_s_err = sa.w1_error_growth_samples(key, target, params["shift"], params["scale"], params["num_samples"])
    return xr.Dataset(
        {
            "eta": (("schedule",), [r.eta for r in rows]),
            "c1": (("schedule",), [r.c1 for r in rows]),
            "c2": (("schedule",), [r.c2 for r in rows]),
            "delta_w1": ((), rows[0].delta_w1),
            "delta_w1_samples": ((), dw1_s),
            "delta_w1_samples_err": ((), dw1_s_err),
            "d0": ((), rows[0].d0),
            "w2_geodesic": ((), sa.wasserstein2_to_normal(target)),
        },
        coords={"schedule": list(params["schedules"])},
    )


def summary(ds: xr.Dataset) -> str:
    extra = [d for d in ds["eta"].dims if d != "schedule"]
    flat = ds.stack(point=extra) if extra else ds.expand_dims(point=[0])
    lines = []
    for point in flat["point"].values:
        s = flat.sel(point=point)
        label = ", ".join(f"{d}={v}" for d, v in zip(extra, np.atleast_1d(point)))
        for name in s["schedule"].values:
            r = s.sel(schedule=name)
            lines.append(f"{label:20s} {name:8s} eta = {float(r.eta):.4f} <= c1 = {float(r.c1):.4f} <= c2 = {float(r.c2):.4f}")
        lines.append(f"{label:20s} dW1 = {float(s.delta_w1):.4f} (samples {float(s.delta_w1_samples):.4f} ± "
                     f"{float(s.delta_w1_samples_err):.4f}), D0 = {float(s.d0):.4f}")
    return "\n".join(lines)


def plot(ds: xr.Dataset, path: pathlib.Path) -> None:
    from paper.style import figure

    extra = [d for d in ds["eta"].dims if d != "schedule"]
    flat = ds.stack(point=extra) if extra else ds.expand_dims(point=[0])
    points = flat["point"].values
    fig, axes = figure(ncols=len(points), squeeze=False)
    for ax, point in zip(axes[0], points):
        s = flat.sel(point=point)
        names = list(s["schedule"].values)
        x = np.arange(len(names))
        for j, (var, label) in enumerate((("eta", r"$\eta=(\Delta W_1)^2/(\tau D_0)$"),
                                          ("c1", r"$c_1=(\int v_2\,dt)^2/\tau$"),
                                          ("c2", r"$c_2=\int T_t \dot S_{tot}\,dt$"))):
            ax.bar(x + (j - 1) * 0.27, s[var].values, width=0.27, label=label)
        ax.set_xticks(x, [n.replace("_", "-") for n in names])
        ax.set_title(", ".join(f"{d} = {v}" for d, v in zip(extra, np.atleast_1d(point))), fontsize=8)
        ax.legend(fontsize=6)
    fig.savefig(path, dpi=150)
