"""Fluctuation theorems and ensemble entropy rates of the forward (noising) and reverse (generative) diffusions.

Data: N(0, s0²) (target = "gaussian") or ½N(μ, σ²) + ½N(−μ, σ²) in 1-D (target = "mixture", Yu & Huang,
arXiv 2405.11932), both with p_t in closed form. Per schedule (one chunk):
  - IFT ⟨e^{−Σ}⟩ = 1 for forward and generative paths (exact score), for the discrete path log-ratio Σ_path
    (exact at any step) and the Stratonovich Σ (exact as Δt → 0), with standard errors and Kish ESS;
  - Crooks detailed FT: slope of ln[P_F(Σ)/P_B(−Σ)] against Σ (1 in theory) with its fit error;
  - ⟨Σ⟩ of forward paths against ∫ π dt from the quadrature of the current (equal in theory);
  - ensemble rates π(t), φ(t), dS/dt of the forward and reverse processes on a time grid, and the time where
    the reverse flux φ_R changes sign, next to t_S of Yu & Huang (reverse-SDE drift instability at x = 0).
See physics/path_entropy.py, fluctuation_theorems.py and entropy_rates.py for the definitions.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
import xarray as xr

from statphys.models.gaussian import Gaussian, GaussianMixture
from statphys.physics.entropy_rates import ensemble_rates_1d, reverse_flux_zero
from statphys.physics.fluctuation_theorems import crooks_fit, exponential_average
from statphys.physics.normal_draws import fold_in
from statphys.physics.path_entropy import forward_entropy, reverse_entropy
from statphys.physics import transitions as tr
from statphys.physics.schedules import make_schedule
from statphys.studies import progress

DESCRIPTION = "IFT / Crooks fluctuation theorems and entropy rates of forward and generative diffusion paths"
PARAMS = {
    "schedule": (str, "ou"),
    "target": (str, "mixture"),
    "mu": (float, 1.0),
    "sigma": (float, 1.0),
    "s0": (float, 2.0),
    "T": (float, 3.0),
    "t_min": (float, 1e-3),
    "num_trajectories": (int, 4096),
    "num_steps": (int, 200),
    "num_times": (int, 80),
}
SWEEP = ("schedule", "target")
ALLOWED_SCHEDULES = ("ou", "vp_linear", "cosine", "cond_ot")
_PATHS = {"forward": "forward (noising) paths t_min -> t_end",
          "reverse": "generative reverse-SDE paths t_end -> t_min (exact score)"}
_SIGMAS = {"path": ("<exp(-Sigma_path)>", "Sigma_path = Euler-Maruyama path ln P_F/P_B, 1 at any dt"),
           "stratonovich": ("<exp(-Sigma)>", "Sigma = Stratonovich (trapezoid) total entropy, 1 as dt -> 0")}
VARIABLES = {
    "schedule": ("noise schedule (alpha_t, sigma_t) of the forward and generative SDEs; t_end = 0.9 T for cosine and "
                 "cond_ot, else 0.999 T", "1"),
    "target": ("1-D data: 'mixture' 1/2 N(mu, sigma^2) + 1/2 N(-mu, sigma^2) or 'gaussian' N(0, s0^2)", "1"),
    "time": ("diffusion time t (t = 0: data) of the ensemble rates, uniform grid t_min .. t_end, num_times points",
             "1"),
    "time_index": ("index of the point of the time grid (t_end, hence the grid, depends on the schedule)", "1"),
    "crooks_slope": ("Crooks: slope of ln[P_F(Sigma)/P_B(-Sigma)] vs Sigma = Sigma_path of forward/backward paths "
                     "(1 in theory), weighted LSQ; NaN if < 3 full bins", "1"),
    "crooks_slope_err": ("fit error of crooks_slope from the Poisson counts of the bins, sqrt(1/n_F + 1/n_B) per bin; "
                         "NaN with crooks_slope", "1"),
    "integrated_rate": ("int pi dt over t_min .. t_end, Simpson's rule on the time grid of entropy_production (theory: "
                        "mean_sigma_forward as dt -> 0)", "nat"),
    "entropy_production": ("entropy production rate pi(t) = E|nu|^2/D, nu = f x - g^2/2 grad ln p_t, D = g^2/2 "
                           "(Simpson in x); pi_R = pi", "nat"),
    "flux_forward": ("medium entropy flux of the forward SDE phi(t) = E[f x nu]/D (Simpson quadrature in x), per unit "
                     "diffusion time", "nat"),
    "entropy_rate_forward": ("dS/dt = pi - phi, rate of the Shannon entropy of p_t along the forward SDE", "nat"),
    "flux_reverse": ("reverse medium entropy flux phi_R = E[A_R nu_R]/D, A_R = -f x + g^2 grad ln p_t, nu_R = -nu, per "
                     "unit generative time", "nat"),
    "entropy_rate_reverse": ("dS_R/dtau = pi - phi_R = -dS/dt, entropy rate of the generative process per unit "
                             "generative time", "nat"),
    "t_reverse_flux_zero": ("diffusion time where phi_R changes sign (brentq in the first sign change of the time "
                            "grid, smallest t); NaN if none on the grid", "1"),
    "t_speciation_drift": ("diffusion time where the reverse-SDE drift turns unstable at x = 0 (speciation, Yu & Huang "
                           "eq. 31 for the schedule); NaN for a Gaussian target", "1"),
}
for _name, _paths in _PATHS.items():
    for _form, _sigma in _SIGMAS.items():
        VARIABLES[f"ift_{_name}_{_form}"] = (f"IFT {_sigma[0]} over {_paths}; {_sigma[1]}", "1")
        VARIABLES[f"ift_{_name}_{_form}_err"] = (f"standard error std(w)/sqrt(num_trajectories) of "
                                                 f"ift_{_name}_{_form}, w = exp(-Sigma)", "1")
        VARIABLES[f"ess_{_name}_{_form}"] = (f"Kish effective sample size (sum w)^2/sum w^2 of w = exp(-Sigma) in "
                                             f"ift_{_name}_{_form}, out of num_trajectories", "1")
    VARIABLES[f"mean_sigma_{_name}"] = (f"<Sigma_path> over {_paths}; theory: int pi dt as dt -> 0", "nat")
    VARIABLES[f"mean_sigma_{_name}_err"] = (f"standard error std/sqrt(num_trajectories) of mean_sigma_{_name}", "nat")


def validate(params: dict) -> None:
    for schedule in np.atleast_1d(params["schedule"]):
        if schedule not in ALLOWED_SCHEDULES:
            raise ValueError(f"[params] schedule: {schedule!r} not supported here; allowed: {ALLOWED_SCHEDULES}")
        make_schedule(str(schedule), T=params["T"], t_min=params["t_min"])
    for target in np.atleast_1d(params["target"]):
        if target not in ("gaussian", "mixture"):
            raise ValueError(f"[params] target must be 'gaussian' or 'mixture', got {target!r}")
    for name in ("num_trajectories", "num_steps", "num_times"):
        if params[name] <= 1:
            raise ValueError(f"[params] {name} must be > 1, got {params[name]}")
    if params["sigma"] <= 0 or params["s0"] <= 0:
        raise ValueError("[params] sigma and s0 must be > 0 (p_0 needs a density for the system entropy)")


def _target(params):
    if params["target"] == "gaussian":
        return Gaussian(jnp.zeros(1), params["s0"] ** 2)
    return GaussianMixture.symmetric(params["mu"], params["sigma"], 1)


@jax.jit
def _totals(pe):
    """(Σ_path, Σ) of a `PathEntropy`, (batch,) each."""
    return pe.total_path, pe.total


def run(params: dict, key) -> xr.Dataset:
    target = _target(params)
    schedule = make_schedule(params["schedule"], T=params["T"], t_min=params["t_min"])
    # cosine and cond-OT have f = d ln α/dt → −∞ at T: stop at 0.9 T so that |f| Δt stays small.
    t_start, t_end = params["t_min"], params["T"] * (0.9 if params["schedule"] in ("cosine", "cond_ot") else 1 - 1e-3)
    kw = dict(num_trajectories=params["num_trajectories"], num_steps=params["num_steps"], t_start=t_start, t_end=t_end,
              ito_correction=False)
    work = progress.stages(["forward paths", "backward paths", "generative paths", "ensemble rates"])
    next(work)
    k_fwd, k_bwd, k_rev = (fold_in(key, i) for i in range(3))
    fwd = forward_entropy(k_fwd, target, schedule, **kw)
    next(work)
    bwd = forward_entropy(k_bwd, target, schedule, backward=True, **kw)
    next(work)
    rev = reverse_entropy(k_rev, target, schedule, num_trajectories=params["num_trajectories"],
                          num_steps=params["num_steps"], t_max=t_end, ito_correction=False)
    next(work)
    data = {}
    totals = {name: _totals(pe) for name, pe in (("forward", fwd), ("backward", bwd), ("reverse", rev))}
    for name in ("forward", "reverse"):
        for form, sigma in zip(("path", "stratonovich"), totals[name]):
            avg = exponential_average(sigma)
            data[f"ift_{name}_{form}"] = avg.mean
            data[f"ift_{name}_{form}_err"] = avg.stderr
            data[f"ess_{name}_{form}"] = avg.ess
        s = np.asarray(totals[name][0])
        data[f"mean_sigma_{name}"] = float(s.mean())
        data[f"mean_sigma_{name}_err"] = float(s.std(ddof=1) / np.sqrt(s.size))
    num = params["num_trajectories"]
    try:  # too few paths in the overlap of P_F(Σ) and P_B(−Σ) leaves the slope undetermined: NaN, not a guess
        fit = crooks_fit(totals["forward"][0], totals["backward"][0], num_bins=int(np.clip(num // 64, 8, 30)),
                         min_count=max(5, num // 500))
        data.update(crooks_slope=fit.slope, crooks_slope_err=fit.slope_err)
    except ValueError:
        data.update(crooks_slope=np.nan, crooks_slope_err=np.nan)

    x_max = 12.0 * max(1.0, params["s0"], params["mu"] + params["sigma"])
    times = np.linspace(t_start, t_end, params["num_times"])
    rates = ensemble_rates_1d(target, schedule, times, x_max=x_max)
    data["integrated_rate"] = float(scipy.integrate.simpson(rates.entropy_production, x=times))
    next(work, None)
    flux = rates.flux_reverse
    change = np.nonzero(np.diff(np.sign(flux)))[0]
    t_flux = (reverse_flux_zero(target, schedule, float(times[change[0]]), float(times[change[0] + 1]))
              if change.size else np.nan)
    ds = xr.Dataset(
        {k: ((), v) for k, v in data.items()}
        | {
            "entropy_production": (("time",), rates.entropy_production),
            "flux_forward": (("time",), rates.flux_forward),
            "entropy_rate_forward": (("time",), rates.entropy_rate_forward),
            "flux_reverse": (("time",), rates.flux_reverse),
            "entropy_rate_reverse": (("time",), rates.entropy_rate_reverse),
            "t_reverse_flux_zero": ((), t_flux),
        },
        coords={"time": times},
    )
    t_drift = np.nan  # a Gaussian target has no symmetry to break
    if params["target"] == "mixture":
        t_drift = tr.gmm_drift_instability_time(schedule, params["mu"], params["sigma"])
    ds["t_speciation_drift"] = ((), t_drift, {
        "long_name": "diffusion time where the reverse-SDE drift turns unstable at x = 0 (speciation, Yu & Huang "
                     "eq. 31 generalised to the schedule); NaN for a Gaussian target (no symmetry breaking)"})
    return ds
