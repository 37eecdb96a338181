"""Reverse entropy flux against the speciation time, as a function of σ (Yu & Huang, arXiv 2405.11932, Sec. III C
and Sec. IV), and the exact-score reverse SDE in their third regime σ² > 2.

Data ½N(μ, σ²) + ½N(−μ, σ²) in 1-D, OU noising (f = −1, g² = 2). Times are diffusion times t (t = 0: data);
generation runs t = T → 0, so a smaller t comes later in generation order.

  - Reverse medium-entropy flux φ_R(t) = μ_t² + Γ_t − 3 + 2J_t (`physics.mixture_flux.gmm_reverse_flux`, exact
    quadrature) on a grid of t for ``curve_sigma2``, and its sign changes t_flux(σ²)
    (`gmm_reverse_flux_zeros`) on a geometric grid of σ² (``sigma2_min`` .. ``sigma2_max``, ``num_sigma2``) and at
    ``curve_sigma2``.
  - Compared with t_S = ½ ln(μ² + √(σ⁴ − 2σ² + μ⁴ + 1)), criterion: the reverse-SDE drift x + 2∇ln p_t turns
    unstable at x = 0 (`physics.transitions.gmm_speciation_time`), and, for reference, the times at which p_t
    turns bimodal (μ_t² = Γ_t) and the probability-flow drift x + ∇ln p_t turns unstable at x = 0. The σ² at which
    t_flux = t_S (brentq) separates "flux flips before speciation in generation order" (t_flux > t_S) from after.
  - Third regime σ² > 2: the reverse-SDE drift x + 2∇ln p_t ≈ x(1 − 2/Γ_t) at large |x| points outwards while
    Γ_t > 2, i.e. for t < t_USB = ½ ln(σ² − 1) (their potential unbounded below). For each ``usb_sigma2`` and
    ``num_steps`` the exact-score reverse SDE (`physics.reverse_sample`, ``sampler``, ExactScore of the
    GaussianMixture, uniform grid T → t_min, x_T drawn from the exact p_T) is run for ``num_samples`` paths and
    compared with the exact law p_{t_min} it should reproduce (p₀ up to O(t_min)): Kolmogorov–Smirnov statistic
    and p-value, ⟨x²⟩ and ⟨x⁴⟩ minus their exact values with standard errors, and a histogram at the largest
    num_steps.
"""

from __future__ import annotations

import functools
import math

import jax
import numpy as np
import scipy.optimize
import scipy.stats
import xarray as xr

from statphys.models.gaussian import GaussianMixture
from statphys.physics.normal_draws import fold_in
from statphys.physics.mixture_flux import gmm_reverse_flux, gmm_reverse_flux_zeros, speciation_time_yu_huang
from statphys.physics import transitions as tr
from statphys.physics.schedules import make_schedule
from statphys.physics.scores import ExactScore
from statphys.physics.trajectory import reverse_sample

