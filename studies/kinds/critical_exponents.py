"""Finite-size scaling of m, χ, U₄ for Curie–Weiss: equilibrium in β (t = 0) and along the generative trajectory.

Both parts go through the same code path (physics.scaling): samples of a magnetisation → bootstrap moments
(⟨m²⟩, χ = N Var m, U₄ = 1 − ⟨m⁴⟩/(3⟨m²⟩²)) → emcee data collapse y(c, N) = N^{−b} F((c − c_c) Nᵃ) (median and
68% interval) → Binder crossing.

* Equilibrium calibration: m drawn from the exact law P(m) (CurieWeiss.magnetization_law), control c = β.
  Mean field (Botet, Jullien & Pfeuty 1982): c_c = β_c = 1, a = 1/ν̄ = ½, b = β/ν̄ = ¼ for m = ⟨m²⟩^{1/2},
  b = −γ/ν̄ = −½ for χ, U₄ crossing → 0.2705.
* Generative trajectory at fixed β (default the critical β = 1): m_D(t) = (1/N) Σᵢ E[sᵢ | x_t], x_t from the
  exact forward law (its joint law with the end point is that of an exact reverse trajectory,
  physics.transitions.forward_path). Control c = λ = α²/σ² = e^{−2t}/(1 − e^{−2t}), the signal-to-noise ratio
  per spin (t = ½ ln(1 + 1/λ)). The posterior magnetisation feels a field h ~ λ m₀ + √(λ/N) g; at β = 1 the
  relevant field scale is h ~ N^{−3/4} and m₀ ~ N^{−1/4}, so λ ~ N^{−1/2}: the critical time is t_c = ∞
  (λ_c = 0), a_λ = ½, and at fixed λN^{1/2} the amplitudes scale as at equilibrium, b = β/ν̄ = ¼ for m and
  −γ/ν̄ = −½ for χ. Hence t_S ≈ ¼ ln N + const (t_S = ½ ln N⟨m²⟩ with ⟨m²⟩ ∝ N^{−½} at β = 1). U₄(λ, N) = G(λ N^{1/2}) rises from 0 (Gaussian
  denoiser at high noise) to the critical value 0.2705 at t → 0: the curves of different N are shifted, not
  crossing, so the trajectory's Binder "crossing" is at the edge λ_c = 0 and U₄* is read at the largest λN^{1/2}.
  Exponents from the trajectory: β = b_m ν̄, γ = −b_χ ν̄ with ν̄ = 1/a from the equilibrium calibration.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from statphys.models.curie_weiss import CurieWeiss
from statphys.physics import scaling as sc
from statphys.physics import transitions as tr
from statphys.physics.schedules import make_schedule

DESCRIPTION = "Curie–Weiss finite-size scaling of m, χ, U4: equilibrium in β and along the generative trajectory"
PARAMS = {
    "sizes": (list, [64, 128, 256, 512, 1024]),
    "beta": (float, 1.0),
    "beta_window": (float, 0.1),
    "num_betas": (int, 21),
    "eq_samples": (int, 20000),
    "batch": (int, 1024),
    "lambda_min": (float, 0.003),
    "lambda_max": (float, 1.0),
    "num_lambdas": (int, 14),
    "bootstrap": (int, 100),
    "emcee_steps": (int, 800),
}
SWEEP = ()
_EQ = "in equilibrium, over eq_samples exact draws of m from the Curie-Weiss law P(m)"
_TRAJ = "of m_D = sum_i E[s_i|x_t]/N over batch exact forward paths at trajectory_beta"
VARIABLES = {
    "n": ("number of spins N", "1"),
    "beta": ("inverse temperature beta of the equilibrium calibration (grid 1 +- beta_window)", "1"),
    "lam": ("signal-to-noise ratio lambda = alpha^2/sigma^2 of the OU process (geometric grid lambda_min..lambda_max)",
            "1"),
    "time": ("diffusion time t = ln(1 + 1/lambda)/2 of each lambda (OU: alpha = exp(-t), sigma^2 = 1 - exp(-2t))", "1"),
    "eq_m2": ("<m^2> " + _EQ, "1"),
    "eq_chi": ("chi = N(<m^2> - <m>^2) " + _EQ, "1"),
    "eq_binder": ("U4 = 1 - <m^4>/(3<m^2>^2) " + _EQ, "1"),
    "traj_m2": ("<m_D^2> " + _TRAJ, "1"),
    "traj_chi": ("chi = N(<m_D^2> - <m_D>^2) " + _TRAJ, "1"),
    "traj_binder": ("U4 = 1 - <m_D^4>/(3<m_D^2>^2) " + _TRAJ, "1"),
    "eq_binder_crossing_beta": ("beta where eq_binder of the smallest and largest N cross (first sign change, linear "
                                "interpolation; NaN if none in the beta grid)", "1"),
    "eq_binder_crossing_beta_err": ("parametric-bootstrap standard error of eq_binder_crossing_beta (U4 curves redrawn "
                                    "within their errors; NaN if < 2 redraws cross)", "1"),
    "eq_binder_crossing_u4": ("eq_binder of the smallest N at eq_binder_crossing_beta (NaN if no crossing; large-N "
                              "mean field: 0.2705)", "1"),
    "eq_binder_crossing_u4_err": ("parametric-bootstrap standard error of eq_binder_crossing_u4 (NaN if < 2 redraws "
                                  "cross)", "1"),
    "eq_beta_exp": ("exponent beta = eq_b_m/eq_a from the medians of the equilibrium collapse of <m^2>^(1/2) (mean "
                    "field: 1/2)", "1"),
    "eq_gamma_exp": ("exponent gamma = -eq_b_chi/eq_a_chi from the medians of the equilibrium collapse of chi (mean "
                     "field: 1)", "1"),
    "traj_beta_exp": ("exponent beta = traj_b_m nu-bar, nu-bar = 1/eq_a from the equilibrium calibration (mean field: "
                      "1/2)", "1"),
    "traj_gamma_exp": ("exponent gamma = -traj_b_chi nu-bar, nu-bar = 1/eq_a from the equilibrium calibration (mean "
                       "field: 1)", "1"),
    "traj_u4_end": ("traj_binder at the largest N and the largest lambda (lambda_max, smallest t); -> 0.2705 as t -> 0 "
                    "at beta = 1", "1"),
    "traj_u4_end_err": ("bootstrap standard error of traj_u4_end (resampling the paths)", "1"),
    "trajectory_beta": ("inverse temperature of the Curie-Weiss target of the generative trajectory", "1"),
}
for _name in ("eq_m2", "eq_chi", "eq_binder"):
    VARIABLES[f"{_name}_err"] = (f"bootstrap standard error of {_name} (resampling the eq_samples draws)", "1")
for _name in ("traj_m2", "traj_chi", "traj_binder"):
    VARIABLES[f"{_name}_err"] = (f"bootstrap standard error of {_name} (resampling the batch paths)", "1")
VARIABLES.update(sc.order_parameter_collapse_descriptions(
    "eq", "<m^2>^(1/2) (equilibrium)", "chi (equilibrium)", "beta", "beta_c", "1"))
VARIABLES.update(sc.order_parameter_collapse_descriptions(
    "traj", "<m_D^2>^(1/2) (trajectory)", "chi (trajectory)", "lambda", "lambda_c", "0"))


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    sizes = params["sizes"]
    if len(sizes) < 2 or any(not isinstance(n, int) or n < 2 for n in sizes) or sorted(set(sizes)) != list(sizes):
        raise ValueError(f"[params] sizes must be >= 2 increasing distinct integers (>= 2 of them), got {sizes}")
    for name in ("num_betas", "eq_samples", "batch", "num_lambdas", "bootstrap", "emcee_steps"):
        if params[name] < 2:
            raise ValueError(f"[params] {name} must be >= 2, got {params[name]}")
    if params["beta"] < 0:
        raise ValueError(f"[params] beta must be >= 0, got {params['beta']}")
    if not 0 < params["beta_window"] < 1:
        raise ValueError(f"[params] beta_window must be in (0, 1), got {params['beta_window']}")
    if not 0 < params["lambda_min"] < params["lambda_max"]:
        raise ValueError(f"[params] lambda_min must satisfy 0 < lambda_min < lambda_max, got {params['lambda_min']}")


def run(params: dict, key) -> xr.Dataset:
    sizes = np.array(params["sizes"])
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel()[-1])
    steps, boot = params["emcee_steps"], params["bootstrap"]

    # equilibrium calibration, exact P(m)
    betas = 1.0 + params["beta_window"] * np.linspace(-1, 1, params["num_betas"])
    eq = []
    for n in sizes:
        draws = []
        for b in betas:
            m, p = CurieWeiss(int(n), float(b)).magnetization_law()
            draws.append(rng.choice(m, size=params["eq_samples"], p=p))
        eq.append(sc.moments(np.stack(draws), int(n), seed=int(n), num_resamples=boot))
    eq_stats = sc.stack_estimates(eq)
    w = params["beta_window"]
    eq_fit = sc.fit_order_parameter_collapse(betas, sizes, eq_stats, ((1.0, 0.5, 0.25), (1.0, 0.5, -0.5)),
                  (((1 - w, 1 + w), (0.1, 1.0), (0.0, 0.6)), ((1 - w, 1 + w), (0.1, 1.0), (-1.0, 0.0))), steps, 0)
    u = {n: sc.Estimate(eq_stats["binder"][0][i], eq_stats["binder"][1][i]) for i, n in enumerate(sizes)}
    beta_x, u_x = sc.binder_crossing_estimate(betas, u[sizes[0]], u[sizes[-1]])

    # generative trajectory at fixed beta, exact forward law
    lambdas = np.geomspace(params["lambda_min"], params["lambda_max"], params["num_lambdas"])
    times = 0.5 * np.log1p(1 / lambdas)  # decreasing
    schedule = make_schedule("ou")
    traj = []
    for i, n in enumerate(sizes):
        target = CurieWeiss(int(n), params["beta"])
        m_d = tr.forward_denoiser_magnetization(jax.random.fold_in(key, i), target, schedule,
                                                jnp.asarray(times[::-1]), params["batch"])
        traj.append(sc.moments(np.asarray(m_d)[::-1], int(n), seed=int(n), num_resamples=boot))
    tr_stats = sc.stack_estimates(traj)
    lam_bound = 10 * params["lambda_min"]
    tr_fit = sc.fit_order_parameter_collapse(lambdas, sizes, tr_stats, ((0.0, 0.5, 0.25), (0.0, 0.5, -0.5)),
                  (((-lam_bound, lam_bound), (0.1, 1.0), (0.0, 0.6)), ((-lam_bound, lam_bound), (0.1, 1.0), (-1.0, 0.0))),
                  steps, 1)
    nu_bar = 1 / eq_fit["a"][0]

    data = {}
    for prefix, stats, dim in (("eq", eq_stats, "beta"), ("traj", tr_stats, "lam")):
        for k, (v, e) in stats.items():
            data[f"{prefix}_{k}"] = (("n", dim), v)
            data[f"{prefix}_{k}_err"] = (("n", dim), e)
    for prefix, fit in (("eq", eq_fit), ("traj", tr_fit)):
        for k, (med, lo, hi) in fit.items():
            data[f"{prefix}_{k}"] = ((), med)
            data[f"{prefix}_{k}_lo"] = ((), lo)
            data[f"{prefix}_{k}_hi"] = ((), hi)
    data.update({
        "eq_binder_crossing_beta": ((), float(beta_x.value)), "eq_binder_crossing_beta_err": ((), float(beta_x.error)),
        "eq_binder_crossing_u4": ((), float(u_x.value)), "eq_binder_crossing_u4_err": ((), float(u_x.error)),
        "eq_beta_exp": ((), eq_fit["b_m"][0] / eq_fit["a"][0]),
        "eq_gamma_exp": ((), -eq_fit["b_chi"][0] / eq_fit["a_chi"][0]),
        "traj_beta_exp": ((), tr_fit["b_m"][0] * nu_bar),
        "traj_gamma_exp": ((), -tr_fit["b_chi"][0] * nu_bar),
        "traj_u4_end": ((), float(tr_stats["binder"][0][-1, -1])),
        "traj_u4_end_err": ((), float(tr_stats["binder"][1][-1, -1])),
        "trajectory_beta": ((), params["beta"]),
    })
    return xr.Dataset(data, coords={"n": sizes, "beta": betas, "lam": lambdas, "time": (("lam",), times)},
                      attrs={"control_trajectory": "lambda = alpha^2/sigma^2"})
