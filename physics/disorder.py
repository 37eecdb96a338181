"""Order parameters of disordered targets along the generative trajectory: per disorder sample and averaged.

Two averages (Mézard, Parisi & Virasoro, "Spin Glass Theory and Beyond", 1987): the thermal average ⟨·⟩ over samples of one disorder realisation J
(here over trajectories: draws of s₀, x_t and replicas) and the disorder average [·] over independent J.
A statistic X is formed per sample, X̂_J = X(⟨·⟩_J), and averaged in one of two ways,
    [X] = (1/D) Σ_J X̂_J                               sample-averaged, e.g. [U₄], [χ];
    X([⟨·⟩]), e.g. U₄ = 1 − [⟨m⁴⟩] / (3 [⟨m²⟩]²)       of averaged moments (`binder_of_averages`).
Errors. Per sample: bootstrap over the thermal samples (physics.scaling.bootstrap). Disorder average:
jackknife (default) or bootstrap over the disorder samples, each keeping its own thermal samples. The spread
of X̂_J over J already holds the thermal noise, Var X̂ = Var_J X_J + E_J Var_thermal X̂_J, so this is the whole
error of [X] (to O(1/D)); resampling the thermal samples again inside each J (a two-level bootstrap) would
count the thermal variance twice (Davison & Hinkley 1997, "Bootstrap Methods", §3.8) and is not offered.
Ratios formed per sample (U₄ of few thermal samples) carry an O(1/num_samples) bias that no error bar covers.

Trajectory order parameters (exact forward law, `physics.transitions.forward_path`): s₀ ~ P (the end point
of the equivalent exact reverse trajectory), x_t = α_t s₀ + σ_t ξ, and per recorded time
    m_D = (1/N) Σᵢ E[sᵢ | x_t]                        denoiser magnetisation,
    q₀ = (1/N) s₀ · E[s | x_t]                         overlap with the end point,
    q₁₂ = (1/N) |E[s | x_t]|² = E[q_ab | x_t]           replica overlap, exact conditional expectation,
    q_ab = (1/N) s_a · s_b,  s_a, s_b ~ P(s | x_t)     two sampled replicas cloned at x_t,
    q₀ₐ = (1/N) s₀ · s_a,   m₀ = (1/N) Σᵢ s₀ᵢ          end point against a replica; end-point magnetisation.
Nishimori identity: given x_t the end point s₀ is itself a draw from P(s | x_t), so (s₀, s_a, s_b) are
exchangeable: E q₀ = E q₁₂ and q₀ₐ has the law of q_ab, at every t and for every J. Limits: t → 0, the
posterior collapses on s₀ (q₀, q₁₂, q_ab → 1); t → ∞, P(s | x_t) → P and q_ab has the equilibrium overlap law
P(q) (models.equilibrium.equilibrium). β = 0 (independent spins), E[sᵢ | x] = tanh(α xᵢ/σ²) and
E q₁₂ = E q₀ = N Var m_D = E tanh²(λ + √λ ξ), λ = α²/σ² (`paramagnet_overlap`).
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable, Mapping, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import SAMPLE_CHUNK_SIZE, check_positive_int, enumerated_posterior_sample

from . import transitions as tr
from .scaling import Estimate, bootstrap
from .schedules import Schedule

Array = Any
METHODS = ("jackknife", "bootstrap")
#: States per step of the streamed posterior sampler.
CHUNK_SIZE = SAMPLE_CHUNK_SIZE


# ---- hierarchical estimates ----------------------------------------------------------------------------------
class Hierarchical(NamedTuple):
    """per_sample: name -> Estimate of shape (num_disorder, ...); average: name -> Estimate of shape (...)."""

    per_sample: dict[str, Estimate]
    average: dict[str, Estimate]


def disorder_average(per_sample: Mapping[str, Array], combine: Callable[[dict], dict] | None = None,
                     method: str = "jackknife", seed: int = 0, num_resamples: int = 200) -> dict[str, Estimate]:
    """[X] = (1/D) Σ_J X_J for every per-sample statistic (arrays (D, ...)), and combine([X]) with its errors.

    Args:
        per_sample: name -> per-disorder values X_J, shape (D, ...) with the same D >= 2.
        combine: maps the dict of averages to a dict of derived quantities (new names), e.g.
            `binder_of_averages("m")`; None for none.
        method: "jackknife" (delete-one over J: σ² = (D−1)/D Σ_J (θ₋J − θ̄)²) or "bootstrap" (over J,
            num_resamples draws, standard deviation with ddof = 1).
    Returns:
        name -> Estimate(value on all D samples, error), shape (...).
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    check_positive_int("num_resamples", num_resamples)
    values = {k: np.asarray(v, dtype=float) for k, v in per_sample.items()}
    if not values:
        raise ValueError("per_sample must hold at least one statistic")
    sizes = {k: (v.shape[0] if v.ndim else 0) for k, v in values.items()}
    num = next(iter(sizes.values()))
    if num < 2 or any(s != num for s in sizes.values()):
        raise ValueError(f"every per_sample array needs the same leading (disorder) axis of length num_disorder >= 2, "
                         f"got lengths {sizes}")

    def reduce(weights):
        avg = {k: np.tensordot(weights, v, axes=(0, 0)) for k, v in values.items()}
        if combine is None:
            return avg
        extra = combine(avg)
        clash = sorted(set(extra) & set(avg))
        if clash:
            raise ValueError(f"combine must return new names, but {clash} are per-sample statistics already")
        return {**avg, **{k: np.asarray(v, dtype=float) for k, v in extra.items()}}

    full = reduce(np.full(num, 1.0 / num))
    if method == "jackknife":
        draws = [reduce(np.where(np.arange(num) == j, 0.0, 1.0 / (num - 1))) for j in range(num)]
        scale, ddof = math.sqrt(num - 1), 0
    else:
        rng = np.random.default_rng(seed)
        draws = [reduce(np.bincount(rng.integers(0, num, num), minlength=num) / num) for _ in range(num_resamples)]
        scale, ddof = 1.0, 1
    return {k: Estimate(full[k], scale * np.std(np.stack([d[k] for d in draws]), axis=0, ddof=ddof)) for k in full}