DESCRIPTION = "Yu–Huang reverse entropy flux sign change vs the speciation time over σ; exact reverse SDE for σ² > 2"
PARAMS = {
    "mu": (float, 1.0),
    "sigma2_min": (float, 0.02),
    "sigma2_max": (float, 5.0),
    "num_sigma2": (int, 40),
    "curve_sigma2": (list, [0.1, 0.4, 1.0, 3.0]),
    "t_min": (float, 1e-4),
    "t_max": (float, 6.0),
    "num_t": (int, 200),
    "usb_sigma2": (list, [1.0, 3.0, 5.0]),
    "num_steps": (list, [100, 400, 1600]),
    "num_samples": (int, 40_000),
    "T": (float, 5.0),
    "sde_t_min": (float, 1e-3),
    "sampler": (str, "euler_maruyama"),
    "num_bins": (int, 60),
}
SWEEP = ()
VARIABLES = {
    "t_flux": ("largest diffusion time where the reverse entropy flux phi_R changes sign (first in generation); NaN if "
               "none", "1"),
    "t_speciation": ("t_S: reverse-SDE drift x + 2 grad ln p_t unstable at x = 0 (diffusion time); NaN where mu^2 <= "
                     "sigma^2 - sigma^4/2 (never unstable)", "1"),
    "t_bimodal": ("p_t turns bimodal, mu_t^2 = Gamma_t (diffusion time); NaN where p_t is never bimodal", "1"),
    "t_pf_ode": ("probability-flow drift x + grad ln p_t unstable at x = 0 (diffusion time); NaN where it never "
                 "turns unstable", "1"),
    "t_usb": ("t_USB = 1/2 ln(sigma^2 - 1): reverse-SDE potential unbounded below for t < t_USB; NaN for "
              "sigma^2 <= 2 (no such regime)", "1"),
    "usb_t_usb": ("t_USB = 1/2 ln(sigma^2 - 1) of the third-regime runs; NaN for sigma^2 <= 2 (no such regime)", "1"),
    "flux_reverse": ("reverse medium-entropy flux phi_R (exact quadrature), per unit diffusion time", "nat"),
    "ks_statistic": ("Kolmogorov-Smirnov distance of generated samples to p_{t_min}", "1"),
    "ks_pvalue": ("Kolmogorov-Smirnov p-value against p_{t_min}", "1"),
    "sigma2": ("component variance sigma^2 of 1/2 N(mu, sigma^2) + 1/2 N(-mu, sigma^2), geometric grid sigma2_min .. "
               "sigma2_max", "1"),
    "curve_sigma2": ("component variance sigma^2 of the flux curves flux_reverse", "1"),
    "time": ("diffusion time t (OU, t = 0: data) of the flux curves, geometric grid t_min .. t_max, num_t points", "1"),
    "usb_sigma2": ("component variance sigma^2 of the exact-score reverse-SDE runs (third regime: sigma^2 > 2)", "1"),
    "num_steps": ("number of reverse-SDE steps of the run (sampler, uniform grid T -> sde_t_min)", "1"),
    "x": ("bin centre of the histograms, num_bins bins on +-4.5 sqrt(mu^2 + max usb_sigma2)", "1"),
    "flux_zero_count": ("number of sign changes of phi_R in [t_min, t_max] (600-point geometric grid, brentq); 0 where "
                        "t_flux is NaN", "1"),
    "sigma2_flux_equals_speciation": ("sigma^2 where t_flux = t_S (brentq in the first sign change of t_flux - t_S on "
                                      "the sigma2 grid); NaN if none", "1"),
    "curve_t_flux": ("t_flux at curve_sigma2: largest diffusion time where phi_R changes sign (first in generation); "
                     "NaN if none", "1"),
    "curve_flux_zero_count": ("number of sign changes of phi_R in [t_min, t_max] at curve_sigma2", "1"),
    "curve_t_speciation": ("t_S at curve_sigma2 (reverse-SDE drift unstable at x = 0); NaN where mu^2 <= sigma^2 - "
                           "sigma^4/2 (never unstable)", "1"),
    "m2": ("<x^2> of the num_samples exact-score reverse-SDE samples at sde_t_min", "1"),
    "m2_err": ("standard error std(x^2)/sqrt(num_samples) of m2", "1"),
    "m4": ("<x^4> of the num_samples exact-score reverse-SDE samples at sde_t_min", "1"),
    "m4_err": ("standard error std(x^4)/sqrt(num_samples) of m4", "1"),
    "m2_exact": ("exact E x^2 = mu_t^2 + Gamma_t of p_t at t = sde_t_min (mu_t = mu e^-t, Gamma_t = 1 - e^-2t + "
                 "sigma^2 e^-2t)", "1"),
    "m4_exact": ("exact E x^4 = mu_t^4 + 6 mu_t^2 Gamma_t + 3 Gamma_t^2 of p_t at t = sde_t_min", "1"),
    "histogram": ("density histogram of the generated x at sde_t_min, largest num_steps", "1"),
    "histogram_err": ("Poisson error sqrt(count)/(num_samples bin width) of histogram", "1"),
    "histogram_exact": ("exact density of p_t at t = sde_t_min averaged over each bin (CDF difference / bin width)",
                        "1"),
}


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    if not (math.isfinite(params["mu"]) and params["mu"] >= 0):
        raise ValueError(f"[params] mu must be a finite number >= 0, got {params['mu']}")
    if not 0 < params["sigma2_min"] < params["sigma2_max"]:
        raise ValueError(f"[params] need 0 < sigma2_min < sigma2_max, got {params['sigma2_min']}, "
                         f"{params['sigma2_max']}")
    for name in ("curve_sigma2", "usb_sigma2"):
        if not params[name] or any(not isinstance(v, (int, float)) or not v > 0 for v in params[name]):
            raise ValueError(f"[params] {name} must be a non-empty list of variances > 0, got {params[name]}")
    if not params["num_steps"] or any(not isinstance(k, int) or k < 1 for k in params["num_steps"]):
        raise ValueError(f"[params] num_steps must be a non-empty list of integers >= 1, got {params['num_steps']}")
    for name in ("num_sigma2", "num_t", "num_samples", "num_bins"):
        if params[name] < 2:
            raise ValueError(f"[params] {name} must be >= 2, got {params[name]}")
    if not 0 < params["t_min"] < params["t_max"]:
        raise ValueError(f"[params] need 0 < t_min < t_max, got {params['t_min']}, {params['t_max']}")
    make_schedule("ou", T=params["T"], t_min=params["sde_t_min"])
    if params["sampler"] not in ("euler_maruyama", "ddpm"):
        raise ValueError(f"[params] sampler must be 'euler_maruyama' or 'ddpm' (reverse SDE), got {params['sampler']!r}")


