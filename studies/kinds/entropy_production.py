"""Entropy production rate along the generative trajectory of Curie–Weiss (β > 1), against the speciation time.

Time convention: everything is indexed by the diffusion time t of the forward (noising) process, t = 0 data,
t = T noise; generation runs t = T → 0, so "later in generation" means smaller t.

Rate (physics/entropy_rates.py, Yu & Huang arXiv 2405.11932 Sec. III B; Seifert Rep. Prog. Phys. 75, 126001):
the current velocity ν = f x − ½ g² ∇ln p_t (J = ν p_t), D = g²/2, and
    π(t) = E_{p_t}|ν|²/D,
the same for the forward and the generative (reverse-SDE) process with the exact score (π_R = π). p_t is
sampled exactly (s ~ P, x = α s + σ ξ: the law of the reverse trajectory with the exact score) and ∇ln p_t is
Tweedie's with the exact Hubbard–Stratonovich denoiser of models.CurieWeiss (exact at any N). Per time:
  - π(t), total;
  - π_∥(t) = E(e·ν)²/D, the magnetisation mode e = 1/√N;
  - Δπ(t) = π_β(t) − π_0(t), the excess over independent spins (β = 0, same N): the part of the entropy
    production carried by the correlations.
For spin data π ≈ N/(2t) as t → 0 (each spin's Gaussian collapses onto ±1), so π itself has no interior
peak; Δπ has one. The magnetisation mode of a Gaussian with variance Λ has π_∥ = (Λ−1)² e^{−4t}/(1 + (Λ−1)e^{−2t})
(OU): its log-slope d ln π_∥/dt crosses from −4 (early in generation) to −2 (late) and equals −3 at
t_× = ½ ln(Λ − 1), next to the speciation time t_S = ½ ln Λ, Λ = N⟨m²⟩ (Biroli et al., arXiv 2402.18491; ⟨m²⟩
exact from CurieWeiss.magnetization_law). We report the peak t_Δπ of Δπ and the crossover t_× of π_∥ per N,
each with an error bar: half the local grid step (resolution) ⊕ the spread under a parametric bootstrap of
the Monte-Carlo standard errors (sampling).
"""

from __future__ import annotations

import jax
import numpy as np
import xarray as xr

from statphys.models import CurieWeiss
from statphys.models.spin_marginal import SpinMarginal
from statphys.physics.entropy_rates import entropy_production_rate
from statphys.physics.normal_draws import fold_in
from statphys.physics.schedules import make_schedule

DESCRIPTION = "Entropy production rate pi(t) of Curie-Weiss generation (exact score) vs the speciation time"
PARAMS = {
    "n": (int, 64),
    "beta": (float, 1.5),
    "T": (float, 5.0),
    "t_lo": (float, 0.02),
    "t_hi": (float, 4.0),
    "num_times": (int, 30),
    "num_samples": (int, 2000),
    "num_bootstrap": (int, 400),
}
SWEEP = ("n",)
_MC = "Monte Carlo over num_samples exact draws of p_t (OU), exact score"
VARIABLES = {
    "n": ("number of spins N", "1"),
    "time": ("diffusion time t (OU, t = 0: data; generation runs t = T -> 0), geometric grid t_lo .. t_hi", "1"),
    "entropy_production": ("entropy production rate pi(t) = E|nu|^2/D, nu = f x - D grad ln p_t (= pi_R); " + _MC,
                           "nat"),
    "entropy_production_err": ("standard error std/sqrt(num_samples) of entropy_production", "nat"),
    "mode_rate": ("magnetisation-mode part pi_par(t) = E(e.nu)^2/D, e = 1/sqrt(N); same draws as entropy_production",
                  "nat"),
    "mode_rate_err": ("standard error std/sqrt(num_samples) of mode_rate", "nat"),
    "independent_rate": ("pi_0(t) of independent spins (beta = 0, same N), own draws; " + _MC, "nat"),
    "excess_rate": ("Delta pi = entropy_production - independent_rate, the part of pi carried by the correlations",
                    "nat"),
    "excess_rate_err": ("standard error of excess_rate: the two standard errors added in quadrature (independent "
                        "draws)", "nat"),
    "t_excess_peak": ("diffusion time of the maximum of excess_rate on the grid, refined by a parabola in ln t", "1"),
    "t_excess_peak_err": ("half the local grid step (+) sd of the peak over num_bootstrap parametric redraws of "
                          "excess_rate +- its error", "1"),
    "t_mode_crossover": ("t_x: first t from t_hi down where d ln(mode_rate)/dt rises through -3 (linear "
                         "interpolation); NaN if it never does", "1"),
    "t_mode_crossover_err": ("half the local grid step (+) sd of t_x over num_bootstrap parametric redraws of "
                             "mode_rate; NaN with t_mode_crossover", "1"),
    "t_speciation": ("speciation time t_S = 1/2 ln(Lambda), Lambda = N <m^2> exact", "1"),
    "t_gaussian_crossover": ("1/2 ln(Lambda - 1): where d ln pi_par/dt = -3 for a Gaussian of variance Lambda along e",
                             "1"),
    "lambda": ("Lambda = N <m^2>, exact from the Curie-Weiss magnetisation law (variance of e.s)", "1"),
}


