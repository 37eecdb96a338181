"""Quenched Franz–Parisi potential of an SK target by umbrella Monte Carlo (physics.umbrella, physics.quenched).

Question: does the quenched potential of a spin glass develop a secondary minimum along the generative trajectory,
beyond the sizes that can be enumerated?

V̄(q; t) = −(1/N) E_{s′, x_t} ln P(q | x_t, s′) of an SK target (couplings seed ``couplings_seed``) at N = n, by
umbrella Monte Carlo + WHAM per disorder draw (`quenched_umbrella_potential`), s′ drawn by parallel tempering
(`tempering_reference_sampler`, the last replica at the target β after ``pt_sweeps`` sweeps), α = e^{−t},
σ = √(1 − e^{−2t}) at each t in ``times``. Stored: V̄ with its disorder error and Monte-Carlo-only error, the count
of draws per level, the overlaps of the global and of the lowest secondary local minimum of V̄ (among the levels
that every draw visited). For n ≤ 20 the same draws are also enumerated and the largest
|z| = |V̄_MC − V̄_enum|/mc_error over levels is stored (``enum_max_z``; absent for n > 20).

The Curie–Weiss potential is the study kind franz_parisi, the 1-D mixture franz_parisi_mixture.
"""

from __future__ import annotations

import jax
import numpy as np
import xarray as xr

from statphys.models.sk import SherringtonKirkpatrick
from statphys.physics.franz_parisi_spins import enumerated_overlap_log_probs, local_minima, ou_noise, overlap_grid
from statphys.physics.quenched import quenched_average, quenched_umbrella_potential, tempering_reference_sampler
from statphys.studies import checkpoints

DESCRIPTION = "Quenched Franz–Parisi potential of SK by umbrella Monte Carlo (enumeration check for N ≤ 20)"
ENUMERATION_MAX_N = 20
PARAMS = {
    "n": (int, 32),
    "beta": (float, 1.5),
    "couplings_seed": (int, 1),
    "times": (list, [0.3, 0.8, 1.5]),
    "num_disorder": (int, 4),
    "windows": (int, 0),  # 0: min(N + 1, 33)
    "chains": (int, 16),  # chains per window
    "groups": (int, 8),
    "sweeps": (int, 100),
    "burn_in": (int, 50),
    "pt_replicas": (int, 8),
    "pt_sweeps": (int, 2000),
}
SWEEP = ()
_UNVISITED = "; NaN at a level that no disorder draw visited"
VARIABLES = {
    "v": ("quenched Franz-Parisi potential -(1/N) E ln P(q | x_t, s') by umbrella Monte Carlo + WHAM" + _UNVISITED,
          "1"),
    "v_error": ("standard error of the quenched potential over the disorder draws; NaN at a level that fewer than "
                "two draws visited", "1"),
    "v_mc_error": ("Monte-Carlo-only error of the quenched potential for these draws" + _UNVISITED, "1"),
    "num_draws": ("number of disorder draws that visited the level", "1"),
    "q_global": ("overlap of the global minimum among the levels every draw visited; NaN when no level was visited "
                 "by every draw", "1"),
    "q_secondary": ("overlap of the lowest secondary local minimum among the levels every draw visited; NaN when "
                    "there is no secondary minimum", "1"),
    "acceptance": ("mean Metropolis acceptance of the umbrella runs", "1"),
    "enum_max_z": ("largest |V_MC - V_enumeration| / mc_error over the levels, same disorder draws; NaN when no "
                   "level has a finite error", "1"),
    "pt_swap_min": ("smallest replica-swap acceptance of the parallel tempering that draws s'", "1"),
    "num_disorder": ("number of disorder draws (s', x_t) per time", "1"),
    "n": ("number of spins N", "1"),
    "time": ("diffusion time t (OU: alpha = exp(-t), sigma^2 = 1 - exp(-2t))", "1"),
    "q": ("overlap q = s.s'/N with the posterior reference", "1"),
}


