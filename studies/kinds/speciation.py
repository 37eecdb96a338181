"""Curie–Weiss speciation time from the class information of the denoiser magnetisation, against ½ ln Λ.

For each N: I(t) = E[m_D(t)²]/⟨m²⟩ on a time grid around ½ ln Λ (exact forward law, physics.transitions),
t_S where I(t_S) = I* = 0.5504 (binary channel at SNR 1), with a bootstrap error. Theory: t_S = ½ ln Λ with
Λ = N⟨m²⟩ exact (Biroli & Mézard 2024; Biroli et al., arXiv 2402.18491), and its large-N form (models.curie_weiss.speciation_time_limit).
The time grid is indexed by "step" (its values differ between chunks), so swept chunks combine on a common index.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
import xarray

from statphys.models.curie_weiss import CurieWeiss, speciation_time_limit
from statphys.physics import transitions as tr
from statphys.physics.schedules import make_schedule

DESCRIPTION = "Curie–Weiss speciation time (class information of the denoiser) vs ½ ln Λ, Λ = N⟨m²⟩"
PARAMS = {"n": (int, 256), "beta": (float, 1.5), "batch": (int, 512), "num_times": (int, 13), "half_width": (float, 0.6)}
SWEEP = ("n", "beta")
VARIABLES = {
    "time": ("diffusion time t, linspace(max(t_s_theory - half_width, 0.01), t_s_theory + half_width, num_times)",
             "1"),
    "time_shift": ("time - t_s_theory: the diffusion time relative to the theoretical speciation time", "1"),
    "class_information": ("class information I(t) = E[m_D(t)^2]/<m^2>, m_D = mean_i E[s_i|x_t], over batch exact "
                          "forward paths", "1"),
    "class_information_err": ("standard error of class_information over the forward paths", "1"),
    "t_s": ("measured speciation time: class_information first falls below threshold scanning up in t; NaN if "
            "never", "1"),
    "t_s_err": ("bootstrap standard error of t_s over the forward paths", "1"),
    "t_s_theory": ("t_S = 1/2 ln Lambda, Lambda = N<m^2> exact", "1"),
    "t_s_limit": ("large-N form of t_S: 1/2 ln(1/(1 - beta)) (beta < 1), 1/4 ln N + 1/2 ln 1.170829 (beta = 1), "
                  "1/2 ln N + ln m* (beta > 1)", "1"),
    "threshold": ("I* = E tanh^2(1 + xi), xi ~ N(0, 1): class information of a binary Gaussian channel at SNR 1",
                  "1"),
    "n": ("number of spins N of the Curie-Weiss target", "1"),
    "beta": ("inverse temperature beta of the Curie-Weiss target", "1"),
    "step": ("index of the time grid (its times differ between chunks)", "1"),
}


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    for name in ("n", "batch", "num_times"):
        if np.min(params[name]) < 2:
            raise ValueError(f"[params] {name} must be >= 2, got {params[name]}")
    if np.min(params["beta"]) < 0:
        raise ValueError(f"[params] beta must be >= 0, got {params['beta']}")
    if not params["half_width"] > 0:
        raise ValueError(f"[params] half_width must be > 0, got {params['half_width']}")


def run(params: dict, key) -> xarray.Dataset:
    target = CurieWeiss(params["n"], params["beta"])
    t_theory = target.speciation_time()
    lo = max(t_theory - params["half_width"], 0.01)
    times = np.linspace(lo, t_theory + params["half_width"], params["num_times"])
    m_d = np.asarray(tr.forward_denoiser_magnetization(key, target, make_schedule("ou"), jnp.asarray(times), params["batch"]))
    m2 = target.top_eigenvalue() / target.n
    info = tr.class_information(m_d, m2)
    info_err = np.std(m_d**2, axis=-1, ddof=1) / m2 / np.sqrt(params["batch"])
    est = tr.speciation_time(times, m_d, lambda s: tr.class_information(s, m2))
    return xarray.Dataset(
        {
            "time": (("step",), times),
            "time_shift": (("step",), times - t_theory),
            "class_information": (("step",), info),
            "class_information_err": (("step",), info_err),
            "t_s": ((), est.value),
            "t_s_err": ((), est.error),
            "t_s_theory": ((), t_theory),
            "t_s_limit": ((), speciation_time_limit(params["n"], params["beta"])),
            "threshold": ((), tr.class_information_threshold(1.0)),
        },
        coords={"step": np.arange(params["num_times"])},
    )