def validate(params: dict) -> None:
    for n in np.atleast_1d(params["n"]):
        if int(n) < 2:
            raise ValueError(f"[params] n must be >= 2, got {n}")
    if not params["beta"] > 1:
        raise ValueError(f"[params] beta must be > 1 (ordered phase, speciation), got {params['beta']}")
    if not 0 < params["t_lo"] < params["t_hi"] < params["T"]:
        raise ValueError(f"[params] need 0 < t_lo < t_hi < T, got t_lo = {params['t_lo']}, t_hi = {params['t_hi']}, "
                         f"T = {params['T']}")
    for name in ("num_times", "num_samples", "num_bootstrap"):
        if params[name] < 5:
            raise ValueError(f"[params] {name} must be >= 5, got {params[name]}")


def _peak(t: np.ndarray, y: np.ndarray) -> float:
    """Maximum of y on a log-t grid, refined by a parabola through the three points around it (in ln t)."""
    k = int(np.argmax(y))
    if k == 0 or k == len(t) - 1:
        return float(t[k])
    u = np.log(t[k - 1:k + 2])
    a, b, _ = np.polyfit(u, y[k - 1:k + 2], 2)
    return float(np.exp(np.clip(-b / (2 * a), u[0], u[2]))) if a < 0 else float(t[k])


def _crossover(t: np.ndarray, y: np.ndarray, level: float = -3.0) -> float:
    """First t (from large t down) where the log-slope d ln y/dt rises through `level` (linear interpolation)."""
    tm = 0.5 * (t[1:] + t[:-1])
    slope = np.diff(np.log(np.maximum(y, 1e-300))) / np.diff(t)
    for k in range(len(tm) - 1, 0, -1):
        if slope[k] <= level < slope[k - 1]:
            return float(tm[k] + (level - slope[k]) * (tm[k - 1] - tm[k]) / (slope[k - 1] - slope[k]))
    return np.nan


def _located(t, y, err, locate, rng, num):
    """(location, error): resolution (half the local grid step) ⊕ bootstrap spread of y ± err."""
    loc = locate(t, y)
    if not np.isfinite(loc):
        return np.nan, np.nan
    boots = np.array([locate(t, np.maximum(y + err * rng.standard_normal(y.shape), 1e-300)) for _ in range(num)])
    k = int(np.clip(np.searchsorted(t, loc), 1, len(t) - 1))
    resolution = 0.5 * (t[k] - t[k - 1])
    return loc, float(np.hypot(resolution, np.nanstd(boots)))


def run(params: dict, key) -> xr.Dataset:
    n = int(params["n"])
    schedule = make_schedule("ou", T=params["T"], t_min=1e-3)
    target = SpinMarginal(CurieWeiss(n, params["beta"]))
    free = SpinMarginal(CurieWeiss(n, 0.0))
    e = np.ones(n) / np.sqrt(n)
    times = np.geomspace(params["t_lo"], params["t_hi"], params["num_times"])
    out = np.zeros((len(times), 6))
    for i, t in enumerate(times):
        k = fold_in(key, i)
        kw = dict(num_samples=params["num_samples"])
        total = entropy_production_rate(k, target, schedule, float(t), **kw)
        mode = entropy_production_rate(k, target, schedule, float(t), direction=e, **kw)
        base = entropy_production_rate(fold_in(k, 1), free, schedule, float(t), **kw)
        out[i] = total.value, total.stderr, mode.value, mode.stderr, base.value, base.stderr
    excess, excess_err = out[:, 0] - out[:, 4], np.hypot(out[:, 1], out[:, 5])
    rng = np.random.default_rng(int(jax.random.randint(key, (), 0, 2**31 - 1)))
    t_peak, t_peak_err = _located(times, excess, excess_err, _peak, rng, params["num_bootstrap"])
    t_cross, t_cross_err = _located(times, out[:, 2], out[:, 3], _crossover, rng, params["num_bootstrap"])
    m, p = CurieWeiss(n, params["beta"]).magnetization_law()
    lam = n * float(np.sum(p * m**2))
    return xr.Dataset(
        {
            "entropy_production": (("time",), out[:, 0]),
            "entropy_production_err": (("time",), out[:, 1]),
            "mode_rate": (("time",), out[:, 2]),
            "mode_rate_err": (("time",), out[:, 3]),
            "independent_rate": (("time",), out[:, 4]),
            "excess_rate": (("time",), excess),
            "excess_rate_err": (("time",), excess_err),
            "t_excess_peak": ((), t_peak),
            "t_excess_peak_err": ((), t_peak_err),
            "t_mode_crossover": ((), t_cross),
            "t_mode_crossover_err": ((), t_cross_err),
            "t_speciation": ((), 0.5 * np.log(lam)),
            "t_gaussian_crossover": ((), 0.5 * np.log(lam - 1)),
            "lambda": ((), lam),
        },
        coords={"time": times},
    )
