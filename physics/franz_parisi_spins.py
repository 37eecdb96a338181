"""Franz–Parisi potential of spin targets in the overlap with a posterior reference, and its minima.

Franz & Parisi, J. Phys. I 5, 1401 (1995), for the posterior P(s | x_t) of generative diffusion (Yu & Huang,
arXiv 2405.11932, Sec. V, for the 1-D analogue): with a reference s′ drawn from the posterior (the pair (s′, x_t)
then has the joint law P(s′) N(x_t; α s′, σ² I), which is how it is sampled) and the overlap q = s·s′/N,
    V(q; t) = −(1/N) E_{s′, x_t} ln P(q | x_t, s′),   P(q | x, s′) = Σ_{s: s·s′ = Nq} P(s | x_t = x),
the constrained free energy per spin minus the unconstrained one (a q-independent shift of Yu & Huang's V). The
N + 1 levels are indexed by K = #(sᵢ = s′ᵢ) = N(1 + q)/2. P(q | x, s′) by enumeration for any target with
log_weight (N ≤ 20), or exactly at any N for a target with the OverlapLaw capability (Curie–Weiss: a two-group
sum, `models.curie_weiss.CurieWeiss.overlap_log_probs`). Beyond both, umbrella Monte Carlo
(`physics.umbrella`) and its quenched average (`physics.quenched`).
"""

from __future__ import annotations

import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import OverlapLaw, check_enumerable, check_noise_level, check_positive_int, spin_states

from .forward import noise_at
from .scaling import Estimate

Array = Any

METHODS = ("auto", "exact", "enumeration")


def ou_noise(t: float) -> tuple[float, float]:
    """(α, σ) = (e^{−t}, √(1 − e^{−2t})) of the Ornstein–Uhlenbeck process at diffusion time t > 0 (the time
    axis of the spin potentials: x_t = α s′ + σ ξ)."""
    if not t > 0:
        raise ValueError(f"t must be > 0, got {t}")
    return math.exp(-t), math.sqrt(-math.expm1(-2 * t))


def overlap_grid(n: int) -> np.ndarray:
    """The N + 1 overlaps q = (2K − N)/N, K = number of spins equal to the reference."""
    return (2 * np.arange(n + 1) - n) / n


def enumerated_overlap_log_probs(target: Any, references: Array, x: Array, alpha: Array, sigma: Array) -> Array:
    """ln P(q | x, s′) by enumeration of all 2ᴺ states; references, x (batch, N) -> (batch, N + 1) over K."""
    check_enumerable(target.n, "the Franz–Parisi potential by enumeration")
    check_noise_level(alpha, sigma)
    dtype = jnp.float64 if jax.config.jax_enable_x64 else jnp.float32
    return _enumerated_overlap_log_probs(target, jnp.asarray(references, dtype), jnp.asarray(x, dtype), alpha, sigma)


@jax.jit
def _enumerated_overlap_log_probs(target, references, x, alpha, sigma):
    """`enumerated_overlap_log_probs` after its checks; the target is an argument, so one compilation serves every
    disorder draw and noise level of a given N."""
    n = target.n
    states = spin_states(n, references.dtype)
    log_prior = target.log_weight(states)  # (2ᴺ,)

    def one(ref, xx):
        logw = log_prior + alpha * states @ xx / sigma**2
        agree = ((states @ ref + n) / 2).round().astype(jnp.int32)  # K per state
        log_pk = jax.ops.segment_max(logw, agree, num_segments=n + 1)
        shift = jnp.where(jnp.isfinite(log_pk), log_pk, 0.0)
        sums = jax.ops.segment_sum(jnp.exp(logw - shift[agree]), agree, num_segments=n + 1)
        log_pk = shift + jnp.log(sums)
        return log_pk - jax.nn.logsumexp(log_pk)

    return jax.lax.map(lambda rx: one(*rx), (references, x))


def _exact_overlap_log_probs(target: OverlapLaw, references: Array, x: Array, alpha: Array, sigma: Array) -> Array:
    return target.overlap_log_probs(references, x, alpha, sigma)


