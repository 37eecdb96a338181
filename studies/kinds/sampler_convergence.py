"""Study: error of the generated law against the number of steps for every sampler, with the exact score.

Gaussian target: √KL(generated ‖ exact) in closed form (exact moment propagation, `physics.convergence`).
Curie–Weiss target: TV of the magnetisation law minus the finite-sample floor, over seeds.
Rates from a weighted power-law fit (discrete samplers against T/ln T, their effective inverse step).
"""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from models.curie_weiss import CurieWeiss
from models.gaussian import Gaussian
from physics.convergence import THEORY_RATE, check_sampler, curie_weiss_tv, fit_rate, gaussian_error, tv_floor
from physics.schedules import make_schedule

DESCRIPTION = "Sampler error vs number of steps (exact score): closed-form √KL on a Gaussian, TV on Curie-Weiss"
PARAMS = {
    "sampler": (list, ["pf_euler", "pf_heun", "ddim", "ddpm", "euler_maruyama", "li_ode", "li_ddpm", "li_ddpm_acc",
                       "li_ddim_acc"]),
    "num_steps": (list, [40, 80, 160, 320]),
    "target": (str, "gaussian"),
    "diffusion_time": (float, 5.0),
    "t_min": (float, 0.01),
    "cw_n": (int, 8),
    "cw_beta": (float, 1.2),
    "batch": (int, 4000),
    "seeds": (int, 4),
}
SWEEP = ("sampler",)


def run(params: dict, key) -> xr.Dataset:
    sampler, steps = params["sampler"], [int(n) for n in params["num_steps"]]
    check_sampler(sampler)
    schedule = make_schedule("ou", T=float(params["diffusion_time"]), t_min=float(params["t_min"]))
    if params["target"] == "gaussian":
        target = Gaussian(jnp.array([1.0, -0.5]), jnp.array([[0.3, 0.1], [0.1, 2.0]]))
        err = np.sqrt([gaussian_error(target, sampler, n, schedule=schedule) for n in steps])
        sd, floor = np.zeros_like(err), np.zeros_like(err)
        what = "sqrt KL(generated || exact), closed form"
    elif params["target"] == "curie_weiss":
        target = CurieWeiss(int(params["cw_n"]), float(params["cw_beta"]))
        f, _ = tv_floor(target.magnetization_law(), int(params["batch"]))
        tv = np.array([[curie_weiss_tv(jax.random.fold_in(key, 1000 * s + n), target, sampler, n, int(params["batch"]),
                                       schedule=schedule) for n in steps] for s in range(int(params["seeds"]))])
        err, sd = tv.mean(0) - f, tv.std(0, ddof=1) / np.sqrt(tv.shape[0])
        floor = np.full_like(err, f)
        what = "TV(magnetisation law) - finite-sample floor"
    else:
        raise ValueError(f"target must be 'gaussian' or 'curie_weiss', got {params['target']!r}")
    x = np.array(steps, float)
    x = x / np.log(x) if sampler.startswith("li_") else x
    ok = err > 0
    fit = fit_rate(x[ok], err[ok], sd[ok] if np.all(sd[ok] > 0) else None) if ok.sum() >= 3 else None
    ds = xr.Dataset(
        {
            "error": (("sampler", "num_steps"), err[None]),
            "error_sd": (("sampler", "num_steps"), sd[None]),
            "floor": (("sampler", "num_steps"), floor[None]),
            "rate": (("sampler",), [fit.rate if fit else np.nan]),
            "rate_err": (("sampler",), [fit.rate_err if fit else np.nan]),
            "theory_rate": (("sampler",), [THEORY_RATE[sampler]]),
        },
        coords={"sampler": [sampler], "num_steps": steps},
    )
    ds.attrs.update(error=what, target=params["target"], rate_variable="T/ln T for li_* samplers, T otherwise")
    return ds


def plot(ds: xr.Dataset, path: pathlib.Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4.5))
    steps = ds.num_steps.values.astype(float)
    for s in ds.sampler.values:
        e = ds.error.sel(sampler=s).values
        line = ax.errorbar(steps, e, ds.error_sd.sel(sampler=s).values, marker="o",
                           label=f"{s}: {float(ds.rate.sel(sampler=s)):.2f}±{float(ds.rate_err.sel(sampler=s)):.2f}"
                                 f" (theory {float(ds.theory_rate.sel(sampler=s)):g})")
        p = float(ds.theory_rate.sel(sampler=s))
        ax.plot(steps, e[0] * (steps / steps[0]) ** -p, ls=":", color=line[0].get_color())
    ax.set(xscale="log", yscale="log", xlabel="number of steps T", ylabel=ds.attrs.get("error", "error"))
    ax.legend(fontsize=6)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
