"""Study: the diffusion-time trade-off (Franzese et al., arXiv 2206.05173) for OU noising and their linear VP
schedule β(t) = β₀ + (β₁ − β₀) t, compared at equal ᾱ(T).

The diffusion times are given as OU-equivalent times τ: each schedule runs to the T with ᾱ(T) = e^{−2τ}, and
stops at the t_min with ᾱ(t_min) = e^{−2 t_min(OU)}; the prior KL is then the same for both schedules and
only the dynamics differ (`physics.diffusion_time`).

Exact score, Gaussian data N(1, 0.3): KL(generated ‖ data at t_min) after `num_steps` steps from the prior
N(0, σ_T²) the samplers use (closed form), and its prior part KL(p_T ‖ N(0, σ_T²)).
Learned score, 1-D mixture ½N(μ, σ²) + ½N(−μ, σ²): one network trained per (schedule, T, seed) on
[t_min, T], and the bound G(s_θ, T) + KL(p_T ‖ N(0, σ_T²)); error bars: the standard error over `seeds`
independent training runs (the Monte-Carlo error of G within a run is `score_term_runs_err`). For contrast,
`score_term_shared`: one network per seed trained to the largest T and evaluated on [t_min, T], whose G
grows with T by construction (a cumulative integral of a non-negative integrand).
"""

from __future__ import annotations

import jax
import numpy as np
import xarray as xr

from statphys.models.gaussian import Gaussian, GaussianMixture
from statphys.physics.convergence import gaussian_error
from statphys.physics.diffusion_time import DIFFUSION_SCHEDULES, best_time, prior_kl, score_term, vp_schedule_for_abar
from statphys.physics.learned import LearnedScore, train
from statphys.physics.samplers import SAMPLERS

DESCRIPTION = "Best diffusion time T, OU vs linear VP at equal abar(T): prior KL vs discretisation / score error"
PARAMS = {
    "schedule": (str, "ou"),
    "diffusion_time": (list, [0.25, 0.5, 1.0, 1.5, 2.0, 3.0, 4.0]),
    "beta_min": (float, 0.1),
    "beta_max": (float, 20.0),
    "t_min": (float, 0.01),
    "num_steps": (int, 20),
    "sampler": (str, "euler_maruyama"),
    "train_steps": (int, 1500),
    "hidden": (int, 64),
    "seeds": (int, 3),
    "num_times": (int, 24),
    "score_samples": (int, 2048),
    "mu": (float, 1.5),
    "sigma": (float, 0.4),
}
SWEEP = ("schedule",)
GAUSSIAN_DATA = (1.0, 0.3)  # mean and variance of the exact-score Gaussian target
_G = "G = 1/2 int_{t_min}^T g^2 E_{p_t}|s_theta - grad ln p_t|^2 dt of the mixture (trapezoid, num_times log-spaced t)"
VARIABLES = {
    "schedule": ("noising schedule: ou (beta = 2) or vp_linear (Franzese et al.: beta(t) = beta_min + (beta_max - "
                 "beta_min) t)", "1"),
    "tau": ("OU-equivalent diffusion time tau: abar(T) = exp(-2 tau), the same for both schedules", "1"),
    "seed": ("index of the independent training run (own networks and evaluation keys)", "1"),
    "diffusion_T": ("end time T of the schedule with abar(T) = exp(-2 tau) (OU: T = tau; vp_linear: in its own time)",
                    "1"),
    "abar_T": ("abar(T) = exp(-2 tau), the signal fraction left at the end time T", "1"),
    "prior_kl_gaussian": ("KL(p_T || N(0, sigma_T^2)) for the Gaussian data N(1, 0.3), closed form", "nat"),
    "total_kl_gaussian_exact_score": ("KL(generated || p_t_min), Gaussian data N(1, 0.3), exact score, num_steps steps "
                                      "from N(0, sigma_T^2), closed form", "nat"),
    "prior_kl_mixture": ("KL(p_T || N(0, sigma_T^2)) for the 1-D mixture data, by quadrature", "nat"),
    "score_term": (_G + ", mean over training runs", "nat"),
    "score_term_err": ("standard error of score_term over the training runs (sd/sqrt(seeds))", "nat"),
    "score_term_runs": ("G (as in score_term) of the network trained on [t_min, T] at this tau, per training run", "nat"),
    "score_term_runs_err": ("Monte-Carlo standard error of score_term_runs (score_samples exact draws of p_t per time)",
                            "nat"),
    "score_term_shared": ("G on [t_min, T] of one network per run trained on [t_min, largest T] (grows with T), "
                          "mean over runs", "nat"),
    "score_term_shared_err": ("standard error of score_term_shared over the training runs (sd/sqrt(seeds))", "nat"),
    "bound": ("Franzese et al. bound on E log p_data - E log p^(theta,T): score_term + prior_kl_mixture", "nat"),
    "bound_err": ("standard error of bound over the training runs (that of score_term; the prior KL is exact)", "nat"),
    "best_T_exact": ("diffusion_T on the grid that minimises total_kl_gaussian_exact_score", "1"),
    "best_abar_exact": ("abar(T) at best_T_exact", "1"),
    "best_T_learned": ("diffusion_T on the grid that minimises bound (mean G over runs + prior_kl_mixture)", "1"),
    "best_abar_learned": ("abar(T) at best_T_learned", "1"),
    "best_T_learned_runs": ("diffusion_T on the grid that minimises score_term_runs + prior_kl_mixture, per training "
                            "run", "1"),
}