def hierarchical(samples: Array, statistic: Callable[[np.ndarray], dict], combine: Callable[[dict], dict] | None = None,
                 method: str = "jackknife", seed: int = 0, num_resamples: int = 200) -> Hierarchical:
    """Per-disorder and disorder-averaged estimates of statistic(samples) (module docstring).

    Args:
        samples: thermal samples per disorder sample, shape (num_disorder, ..., num_samples).
        statistic: (..., num_samples) -> dict of arrays (...), e.g. `scaling.magnetization_statistics`.
        combine, method: see `disorder_average`.
        seed, num_resamples: of the per-sample (thermal) bootstrap and of a disorder bootstrap.
    Returns:
        Hierarchical(per_sample: bootstrap over thermal samples, average: [X] and combine([X]) with errors
        over disorder samples).
    """
    samples = np.asarray(samples, dtype=float)
    if samples.ndim < 2:
        raise ValueError(f"samples must have shape (num_disorder, ..., num_samples), got shape {samples.shape}")
    per_sample = bootstrap(samples, statistic, seed, num_resamples)
    average = disorder_average({k: e.value for k, e in per_sample.items()}, combine, method, seed, num_resamples)
    return Hierarchical(per_sample, average)


def binder_of_averages(prefix: str = "m") -> Callable[[dict], dict]:
    """combine for `disorder_average`: {"binder_of_averages": 1 − [⟨x⁴⟩] / (3 [⟨x²⟩]²)} from the averaged
    moments named <prefix>2 and <prefix>4 (of `scaling.magnetization_statistics`, `replica_overlap_statistics`)."""

    def combine(avg: dict) -> dict:
        return {"binder_of_averages": 1.0 - avg[f"{prefix}4"] / (3.0 * avg[f"{prefix}2"] ** 2)}

    return combine


