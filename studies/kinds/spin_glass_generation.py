"""Study kind: generate spin-glass targets with the exact enumeration score and compare with the exact law.

For one target (SK, Hopfield, Edwards–Anderson or an empirical data set of SK samples) at small N, every
sampler integrates the reverse dynamics from x_T ~ N(0, σ_T² I) with the exact score
∇ ln p_t = (α E[s|x] − x)/σ² (E[s|x] by enumeration of the 2ᴺ states, or attention over the data). The
generated spins sign(x_{t_min}) are compared with the exact law of the magnetisation m = Σs/N: total
variation TV = ½ Σ_m |P̂(m) − P(m)| with its null distribution for the same number of exact samples (mean,
standard deviation, p-value), and the energy per spin against its exact mean.
"""

from __future__ import annotations

import math
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from models.base import import_netket
from models import enumeration
from models.dataset import DataSet
from models.edwards_anderson import EdwardsAnderson
from models.hopfield import Hopfield
from models.sk import SherringtonKirkpatrick
from physics import ExactScore, make_schedule, reverse_sample

DESCRIPTION = "Spin-glass targets (SK, Hopfield, EA, data set) generated with the exact score: TV of the law of m"
PARAMS = {
    "n": (int, 12),
    "beta": (float, 1.0),
    "model": (str, "sk"),
    "samplers": (list, ["euler_maruyama", "ddpm", "pf_heun", "ddim"]),
    "num_steps": (int, 200),
    "spacing": (str, "log"),
    "num_samples": (int, 4000),
    "schedule": (str, "ou"),
    "T": (float, 4.0),
    "t_min": (float, 1e-3),
    "disorder_seed": (int, 0),
    "num_patterns": (int, 3),
    "bonds": (str, "pm"),
    "lattice": (str, "square"),
    "num_data": (int, 20),
}
SWEEP = ("model", "beta", "n")
MODELS = ("sk", "hopfield", "edwards_anderson", "dataset")


def make_target(params: dict, key):
    """The target named by params["model"]; disorder from params["disorder_seed"] (data set: from key)."""
    nk = import_netket()

    model, n, beta, seed = params["model"], params["n"], params["beta"], params["disorder_seed"]
    if model == "sk":
        return SherringtonKirkpatrick.random(n, beta, seed=seed)
    if model == "hopfield":
        return Hopfield.random(n, params["num_patterns"], beta, seed=seed)
    if model == "edwards_anderson":
        if params["lattice"] == "square":
            side = math.isqrt(n)
            if side * side != n:
                raise ValueError(f"n = {n} must be a perfect square for lattice = 'square' (or use lattice = 'chain')")
            graph = nk.graph.Square(side, pbc=True)
        elif params["lattice"] == "chain":
            graph = nk.graph.Chain(n, pbc=True)
        else:
            raise ValueError(f"lattice must be 'square' or 'chain', got {params['lattice']!r}")
        return EdwardsAnderson.from_graph(graph, beta, bonds=params["bonds"], seed=seed)
    if model == "dataset":
        return DataSet.from_target(SherringtonKirkpatrick.random(n, beta, seed=seed), key, params["num_data"])
    raise ValueError(f"model must be one of {MODELS}, got {model!r}")