def validate(params: dict) -> None:
    for name in np.atleast_1d(params["schedule"]):
        if name not in DIFFUSION_SCHEDULES:
            raise ValueError(f"[params] schedule must be one of {list(DIFFUSION_SCHEDULES)}, got {name!r}")
    taus = params["diffusion_time"]
    if len(taus) < 2 or any(not isinstance(t, (int, float)) or t <= params["t_min"] for t in taus):
        raise ValueError(f"[params] diffusion_time must list >= 2 OU-equivalent times > t_min = {params['t_min']}, "
                         f"got {taus}")
    if params["t_min"] <= 0:
        raise ValueError(f"[params] t_min must be > 0, got {params['t_min']}")
    if not 0 < params["beta_min"] <= params["beta_max"]:
        raise ValueError(f"[params] need 0 < beta_min <= beta_max, got {params['beta_min']}, {params['beta_max']}")
    if params["sampler"] not in SAMPLERS:
        raise ValueError(f"[params] sampler must be one of {sorted(SAMPLERS)}, got {params['sampler']!r}")
    for name in ("num_steps", "train_steps", "hidden", "num_times", "score_samples"):
        if params[name] <= 0:
            raise ValueError(f"[params] {name} must be a positive integer, got {params[name]}")
    if params["seeds"] < 2:
        raise ValueError(f"[params] seeds must be >= 2 (the error bars are the spread over training runs), "
                         f"got {params['seeds']}")
    if params["mu"] < 0 or params["sigma"] <= 0:
        raise ValueError(f"[params] need mu >= 0 and sigma > 0, got {params['mu']}, {params['sigma']}")