def replica_overlap_statistics(q: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """⟨q⟩, ⟨q²⟩, ⟨q⁴⟩, χ_SG = N ⟨q²⟩ and U₄ = 1 − ⟨q⁴⟩/(3⟨q²⟩²) over the last axis of q (..., samples)."""
    q = np.asarray(q, dtype=float)
    q2 = np.mean(q * q, -1)
    q4 = np.mean(q**4, -1)
    return {"q": np.mean(q, -1), "q2": q2, "q4": q4, "chi_sg": n * q2, "binder": 1.0 - q4 / (3.0 * q2**2)}


def exact_replica_overlap_statistics(q_values: np.ndarray, q_law: np.ndarray, n: int) -> dict[str, np.ndarray]:
    """`replica_overlap_statistics` of an exact law P(q) (e.g. `models.equilibrium.equilibrium(target).q_law`);
    the laws may carry leading axes: q_values (..., K), q_law (..., K)."""
    q, p = np.asarray(q_values, dtype=float), np.asarray(q_law, dtype=float)
    q2, q4 = np.sum(p * q**2, -1), np.sum(p * q**4, -1)
    return {"q": np.sum(p * q, -1), "q2": q2, "q4": q4, "chi_sg": n * q2, "binder": 1.0 - q4 / (3.0 * q2**2)}


def paramagnet_overlap(snr: Array, num_nodes: int = 120) -> np.ndarray:
    """E tanh²(λ + √λ ξ), ξ ~ N(0, 1), by Gauss–Hermite quadrature: E q₁₂ = E q₀ = N Var m_D at β = 0, where
    E[sᵢ | x] = tanh(α xᵢ/σ²) and α xᵢ/σ² = λ sᵢ + √λ ξᵢ with λ = α²/σ² (module docstring)."""
    lam = np.asarray(snr, dtype=float)
    if np.any(~np.isfinite(lam)) or np.any(lam < 0):
        raise ValueError(f"snr must be finite and >= 0, got {snr!r}")
    x, w = np.polynomial.hermite_e.hermegauss(num_nodes)
    return np.sum(w * np.tanh(lam[..., None] + np.sqrt(lam)[..., None] * x) ** 2, -1) / np.sum(w)


# ---- exact posterior replicas --------------------------------------------------------------------------------
def posterior_sample(key: Array, target: Any, x: Array, alpha: Array, sigma: Array, num_replicas: int,
                     chunk_size: int = CHUNK_SIZE) -> Array:
    """Independent exact draws from P(s | x_t = x) ∝ w(s) exp(α x·s/σ²) for every row of x: the Gumbel-max
    sampler of `models.base.enumerated_posterior_sample` (chunk c of the 2ᴺ states draws from fold_in(key, c)).

    Args:
        target: a spin target with ``n`` (≤ 20) and ``log_weight``.
        x: noisy configurations, shape (batch, n).
        alpha, sigma: the schedule at the time of x (σ > 0).
    Returns:
        spins of shape (batch, num_replicas, n).
    """
    n = target.n
    check_positive_int("num_replicas", num_replicas)
    check_positive_int("chunk_size", chunk_size)
    x = jnp.asarray(x)
    if x.ndim != 2 or x.shape[-1] != n:
        raise ValueError(f"x must have shape (batch, n = {n}), got {x.shape}")
    return enumerated_posterior_sample(target.log_weight, n, key, x, alpha, sigma, num_replicas, chunk_size)


# ---- order parameters along the trajectory -------------------------------------------------------------------
class OrderParameters(NamedTuple):
    """Per trajectory (module docstring); shapes (T, B), m_end (B,), end_points (B, n), with a leading
    disorder axis when returned by `disorder_order_parameters`."""

    m_denoiser: Array  # m_D
    q_end: Array  # q₀
    q_posterior: Array  # q₁₂
    q_replicas: Array  # q_ab
    q_end_replica: Array  # q₀ₐ
    m_end: Array  # m₀
    end_points: Array  # s₀


def check_times(times: Array) -> jnp.ndarray:
    """Recording times: 1-D, non-empty, finite, > 0 and strictly increasing (the forward path runs up in t)."""
    return jnp.asarray(_checked_times(times))


def _checked_times(times: Array) -> np.ndarray:
    """`check_times` on the host: the times as a NumPy array."""
    t = np.asarray(times, dtype=float)
    if t.ndim != 1 or t.size == 0:
        raise ValueError(f"times must be a non-empty 1-D array, got shape {t.shape}")
    if not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise ValueError(f"times must be finite and > 0 (σ = 0 at t = 0), got {t}")
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"times must be strictly increasing, got {t}")
    return t


