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

SK beyond enumeration (optional, ``mc_n > 0``): the quenched V̄(q; t) = −(1/N) E_{s′, x_t} ln P(q | x_t, s′) of an SK
target (couplings seed ``mc_seed``) at N = mc_n, by umbrella Monte Carlo + WHAM per disorder draw
(`quenched_umbrella_potential`), s′ drawn by parallel tempering (`physics.montecarlo.run_tempering`, the last
replica at the target β after ``mc_pt_sweeps`` sweeps), α = e^{−t}, σ = √(1 − e^{−2t}) at each t in ``mc_times``;
stored: V̄ with its disorder error and Monte-Carlo-only error, the count of draws per level, the overlaps of the
global and of the lowest secondary local minimum of V̄ (among the levels that every draw visited). For mc_n ≤ 20
the same draws are also enumerated and the largest |z| = |V̄_MC − V̄_enum|/mc_error over levels is stored. The
part runs once, in the chunk of the Curie–Weiss sweep whose n equals mc_n (so mc_n must be one of the n); the
other chunks carry its variables as NaN.
"""

from __future__ import annotations

import math
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from models.curie_weiss import CurieWeiss
from models.sk import SherringtonKirkpatrick
from physics import franz_parisi as fp
from physics import montecarlo as mc
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
    # SK quenched potential by umbrella Monte Carlo (mc_n = 0: off); mc_n must be one of the n
    "mc_n": (int, 0),
    "mc_beta": (float, 1.5),
    "mc_seed": (int, 1),
    "mc_times": (list, [0.3, 0.8, 1.5]),
    "mc_disorder": (int, 4),
    "mc_windows": (int, 0),  # 0: min(N + 1, 33)
    "mc_chains": (int, 16),  # chains per window
    "mc_groups": (int, 8),
    "mc_sweeps": (int, 100),
    "mc_burn_in": (int, 50),
    "mc_pt_replicas": (int, 8),
    "mc_pt_sweeps": (int, 2000),
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
    if params["mc_n"]:
        sizes = params["n"] if isinstance(params["n"], list) else [params["n"]]
        if params["mc_n"] not in sizes:
            raise ValueError(f"[params] mc_n must be 0 (off) or one of n = {sizes} (the chunk that runs it), "
                             f"got {params['mc_n']}")
        if params["mc_n"] < 4:
            raise ValueError(f"[params] mc_n must be 0 or >= 4, got {params['mc_n']}")
        if not params["mc_times"] or any(not t > 0 for t in params["mc_times"]):
            raise ValueError(f"[params] mc_times must be a non-empty list of t > 0, got {params['mc_times']}")
        if not params["mc_beta"] > 0:
            raise ValueError(f"[params] mc_beta must be > 0, got {params['mc_beta']}")
        for name in ("mc_disorder", "mc_groups", "mc_pt_replicas"):
            if params[name] < 2:
                raise ValueError(f"[params] {name} must be >= 2, got {params[name]}")
        for name in ("mc_sweeps", "mc_pt_sweeps"):
            if params[name] < 1:
                raise ValueError(f"[params] {name} must be >= 1, got {params[name]}")
        if params["mc_burn_in"] < 0 or params["mc_windows"] < 0 or params["mc_windows"] == 1:
            raise ValueError(f"[params] mc_burn_in must be >= 0 and mc_windows 0 or >= 2, got "
                             f"{params['mc_burn_in']}, {params['mc_windows']}")
        if params["mc_chains"] % params["mc_groups"]:
            raise ValueError(f"[params] mc_chains ({params['mc_chains']}) must be a multiple of mc_groups "
                             f"({params['mc_groups']})")


def _no_observables(state):
    return ()


def _tempering_sampler(target, num_replicas: int, num_sweeps: int):
    """reference_sampler(key, num) -> (num, N): the β = target.beta replica of parallel tempering (β from
    target.beta/4 to target.beta, geometric) after num_sweeps sweeps from random spins; also records the
    smallest swap acceptance in ``sampler.swap_min``."""
    couplings = jnp.asarray(target.couplings)
    betas = jnp.asarray(np.geomspace(float(target.beta) / 4, float(target.beta), num_replicas), couplings.dtype)

    def sampler(key, num):
        k_init, k_run = jax.random.split(key)
        state = mc.init_tempering(k_init, couplings, num_replicas, num)
        state, _, _, swaps = mc.run_tempering(k_run, couplings, jnp.asarray(target.field), betas, state,
                                              num_sweeps=num_sweeps, observables=_no_observables)
        sampler.swap_min = min(sampler.swap_min, float(jnp.min(swaps)))
        return state.spins[-1]

    sampler.swap_min = 1.0
    return sampler


def _sk_quenched(params: dict, key, compute: bool = True) -> tuple[dict, dict]:
    """The SK Monte-Carlo part (module docstring): data variables over (mc_time, mc_q) and their coordinates;
    compute=False: the same variables, NaN (every chunk of the sweep carries them, so that chunks combine)."""
    n = params["mc_n"]
    times = np.array(params["mc_times"], float)
    if not compute:
        nan2, nan1 = np.full((times.size, n + 1), np.nan), np.full(times.size, np.nan)
        names2 = ("mc_v", "mc_v_error", "mc_v_mc_error", "mc_count")
        names1 = ("mc_q_global", "mc_q_secondary", "mc_acceptance", "mc_enum_max_z")
        return ({**{k: (("mc_time", "mc_q"), nan2) for k in names2}, **{k: (("mc_time",), nan1) for k in names1},
                 **{k: ((), np.nan) for k in ("mc_pt_swap_min", "mc_size", "mc_num_disorder")}},
                {"mc_time": times, "mc_q": fp.overlap_grid(n)})
    target = SherringtonKirkpatrick.random(n, params["mc_beta"], seed=params["mc_seed"])
    sampler = _tempering_sampler(target, params["mc_pt_replicas"], params["mc_pt_sweeps"])
    options = dict(chains_per_window=params["mc_chains"], num_groups=params["mc_groups"],
                   num_sweeps=params["mc_sweeps"], burn_in=params["mc_burn_in"])
    if params["mc_windows"]:
        options["num_windows"] = params["mc_windows"]
    rows = {name: [] for name in ("v", "err", "mc_err", "count", "q_min", "q_sec", "acc", "z")}
    for i, t in enumerate(times):
        alpha, sigma = math.exp(-t), math.sqrt(-math.expm1(-2 * t))
        res = fp.quenched_umbrella_potential(jax.random.fold_in(key, i), target, alpha, sigma, params["mc_disorder"],
                                             reference_sampler=sampler, **options)
        m = res.mean
        rows["v"].append(m.value)
        rows["err"].append(m.error)
        rows["mc_err"].append(m.mc_error)
        rows["count"].append(m.count)
        rows["acc"].append(float(res.acceptance.mean()))
        full = np.nonzero(m.count == params["mc_disorder"])[0]  # minima only among levels every draw visited
        minima = full[fp.local_minima(res.q[full], m.value[full])]
        minima = minima[np.argsort(m.value[minima])]
        rows["q_min"].append(res.q[minima[0]] if minima.size else np.nan)
        rows["q_sec"].append(res.q[minima[1]] if minima.size > 1 else np.nan)
        if n <= 20:  # the same draws enumerated: z in units of the Monte-Carlo-only error
            exact = -np.asarray(fp.enumerated_overlap_log_probs(target, res.references, res.x, alpha, sigma)) / n
            exact = fp.quenched_average(np.where(np.isnan(res.potentials), np.nan, exact))  # same draws per level
            with np.errstate(invalid="ignore", divide="ignore"):
                z = np.abs(m.value - exact.value) / m.mc_error
            rows["z"].append(float(np.nanmax(z)))
        else:
            rows["z"].append(np.nan)
    q = fp.overlap_grid(n)
    return {
        "mc_v": (("mc_time", "mc_q"), np.stack(rows["v"])),
        "mc_v_error": (("mc_time", "mc_q"), np.stack(rows["err"])),
        "mc_v_mc_error": (("mc_time", "mc_q"), np.stack(rows["mc_err"])),
        "mc_count": (("mc_time", "mc_q"), np.stack(rows["count"]).astype(float)),
        "mc_q_global": (("mc_time",), np.array(rows["q_min"], float)),
        "mc_q_secondary": (("mc_time",), np.array(rows["q_sec"], float)),
        "mc_acceptance": (("mc_time",), np.array(rows["acc"])),
        "mc_enum_max_z": (("mc_time",), np.array(rows["z"])),
        "mc_pt_swap_min": ((), sampler.swap_min),
        "mc_size": ((), float(n)),
        "mc_num_disorder": ((), float(params["mc_disorder"])),
    }, {"mc_time": times, "mc_q": q}


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
    mc_vars, mc_coords = ({}, {}) if not params["mc_n"] else _sk_quenched(params, jax.random.fold_in(key, 10_000),
                                                                            compute=params["mc_n"] == n)
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
            **mc_vars,
        },
        coords={"gmm_time": gmm_t, "q_gmm": q1, "time": times, "q_spin": Q_SPIN, **mc_coords},
    )


def _runs(ds):
    return (ds.stack(run=["n"]) if "n" in ds.t_s.dims else ds.expand_dims(run=[0])), "n" in ds.t_s.dims


def _mc(ds):
    """The SK Monte-Carlo variables of the chunk that computed them (None when the part was off)."""
    if "mc_v" not in ds:
        return None
    part = ds[[name for name in ds.data_vars if name.startswith("mc_")]]
    if "n" in part.mc_v.dims:
        part = part.isel(n=int(np.argmax(np.isfinite(part.mc_v.values).any(axis=(1, 2)))))
    return part


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
    part = _mc(ds)
    if part is not None:
        lines.append(f"SK N = {int(part.mc_size)}, umbrella MC + WHAM, {int(part.mc_num_disorder)} disorder draws "
                     f"(PT references, min swap acceptance {float(part.mc_pt_swap_min):.2f}):")
        for t in part.mc_time.values:
            row = part.sel(mc_time=t)
            z = float(row.mc_enum_max_z)
            lines.append(f"  t = {t:g}: global minimum of V̄ at q = {float(row.mc_q_global):+.3f}, secondary "
                         + (f"at q = {float(row.mc_q_secondary):+.3f}" if np.isfinite(row.mc_q_secondary) else "none")
                         + f"; max error {np.nanmax(row.mc_v_error.values):.3f} (MC-only "
                         f"{np.nanmax(row.mc_v_mc_error.values):.3f}); draws per level "
                         f"{int(row.mc_count.min())}..{int(row.mc_count.max())}"
                         + (f"; vs enumeration max |z| = {z:.2f}" if np.isfinite(z) else ""))
    return "\n".join(lines)


def plot(ds: xr.Dataset, path: pathlib.Path) -> None:
    from paper.style import figure

    flat, swept = _runs(ds)
    part = _mc(ds)
    fig, axes = figure(ncols=3, nrows=2 if part is None else 3)
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
    if part is not None:
        qm = part.mc_q.values
        for t in part.mc_time.values:
            row = part.sel(mc_time=t)
            v = row.mc_v.values
            axes[2, 0].errorbar(qm, v - np.nanmin(v), yerr=row.mc_v_error.values, fmt=".-", ms=3, capsize=1.5,
                                label=f"t = {t:g}")
        axes[2, 0].set_xlabel("overlap $q=s\\cdot s'/N$")
        axes[2, 0].set_ylabel(r"$\bar V - \min \bar V$")
        axes[2, 0].set_title(f"SK N = {int(part.mc_size)}: quenched, umbrella MC", fontsize=8)
        axes[2, 0].legend(fontsize=6)
        axes[2, 1].plot(part.mc_time, part.mc_q_global, "o-", label="global minimum")
        axes[2, 1].plot(part.mc_time, part.mc_q_secondary, "s", label="secondary minimum")
        axes[2, 1].set_xlabel("t")
        axes[2, 1].set_ylabel("overlap of the minimum")
        axes[2, 1].set_ylim(-1.05, 1.05)
        axes[2, 1].legend(fontsize=6)
        axes[2, 2].axis("off")
    fig.savefig(path, dpi=150)
    fig.savefig(path.with_suffix(".pdf"))
