"""Franz–Parisi potentials along the generative trajectory (physics.franz_parisi).

1-D symmetric Gaussian mixture ½N(μ, σ²) + ½N(−μ, σ²) (Yu & Huang, arXiv 2405.11932, Sec. V and Fig. 11, which is
at μ = 1, σ² = 0.1): V(q, t), V′, V″ in the squared distance q = (x₀ − x₀′)² to a reference x₀′ drawn from the
posterior P(x₀′ | x_t), at ``gmm_times`` (their t = 0.42, 0.015, 0.01), with every inflection point (V″ = 0, their
criterion); V″ checked at ``gmm_check_q`` against an independent Monte-Carlo estimate (``gmm_check_samples``
draws of (x₀′, x_t)); a scan of the diffusion time t (geometric, ``scan_t_min`` .. ``scan_t_max``) counting the
inflection points on [scan_q_min, scan_q_max], and the times where a pair of them is born or annihilates
(V″ = V‴ = 0): the window of t in which V has additional inflection points. The small-t limit-law inflection
q = q′* Δ_t/a² (q′* ≈ 8.26) is stored along the scan for comparison. Inflection positions are padded with NaN
beyond the count at each time. The quadrature part is deterministic and computed once per process for all
chunks of the n sweep.

Curie–Weiss (exact two-group sum, any N): V(q; t) = −(1/N) E ln P(q | x_t, s′) in the overlap q = s·s′/N with a
posterior reference s′, on a grid of t. Scanned in the noising direction (t increasing), a secondary minimum at
q ≈ −m*² (the other class) appears at t_appear (in generation: it disappears there — a spinodal, O(1) in N), and
becomes degenerate with the global one, N ΔV = 1, at t_deg (`secondary_minimum_times`, degeneracy 1/N). The class
gap N ΔV(t) = N[min_{q<0} V − min_{q>0} V] (error: N(sd_a + sd_b) of the two minima, an upper bound since the
same samples give both) compared with the speciation time t_S = ½ ln Λ, Λ = N⟨m²⟩: both t_deg and
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

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from models.curie_weiss import CurieWeiss
from models.sk import SherringtonKirkpatrick
from physics import franz_parisi as fp
from physics import montecarlo as mc
from physics import transitions as tr

DESCRIPTION = ("Franz–Parisi potentials: Yu–Huang 1-D V, V′, V″ and inflection window (μ = 1, σ² = 0.1); "
               "Curie–Weiss V(q; t) minima vs t_S = ½ ln Λ")
PARAMS = {
    "mu": (float, 1.0),
    "sigma2": (float, 0.1),  # variance of each mixture component (Yu & Huang's Fig. 11: 0.1)
    "gmm_times": (list, [0.42, 0.015, 0.01]),
    "q_max": (float, 4.0),
    "num_q": (int, 300),
    "gmm_check_q": (list, [0.08, 0.3, 1.0, 3.0]),
    "gmm_check_samples": (int, 100_000),
    "scan_t_min": (float, 5e-4),
    "scan_t_max": (float, 0.6),
    "num_scan": (int, 40),
    "scan_q_min": (float, 1e-4),
    "scan_q_max": (float, 8.0),
    "scan_num_q": (int, 384),
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
VARIABLES = {
    "gmm_inflection_q": ("inflection points of V (V'' = 0) at the Fig. 11 times; NaN beyond their number", "1"),
    "scan_inflection_q": ("inflection points of V (V'' = 0) along the t scan; NaN beyond their number", "1"),
    "window_t_lo": ("diffusion time where the additional pair of inflection points appears (V'' = V''' = 0)", "1"),
    "window_t_hi": ("diffusion time where the additional pair of inflection points disappears (V'' = V''' = 0)",
                    "1"),
    "gmm_check_d2v": ("V'' by Monte Carlo over (x0', x_t), independent of the quadrature", "1"),
}
#: Common overlap grid on which V(q; t) is stored (linear interpolation between the N + 1 overlaps, for the
#: figure and for combining sizes); minima and times are computed on the exact overlaps (2K − N)/N.
Q_SPIN = np.linspace(-1.0, 1.0, 257)


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    for name in ("num_q", "num_samples", "num_t", "num_scan", "scan_num_q", "gmm_check_samples"):
        if params[name] < 2:
            raise ValueError(f"[params] {name} must be >= 2, got {params[name]}")
    if np.min(params["n"]) < 2:
        raise ValueError(f"[params] n must be >= 2, got {params['n']}")
    if any(not t > 0 for t in params["gmm_times"]):
        raise ValueError(f"[params] gmm_times must be > 0, got {params['gmm_times']}")
    if not params["sigma2"] > 0 or params["mu"] < 0:
        raise ValueError(f"[params] sigma2 must be > 0 and mu >= 0, got {params['sigma2']}, {params['mu']}")
    if any(not q > 0 for q in params["gmm_check_q"]):
        raise ValueError(f"[params] gmm_check_q must be > 0, got {params['gmm_check_q']}")
    if not 0 < params["scan_t_min"] < params["scan_t_max"]:
        raise ValueError(f"[params] need 0 < scan_t_min < scan_t_max, got {params['scan_t_min']}, "
                         f"{params['scan_t_max']}")
    if not 0 < params["scan_q_min"] < params["scan_q_max"]:
        raise ValueError(f"[params] need 0 < scan_q_min < scan_q_max, got {params['scan_q_min']}, "
                         f"{params['scan_q_max']}")
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


@functools.lru_cache(maxsize=4)
def _gmm_quadrature(mu: float, sigma2: float, gmm_times: tuple, q_max: float, num_q: int, scan: tuple) -> dict:
    """The deterministic 1-D part (module docstring), computed once per process for the chunks of an n sweep."""
    sigma = math.sqrt(sigma2)
    q1 = np.linspace(q_max / num_q, q_max, num_q)
    gmm_t = np.array(gmm_times, float)
    v, v1, v2 = (np.stack(a) for a in zip(*[fp.gmm_franz_parisi_derivatives(q1, float(t), mu, sigma) for t in gmm_t]))
    t_lo, t_hi, num_scan, q_lo, q_hi, num_scan_q = scan
    found = fp.gmm_inflection_scan(gmm_t, mu, sigma, q_lo, q_hi, num_scan_q)
    scan_t = np.geomspace(t_lo, t_hi, num_scan)
    scan_found = fp.gmm_inflection_scan(scan_t, mu, sigma, q_lo, q_hi, num_scan_q)
    merges = sorted(fp.gmm_inflection_merges(scan_t, scan_found, mu, sigma), key=lambda m: m.t)
    width = max(3, max(f.size for f in found + scan_found))

    def padded(rows):
        out = np.full((len(rows), width), np.nan)
        for i, f in enumerate(rows):
            out[i, : f.size] = f
        return out

    edges = [(m.t, m.q, m.residual) for m in merges[:1]] + [(m.t, m.q, m.residual) for m in merges[1:][-1:]]
    edges += [(np.nan, np.nan, np.nan)] * (2 - len(edges))
    q_star = fp.gmm_small_t_inflection()
    return {
        "q_gmm": q1, "v": v, "v1": v1, "v2": v2,
        "count": np.array([f.size for f in found]), "inflection_q": padded(found),
        "scan_t": scan_t, "scan_count": np.array([f.size for f in scan_found]), "scan_q": padded(scan_found),
        "limit_q": q_star * np.expm1(2 * scan_t), "q_star": q_star, "num_merges": len(merges),
        "window": edges,
    }


def run(params: dict, key) -> xr.Dataset:
    # 1-D mixture
    mu, sigma2 = params["mu"], params["sigma2"]
    scan = (params["scan_t_min"], params["scan_t_max"], params["num_scan"], params["scan_q_min"],
            params["scan_q_max"], params["scan_num_q"])
    g = _gmm_quadrature(mu, sigma2, tuple(params["gmm_times"]), params["q_max"], params["num_q"], scan)
    gmm_t = np.array(params["gmm_times"], float)
    check_q = np.array(params["gmm_check_q"], float)
    check_v2, check_v2_err = [], []
    for i, t in enumerate(gmm_t):
        _, _, d2 = fp.gmm_franz_parisi_monte_carlo(jax.random.fold_in(key, 20_000 + i), check_q, float(t), mu,
                                                   math.sqrt(sigma2), params["gmm_check_samples"])
        check_v2.append(d2.value)
        check_v2_err.append(d2.error)
    check_quad = np.stack([fp.gmm_franz_parisi_derivatives(check_q, float(t), mu, math.sqrt(sigma2))[2] for t in gmm_t])
    (t_lo, q_lo, r_lo), (t_hi, q_hi, r_hi) = g["window"]
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
    neg, pos = np.nonzero(q < 0)[0], np.nonzero(q > 0)[0]
    i_neg, i_pos = neg[np.argmin(vals[:, neg], axis=1)], pos[np.argmin(vals[:, pos], axis=1)]
    rows = np.arange(times.size)
    gap = n * (vals[rows, i_neg] - vals[rows, i_pos])
    gap_err = n * (errs[rows, i_neg] + errs[rows, i_pos])  # sd(a − b) ≤ sd(a) + sd(b): the same samples give both
    mc_vars, mc_coords = ({}, {}) if not params["mc_n"] else _sk_quenched(params, jax.random.fold_in(key, 10_000),
                                                                            compute=params["mc_n"] == n)
    return xr.Dataset(
        {
            "gmm_v": (("gmm_time", "q_gmm"), g["v"]),
            "gmm_dv": (("gmm_time", "q_gmm"), g["v1"]),
            "gmm_d2v": (("gmm_time", "q_gmm"), g["v2"]),
            "gmm_inflections": (("gmm_time",), g["count"]),
            "gmm_inflection_q": (("gmm_time", "inflection"), g["inflection_q"]),
            "gmm_check_d2v": (("gmm_time", "gmm_check_q"), np.stack(check_v2)),
            "gmm_check_d2v_err": (("gmm_time", "gmm_check_q"), np.stack(check_v2_err)),
            "gmm_check_d2v_quadrature": (("gmm_time", "gmm_check_q"), check_quad),
            "gmm_check_max_z": ((), float(np.max(np.abs(np.stack(check_v2) - check_quad) / np.stack(check_v2_err)))),
            "scan_inflections": (("scan_time",), g["scan_count"]),
            "scan_inflection_q": (("scan_time", "inflection"), g["scan_q"]),
            "scan_limit_law_q": (("scan_time",), g["limit_q"]),
            "limit_law_q_prime": ((), g["q_star"]),
            "num_merges": ((), g["num_merges"]),
            "window_t_lo": ((), t_lo),
            "window_q_lo": ((), q_lo),
            "window_t_hi": ((), t_hi),
            "window_q_hi": ((), q_hi),
            "window_residual": ((), float(np.nanmax([r_lo, r_hi]))),
            "spin_v": (("time", "q_spin"), np.stack([np.interp(Q_SPIN, q, r) for r in vals])),
            "spin_v_err": (("time", "q_spin"), np.stack([np.interp(Q_SPIN, q, r) for r in errs])),
            "class_gap": (("time",), gap),
            "class_gap_err": (("time",), gap_err),
            "t_appear": ((), out.appear),
            "t_appear_resolution": ((), out.appear_resolution),
            "t_degenerate": ((), out.degenerate),
            "q_secondary": ((), out.q_secondary),
            "t_s": ((), tr.curie_weiss_speciation_time(target)),
            **mc_vars,
        },
        coords={"gmm_time": gmm_t, "q_gmm": g["q_gmm"], "gmm_check_q": check_q, "scan_time": g["scan_t"],
                "inflection": np.arange(g["inflection_q"].shape[1]), "time": times, "q_spin": Q_SPIN, **mc_coords},
    )


def _runs(ds):
    return (ds.stack(run=["n"]) if "n" in ds.t_s.dims else ds.expand_dims(run=[0])), "n" in ds.t_s.dims