def _flux_zero(mu: float, sigma2: float, params: dict) -> tuple[float, int]:
    """(the largest diffusion time where φ_R changes sign — the first in generation order —, number of zeros)."""
    zeros = gmm_reverse_flux_zeros(mu, math.sqrt(sigma2), params["t_min"], params["t_max"])
    return (float(zeros[-1]) if zeros.size else float("nan")), int(zeros.size)


def _mixture_moments(m: float, gamma: float) -> tuple[float, float]:
    """E x², E x⁴ of ½N(m, Γ) + ½N(−m, Γ)."""
    return m**2 + gamma, m**4 + 6 * m**2 * gamma + 3 * gamma**2


@functools.partial(jax.jit, static_argnames=("num_samples",))
def _initial_state(key, target, schedule, *, num_samples):
    """(the key of the run, x_T = α(T) x₀ + σ(T) ξ with x₀ ~ target: num_samples exact draws of p_T)."""
    k_data, k_noise, k_run = jax.random.split(key, 3)
    x0 = target.sample(k_data, num_samples)
    T = schedule.T
    return k_run, schedule.alpha(T) * x0 + schedule.sigma(T) * jax.random.normal(k_noise, x0.shape, x0.dtype)


def usb_check(key, mu: float, sigma2: float, num_steps: int, num_samples: int, T: float, t_min: float,
              sampler: str = "euler_maruyama") -> dict:
    """The exact-score reverse SDE for ½N(±μ, σ²) against the exact p_{t_min} (module docstring).

    Returns a dict: samples (num_samples,), ks_statistic, ks_pvalue, m2, m2_err, m2_exact, m4, m4_err, m4_exact
    (m_k: the sample mean of x^k and its standard error std/√num_samples).
    """
    target = GaussianMixture.symmetric(mu, math.sqrt(sigma2), 1)
    schedule = make_schedule("ou", T=T, t_min=t_min)
    k_run, x_init = _initial_state(key, target, schedule, num_samples=num_samples)
    out = reverse_sample(k_run, ExactScore(target, schedule), schedule, num_steps=num_steps, x_init=x_init,
                         sampler=sampler)
    x = np.asarray(out.x, float)[:, 0]
    a = math.exp(-t_min)
    m, gamma = mu * a, a**2 * sigma2 + 1 - a**2
    sd = math.sqrt(gamma)

    def cdf(y):
        return 0.5 * scipy.stats.norm.cdf((y - m) / sd) + 0.5 * scipy.stats.norm.cdf((y + m) / sd)

    ks = scipy.stats.kstest(x, cdf)
    m2_exact, m4_exact = _mixture_moments(m, gamma)
    root = math.sqrt(num_samples)
    return {"samples": x, "ks_statistic": float(ks.statistic), "ks_pvalue": float(ks.pvalue),
            "m2": float(np.mean(x**2)), "m2_err": float(np.std(x**2, ddof=1) / root), "m2_exact": m2_exact,
            "m4": float(np.mean(x**4)), "m4_err": float(np.std(x**4, ddof=1) / root), "m4_exact": m4_exact}