def spin_franz_parisi(key: Array, target: Any, alpha: float, sigma: float, num_samples: int,
                      method: str = "auto") -> tuple[np.ndarray, Estimate]:
    """V(q; t) = −(1/N) E ln P(q | x_t, s′) with s′ ~ P exact and x_t = α s′ + σ ξ (module docstring).

    Args:
        target: a spin target; method "exact" needs the OverlapLaw capability (`overlap_log_probs`, any N),
            "enumeration" needs log_weight and N ≤ 20; "auto" picks "exact" for a target that has it.
        alpha, sigma: noise level of x_t = α s + σ ξ.
        num_samples: Monte-Carlo samples of (s′, x_t).
    Returns:
        q (N+1,), Estimate(V, standard error of the sample mean) each (N+1,).
    """
    check_positive_int("num_samples", num_samples)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if method == "auto":
        method = "exact" if isinstance(target, OverlapLaw) else "enumeration"
    if method == "exact" and not isinstance(target, OverlapLaw):
        raise ValueError(f"method 'exact' needs a target with overlap_log_probs (the OverlapLaw capability), got "
                         f"{type(target).__name__}; use method 'enumeration' for N <= 20")
    k_ref, k_noise = jax.random.split(key)
    if method == "enumeration":
        check_enumerable(target.n, "the Franz–Parisi potential by enumeration")
        states = spin_states(target.n, float)
        refs = states[jax.random.categorical(k_ref, target.log_weight(states), shape=(num_samples,))]
        log_probs = enumerated_overlap_log_probs
    else:
        refs = target.sample(k_ref, num_samples)
        log_probs = _exact_overlap_log_probs
    x = noise_at(k_noise, refs, alpha, sigma)
    values = -np.asarray(log_probs(target, refs, x, alpha, sigma)) / target.n
    err = values.std(axis=0, ddof=1) / math.sqrt(num_samples) if num_samples > 1 else np.full(values.shape[1], np.nan)
    return overlap_grid(target.n), Estimate(values.mean(axis=0), err)


# ---- secondary minimum: appearance and degeneracy -------------------------------------------------------------
def local_minima(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Indices of strict interior local minima of v on the grid q, plus end points lower than their neighbour."""
    v = np.asarray(v)
    inner = np.nonzero((v[1:-1] < v[:-2]) & (v[1:-1] < v[2:]))[0] + 1
    ends = [i for i, j in ((0, 1), (len(v) - 1, len(v) - 2)) if v[i] < v[j]]
    return np.sort(np.concatenate([inner, np.asarray(ends, dtype=int)]))


class MinimumTimes(NamedTuple):
    """Times (along the scan order) of the appearance of a secondary minimum and of its degeneracy."""

    appear: float
    appear_resolution: float
    degenerate: float
    q_secondary: float


def secondary_minimum_times(times: np.ndarray, q: np.ndarray, v: np.ndarray, degeneracy: float = 0.0) -> MinimumTimes:
    """When a secondary minimum of V(q; t) appears, and when it becomes global (within ``degeneracy``).

    Scanning the rows of v (len(times), len(q)) in the given order of ``times``:
      * appear: first time with a local minimum of V other than the global one (`local_minima`), reported as the
        midpoint between the last time without and the first with it (± half that grid step, ``appear_resolution``);
        NaN if there is none, or if the first row already has one;
      * degenerate: first time after that at which the signed gap ΔV = V(q_sec) − V(q_glob) falls to
        ``degeneracy``, by linear interpolation of ΔV between rows. q_sec starts at the secondary minimum farthest
        from the global one (returned as ``q_secondary``), q_glob at the global one; each basin is then followed
        from row to row as the local minimum nearest to its previous position (so ΔV < 0 once it is global).
        For a finite-N spin potential V = −(1/N) E ln P(q), ``degeneracy`` = 1/N asks for the secondary basin to
        carry a weight e^{−1} of the global one (the two class minima of Curie–Weiss are exactly degenerate only
        at t = ∞). NaN if it is not reached.
    Exactly checked on the tilted double well (q² − 1)² − c q: a secondary minimum exists iff |c| < 8/(3√3), and
    it is degenerate at c = 0 (tests/test_franz_parisi.py).
    """
    times, q, v = (np.asarray(a, float) for a in (times, q, v))
    if v.shape != (times.size, q.size):
        raise ValueError(f"v must have shape (len(times), len(q)) = {(times.size, q.size)}, got {v.shape}")
    k = None
    for i, row in enumerate(v):
        minima = local_minima(q, row)
        if minima.size > 1:
            k = i
            break
    if k is None or k == 0:
        return MinimumTimes(float("nan"), float("nan"), float("nan"), float("nan"))
    best = int(np.argmin(v[k]))
    others = minima[minima != best]
    sec = int(others[np.argmax(np.abs(q[others] - q[best]))])
    appear, resolution = 0.5 * (times[k - 1] + times[k]), 0.5 * abs(times[k] - times[k - 1])
    q_sec0 = float(q[sec])
    previous_gap, degenerate = v[k, sec] - v[k, best], float("nan")
    for i in range(k, times.size):
        minima = local_minima(q, v[i])
        if minima.size < 2:
            break
        # follow both basins: the local minimum nearest to each one's previous position
        sec = int(minima[np.argmin(np.abs(q[minima] - q[sec]))])
        best = int(minima[np.argmin(np.abs(q[minima] - q[best]))])
        if sec == best:
            break
        gap = v[i, sec] - v[i, best]
        if gap <= degeneracy:
            f = 1.0 if i == k else (previous_gap - degeneracy) / (previous_gap - gap)
            degenerate = float(times[i]) if i == k else float(times[i - 1] + f * (times[i] - times[i - 1]))
            break
        previous_gap = gap
    return MinimumTimes(float(appear), float(resolution), degenerate, q_sec0)