def validate(params: dict) -> None:
    """Impossible values, named, before any compute."""
    if params["n"] < 4:
        raise ValueError(f"[params] n must be >= 4, got {params['n']}")
    if not params["times"] or any(not t > 0 for t in params["times"]):
        raise ValueError(f"[params] times must be a non-empty list of t > 0, got {params['times']}")
    if not params["beta"] > 0:
        raise ValueError(f"[params] beta must be > 0, got {params['beta']}")
    for name in ("num_disorder", "groups", "pt_replicas"):
        if params[name] < 2:
            raise ValueError(f"[params] {name} must be >= 2, got {params[name]}")
    for name in ("sweeps", "pt_sweeps"):
        if params[name] < 1:
            raise ValueError(f"[params] {name} must be >= 1, got {params[name]}")
    if params["burn_in"] < 0 or params["windows"] < 0 or params["windows"] == 1:
        raise ValueError(f"[params] burn_in must be >= 0 and windows 0 or >= 2, got "
                         f"{params['burn_in']}, {params['windows']}")
    if params["chains"] % params["groups"]:
        raise ValueError(f"[params] chains ({params['chains']}) must be a multiple of groups ({params['groups']})")


def run(params: dict, key) -> xr.Dataset:
    n = params["n"]
    times = np.array(params["times"], float)
    key = jax.random.fold_in(key, 10_000)  # the key this part had inside the combined study: the same numbers
    target = SherringtonKirkpatrick.random(n, params["beta"], seed=params["couplings_seed"])
    sampler = tempering_reference_sampler(target, params["pt_replicas"], params["pt_sweeps"])
    options = dict(chains_per_window=params["chains"], num_groups=params["groups"], num_sweeps=params["sweeps"],
                   burn_in=params["burn_in"])
    if params["windows"]:
        options["num_windows"] = params["windows"]
    enumerate_too = n <= ENUMERATION_MAX_N
    rows = {name: [] for name in ("v", "err", "mc_err", "count", "q_min", "q_sec", "acc", "z")}
    for i, t in enumerate(times):
        alpha, sigma = ou_noise(float(t))

        def umbrella():
            potential = quenched_umbrella_potential(jax.random.fold_in(key, i), target, alpha, sigma,
                                                    params["num_disorder"], reference_sampler=sampler, **options)
            return potential, sampler.swap_min

        res, swap_min = checkpoints.stored(f"umbrella potential t={t}", umbrella)  # a stage of the chunk
        sampler.swap_min = min(sampler.swap_min, swap_min)  # what the calls of a resumed run's stages recorded
        m = res.mean
        rows["v"].append(m.value)
        rows["err"].append(m.error)
        rows["mc_err"].append(m.mc_error)
        rows["count"].append(m.count)
        rows["acc"].append(float(res.acceptance.mean()))
        full = np.nonzero(m.count == params["num_disorder"])[0]  # minima only among levels every draw visited
        minima = full[local_minima(res.q[full], m.value[full])]
        minima = minima[np.argsort(m.value[minima])]
        rows["q_min"].append(res.q[minima[0]] if minima.size else np.nan)
        rows["q_sec"].append(res.q[minima[1]] if minima.size > 1 else np.nan)
        if enumerate_too:  # the same draws enumerated: z in units of the Monte-Carlo-only error
            exact = -np.asarray(enumerated_overlap_log_probs(target, res.references, res.x, alpha, sigma)) / n
            exact = quenched_average(np.where(np.isnan(res.potentials), np.nan, exact))  # same draws per level
            with np.errstate(invalid="ignore", divide="ignore"):
                z = np.abs(m.value - exact.value) / m.mc_error
            rows["z"].append(float(np.nanmax(z)) if np.isfinite(z).any() else np.nan)
    data = {
        "v": (("time", "q"), np.stack(rows["v"])),
        "v_error": (("time", "q"), np.stack(rows["err"])),
        "v_mc_error": (("time", "q"), np.stack(rows["mc_err"])),
        "num_draws": (("time", "q"), np.stack(rows["count"]).astype(int)),
        "q_global": (("time",), np.array(rows["q_min"], float)),
        "q_secondary": (("time",), np.array(rows["q_sec"], float)),
        "acceptance": (("time",), np.array(rows["acc"])),
        "pt_swap_min": ((), sampler.swap_min),
        "num_disorder": ((), params["num_disorder"]),
        "n": ((), n),
    }
    if enumerate_too:
        data["enum_max_z"] = (("time",), np.array(rows["z"]))
    return xr.Dataset(data, coords={"time": times, "q": overlap_grid(n)})