def run(params: dict, key) -> xr.Dataset:
    mu = params["mu"]
    sigma2 = np.geomspace(params["sigma2_min"], params["sigma2_max"], params["num_sigma2"])
    curve = np.array(params["curve_sigma2"], float)

    def times_for(s2):
        s = math.sqrt(s2)
        return (speciation_time_yu_huang(mu, s) if tr.gmm_symmetry_breaks(mu, s) else np.nan,
                tr.gmm_bimodality_time(mu, s), tr.gmm_pf_ode_instability_time(mu, s),
                0.5 * math.log(s2 - 1) if s2 > 2 else np.nan)

    flux = [_flux_zero(mu, s2, params) for s2 in sigma2]
    t_s, t_bi, t_pf, t_usb = (np.array(c) for c in zip(*[times_for(s2) for s2 in sigma2]))
    gap = lambda s2: _flux_zero(mu, s2, params)[0] - times_for(s2)[0]  # noqa: E731
    diff = np.array([f[0] for f in flux]) - t_s
    change = np.nonzero(np.sign(diff[:-1]) * np.sign(diff[1:]) < 0)[0]
    cross = (float(scipy.optimize.brentq(gap, sigma2[change[0]], sigma2[change[0] + 1], xtol=1e-10))
             if change.size else np.nan)

    t_grid = np.geomspace(params["t_min"], params["t_max"], params["num_t"])
    curves = np.stack([gmm_reverse_flux(t_grid, mu, math.sqrt(s2)) for s2 in curve])
    curve_flux = [_flux_zero(mu, s2, params) for s2 in curve]
    curve_ts = np.array([times_for(s2)[0] for s2 in curve])

    usb = np.array(params["usb_sigma2"], float)
    steps = np.array(sorted(params["num_steps"]), int)
    names = ("ks_statistic", "ks_pvalue", "m2", "m2_err", "m4", "m4_err")
    table = {name: np.full((usb.size, steps.size), np.nan) for name in names}
    exact = {"m2_exact": np.zeros(usb.size), "m4_exact": np.zeros(usb.size)}
    edges = None
    hist, hist_err, hist_exact = [], [], []
    for i, s2 in enumerate(usb):
        for j, k in enumerate(steps):
            res = usb_check(fold_in(key, 100 * i + j), mu, float(s2), int(k), params["num_samples"],
                            params["T"], params["sde_t_min"], params["sampler"])
            for name in names:
                table[name][i, j] = res[name]
            exact["m2_exact"][i], exact["m4_exact"][i] = res["m2_exact"], res["m4_exact"]
        x = res["samples"]  # the largest num_steps (last in the list)
        half = 4.5 * math.sqrt(mu**2 + max(usb))
        edges = np.linspace(-half, half, params["num_bins"] + 1)
        counts, _ = np.histogram(x, edges)
        width = edges[1] - edges[0]
        hist.append(counts / (x.size * width))
        hist_err.append(np.sqrt(counts) / (x.size * width))
        a = math.exp(-params["sde_t_min"])
        m, sd = mu * a, math.sqrt(a**2 * s2 + 1 - a**2)
        cdf = 0.5 * scipy.stats.norm.cdf((edges - m) / sd) + 0.5 * scipy.stats.norm.cdf((edges + m) / sd)
        hist_exact.append(np.diff(cdf) / width)
    centers = 0.5 * (edges[1:] + edges[:-1])
    return xr.Dataset(
        {
            "t_flux": (("sigma2",), np.array([f[0] for f in flux])),
            "flux_zero_count": (("sigma2",), np.array([f[1] for f in flux])),
            "t_speciation": (("sigma2",), t_s),
            "t_bimodal": (("sigma2",), t_bi),
            "t_pf_ode": (("sigma2",), t_pf),
            "t_usb": (("sigma2",), t_usb),
            "sigma2_flux_equals_speciation": ((), cross),
            "flux_reverse": (("curve_sigma2", "time"), curves),
            "curve_t_flux": (("curve_sigma2",), np.array([f[0] for f in curve_flux])),
            "curve_flux_zero_count": (("curve_sigma2",), np.array([f[1] for f in curve_flux])),
            "curve_t_speciation": (("curve_sigma2",), curve_ts),
            **{name: (("usb_sigma2", "num_steps"), table[name]) for name in names},
            **{name: (("usb_sigma2",), value) for name, value in exact.items()},
            "usb_t_usb": (("usb_sigma2",), np.array([0.5 * math.log(s2 - 1) if s2 > 2 else np.nan for s2 in usb])),
            "histogram": (("usb_sigma2", "x"), np.stack(hist)),
            "histogram_err": (("usb_sigma2", "x"), np.stack(hist_err)),
            "histogram_exact": (("usb_sigma2", "x"), np.stack(hist_exact)),
        },
        coords={"sigma2": sigma2, "curve_sigma2": curve, "time": t_grid, "usb_sigma2": usb, "num_steps": steps,
                "x": centers},
    )