def _mean_err(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return values.mean(-1), values.std(-1, ddof=1) / np.sqrt(values.shape[-1])


def run(params: dict, key) -> xr.Dataset:
    validate(params)
    name = params["schedule"]
    taus = np.array(sorted(float(t) for t in params["diffusion_time"]))
    abar = np.exp(-2 * taus)
    betas = {"beta_min": float(params["beta_min"]), "beta_max": float(params["beta_max"])}
    abar_min = float(np.exp(-2 * float(params["t_min"])))
    schedules = [vp_schedule_for_abar(name, float(a), abar_min, **betas) for a in abar]
    gauss = Gaussian(jax.device_put(np.array([GAUSSIAN_DATA[0]])), jax.device_put(np.array([[GAUSSIAN_DATA[1]]])))
    mix = GaussianMixture.symmetric(float(params["mu"]), float(params["sigma"]))
    seeds = int(params["seeds"])
    net = {"steps": int(params["train_steps"]), "hidden": int(params["hidden"])}
    quad = {"num_times": int(params["num_times"]), "num": int(params["score_samples"])}

    prior_g = np.array([prior_kl(gauss, s, prior_variance=float(s.sigma2(s.T))) for s in schedules])
    total_g = np.array([gaussian_error(gauss, params["sampler"], int(params["num_steps"]), schedule=s, init="prior")
                        for s in schedules])
    prior_m = np.array([prior_kl(mix, s, prior_variance=float(s.sigma2(s.T))) for s in schedules])
    g_runs, g_runs_err, g_shared = (np.zeros((len(taus), seeds)) for _ in range(3))
    for seed in range(seeds):
        k_seed = jax.random.fold_in(key, seed)
        k_eval = jax.random.fold_in(k_seed, 10_000)
        k_shared = jax.random.fold_in(k_seed, 20_000)
        shared = LearnedScore(train(k_shared, mix, schedules[-1], **net).params, schedules[-1])
        for i, sched in enumerate(schedules):
            learned = LearnedScore(train(jax.random.fold_in(k_seed, i), mix, sched, **net).params, sched)
            k_i = jax.random.fold_in(k_eval, i)
            g_runs[i, seed], g_runs_err[i, seed] = score_term(k_i, learned, mix, sched, **quad)
            g_shared[i, seed] = score_term(k_i, shared, mix, sched, **quad)[0]
    g_mean, g_err = _mean_err(g_runs)
    shared_mean, shared_err = _mean_err(g_shared)
    bound = g_mean + prior_m
    T = np.array([s.T for s in schedules])
    best_runs = np.array([best_time(T, g_runs[:, k] + prior_m) for k in range(seeds)])
    best_exact, best_learned = best_time(T, total_g), best_time(T, bound)
    abar_of = dict(zip(T, abar))
    ds = xr.Dataset(
        {
            "diffusion_T": (("tau",), T),
            "abar_T": (("tau",), abar),
            "prior_kl_gaussian": (("tau",), prior_g),
            "total_kl_gaussian_exact_score": (("tau",), total_g),
            "prior_kl_mixture": (("tau",), prior_m),
            "score_term": (("tau",), g_mean),
            "score_term_err": (("tau",), g_err),
            "score_term_runs": (("tau", "seed"), g_runs),
            "score_term_runs_err": (("tau", "seed"), g_runs_err),
            "score_term_shared": (("tau",), shared_mean),
            "score_term_shared_err": (("tau",), shared_err),
            "bound": (("tau",), bound),
            "bound_err": (("tau",), g_err),
            "best_T_exact": best_exact,
            "best_abar_exact": abar_of[best_exact],
            "best_T_learned": best_learned,
            "best_abar_learned": abar_of[best_learned],
            "best_T_learned_runs": (("seed",), best_runs),
        },
        coords={"tau": taus, "seed": np.arange(seeds)},
    )
    ds.attrs.update(
        tau="OU-equivalent diffusion time: abar(T) = exp(-2 tau), the same for every schedule",
        t_min_note="t_min is OU-equivalent as well: abar(t_min) = exp(-2 t_min)",
        prior="generation starts from N(0, sigma_T^2), the prior of the samplers; the prior KL is against it",
        gaussian_data=f"N({GAUSSIAN_DATA[0]:g}, {GAUSSIAN_DATA[1]:g})",
        network=f"tanh MLP, 2 hidden layers of {params['hidden']}, on top of the N(0, 1) score; one per (T, seed)",
        errors="*_err: standard error over the training runs (seed); score_term_runs_err: Monte-Carlo error of G",
    )
    return ds
