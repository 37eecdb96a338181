"""Speed–accuracy relations (Ikeda et al., arXiv 2407.04495, eqs. 77, 80–83) on a 1-D symmetric Gaussian mixture.

For each schedule (cosine, cond-OT, the W₂ geodesic "ot") and a perturbed start N(shift, scale²):
η = (ΔW₁)²/(τ D₀) ≤ c₁ = ∫₀^τ v_loss² dt ≤ c₂ = ∫₀^τ v₂² dt = ∫ T_t Ṡ_tot dt, v_loss = |∂_t W₁|/√D₀
(definitions: physics/speed_accuracy.py), and the path-length bound (∫ v₂ dt)²/τ ≥ η, which is not c₁.
All exact quadrature. ΔW₁ by the monotone map (exact in 1-D) and from samples (scipy.stats.wasserstein_distance,
with the Bobkov–Ledoux error scale); eta_flow: η from ΔW₁ = −∫ ∂_t W₁ dt along each schedule's own flow.
Curves (dims schedule × time, forward time t; generation runs from t = τ to 0): v_loss(t)² ≤ v₂(t)² (eq. 80).

target = "curie_weiss": the same check for models.CurieWeiss(cw_n, cw_beta) with the exact denoiser, PF ODE
(RK4) from N(0, I) and from N(shift·1/√N, scale² I); W₁ on the projection 1·x/√N; c₁, c₂ and the path-length
bound by Monte Carlo over trajectories, with standard errors (c₁: batch means over 10 groups); curves on the
RK4 grid (dims schedule × step, forward time in variable t). Schedules cosine and cond-OT only (the W₂
geodesic to 2^N atoms has no closed form; "ot" is dropped). mu, sigma, num_samples, num_nodes, num_times are
unused there.
"""

from __future__ import annotations

import numpy as np
import xarray as xr

from statphys.models.gaussian import GaussianMixture
from statphys.physics import speed_accuracy as sa
from statphys.physics import speed_accuracy_spins as sas

DESCRIPTION = "Speed–accuracy bound (ΔW1)²/(τ D0) ≤ ∫ v_loss² dt ≤ ∫ T dS_tot: η ≤ c1 ≤ c2 per schedule"
PARAMS = {
    "schedules": (list, ["cosine", "cond_ot", "ot"]),
    "mu": (float, 1.0),
    "sigma": (float, 1.0),
    "tau": (float, 1.0),
    "shift": (float, 1.0),
    "scale": (float, 1.0),
    "num_samples": (int, 20000),
    "num_nodes": (int, 64),
    "num_times": (int, 64),
    "target": (str, "mixture"),
    "cw_n": (int, 8),
    "cw_beta": (float, 1.2),
    "num_traj": (int, 2000),
    "num_steps": (int, 100),
}
TARGETS = ("mixture", "curie_weiss")
SWEEP = ("shift", "mu", "cw_n", "cw_beta")


def validate(params: dict) -> None:
    for name in params["schedules"]:
        if name not in sa.INTERPOLATIONS:
            raise ValueError(f"[params] schedules: unknown schedule {name!r}; allowed: {sa.INTERPOLATIONS}")
    if np.min(params["shift"]) < 0 or np.min(params["mu"]) <= 0:
        raise ValueError(f"[params] shift must be >= 0 and mu > 0, got {params['shift']}, {params['mu']}")
    if params["tau"] <= 0:
        raise ValueError(f"[params] tau must be > 0, got {params['tau']}")
    if not 0 < params["scale"] < np.sqrt(2):
        raise ValueError(f"[params] scale must be in (0, √2) for a finite Pearson χ², got {params['scale']}")
    if params["sigma"] <= 0:
        raise ValueError(f"[params] sigma must be > 0, got {params['sigma']}")
    if params["target"] not in TARGETS:
        raise ValueError(f"[params] target must be one of {TARGETS}, got {params['target']!r}")
    if params["target"] == "curie_weiss" and not any(n in sas.CW_INTERPOLATIONS for n in params["schedules"]):
        raise ValueError(f"[params] schedules: curie_weiss needs one of {sas.CW_INTERPOLATIONS}")
    if np.min(params["cw_beta"]) < 0:
        raise ValueError(f"[params] cw_beta must be >= 0, got {params['cw_beta']}")
    for name in ("num_samples", "num_nodes", "num_times", "cw_n", "num_traj", "num_steps"):
        if np.min(params[name]) <= 1:
            raise ValueError(f"[params] {name} must be > 1, got {params[name]}")


