"""Franz–Parisi potentials along the generative trajectory (physics.franz_parisi).

1-D symmetric Gaussian mixture (Yu & Huang, arXiv 2405.11932, Fig. 11): V(q, t), V′, V″ in the squared distance q
to a posterior reference, at t = 0.42, 0.015, 0.01; the inflection points (V″ = 0) that appear as t → 0 signal the
glass-like collapse.

Curie–Weiss (exact two-group sum, any N): V(q; t) = −(1/N) E ln P(q | x_t, s′) in the overlap q = s·s′/N with a
posterior reference s′, on a grid of t. Scanned in the noising direction (t increasing), a secondary minimum at
q ≈ −m*² (the other class) appears at t_appear (in generation: it disappears there — a spinodal, O(1) in N), and
becomes degenerate with the global one, N ΔV = 1, at t_deg (`secondary_minimum_times`, degeneracy 1/N). The class
gap N ΔV(t) = N[min_{q<0} V − min_{q>0} V] compared with the speciation time t_S = ½ ln Λ, Λ = N⟨m²⟩: both t_deg and
t_S grow as ½ ln N, the spinodal does not.
"""

from __future__ import annotations

import math
import pathlib

import jax
import numpy as np
import xarray as xr

from models.curie_weiss import CurieWeiss
from physics import franz_parisi as fp
from physics import transitions as tr

DESCRIPTION = "Franz–Parisi potentials: Yu–Huang 1-D V, V′, V″ and Curie–Weiss V(q; t) minima vs t_S = ½ ln Λ"
PARAMS = {
    "mu": (float, 1.0),
    "sigma": (float, 1.0),
    "gmm_times": (list, [0.42, 0.015, 0.01]),
    "q_max": (float, 6.0),
    "num_q": (int, 300),
    "n": (int, 64),
    "beta": (float, 1.5),
    "num_samples": (int, 200),
    "t_min": (float, 0.2),
    "t_max": (float, 4.0),
    "num_t": (int, 40),
}
SWEEP = ("n",)
#: Common overlap grid on which V(q; t) is stored (linear interpolation between the N + 1 overlaps, for the
#: figure and for combining sizes); minima and times are computed on the exact overlaps (2K − N)/N.
Q_SPIN = np.linspace(-1.0, 1.0, 257)


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    for name in ("num_q", "num_samples", "num_t"):
        if params[name] < 2:
            raise ValueError(f"[params] {name} must be >= 2, got {params[name]}")
    if np.min(params["n"]) < 2:
        raise ValueError(f"[params] n must be >= 2, got {params['n']}")
    if any(not t > 0 for t in params["gmm_times"]):
        raise ValueError(f"[params] gmm_times must be > 0, got {params['gmm_times']}")
    if not params["sigma"] > 0 or params["mu"] < 0:
        raise ValueError(f"[params] sigma must be > 0 and mu >= 0, got {params['sigma']}, {params['mu']}")
    if not 0 < params["t_min"] < params["t_max"]:
        raise ValueError(f"[params] t_min must satisfy 0 < t_min < t_max, got {params['t_min']}")
    if not params["q_max"] > 0:
        raise ValueError(f"[params] q_max must be > 0, got {params['q_max']}")


def run(params: dict, key) -> xr.Dataset:
    # 1-D mixture
    q1 = np.linspace(params["q_max"] / params["num_q"], params["q_max"], params["num_q"])
    gmm_t = np.array(params["gmm_times"], float)
    rows = [np.asarray(fp.gmm_franz_parisi_derivatives(q1, float(t), params["mu"], params["sigma"])) for t in gmm_t]
    v, v1, v2 = (np.stack([r[i] for r in rows]) for i in range(3))
    found = [fp.inflection_points(q1, d2) for d2 in v2]
    inflections = np.array([f.size for f in found])
    inflection_q = np.full((gmm_t.size, max(1, inflections.max())), np.nan)
    for i, f in enumerate(found):
        inflection_q[i, : f.size] = f
    # Curie–Weiss along the trajectory
    n = params["n"]
    target = CurieWeiss(n, params["beta"])
    times = np.linspace(params["t_min"], params["t_max"], params["num_t"])
    vals, errs = [], []
    for i, t in enumerate(times):
        q, est = fp.spin_franz_parisi(jax.random.fold_in(key, i), target, math.exp(-t), math.sqrt(-math.expm1(-2 * t)),
                                      params["num_samples"], method="curie_weiss")
        vals.append(est.value)
        errs.append(est.error)
    vals, errs = np.stack(vals), np.stack(errs)
    out = fp.secondary_minimum_times(times, q, vals, degeneracy=1.0 / n)
    gap = n * (vals[:, q < 0].min(1) - vals[:, q > 0].min(1))
    return xr.Dataset(
        {
            "gmm_v": (("gmm_time", "q_gmm"), v),
            "gmm_dv": (("gmm_time", "q_gmm"), v1),
            "gmm_d2v": (("gmm_time", "q_gmm"), v2),
            "gmm_inflections": (("gmm_time",), inflections),
            "gmm_inflection_q": (("gmm_time", "inflection"), inflection_q),
            "spin_v": (("time", "q_spin"), np.stack([np.interp(Q_SPIN, q, r) for r in vals])),
            "spin_v_err": (("time", "q_spin"), np.stack([np.interp(Q_SPIN, q, r) for r in errs])),
            "class_gap": (("time",), gap),
            "t_appear": ((), out.appear),
            "t_appear_resolution": ((), out.appear_resolution),
            "t_degenerate": ((), out.degenerate),
            "q_secondary": ((), out.q_secondary),
            "t_s": ((), tr.curie_weiss_speciation_time(target)),
        },
        coords={"gmm_time": gmm_t, "q_gmm": q1, "time": times, "q_spin": Q_SPIN},
    )


