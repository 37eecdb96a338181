"""Fluctuation theorems and ensemble entropy rates of the forward (noising) and reverse (generative) diffusions.

Data: N(0, s0²) (target = "gaussian") or ½N(μ, σ²) + ½N(−μ, σ²) in 1-D (target = "mixture", Yu & Huang,
arXiv 2405.11932), both with p_t in closed form. Per schedule (one chunk):
  - IFT ⟨e^{−Σ}⟩ = 1 for forward and generative paths (exact score), for the discrete path log-ratio Σ_path
    (exact at any step) and the Stratonovich Σ (exact as Δt → 0), with standard errors and Kish ESS;
  - Crooks detailed FT: slope of ln[P_F(Σ)/P_B(−Σ)] against Σ (1 in theory) with its fit error;
  - ⟨Σ⟩ of forward paths against ∫ π dt from the quadrature of the current (equal in theory);
  - ensemble rates π(t), φ(t), dS/dt of the forward and reverse processes on a time grid, and the time where
    the reverse flux φ_R changes sign, next to t_S of Yu & Huang (reverse-SDE drift instability at x = 0).
See physics/thermodynamics.py for the definitions.
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
import xarray as xr

from models.gaussian import Gaussian, GaussianMixture
from physics import thermodynamics as th
from physics.schedules import make_schedule

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


def run(params: dict, key) -> xr.Dataset:
    target = _target(params)
    schedule = make_schedule(params["schedule"], T=params["T"], t_min=params["t_min"])
    # cosine and cond-OT have f = d ln α/dt → −∞ at T: stop at 0.9 T so that |f| Δt stays small.
    t_start, t_end = params["t_min"], params["T"] * (0.9 if params["schedule"] in ("cosine", "cond_ot") else 1 - 1e-3)
    kw = dict(num_trajectories=params["num_trajectories"], num_steps=params["num_steps"], t_start=t_start, t_end=t_end)
    fwd = th.forward_entropy(jax.random.fold_in(key, 0), target, schedule, **kw)
    bwd = th.forward_entropy(jax.random.fold_in(key, 1), target, schedule, backward=True, **kw)
    rev = th.reverse_entropy(jax.random.fold_in(key, 2), target, schedule, num_trajectories=params["num_trajectories"],
                             num_steps=params["num_steps"], t_max=t_end)
    data = {}
    for name, pe in (("forward", fwd), ("reverse", rev)):
        for form, sigma in (("path", pe.total_path), ("stratonovich", pe.total)):
            avg = th.exponential_average(sigma)
            data[f"ift_{name}_{form}"] = avg.mean
            data[f"ift_{name}_{form}_err"] = avg.stderr
            data[f"ess_{name}_{form}"] = avg.ess
        s = np.asarray(pe.total_path)
        data[f"mean_sigma_{name}"] = float(s.mean())
        data[f"mean_sigma_{name}_err"] = float(s.std(ddof=1) / np.sqrt(s.size))
    num = params["num_trajectories"]
    try:  # too few paths in the overlap of P_F(Σ) and P_B(−Σ) leaves the slope undetermined: NaN, not a guess
        fit = th.crooks_fit(fwd.total_path, bwd.total_path, num_bins=int(np.clip(num // 64, 8, 30)),
                            min_count=max(5, num // 500))
        data.update(crooks_slope=fit.slope, crooks_slope_err=fit.slope_err)
    except ValueError:
        data.update(crooks_slope=np.nan, crooks_slope_err=np.nan)

    x_max = 12.0 * max(1.0, params["s0"], params["mu"] + params["sigma"])
    times = np.linspace(t_start, t_end, params["num_times"])
    rates = th.ensemble_rates_1d(target, schedule, times, x_max=x_max)
    data["integrated_rate"] = float(scipy.integrate.simpson(rates.entropy_production, x=times))
    flux = rates.flux_reverse
    change = np.nonzero(np.diff(np.sign(flux)))[0]
    t_flux = (th.reverse_flux_zero(target, schedule, float(times[change[0]]), float(times[change[0] + 1]))
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
    if params["target"] == "mixture" and params["schedule"] == "ou":
        ds["t_speciation_drift"] = ((), th.speciation_time_yu_huang(params["mu"], params["sigma"]))
    return ds


def summary(ds: xr.Dataset) -> str:
    from paper.style import sweep_panels

    lines = []
    for label, s in sweep_panels(ds, "ift_forward_path", ()):
        lines.append(
            f"{label:28s} IFT fwd {float(s.ift_forward_path):.4f} ± {float(s.ift_forward_path_err):.4f} "
            f"(ESS {float(s.ess_forward_path):.0f}), rev {float(s.ift_reverse_path):.4f} ± "
            f"{float(s.ift_reverse_path_err):.4f} (ESS {float(s.ess_reverse_path):.0f}); Crooks slope "
            f"{float(s.crooks_slope):.3f} ± {float(s.crooks_slope_err):.3f}; <Sigma> {float(s.mean_sigma_forward):.4f} ± "
            f"{float(s.mean_sigma_forward_err):.4f} vs int pi dt {float(s.integrated_rate):.4f}"
        )
    return "\n".join(lines)


def plot(ds: xr.Dataset, path: pathlib.Path) -> None:
    from paper.style import figure, sweep_panels

    panels = sweep_panels(ds, "ift_forward_path", ())
    fig, axes = figure(ncols=2, nrows=len(panels), squeeze=False)
    for row, (label, s) in zip(axes, panels):
        t = s["time"].values
        ax = row[0]
        ax.plot(t, s.entropy_production, "k-", label=r"$\pi$")
        ax.plot(t, s.flux_forward, "C0-", label=r"$\phi$ forward")
        ax.plot(t, s.entropy_rate_forward, "C0--", label=r"$dS/dt$ forward")
        ax.plot(t, s.flux_reverse, "C1-", label=r"$\phi_R$ reverse")
        if "t_speciation_drift" in s and np.isfinite(float(s.t_speciation_drift)):
            ax.axvline(float(s.t_speciation_drift), color="C3", ls=":", label=r"$t_S$ (reverse-drift instability)")
        if np.isfinite(float(s.t_reverse_flux_zero)):
            ax.axvline(float(s.t_reverse_flux_zero), color="C1", ls=":",
                       label=r"$\phi_R = 0$ (diffusion time; after $t_S$ in generation)")
        ax.axhline(0, color="0.6", lw=0.5)
        ax.set_xscale("log")
        ax.set_xlabel("diffusion time $t$ (generation runs $t = T \\to 0$)")
        ax.set_title(label, fontsize=8)
        ax.legend(fontsize=6)
        ax = row[1]
        names = ["fwd path", "fwd Strat.", "rev path", "rev Strat."]
        keys = ["forward_path", "forward_stratonovich", "reverse_path", "reverse_stratonovich"]
        vals = [float(s[f"ift_{k}"]) for k in keys] + [float(s.crooks_slope)]
        errs = [float(s[f"ift_{k}_err"]) for k in keys] + [float(s.crooks_slope_err)]
        ax.errorbar(np.arange(5), vals, yerr=errs, fmt="o", capsize=2)
        ax.axhline(1.0, color="k", lw=0.8)
        ax.set_xticks(np.arange(5), names + ["Crooks slope"], rotation=30, fontsize=6)
        ax.set_ylabel(r"$\langle e^{-\Sigma}\rangle$, slope (theory 1)")
    fig.savefig(path, dpi=150)
    fig.savefig(pathlib.Path(path).with_suffix(".pdf"))
