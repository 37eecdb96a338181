"""Study: the diffusion-time trade-off (Franzese et al., arXiv 2206.05173) on OU noise.

Exact score, Gaussian data: KL(generated ‖ data at t_min) after a fixed number of steps from the N(0, I) prior
(closed form), and its prior part KL(p_T ‖ N(0, I)). Learned score, 1-D mixture: the bound G(s_θ, T) +
KL(p_T ‖ N(0, I)). Each has a best T."""

from __future__ import annotations

import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from models.gaussian import Gaussian, GaussianMixture
from physics.convergence import gaussian_error
from physics.diffusion_time import best_time, prior_kl, score_term
from physics.learned import LearnedScore, train
from physics.schedules import make_schedule

DESCRIPTION = "Best diffusion time T: prior KL falls, discretisation / score error grows (exact and learned scores)"
PARAMS = {
    "diffusion_time": (list, [0.5, 1.0, 2.0, 3.0, 4.0, 6.0, 8.0]),
    "num_steps": (int, 20),
    "sampler": (str, "euler_maruyama"),
    "t_min": (float, 0.01),
    "train_steps": (int, 1500),
    "mu": (float, 1.5),
    "sigma": (float, 0.4),
}
SWEEP = ()


def run(params: dict, key) -> xr.Dataset:
    Ts = np.array([float(T) for T in params["diffusion_time"]])
    t_min, n_steps = float(params["t_min"]), int(params["num_steps"])
    gauss = Gaussian(jnp.array([1.0]), jnp.array([[0.3]]))
    mix = GaussianMixture.symmetric(float(params["mu"]), float(params["sigma"]))
    train_schedule = make_schedule("ou", T=float(Ts.max()), t_min=t_min)
    learned = LearnedScore(train(key, mix, train_schedule, steps=int(params["train_steps"])).params, train_schedule)
    rows = []
    for T in Ts:
        sched = make_schedule("ou", T=float(T), t_min=t_min)
        rows.append((
            prior_kl(gauss, sched),
            gaussian_error(gauss, params["sampler"], n_steps, schedule=sched, init="prior"),
            prior_kl(mix, sched),
            score_term(jax.random.fold_in(key, 7), learned, mix, sched),
        ))
    prior_g, total_g, prior_m, g_m = (np.array(c) for c in zip(*rows))
    ds = xr.Dataset(
        {
            "prior_kl_gaussian": (("T",), prior_g),
            "total_kl_gaussian_exact_score": (("T",), total_g),
            "prior_kl_mixture": (("T",), prior_m),
            "score_term_mixture_learned": (("T",), g_m),
            "bound_mixture_learned": (("T",), g_m + prior_m),
            "best_T_exact": best_time(Ts, total_g),
            "best_T_learned": best_time(Ts, g_m + prior_m),
        },
        coords={"T": Ts},
    )
    ds.attrs.update(num_steps=n_steps, sampler=params["sampler"])
    return ds


def plot(ds: xr.Dataset, path: pathlib.Path) -> None:
    from paper.style import figure

    fig, ax = figure(width=4.5, height=3.4)
    T = ds["T"].values
    for name in ds.data_vars:
        if ds[name].dims == ("T",):
            ax.plot(T, ds[name].values, marker="o", label=name.replace("_", " "))
    for name, style in (("best_T_exact", "--"), ("best_T_learned", ":")):
        ax.axvline(float(ds[name]), color="k", ls=style, lw=0.8, label=f"{name.replace('_', ' ')} = {float(ds[name]):.3g}")
    ax.plot(T, ds.prior_kl_gaussian.values[0] * np.exp(-2 * (T - T[0])), ls=":", color="gray", label=r"$\propto e^{-2T}$")
    ax.set(yscale="log", xlabel="diffusion time $T$", ylabel="KL divergence / bound (nats)")
    ax.legend(fontsize=6)
    fig.savefig(path, dpi=150)
    fig.savefig(path.with_suffix(".pdf"))