def _run_curie_weiss(params: dict, key) -> xr.Dataset:
    from statphys.models.curie_weiss import CurieWeiss

    names = [n for n in params["schedules"] if n in sas.CW_INTERPOLATIONS]
    r = sas.curie_weiss_speed_accuracy(key, CurieWeiss(params["cw_n"], params["cw_beta"]), params["tau"],
                                      params["shift"], params["scale"], schedules=names,
                                      num_traj=params["num_traj"], num_steps=params["num_steps"])
    k = len(names)
    curve = ("schedule", "step")
    return xr.Dataset(
        {
            "eta": (("schedule",), np.full(k, r.eta)),
            "eta_err": (("schedule",), np.full(k, r.eta_err)),
            "c1": (("schedule",), r.c1),
            "c1_err": (("schedule",), r.c1_err),
            "c2": (("schedule",), r.c2),
            "c2_err": (("schedule",), r.c2_err),
            "path_length_bound": (("schedule",), r.path_length_bound),
            "path_length_bound_err": (("schedule",), r.path_length_bound_err),
            "delta_w1": ((), r.delta_w1),
            "delta_w1_err": ((), r.delta_w1_err),
            "w1_true_start": ((), r.w1_true_start),
            "d0": ((), r.d0),
            "t": (curve, r.t),
            "w1_t": (curve, r.w1),
            "v_loss_sq": (curve, r.v_loss_sq),
            "v_loss_sq_err": (curve, r.v_loss_sq_err),
            "v2_sq": (curve, r.v2_sq),
            "v2_sq_err": (curve, r.v2_sq_err),
        },
        coords={"schedule": names, "step": np.arange(r.t.shape[1])},
        attrs={"target": "curie_weiss"},
    )


def run(params: dict, key) -> xr.Dataset:
    if params["target"] == "curie_weiss":
        return _run_curie_weiss(params, key)
    target = GaussianMixture.symmetric(params["mu"], params["sigma"], 1)
    rows = [sa.speed_accuracy(target, name, params["tau"], params["shift"], params["scale"], num_nodes=params["num_nodes"])
            for name in params["schedules"]]
    dw1_s, dw1_s_err = sa.w1_error_growth_samples(key, target, params["shift"], params["scale"], params["num_samples"])
    curves = [sa.instantaneous_curves(target, name, params["tau"], params["shift"], params["scale"],
                                      num_times=params["num_times"]) for name in params["schedules"]]
    return xr.Dataset(
        {
            "eta": (("schedule",), [r.eta for r in rows]),
            "c1": (("schedule",), [r.c1 for r in rows]),
            "c2": (("schedule",), [r.c2 for r in rows]),
            "path_length_bound": (("schedule",), [r.path_length_bound for r in rows]),
            "eta_flow": (("schedule",), [r.eta_flow for r in rows]),
            "delta_w1": ((), rows[0].delta_w1),
            "delta_w1_samples": ((), dw1_s),
            "delta_w1_samples_err": ((), dw1_s_err),
            "d0": ((), rows[0].d0),
            "w2_geodesic": ((), sa.wasserstein2_to_normal(target)),
            "v_loss_sq": (("schedule", "time"), [c["v_loss_sq"] for c in curves]),
            "v2_sq": (("schedule", "time"), [c["v2_sq"] for c in curves]),
            "w1_t": (("schedule", "time"), [c["w1"] for c in curves]),
        },
        coords={"schedule": list(params["schedules"]), "time": curves[0]["time"]},
        attrs={"target": "mixture"},
    )
