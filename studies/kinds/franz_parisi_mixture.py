"""Franz–Parisi potential of a 1-D Gaussian mixture (Yu & Huang, arXiv 2405.11932, Sec. V and Fig. 11).

Question: where does the potential V(q, t) of ½N(μ, σ²) + ½N(−μ, σ²) have additional inflection points (V″ = 0,
Yu & Huang's criterion for the glass-like regime), and is that a window of diffusion time or a regime that
persists as t → 0? Their Fig. 11 is at μ = 1, σ² = 0.1.

V, V′, V″ (quadrature, physics.franz_parisi_mixture) in the squared distance q = (x₀ − x₀′)² to a reference x₀′ drawn
from the posterior P(x₀′ | x_t), at ``gmm_times`` (their t = 0.42, 0.015, 0.01), with every inflection point; V″ checked
at ``gmm_check_q`` against an independent Monte-Carlo estimate (``gmm_check_samples`` draws of (x₀′, x_t)); a scan of
the diffusion time t (geometric, ``scan_t_min`` .. ``scan_t_max``) counting the inflection points on [scan_q_min,
scan_q_max], and the times where a pair of them is born or annihilates (V″ = V‴ = 0): the window of t in which V has
additional inflection points. The small-t limit-law inflection q = q′* Δ_t/a² (q′* ≈ 8.26) is stored along the scan for
comparison.

The number of inflection points differs from time to time, so they are stored flat, without padding: along
``gmm_inflection`` (and ``scan_inflection``) every point in the order of the times and, at one time, of q, with the
coordinates ``gmm_inflection_time`` (the time it belongs to) and ``gmm_inflection_rank`` (0, 1, … in increasing q at
that time); ``gmm_inflections`` (``scan_inflections``) is the count per time.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import xarray as xr

from statphys.physics.franz_parisi_mixture import (
    gmm_franz_parisi_derivatives,
    gmm_franz_parisi_monte_carlo,
    gmm_inflection_merges,
    gmm_inflection_scan,
    gmm_small_t_inflection,
)

DESCRIPTION = "Franz–Parisi potential of the 1-D mixture ½N(±μ, σ²): Yu–Huang Fig. 11 and the inflection window"
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
}
SWEEP = ()
_UNDEFINED = "; NaN when the scan finds no such merge (no window)"
VARIABLES = {
    "gmm_v": ("Franz-Parisi potential V(q, t) by quadrature at the Fig. 11 times", "1"),
    "gmm_dv": ("dV/dq by quadrature at the Fig. 11 times", "1"),
    "gmm_d2v": ("d2V/dq2 by quadrature at the Fig. 11 times", "1"),
    "gmm_inflections": ("number of inflection points of V (V'' = 0) at each Fig. 11 time", "1"),
    "gmm_inflection_q": ("inflection points of V (V'' = 0) at the Fig. 11 times, all times in one list", "1"),
    "gmm_inflection_time": ("Fig. 11 time of each inflection point", "1"),
    "gmm_inflection_rank": ("order of the inflection point in q at its time (0: smallest q)", "1"),
    "gmm_check_d2v": ("V'' by Monte Carlo over (x0', x_t), independent of the quadrature", "1"),
    "gmm_check_d2v_err": ("standard error of the Monte-Carlo V''", "1"),
    "gmm_check_d2v_quadrature": ("V'' by quadrature at the Monte-Carlo check points", "1"),
    "gmm_check_max_z": ("largest |Monte Carlo - quadrature| / standard error of V'' over times and check points", "1"),
    "scan_inflections": ("number of inflection points of V (V'' = 0) along the t scan", "1"),
    "scan_inflection_q": ("inflection points of V (V'' = 0) along the t scan, all times in one list", "1"),
    "scan_inflection_time": ("scan time of each inflection point", "1"),
    "scan_inflection_rank": ("order of the inflection point in q at its time (0: smallest q)", "1"),
    "scan_limit_law_q": ("inflection point of the small-t limit law, q'* Delta_t / a^2", "1"),
    "limit_law_q_prime": ("inflection point q'* of the small-t limit law in q' = a^2 q / Delta_t", "1"),
    "num_merges": ("number of times along the scan where a pair of inflection points is born or annihilates", "1"),
    "window_t_lo": ("diffusion time where the additional pair of inflection points appears (V'' = V''' = 0)"
                    + _UNDEFINED, "1"),
    "window_q_lo": ("q where the additional pair of inflection points appears" + _UNDEFINED, "1"),
    "window_t_hi": ("diffusion time where the additional pair of inflection points disappears (V'' = V''' = 0)"
                    + _UNDEFINED, "1"),
    "window_q_hi": ("q where the additional pair of inflection points disappears" + _UNDEFINED, "1"),
    "window_residual": ("largest max(|V''|, |V'''|) at the window edges; NaN when there is no window", "1"),
    "gmm_time": ("diffusion time t of Yu & Huang's Fig. 11 (OU: a = exp(-t), Delta_t = 1 - exp(-2t))", "1"),
    "q_gmm": ("squared distance q = (x0 - x0')^2 to the posterior reference", "1"),
    "gmm_check_q": ("q of the Monte-Carlo check of V''", "1"),
    "scan_time": ("diffusion time t of the scan (geometric grid)", "1"),
}


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    for name in ("num_q", "num_scan", "scan_num_q", "gmm_check_samples"):
        if params[name] < 2:
            raise ValueError(f"[params] {name} must be >= 2, got {params[name]}")
    if not params["gmm_times"] or any(not t > 0 for t in params["gmm_times"]):
        raise ValueError(f"[params] gmm_times must be a non-empty list of t > 0, got {params['gmm_times']}")
    if not params["sigma2"] > 0 or params["mu"] < 0:
        raise ValueError(f"[params] sigma2 must be > 0 and mu >= 0, got {params['sigma2']}, {params['mu']}")
    if not params["gmm_check_q"] or any(not q > 0 for q in params["gmm_check_q"]):
        raise ValueError(f"[params] gmm_check_q must be a non-empty list of q > 0, got {params['gmm_check_q']}")
    if not 0 < params["scan_t_min"] < params["scan_t_max"]:
        raise ValueError(f"[params] need 0 < scan_t_min < scan_t_max, got {params['scan_t_min']}, "
                         f"{params['scan_t_max']}")
    if not 0 < params["scan_q_min"] < params["scan_q_max"]:
        raise ValueError(f"[params] need 0 < scan_q_min < scan_q_max, got {params['scan_q_min']}, "
                         f"{params['scan_q_max']}")
    if not params["q_max"] > 0:
        raise ValueError(f"[params] q_max must be > 0, got {params['q_max']}")


def _flat(prefix: str, times: np.ndarray, found: list[np.ndarray]) -> tuple[dict, dict]:
    """Ragged inflection points as one flat list (module docstring): the variable, the count per time, and the
    coordinates naming each point's time and rank."""
    dim = f"{prefix}_inflection"
    return ({f"{prefix}_inflection_q": ((dim,), np.concatenate([np.asarray(f, float) for f in found]))},
            {f"{prefix}_inflection_time": ((dim,), np.repeat(times, [f.size for f in found])),
             f"{prefix}_inflection_rank": ((dim,), np.concatenate([np.arange(f.size) for f in found]))})