def trajectory_order_parameters(key: Array, target: Any, schedule: Schedule, times: Array,
                                num_samples: int) -> OrderParameters:
    """m_D, q₀, q₁₂, q_ab, q₀ₐ at each time along num_samples exact forward paths from s₀ ~ target.

    Args:
        key: split into the end points (target.sample), the forward path and the replicas (fold_in per time).
        target: spin target with an exact ``posterior_mean``, ``sample`` and ``log_weight`` (N ≤ 20).
        times: increasing recording times (`check_times`).
    Returns:
        OrderParameters with arrays (len(times), num_samples).
    """
    check_positive_int("num_samples", num_samples)
    times = check_times(times)
    n = target.n
    k_data, k_path, k_rep = jax.random.split(key, 3)
    s0 = target.sample(k_data, num_samples)
    path = tr.forward_path(k_path, s0, schedule, times)

    def at(args):
        k, t, x = args
        alpha, sigma = schedule.alpha(t), schedule.sigma(t)
        d = target.posterior_mean(x, alpha, sigma)
        rep = posterior_sample(jax.random.fold_in(k_rep, k), target, x, alpha, sigma, 2)
        return (tr.denoiser_magnetization(s0, x, d), tr.end_point_overlap(s0, x, d), jnp.sum(d * d, -1) / n,
                jnp.sum(rep[:, 0] * rep[:, 1], -1) / n, jnp.sum(s0 * rep[:, 0], -1) / n)

    per_time = jax.lax.map(at, (jnp.arange(times.shape[0]), times, path))
    return OrderParameters(*per_time, jnp.mean(s0, -1), s0)


def disorder_order_parameters(key: Array, make_target: Callable[[Array], Any], disorder: Array, schedule: Schedule,
                              times: Array, num_samples: int, batch_size: int | None = None) -> OrderParameters:
    """`trajectory_order_parameters` for every disorder sample, with a leading disorder axis (D, ...).

    Args:
        make_target: disorder parameters of one sample -> target, e.g. ``lambda J: SherringtonKirkpatrick(J, β)``.
        disorder: stacked disorder parameters, leading axis D (e.g. couplings (D, n, n)); sample d uses
            fold_in(key, d).
        batch_size: disorder samples vmapped together (lax.map in blocks); None runs them one by one.
    """
    disorder = jax.tree_util.tree_map(lambda a: jax.device_put(np.asarray(a)), disorder)
    leaves = jax.tree_util.tree_leaves(disorder)
    if not leaves or leaves[0].ndim == 0:
        raise ValueError("disorder must be stacked parameters with a leading disorder axis, e.g. couplings (D, n, n)")
    check_positive_int("num_samples", num_samples)
    times = tuple(float(t) for t in _checked_times(times))
    return _disorder_order_parameters(key, disorder, make_target=make_target, schedule=schedule, times=times,
                                      num_samples=num_samples, batch_size=batch_size)


@functools.partial(jax.jit, static_argnames=("make_target", "schedule", "times", "num_samples", "batch_size"))
def _disorder_order_parameters(key, disorder, *, make_target, schedule, times, num_samples, batch_size):
    """`disorder_order_parameters` after its checks; times a tuple. One compilation serves every call with the
    same make_target (a module-level function: the disorder parameters, e.g. (couplings, β), traced), schedule,
    times and shapes."""
    num = jax.tree_util.tree_leaves(disorder)[0].shape[0]
    keys = jax.vmap(lambda d: jax.random.fold_in(key, d))(jnp.arange(num))

    def one(args):
        k, params = args
        return trajectory_order_parameters(k, make_target(params), schedule, np.asarray(times), num_samples)

    return jax.lax.map(one, (keys, disorder), batch_size=batch_size)


def end_point_pair_overlaps(end_points: Array) -> np.ndarray:
    """q = s·s'/N between the end points of trajectories b and b + B/2 (independent equilibrium draws):
    (..., B, n) -> (..., B // 2), whose law is the equilibrium P(q)."""
    s = np.asarray(end_points, dtype=float)
    half = s.shape[-2] // 2
    if half < 1:
        raise ValueError(f"end_points needs >= 2 trajectories on axis -2, got shape {s.shape}")
    return np.mean(s[..., :half, :] * s[..., half:2 * half, :], -1)
