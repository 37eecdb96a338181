"""Study: error of the generated law against the number of steps for every sampler, with the exact score.

Gaussian target: √KL(generated ‖ exact) in closed form (exact moment propagation, `physics.convergence`),
a deterministic number. Its dependence on the number of steps is given by secant slopes between successive
numbers of steps, located at their geometric mean `num_steps_mid`, with no error bar:

    decay_exponent = −d ln √KL / d ln T          (T: number of steps; N for continuous-time samplers)
    order          = d ln √KL / d ln h           (h: step size, `physics.convergence.step_size`)

Li et al.'s discrete samplers (arXiv 2306.09251, 2403.03852) run on their schedule (eq. 5 of 2306.09251), whose
step h = c₁ ln T / T, so a scheme of order q gives √KL ∝ (ln T / T)^q and decay_exponent = q (1 − 1/ln T) → q.
Their published TV bounds ∝ T^{−p} up to log factors (p = `bound_exponent`) are upper bounds: a decay at
least as fast as the bound's shape T^{−p} lnᵏT (local exponent p − k/ln T) is consistency, not confirmation.

Curie–Weiss target: TV of the magnetisation law minus the finite-sample floor, mean and standard error over
seeds; the rate p of err ∝ x^{−p} is fitted by weighted least squares with x = T/ln T for Li et al.'s samplers
and x = N otherwise (`rate_variable`).
"""

from __future__ import annotations

import jax
import numpy as np
import xarray as xr

from statphys.models.curie_weiss import CurieWeiss
from statphys.models.gaussian import Gaussian
from statphys.physics.convergence import (
    ORDER,
    bound_exponent,
    check_sampler,
    curie_weiss_tv,
    fit_rate,
    gaussian_errors,
    local_slope,
    step_size,
    tv_floor,
)
from statphys.physics.discrete import DISCRETE_SAMPLERS
from statphys.physics.schedules import make_schedule

DESCRIPTION = "Sampler error vs number of steps (exact score): closed-form √KL on a Gaussian, TV on Curie-Weiss"
PARAMS = {
    "sampler": (list, ["pf_euler", "pf_heun", "ddim", "ddpm", "euler_maruyama", "li_ode", "li_ddim", "li_ddim_acc",
                       "li_ddpm", "li_ddpm_acc"]),
    "num_steps": (list, [20, 40, 80, 160, 320, 640, 1280, 2560, 5120, 10240]),
    "target": (str, "gaussian"),
    "diffusion_time": (float, 5.0),
    "t_min": (float, 0.01),
    "c0": (float, 2.0),
    "c1": (float, 4.0),
    "cw_n": (int, 8),
    "cw_beta": (float, 1.2),
    "batch": (int, 4000),
    "seeds": (int, 4),
}
SWEEP = ("sampler",)
#: The Gaussian target N(μ, Σ) of the closed-form study.
GAUSSIAN_MEAN = (1.0, -0.5)
GAUSSIAN_COV = ((0.3, 0.1), (0.1, 2.0))
VARIABLES = {
    "sampler": ("sampler (continuous-time on an OU schedule, or li_*: Li et al.'s discrete samplers on their schedule)",
                "1"),
    "num_steps": ("number of sampler steps (N for continuous-time samplers, T for li_* samplers)", "1"),
    "num_steps_mid": ("geometric mean of successive num_steps, where the secant slopes are located (Gaussian target)",
                      "1"),
    "error": ("Gaussian: sqrt KL(generated || exact p_t_min; li_*: q_1), started at the exact law; Curie-Weiss: TV of P(m) "
              "from the prior, seed mean - floor", "1"),
    "error_sd": ("Curie-Weiss: standard error of error over seeds (sd/sqrt(seeds), one run of batch particles each)",
                 "1"),
    "step_size": ("step size h: (diffusion_time - t_min)/N for continuous-time samplers, c1 ln T / T for li_* samplers", "1"),
    "decay_exponent": ("-d ln sqrt(KL) / d ln num_steps, secant slope between successive num_steps, at num_steps_mid (Gaussian)",
                       "1"),
    "order": ("d ln sqrt(KL) / d ln step_size, secant slope between successive num_steps, at num_steps_mid (Gaussian)", "1"),
    "decay_exponent_last": ("decay_exponent between the two largest num_steps (Gaussian target)", "1"),
    "order_last": ("order between the two largest num_steps (Gaussian target)", "1"),
    "bound_exponent": ("exponent p of the published TV bound T^-p (up to log factors); NaN for samplers without a "
                       "published bound (the continuous-time ones)", "1"),
    "order_theory": ("order q of the scheme in its step size: error proportional to step_size^q", "1"),
    "floor": ("Curie-Weiss: mean TV of P(m) between batch exact draws and the exact law (finite-sample floor, 200 draws)",
              "1"),
    "floor_sd": ("Curie-Weiss: standard deviation of the floor TV over its 200 multinomial draws", "1"),
    "rate": ("Curie-Weiss: p of error ~ x^-p (x = T/ln T for li_*, else N), weighted LS over points "
             "with error > 2 error_sd; NaN if < 3 points", "1"),
    "rate_err": ("Curie-Weiss: standard error of rate (inflated by max(1, chi2_red)); NaN when rate is NaN", "1"),
}