def _runs(ds):
    return (ds.stack(run=["n"]) if "n" in ds.t_s.dims else ds.expand_dims(run=[0])), "n" in ds.t_s.dims


def summary(ds: xr.Dataset) -> str:
    flat, swept = _runs(ds)
    first = flat.isel(run=0)
    lines = ["1-D mixture: inflection points of V(q) at t = " + "; ".join(
        f"{t:g}: {int(c)} (q = {', '.join(f'{x:.3f}' for x in qs[np.isfinite(qs)])})"
        for t, c, qs in zip(first.gmm_time.values, first.gmm_inflections.values, first.gmm_inflection_q.values))]
    for i in range(flat.sizes["run"]):
        one = flat.isel(run=i)
        label = f"n={one.n.item()}" if swept else ""
        lines.append(f"{label:8s} secondary minimum (q = {float(one.q_secondary):+.3f}) appears at t = "
                     f"{float(one.t_appear):.3f} ± {float(one.t_appear_resolution):.3f}; N ΔV = 1 at t = "
                     f"{float(one.t_degenerate):.3f};  t_S = ½ ln Λ = {float(one.t_s):.3f}")
    return "\n".join(lines)


def plot(ds: xr.Dataset, path: pathlib.Path) -> None:
    from paper.style import figure

    flat, swept = _runs(ds)
    fig, axes = figure(ncols=3, nrows=2)
    first = flat.isel(run=0)
    for t in first.gmm_time.values:
        row = first.sel(gmm_time=t)
        axes[0, 0].plot(row.q_gmm, row.gmm_v - row.gmm_v.min(), label=f"t = {t:g}")
        axes[0, 1].plot(row.q_gmm, row.gmm_dv)
        axes[0, 2].plot(row.q_gmm, row.gmm_d2v)
    for ax, name in zip(axes[0], ("V - min V", "V'", "V''")):
        ax.set_xlabel("$q=(x_0-x_0')^2$")
        ax.set_ylabel(f"${name}$")
    axes[0, 2].axhline(0, color="k", lw=0.5)
    tail = first.gmm_d2v.values[:, first.q_gmm.values > 0.5]  # V″ ~ −1/(2q²) from the −ln 2√q of Z dominates below
    axes[0, 2].set_ylim(1.2 * min(tail.min(), 0.0) - 0.05, 1.2 * max(tail.max(), 0.0) + 0.05)
    axes[0, 0].legend()
    last = flat.isel(run=-1)
    q = last.q_spin.values
    ok = np.isfinite(q)
    for t in last.time.values[:: max(1, last.sizes["time"] // 6)]:
        row = last.sel(time=t).spin_v.values
        axes[1, 0].plot(q[ok], (row[ok] - np.nanmin(row)) * float(last.n) if swept else row[ok] - np.nanmin(row),
                        label=f"t = {t:.2f}")
    axes[1, 0].set_xlabel("overlap $q=s\\cdot s'/N$")
    axes[1, 0].set_ylabel("$N(V - \\min V)$")
    axes[1, 0].legend(fontsize=6)
    for i in range(flat.sizes["run"]):
        one = flat.isel(run=i)
        lab = f"N = {one.n.item()}" if swept else ""
        axes[1, 1].semilogy(one.time - one.t_s, one.class_gap, ".-", label=lab)
        axes[1, 2].plot(float(one.t_s), float(one.t_degenerate), "o", label=f"{lab} $N\\Delta V=1$")
        axes[1, 2].plot(float(one.t_s), float(one.t_appear), "s", label=f"{lab} secondary appears")
    axes[1, 1].axhline(1.0, color="k", lw=0.5)
    axes[1, 1].set_xlabel(r"$t - \frac{1}{2}\ln\Lambda$")
    axes[1, 1].set_ylabel(r"class gap $N\Delta V$")
    axes[1, 1].legend()
    axes[1, 2].set_xlabel(r"$t_S=\frac{1}{2}\ln\Lambda$")
    axes[1, 2].set_ylabel("time")
    axes[1, 2].legend(fontsize=6)
    fig.savefig(path, dpi=150)
    fig.savefig(path.with_suffix(".pdf"))
