"""Collapse time of the exact empirical score (Biroli, Bonnaire, de Bortoli & Mézard, arXiv 2402.18491).

n points drawn from N(0, σ² I_d); the exact score of their empirical law is softmax attention over the points
(models.FiniteSupport). Along exact forward paths from a data point x₀ (their joint law is that of an exact
reverse trajectory ending at x₀, physics.transitions.forward_path) we record the end-point overlap
q(t) = E[x | x_t]·x₀/|x₀|², the posterior weight of the point the trajectory ends at (→ 1 after the collapse,
→ ~0 before). The measured collapse time is where E q(t) = ½ (bootstrap error over trajectories), compared with
    t_C = ½ ln(1 + σ²/(n^{2/d} − 1))        (their eq. 8, excess entropy f = s_sep − s = 0).
The comparison is asymptotic in d at fixed ln n/d: the relative excess of the measured time shrinks ∝ 1/d.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from statphys.models.finite_support import FiniteSupport
from statphys.physics import transitions as tr
from statphys.physics.schedules import make_schedule

DESCRIPTION = "Collapse time of the exact empirical score vs t_C = ½ ln(1 + σ²/(n^{2/d} − 1)) over n and d"
PARAMS = {
    "num_points": (int, 4096),
    "d": (int, 64),
    "sigma2": (float, 1.0),
    "batch": (int, 256),
    "num_times": (int, 16),
    "t_lo": (float, 0.7),
    "t_hi": (float, 2.0),
    "bootstrap": (int, 200),
}
SWEEP = ("num_points", "d")
VARIABLES = {
    "time": ("diffusion time t of the record, t_c_theory * linspace(t_lo, t_hi, num_times) (OU: alpha = exp(-t))",
             "1"),
    "overlap": ("E q(t), q = E[x|x_t].x0/|x0|^2 along exact forward paths from data points x0 (~ the posterior "
                "weight of x0)", "1"),
    "overlap_err": ("standard error of overlap over the batch forward paths", "1"),
    "t_c": ("measured collapse time: overlap first falls below 1/2 scanning up in t (linear interpolation); NaN if "
            "never", "1"),
    "t_c_err": ("bootstrap standard error of t_c over the forward paths", "1"),
    "t_c_theory": ("t_C = 1/2 ln(1 + sigma2/(num_points^(2/d) - 1)) (Biroli et al. 2402.18491, eq. 8)", "1"),
    "num_points": ("number n of data points, drawn from N(0, sigma2 I_d)", "1"),
    "d": ("dimension d of the data points", "1"),
    "step": ("index of the time grid (its times differ between chunks)", "1"),
}


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    for name in ("num_points", "batch", "num_times", "bootstrap"):
        if np.min(params[name]) < 2:
            raise ValueError(f"[params] {name} must be >= 2, got {params[name]}")
    if np.min(params["d"]) < 1:
        raise ValueError(f"[params] d must be >= 1, got {params['d']}")
    if not params["sigma2"] > 0:
        raise ValueError(f"[params] sigma2 must be > 0, got {params['sigma2']}")
    if not 0 < params["t_lo"] < 1 < params["t_hi"]:
        raise ValueError(f"[params] t_lo and t_hi must satisfy 0 < t_lo < 1 < t_hi (units of t_C), got "
                         f"{params['t_lo']}, {params['t_hi']}")


@functools.partial(jax.jit, static_argnums=(1, 2))
def _data_set(key, n: int, d: int, scale):
    """n points x = scale ξ, ξ ~ N(0, I_d) (split(key)[0]), and the key of the forward paths (split(key)[1])."""
    k_data, k_path = jax.random.split(key)
    return scale * jax.random.normal(k_data, (n, d)), k_path


def run(params: dict, key) -> xr.Dataset:
    n, d, s2 = params["num_points"], params["d"], params["sigma2"]
    data, k_path = _data_set(key, n, d, np.sqrt(s2))
    t_c = tr.collapse_time(n, d, s2)
    times = t_c * np.linspace(params["t_lo"], params["t_hi"], params["num_times"])
    q = np.asarray(tr.forward_observable(k_path, FiniteSupport(data), make_schedule("ou"), jnp.asarray(times),
                                         params["batch"], tr.end_point_overlap))
    est = tr.speciation_time(times, q, lambda s: s.mean(-1), threshold=0.5, num_resamples=params["bootstrap"])
    return xr.Dataset(
        {
            "time": (("step",), times),
            "overlap": (("step",), q.mean(-1)),
            "overlap_err": (("step",), q.std(-1, ddof=1) / np.sqrt(q.shape[-1])),
            "t_c": ((), est.value),
            "t_c_err": ((), est.error),
            "t_c_theory": ((), t_c),
        },
        coords={"step": np.arange(params["num_times"])},
    )