def run(params: dict, key) -> xr.Dataset:
    """One target, every sampler: TV of the law of m (± null spread) and the energy per spin."""
    n, num = params["n"], params["num_samples"]
    for name in ("num_steps", "num_samples", "num_data", "num_patterns"):
        if params[name] <= 0:
            raise ValueError(f"{name} must be > 0, got {params[name]}")
    k_target, k_run = jax.random.split(key)
    target = make_target(params, k_target)
    exact = enumeration.thermodynamics(target)
    schedule = make_schedule(params["schedule"], T=params["T"], t_min=params["t_min"])
    score = ExactScore(target, schedule)
    has_energy = hasattr(target, "energy")
    rows = []
    m_laws = []
    for i, sampler in enumerate(params["samplers"]):
        result = reverse_sample(jax.random.fold_in(k_run, i), score, schedule, num_steps=params["num_steps"],
                                batch=num, n=n, sampler=sampler, spacing=params["spacing"])
        spins = np.sign(np.asarray(result.x))
        m = spins.mean(1)
        tv, null_mean, null_sd, p_value = enumeration.total_variation(m, exact.m_values, exact.m_law, seed=i)
        up = np.rint((n * m + n) / 2).astype(int)
        m_laws.append(np.bincount(up, minlength=n + 1) / num)
        e = np.asarray(target.energy(jnp.asarray(spins))) / n if has_energy else np.full(num, np.nan)
        rows.append((tv, null_mean, null_sd, p_value, e.mean(), e.std(ddof=1) / math.sqrt(num),
                     np.mean(m**2), np.std(m**2, ddof=1) / math.sqrt(num)))
    rows = np.array(rows)
    dims = ("sampler",)
    return xr.Dataset(
        {
            "tv": (dims, rows[:, 0], {"long_name": "TV(generated, exact) of the law of m"}),
            "tv_null_mean": (dims, rows[:, 1], {"long_name": "TV of the same number of exact samples: mean"}),
            "tv_null_sd": (dims, rows[:, 2], {"long_name": "TV of the same number of exact samples: s.d."}),
            "p_value": (dims, rows[:, 3], {"long_name": "P_null(TV >= observed)"}),
            "energy": (dims, rows[:, 4], {"long_name": "energy per spin of the generated spins"}),
            "energy_err": (dims, rows[:, 5]),
            "energy_exact": ((), exact.energy / 1.0),
            "m2": (dims, rows[:, 6], {"long_name": "<m^2> of the generated spins"}),
            "m2_err": (dims, rows[:, 7]),
            "m2_exact": ((), exact.m2),
            "m_law": (("sampler", "m"), np.array(m_laws), {"long_name": "generated P(m)"}),
            "m_law_exact": (("m",), exact.m_law),
            "q_law_exact": (("m",), exact.q_law, {"long_name": "exact P(q), q on the m grid"}),
        },
        coords={"sampler": list(params["samplers"]), "m": exact.m_values},
        attrs={
            "schedule": params["schedule"], "T": params["T"], "t_min": params["t_min"],
            "num_steps": params["num_steps"], "num_samples": num, "disorder_seed": params["disorder_seed"],
            "spins": "sign of x at t_min",
        },
    )


def plot(ds: xr.Dataset, path: pathlib.Path) -> None:
    """TV per sampler for every target (and other swept values), with the null band mean ± 2 s.d."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tv = ds["tv"]
    groups = [d for d in tv.dims if d != "sampler"]
    stacked = tv.stack(case=groups) if groups else tv.expand_dims(case=[0])
    null_mean = (ds["tv_null_mean"].stack(case=groups) if groups else ds["tv_null_mean"].expand_dims(case=[0]))
    null_sd = (ds["tv_null_sd"].stack(case=groups) if groups else ds["tv_null_sd"].expand_dims(case=[0]))
    cases = stacked["case"].values
    samplers = list(ds["sampler"].values)
    fig, ax = plt.subplots(figsize=(max(5, 1.6 * len(cases)), 3.6))
    width = 0.8 / len(samplers)
    x = np.arange(len(cases))
    for j, sampler in enumerate(samplers):
        offset = x - 0.4 + (j + 0.5) * width
        ax.bar(offset, stacked.sel(sampler=sampler).values, width, label=str(sampler))
        mean, sd = null_mean.sel(sampler=sampler).values, null_sd.sel(sampler=sampler).values
        ax.errorbar(offset, mean, yerr=2 * sd, fmt="k_", lw=1, capsize=2)
    ax.set_xticks(x, ["\n".join(map(str, c)) if isinstance(c, tuple) else str(c) for c in cases], fontsize=8)
    ax.set_ylabel("TV of P(m): generated vs exact")
    ax.set_title("exact-score generation (black: exact-sample null, mean ± 2 s.d.)", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