def _steps(params) -> list[int]:
    steps = sorted({int(n) for n in params["num_steps"]})
    if len(steps) < 3 or steps[0] < 2:
        raise ValueError(f"num_steps needs >= 3 distinct values >= 2, got {params['num_steps']!r}")
    return steps


def run(params: dict, key) -> xr.Dataset:
    sampler, steps = params["sampler"], _steps(params)
    check_sampler(sampler)
    c0, c1 = float(params["c0"]), float(params["c1"])
    T_diff, t_min = float(params["diffusion_time"]), float(params["t_min"])
    schedule = make_schedule("ou", T=T_diff, t_min=t_min)
    discrete = sampler in DISCRETE_SAMPLERS
    coords = {"sampler": [sampler], "num_steps": steps}
    per_sampler = {"bound_exponent": (("sampler",), [bound_exponent(sampler)], {
                       "long_name": "exponent p of the published TV bound T^-p (up to log factors); NaN for samplers "
                                    "without a published bound (the continuous-time ones)"}),
                   "order_theory": (("sampler",), [ORDER[sampler]])}
    h = step_size(sampler, steps, diffusion_time=T_diff, t_min=t_min, c1=c1)
    if params["target"] == "gaussian":
        target = Gaussian(jax.device_put(np.array(GAUSSIAN_MEAN)), jax.device_put(np.array(GAUSSIAN_COV)))
        err = np.sqrt(gaussian_errors(target, sampler, steps, schedule=schedule, c0=c0, c1=c1, every_sampler=True))
        mid, slope_T = local_slope(steps, err)
        _, slope_h = local_slope(h, err)
        ds = xr.Dataset(
            {
                "error": (("sampler", "num_steps"), err[None]),
                "step_size": (("sampler", "num_steps"), h[None]),
                "decay_exponent": (("sampler", "num_steps_mid"), -slope_T[None]),
                "order": (("sampler", "num_steps_mid"), slope_h[None]),
                "decay_exponent_last": (("sampler",), [-slope_T[-1]]),
                "order_last": (("sampler",), [slope_h[-1]]),
                **per_sampler,
            },
            coords={**coords, "num_steps_mid": mid},
        )
        ds.attrs.update(error="sqrt KL(generated || exact), exact moment propagation (no statistical error)",
                        target_label=f"target Gaussian N(mu = {GAUSSIAN_MEAN}, Sigma = {GAUSSIAN_COV})")
    elif params["target"] == "curie_weiss":
        target = CurieWeiss(int(params["cw_n"]), float(params["cw_beta"]))
        batch, seeds = int(params["batch"]), int(params["seeds"])
        if seeds < 2:
            raise ValueError(f"seeds must be >= 2 for a standard error, got {seeds}")
        f, f_sd = tv_floor(target.magnetization_law(), batch)
        tv = np.array([[curie_weiss_tv(jax.random.fold_in(key, 1000 * s + n), target, sampler, n, batch,
                                       schedule=schedule, c0=c0, c1=c1) for n in steps] for s in range(seeds)])
        err, sd = tv.mean(0) - f, tv.std(0, ddof=1) / np.sqrt(seeds)
        x = np.array(steps, float)
        x = x / np.log(x) if discrete else x
        ok = err > 2 * sd
        fit = fit_rate(x[ok], err[ok], sd[ok]) if ok.sum() >= 3 and np.all(sd[ok] > 0) else None
        ds = xr.Dataset(
            {
                "error": (("sampler", "num_steps"), err[None]),
                "error_sd": (("sampler", "num_steps"), sd[None]),
                "floor": (("sampler",), [f]),
                "floor_sd": (("sampler",), [f_sd]),
                "rate": (("sampler",), [fit.rate if fit else np.nan]),
                "rate_err": (("sampler",), [fit.rate_err if fit else np.nan]),
                **per_sampler,
            },
            coords=coords,
        )
        ds.attrs.update(error="TV(magnetisation law) - finite-sample floor, mean +- standard error over seeds",
                        target_label=(f"target Curie-Weiss N = {int(params['cw_n'])}, "
                                      f"beta = {float(params['cw_beta']):g}"),
                        rate_variable="T/ln T for li_* samplers, N otherwise; points with error > 2 sd")
    else:
        raise ValueError(f"target must be 'gaussian' or 'curie_weiss', got {params['target']!r}")
    return ds
