"""Generate Curie–Weiss samples with the exact score and compare the magnetisation law with the exact P(m).

For each sampler: the histogram of m = (1/N) Σᵢ sign(xᵢ) at t_min over the generated samples, the total
variation TV = ½ Σ_m |P̂(m) − P(m)| with its bootstrap standard error, and the TV that the same number of
exact samples gives (multinomial draws from P(m): the finite-sample floor, mean ± sd). Agreement means the
generated TV is within a few sd of that floor. The sampler "exact_paths" is the law of the continuous-time reverse
SDE on the same grid (`physics.exact_paths`: no discretisation error, the same start N(0, σ_T² I)), so a
discretised sampler's excess over it is its discretisation error.
"""

from __future__ import annotations

import jax
import numpy as np
import xarray as xr

from statphys.models import CurieWeiss
from statphys.physics import SAMPLERS, ExactScore, make_schedule, reverse_sample
from statphys.physics.exact_paths import exact_reverse_paths
from statphys.physics.total_variation import histogram_tv

DESCRIPTION = "Curie–Weiss samples from the exact score (reverse SDE, PF-ODE, exact path law) vs the exact P(m)"
#: The continuous-time reverse SDE sampled exactly, next to the discretised samplers of physics.samplers.
EXACT_PATHS = "exact_paths"
PARAMS = {
    "n": (int, 64),
    "beta": (float, 1.2),
    "h": (float, 0.0),
    "schedule": (str, "ou"),
    "T": (float, 5.0),
    "t_min": (float, 1e-3),
    "samplers": (list, ["euler_maruyama", "pf_heun"]),
    "num_steps": (int, 200),
    "spacing": (str, "log"),
    "num_samples": (int, 4096),
    "batch_size": (int, 4096),
    "bootstrap": (int, 200),
}
SWEEP = ("beta", "n")
VARIABLES = {
    "counts": ("number of generated samples at each m, m = sum_i sign(x_i)/N at t_min", "1"),
    "p_exact": ("exact Curie-Weiss P(m) at (beta, h)", "1"),
    "tv": ("TV = 1/2 sum_m |P_generated(m) - P(m)| of the generated law of m", "1"),
    "tv_err": ("bootstrap standard error of tv (generated samples resampled, bootstrap times)", "1"),
    "tv_floor": ("mean TV of num_samples exact draws of P(m) (multinomial; the finite-sample floor)", "1"),
    "tv_floor_sd": ("standard deviation of the sampling floor over its bootstrap draws", "1"),
    "sampler": ("reverse sampler (physics.samplers) from x_T ~ N(0, sigma_T^2 I) with the exact score; exact_paths: "
                "the continuous-time reverse SDE from the same start, sampled exactly (physics.exact_paths)", "1"),
    "m": ("magnetisation m on its grid (2k - N)/N, k = 0..N", "1"),
    "beta": ("inverse temperature beta of the Curie-Weiss target", "1"),
    "n": ("number of spins N", "1"),
}


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    for sampler in params["samplers"]:
        if sampler not in SAMPLERS and sampler != EXACT_PATHS:
            raise ValueError(f"[params] samplers: unknown sampler {sampler!r}; allowed: "
                             f"{sorted(SAMPLERS) + [EXACT_PATHS]}")
    for beta in np.atleast_1d(params["beta"]):
        if beta < 0:
            raise ValueError(f"[params] beta must be >= 0 (an inverse temperature), got {beta}")
    for name in ("n", "num_steps", "num_samples", "batch_size", "bootstrap"):
        if np.min(params[name]) <= 0:
            raise ValueError(f"[params] {name} must be positive, got {params[name]}")
    make_schedule(params["schedule"], T=params["T"], t_min=params["t_min"]).time_grid(1, params["spacing"])


def run(params: dict, key) -> xr.Dataset:
    n, num = params["n"], params["num_samples"]
    target = CurieWeiss(n, params["beta"], params["h"])
    schedule = make_schedule(params["schedule"], T=params["T"], t_min=params["t_min"])
    score = ExactScore(target, schedule)
    m_values, p = target.magnetization_law()
    rng = np.random.default_rng(np.asarray(jax.random.key_data(key)).ravel()[-1])
    counts, tv, tv_err = [], [], []
    for index, sampler in enumerate(params["samplers"]):
        M = []
        for start in range(0, num, params["batch_size"]):
            size = min(params["batch_size"], num - start)
            run_key = jax.random.fold_in(jax.random.fold_in(key, index), start)
            if sampler == EXACT_PATHS:
                out = exact_reverse_paths(run_key, target, schedule, num_steps=params["num_steps"], batch=size,
                                          spacing=params["spacing"])
            else:
                out = reverse_sample(run_key, score, schedule, num_steps=params["num_steps"], batch=size, n=n,
                                     sampler=sampler, spacing=params["spacing"])
            M.append(np.sign(np.asarray(out.x)).sum(1))
        k = ((np.concatenate(M) + n) / 2).round().astype(int)
        c = np.bincount(np.clip(k, 0, n), minlength=n + 1)
        boot = [histogram_tv(np.bincount(rng.choice(k, k.size), minlength=n + 1), p) for _ in range(params["bootstrap"])]
        counts.append(c)
        tv.append(histogram_tv(c, p))
        tv_err.append(float(np.std(boot)))
    floor = [histogram_tv(rng.multinomial(num, p), p) for _ in range(params["bootstrap"])]
    return xr.Dataset(
        {
            "counts": (("sampler", "m"), np.array(counts)),
            "p_exact": (("m",), p),
            "tv": (("sampler",), np.array(tv)),
            "tv_err": (("sampler",), np.array(tv_err)),
            "tv_floor": float(np.mean(floor)),
            "tv_floor_sd": float(np.std(floor)),
        },
        coords={"sampler": list(params["samplers"]), "m": m_values},
    )
