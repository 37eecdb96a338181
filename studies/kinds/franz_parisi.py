"""Franz–Parisi potential of Curie–Weiss along the generative trajectory (physics.franz_parisi_spins).

Question: when does the other class become visible in the Franz–Parisi potential, and how does that time compare
with the speciation time t_S = ½ ln Λ, Λ = N⟨m²⟩?

V(q; t) = −(1/N) E ln P(q | x_t, s′) in the overlap q = s·s′/N with a posterior reference s′ (exact two-group sum,
any N), on a grid of t. Scanned in the noising direction (t increasing), a secondary minimum at q ≈ −m*² (the other
class) appears at t_appear (in generation: it disappears there — a spinodal, O(1) in N), and becomes degenerate with
the global one, N ΔV = 1, at t_deg (`secondary_minimum_times`, degeneracy 1/N). The class gap
N ΔV(t) = N[min_{q<0} V − min_{q>0} V] (error: N(sd_a + sd_b) of the two minima, an upper bound since the same samples
give both) compared with t_S: both t_deg and t_S grow as ½ ln N, the spinodal does not.

The 1-D mixture of Yu & Huang is the study kind franz_parisi_mixture, SK by quenched Monte Carlo franz_parisi_sk.
"""

from __future__ import annotations

import jax
import numpy as np
import xarray as xr

from statphys.models.curie_weiss import CurieWeiss
from statphys.physics.franz_parisi_spins import ou_noise, secondary_minimum_times, spin_franz_parisi

DESCRIPTION = "Franz–Parisi potential of Curie–Weiss: V(q; t) minima vs t_S = ½ ln Λ"
PARAMS = {
    "n": (int, 64),
    "beta": (float, 1.5),
    "num_samples": (int, 200),
    "t_min": (float, 0.2),
    "t_max": (float, 4.0),
    "num_t": (int, 40),
}
SWEEP = ("n",)
_UNDEFINED_TIME = "; NaN when the scan has no such time (no secondary minimum, or one from the first time on)"
VARIABLES = {
    "spin_v": ("Franz-Parisi potential V(q; t) = -(1/N) E ln P(q | x_t, s'), interpolated to the q_spin grid", "1"),
    "spin_v_err": ("standard error of V(q; t) over the samples of (s', x_t)", "1"),
    "class_gap": ("class gap N [min_{q<0} V - min_{q>0} V]", "1"),
    "class_gap_err": ("error of the class gap, N (sd_a + sd_b) of the two minima (an upper bound)", "1"),
    "t_appear": ("diffusion time where a secondary minimum of V appears (midpoint of the grid step)"
                 + _UNDEFINED_TIME, "1"),
    "t_appear_resolution": ("half the grid step around t_appear" + _UNDEFINED_TIME, "1"),
    "t_degenerate": ("diffusion time where N Delta V = 1 between the two minima (interpolated); NaN when it is not "
                     "reached on the scan", "1"),
    "q_secondary": ("overlap of the secondary minimum where it appears" + _UNDEFINED_TIME, "1"),
    "t_s": ("speciation time t_S = (1/2) ln N<m^2>", "1"),
    "time": ("diffusion time t (OU: alpha = exp(-t), sigma^2 = 1 - exp(-2t))", "1"),
    "q_spin": ("overlap q = s.s'/N with the posterior reference", "1"),
    "n": ("number of spins N", "1"),
}
#: Common overlap grid on which V(q; t) is stored (linear interpolation between the N + 1 overlaps, for the
#: figure and for combining sizes); minima and times are computed on the exact overlaps (2K − N)/N.
Q_SPIN = np.linspace(-1.0, 1.0, 257)


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    for name in ("num_samples", "num_t"):
        if params[name] < 2:
            raise ValueError(f"[params] {name} must be >= 2, got {params[name]}")
    if np.min(params["n"]) < 2:
        raise ValueError(f"[params] n must be >= 2, got {params['n']}")
    if not 0 < params["t_min"] < params["t_max"]:
        raise ValueError(f"[params] t_min must satisfy 0 < t_min < t_max, got {params['t_min']}")


def run(params: dict, key) -> xr.Dataset:
    n = params["n"]
    target = CurieWeiss(n, params["beta"])
    times = np.linspace(params["t_min"], params["t_max"], params["num_t"])
    vals, errs = [], []
    for i, t in enumerate(times):
        q, est = spin_franz_parisi(jax.random.fold_in(key, i), target, *ou_noise(float(t)),
                                   params["num_samples"], method="exact")
        vals.append(est.value)
        errs.append(est.error)
    vals, errs = np.stack(vals), np.stack(errs)
    out = secondary_minimum_times(times, q, vals, degeneracy=1.0 / n)
    neg, pos = np.nonzero(q < 0)[0], np.nonzero(q > 0)[0]
    i_neg, i_pos = neg[np.argmin(vals[:, neg], axis=1)], pos[np.argmin(vals[:, pos], axis=1)]
    rows = np.arange(times.size)
    gap = n * (vals[rows, i_neg] - vals[rows, i_pos])
    gap_err = n * (errs[rows, i_neg] + errs[rows, i_pos])  # sd(a − b) ≤ sd(a) + sd(b): the same samples give both
    return xr.Dataset(
        {
            "spin_v": (("time", "q_spin"), np.stack([np.interp(Q_SPIN, q, r) for r in vals])),
            "spin_v_err": (("time", "q_spin"), np.stack([np.interp(Q_SPIN, q, r) for r in errs])),
            "class_gap": (("time",), gap),
            "class_gap_err": (("time",), gap_err),
            "t_appear": ((), out.appear),
            "t_appear_resolution": ((), out.appear_resolution),
            "t_degenerate": ((), out.degenerate),
            "q_secondary": ((), out.q_secondary),
            "t_s": ((), target.speciation_time()),
        },
        coords={"time": times, "q_spin": Q_SPIN},
    )
