"""Study kind: generate spin-glass targets with the exact enumeration score and compare with the exact law.

For one target (SK, Hopfield, Edwards–Anderson or an empirical data set of SK samples) at small N, every
sampler integrates the reverse dynamics from x_T ~ N(0, σ_T² I) with the exact score
∇ ln p_t = (α E[s|x] − x)/σ² (E[s|x] by enumeration of the 2ᴺ states, for SK, Hopfield and EA in their common
pairwise form `models.sk.ising_form`, so that one compiled run per sampler serves all three; or attention over the
data). The
generated spins sign(x_{t_min}) are compared with the exact law of the magnetisation m = Σs/N: total
variation TV = ½ Σ_m |P̂(m) − P(m)| with its bootstrap standard error (multinomial resamples of the generated
law, BOOTSTRAP of them) and its null distribution for the same number of exact samples (mean, standard
deviation, p-value), and the energy per spin against its exact mean.
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import xarray as xr

from statphys.models.base import import_netket
from statphys.models.dataset import DataSet
from statphys.models.edwards_anderson import EdwardsAnderson
from statphys.models.equilibrium import equilibrium
from statphys.models.hopfield import Hopfield
from statphys.models.sk import SherringtonKirkpatrick, ising_form
from statphys.physics import ExactScore, make_schedule, reverse_sample
from statphys.physics.total_variation import total_variation

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
BOOTSTRAP = 400  # resamples of the generated law for the standard error of TV
MODELS = ("sk", "hopfield", "edwards_anderson", "dataset")
# long names of the variables that run() does not describe itself (it sets those of the others)
VARIABLES = {
    "m2_err": ("standard error of m2 (sd of m^2 / sqrt(num_samples))", "1"),
    "m2_exact": ("exact <m^2> by enumeration of the 2^N states (data-set target: of its empirical law)", "1"),
    "m_law_exact": ("exact P(m) by enumeration of the 2^N states (data-set target: its empirical law)", "1"),
    "model": ("target: sk, hopfield (num_patterns), edwards_anderson (lattice, bonds) or dataset (num_data SK "
              "samples)", "1"),
    "sampler": ("reverse sampler (physics.samplers) from x_T ~ N(0, sigma_T^2 I) with the exact score", "1"),
    "m": ("magnetisation m = sum_i s_i/N on its grid (2k - N)/N, k = 0..N", "1"),
    "beta": ("inverse temperature beta of the target", "1"),
    "n": ("number of spins N", "1"),
}


def validate(params: dict) -> None:
    """Refuse what cannot run before any compute: unknown names, sizes beyond exact enumeration."""
    from statphys.models.base import MAX_ENUMERATION_N
    from statphys.physics.samplers import SAMPLERS

    for model in np.atleast_1d(params["model"]):
        if model not in MODELS:
            raise ValueError(f"[params] model must be one of {MODELS}, got {model!r}")
    for n in np.atleast_1d(params["n"]):
        if not 2 <= n <= MAX_ENUMERATION_N:
            raise ValueError(f"[params] n = {n}: this study scores by exact enumeration of the 2^n states, so "
                             f"2 <= n <= {MAX_ENUMERATION_N}")
        if params["lattice"] == "square" and "edwards_anderson" in np.atleast_1d(params["model"]) \
                and math.isqrt(int(n)) ** 2 != n:
            raise ValueError(f"[params] n = {n} must be a perfect square for lattice = 'square' (or lattice = 'chain')")
    for beta in np.atleast_1d(params["beta"]):
        if beta < 0:
            raise ValueError(f"[params] beta must be >= 0, got {beta}")
    unknown = [s for s in params["samplers"] if s not in SAMPLERS]
    if unknown:
        raise ValueError(f"[params] samplers: unknown {unknown}; allowed: {sorted(SAMPLERS)}")
    for name in ("num_steps", "num_samples", "num_patterns", "num_data"):
        if params[name] <= 0:
            raise ValueError(f"[params] {name} must be > 0, got {params[name]}")
    if params["lattice"] not in ("square", "chain"):
        raise ValueError(f"[params] lattice must be 'square' or 'chain', got {params['lattice']!r}")


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


@functools.partial(jax.jit, static_argnames=("num_samplers",))
def _run_keys(key, *, num_samplers: int):
    """k_target, k_run = split(key), and the key fold_in(k_run, i) of every sampler i (num_samplers, ...)."""
    k_target, k_run = jax.random.split(key)
    return k_target, jax.vmap(lambda i: jax.random.fold_in(k_run, i))(jnp.arange(num_samplers))


@jax.jit
def _energy(target, spins):
    """target.energy(spins), the target an argument: one compilation per target class and shape."""
    return target.energy(spins)


def run(params: dict, key) -> xr.Dataset:
    """One target, every sampler: TV of the law of m (± null spread) and the energy per spin."""
    n, num = params["n"], params["num_samples"]
    for name in ("num_steps", "num_samples", "num_data", "num_patterns"):
        if params[name] <= 0:
            raise ValueError(f"{name} must be > 0, got {params[name]}")
    k_target, run_keys = (np.asarray(k) for k in _run_keys(key, num_samplers=len(params["samplers"])))
    target = make_target(params, jax.device_put(k_target))
    exact = equilibrium(target)
    schedule = make_schedule(params["schedule"], T=params["T"], t_min=params["t_min"])
    score = ExactScore(target if isinstance(target, DataSet) else ising_form(target), schedule)
    has_energy = hasattr(target, "energy")
    rows = []
    m_laws, tv_err = [], []
    for i, sampler in enumerate(params["samplers"]):
        result = reverse_sample(jax.device_put(run_keys[i]), score, schedule, num_steps=params["num_steps"],
                                batch=num, n=n, sampler=sampler, spacing=params["spacing"])
        spins = np.sign(np.asarray(result.x))
        m = spins.mean(1)
        tv, null_mean, null_sd, p_value = total_variation(m, exact.m_values, exact.m_law, seed=i)
        up = np.rint((n * m + n) / 2).astype(int)
        m_laws.append(np.bincount(up, minlength=n + 1) / num)
        boot = np.random.default_rng([params["disorder_seed"], i]).multinomial(num, m_laws[-1], size=BOOTSTRAP) / num
        tv_err.append(float(np.std(0.5 * np.abs(boot - exact.m_law).sum(1), ddof=1)))
        e = np.asarray(_energy(target, jax.device_put(spins))) / n if has_energy else np.full(num, np.nan)
        rows.append((tv, null_mean, null_sd, p_value, e.mean(), e.std(ddof=1) / math.sqrt(num),
                     np.mean(m**2), np.std(m**2, ddof=1) / math.sqrt(num)))
    rows = np.array(rows)
    dims = ("sampler",)
    return xr.Dataset(
        {
            "tv": (dims, rows[:, 0], {"long_name": "TV(generated, exact) of the law of m"}),
            "tv_err": (dims, np.array(tv_err), {"long_name": "bootstrap standard error of tv"}),
            "tv_null_mean": (dims, rows[:, 1], {"long_name": "TV of the same number of exact samples: mean"}),
            "tv_null_sd": (dims, rows[:, 2], {"long_name": "TV of the same number of exact samples: s.d."}),
            "p_value": (dims, rows[:, 3], {"long_name": "P_null(TV >= observed)"}),
            "energy": (dims, rows[:, 4], {"long_name": "energy per spin of the generated spins; NaN for the "
                                                       "data-set target (it has no energy function)"}),
            "energy_err": (dims, rows[:, 5], {"long_name": "standard error of the energy per spin; NaN for the "
                                                           "data-set target"}),
            "energy_exact": ((), exact.energy / 1.0, {"long_name": "exact mean energy per spin (enumeration); NaN "
                                                                   "for the data-set target"}),
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