def run(params: dict, key) -> xr.Dataset:
    mu, sigma2 = params["mu"], params["sigma2"]
    sigma = math.sqrt(sigma2)
    q1 = np.linspace(params["q_max"] / params["num_q"], params["q_max"], params["num_q"])
    gmm_t = np.array(params["gmm_times"], float)
    v, v1, v2 = (np.stack(a) for a in zip(*[gmm_franz_parisi_derivatives(q1, float(t), mu, sigma) for t in gmm_t]))
    q_lo, q_hi, num_scan_q = params["scan_q_min"], params["scan_q_max"], params["scan_num_q"]
    found = gmm_inflection_scan(gmm_t, mu, sigma, q_lo, q_hi, num_scan_q)
    scan_t = np.geomspace(params["scan_t_min"], params["scan_t_max"], params["num_scan"])
    scan_found = gmm_inflection_scan(scan_t, mu, sigma, q_lo, q_hi, num_scan_q)
    merges = sorted(gmm_inflection_merges(scan_t, scan_found, mu, sigma), key=lambda m: m.t)
    edges = [(m.t, m.q, m.residual) for m in merges[:1]] + [(m.t, m.q, m.residual) for m in merges[1:][-1:]]
    edges += [(np.nan, np.nan, np.nan)] * (2 - len(edges))
    (t_lo, q_lo_edge, r_lo), (t_hi, q_hi_edge, r_hi) = edges
    q_star = gmm_small_t_inflection()

    check_q = np.array(params["gmm_check_q"], float)
    check_v2, check_v2_err = [], []
    for i, t in enumerate(gmm_t):
        _, _, d2 = gmm_franz_parisi_monte_carlo(jax.random.fold_in(key, 20_000 + i), check_q, float(t), mu, sigma,
                                                params["gmm_check_samples"])
        check_v2.append(d2.value)
        check_v2_err.append(d2.error)
    check_v2, check_v2_err = np.stack(check_v2), np.stack(check_v2_err)
    check_quad = np.stack([gmm_franz_parisi_derivatives(check_q, float(t), mu, sigma)[2] for t in gmm_t])

    gmm_vars, gmm_coords = _flat("gmm", gmm_t, found)
    scan_vars, scan_coords = _flat("scan", scan_t, scan_found)
    residuals = [r for r in (r_lo, r_hi) if np.isfinite(r)]
    return xr.Dataset(
        {
            "gmm_v": (("gmm_time", "q_gmm"), v),
            "gmm_dv": (("gmm_time", "q_gmm"), v1),
            "gmm_d2v": (("gmm_time", "q_gmm"), v2),
            "gmm_inflections": (("gmm_time",), np.array([f.size for f in found])),
            **gmm_vars,
            "gmm_check_d2v": (("gmm_time", "gmm_check_q"), check_v2),
            "gmm_check_d2v_err": (("gmm_time", "gmm_check_q"), check_v2_err),
            "gmm_check_d2v_quadrature": (("gmm_time", "gmm_check_q"), check_quad),
            "gmm_check_max_z": ((), float(np.max(np.abs(check_v2 - check_quad) / check_v2_err))),
            "scan_inflections": (("scan_time",), np.array([f.size for f in scan_found])),
            **scan_vars,
            "scan_limit_law_q": (("scan_time",), q_star * np.expm1(2 * scan_t)),
            "limit_law_q_prime": ((), q_star),
            "num_merges": ((), len(merges)),
            "window_t_lo": ((), t_lo),
            "window_q_lo": ((), q_lo_edge),
            "window_t_hi": ((), t_hi),
            "window_q_hi": ((), q_hi_edge),
            "window_residual": ((), float(max(residuals)) if residuals else np.nan),
        },
        coords={"gmm_time": gmm_t, "q_gmm": q1, "gmm_check_q": check_q, "scan_time": scan_t, **gmm_coords,
                **scan_coords},
    )
