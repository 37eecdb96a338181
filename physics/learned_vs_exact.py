"""A learned score measured against the exact score s = ∇ln p_t of a spin target at the same (x_t, t): the
measurements that only an exact score allows (the score is any callable s(x, t), e.g. a
`physics.networks.NetworkScore` trained by `physics.dsm_training.train_dsm`).

  - relative score error ε(t) = σ_t² E_{p_t}‖s_θ − s‖²/n (the DSM excess loss at time t per degree of freedom;
    the λ = σ² weighting of Song et al., ICLR 2021, eq. 7), `relative_score_distance`;
  - path KL (Girsanov; Song et al., NeurIPS 2021, "Maximum likelihood training of score-based diffusion
    models", Thm 1; Franzese et al., arXiv 2206.05173, eq. 5): the score part of KL(forward ‖ generative),
    ∫_{t_min}^T ½ g² E_{p_t}‖s_θ − s‖² dt over exact forward samples (`forward_path_kl`), and along the
    learned reverse paths, KL(learned reverse ‖ exact-score reverse) = ∫ ½ g² E_{q_t}‖s_θ − s‖² dt with q_t
    the law the learned reverse SDE generates (same start law for both), `generate` with an exact denoiser;
  - generated law of the magnetisation m = mean_i sign(x_i) against the exact P(m) (its frequencies,
    `magnetization_histogram`, for `physics.total_variation.histogram_tv`) and the
    speciation time of the learned generation (`physics.transitions.speciation_time` of the denoiser
    magnetisation recorded along the run);
  - the generated-law error split into its three sources by changing one ingredient at a time, measured by the
    signed error in ⟨m²⟩ (`second_moment_error`, `paired_difference`): score (learned vs exact score, same
    sampler, steps, start and noise), discretisation (exact score, coarse vs fine steps), prior (exact score,
    fine steps, N(0, σ_T² I) vs the exact p_T as start, `exact_start`); what is left with the exact score,
    fine steps and exact start is the sampling error of the paths;
  - on an enumerable target (a lattice spin glass), the generated law against the exact one on the energy per
    spin (`energy_per_spin`, a signed per-path statistic split like ⟨m²⟩), the overlap law P(q) of independent
    pairs of generated states (`overlap_histogram`) and all 2ⁿ states (`state_histogram`);
  - memorisation: the same ε between s_θ and the empirical score of the training set (`models.dataset.DataSet`)
    against that between s_θ and the population score (`memorisation_index`), the time below which s_θ follows
    the data set (`collapse_crossing`), and the collapse time of the exact empirical score itself
    (`empirical_collapse`).
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_positive_int

from .forward import noise
from .normal_draws import standard_normal
from .scaling import crossing
from .schedules import Schedule
from .scores import as_pytree_callable
from .trajectory import reverse_sample

Array = Any


# ---- measurements --------------------------------------------------------------------------------------------
def noised_samples(key: Array, target: Any, schedule: Schedule, t: Array, num: int) -> Array:
    """x_t = α_t x₀ + σ_t ξ with x₀ exact samples of the target: shape (num, n)."""
    k_x, k_xi = jax.random.split(key)
    return noise(k_xi, target.sample(k_x, num), schedule, t)


def relative_score_distance(key: Array, pairs: list[tuple[Any, Any]], target: Any, schedule: Schedule,
                            times: Array, num: int = 1024) -> tuple[np.ndarray, np.ndarray]:
    """ε_ab(t) = σ_t² E_{x ~ p_t} ‖s_a(x, t) − s_b(x, t)‖²/n for each pair (s_a, s_b) of score functions, all
    pairs on the same exact samples of p_t (`noised_samples`, num per time; time i uses fold_in(key, i)).

    Returns (mean, standard error over samples), each of shape (len(pairs), len(times))."""
    check_positive_int("num", num)
    mean, err = np.zeros((len(pairs), len(times))), np.zeros((len(pairs), len(times)))
    for i, t in enumerate(np.asarray(times, float)):
        x = noised_samples(jax.random.fold_in(key, i), target, schedule, t, num)
        for j, (a, b) in enumerate(pairs):
            v = np.asarray(_distance(as_pytree_callable(a), as_pytree_callable(b), x, jnp.asarray(t, x.dtype),
                                     schedule))
            mean[j, i], err[j, i] = v.mean(), v.std(ddof=1) / math.sqrt(num)
    return mean, err


@functools.partial(jax.jit, static_argnums=(4,))
def _distance(a, b, x, t, schedule):
    """σ_t² ‖a(x, t) − b(x, t)‖²/n per sample, shape (batch,)."""
    return schedule.sigma(t) ** 2 * jnp.sum((a(x, t) - b(x, t)) ** 2, axis=-1) / x.shape[-1]


def forward_path_kl(key: Array, score_fn: Any, exact_fn: Any, target: Any, schedule: Schedule, *,
                    num_samples: int = 512, num_nodes: int = 16) -> tuple[float, float]:
    """Score part of the Girsanov path KL, ∫_{t_min}^T ½ g² E_{p_t}‖s_θ − s‖² dt over exact samples of p_t,
    Gauss–Legendre in t (num_nodes) as in `physics.path_kl.path_kl`, which also needs ln p_T in closed
    form for its prior term (a Curie–Weiss or data-set target has none). Returns (value, standard error)."""
    check_positive_int("num_nodes", num_nodes)
    nodes, weights = np.polynomial.legendre.leggauss(num_nodes)
    a, b = schedule.t_min, schedule.T
    ts, ws = 0.5 * (b - a) * nodes + 0.5 * (b + a), 0.5 * (b - a) * weights
    eps, err = relative_score_distance(key, [(score_fn, exact_fn)], target, schedule, ts, num_samples)
    factor = ws * 0.5 * np.asarray(schedule.diffusion2(jnp.asarray(ts))) / np.asarray(schedule.sigma2(jnp.asarray(ts)))
    factor = factor * target.n
    return float(np.sum(factor * eps[0])), float(np.sqrt(np.sum((factor * err[0]) ** 2)))


class Generation(NamedTuple):
    """A reverse run with a (learned or exact) score."""

    x: np.ndarray  # (batch, n) final state at t_min
    times: np.ndarray  # (records,) recording times, from T down to t_min
    m_denoiser: np.ndarray  # (records, batch) magnetisation of the score's denoiser along the paths
    path_kl: float  # ∫ ½ g² E_{q_t}‖s − s_exact‖² dt along the paths (trapezoid on the records); 0 without exact
    path_kl_err: float  # its standard error over paths


def generate(key: Array, score_fn: Any, schedule: Schedule, n: int, *, batch: int, num_steps: int,
             record_every: int, sampler: str = "euler_maruyama", exact_fn: Any = None,
             x_init: Array | None = None, direction: Array | None = None) -> Generation:
    """`physics.trajectory.reverse_sample` from N(0, σ_T² I) (or from x_init, shape (batch, n), e.g. exact
    samples of p_T from `exact_start`) with the whole path recorded every `record_every` steps; along it the
    magnetisation of the denoiser D = (x + σ² s)/α (mean_i D_i, or Σ_i v_i D_i/Σ_i |v_i| along a direction v of
    shape (n,), e.g. a Mattis pattern restricted to a group of spins) and, with an exact score exact_fn, the
    Girsanov integrand
    ½ g² ‖s − s_exact‖² integrated over t (trapezoid) per path (module docstring). The same key gives the same
    step noise (and, without x_init, the same start) whatever the score: runs that differ only in the score
    are coupled path by path."""
    if x_init is not None and np.shape(x_init) != (batch, n):
        raise ValueError(f"x_init must have shape (batch, n) = {(batch, n)}, got {np.shape(x_init)}")
    size = {} if x_init is not None else dict(batch=batch, n=n)
    out = reverse_sample(key, score_fn, schedule, num_steps=num_steps, sampler=sampler, x_init=x_init,
                         record_every=record_every, record_path=True, **size)
    times = np.asarray(out.times)
    if direction is not None:
        direction = jnp.asarray(direction, out.x.dtype)
        if direction.shape != (n,) or not float(jnp.sum(jnp.abs(direction))) > 0:
            raise ValueError(f"direction must be a non-zero vector of shape ({n},), got shape {direction.shape}")
    m, kl = _along_path(as_pytree_callable(score_fn), None if exact_fn is None else as_pytree_callable(exact_fn),
                        out.path, out.times, schedule, direction)
    kl_mean = kl_err = 0.0
    if exact_fn is not None:
        per_path = -np.trapezoid(np.asarray(kl), times, axis=0)  # times decrease
        kl_mean, kl_err = float(per_path.mean()), float(per_path.std(ddof=1) / math.sqrt(batch))
    return Generation(np.asarray(out.x), times, np.asarray(m), kl_mean, kl_err)


@functools.partial(jax.jit, static_argnums=(4,))
def _along_path(score_fn, exact_fn, path, times, schedule, direction=None):
    def one(x, t):
        s = score_fn(x, t)
        denoised = (x + schedule.sigma2(t) * s) / schedule.alpha(t)
        if direction is None:
            m = jnp.mean(denoised, axis=-1)
        else:
            m = denoised @ direction / jnp.sum(jnp.abs(direction))
        if exact_fn is None:
            return m, jnp.zeros_like(m)
        return m, 0.5 * schedule.diffusion2(t) * jnp.sum((s - exact_fn(x, t)) ** 2, axis=-1)

    return jax.lax.map(lambda xt: one(*xt), (path, times))


def prior_start(key: Array, schedule: Schedule, batch: int, n: int) -> Array:
    """The start x_T ~ N(0, σ_T² I) that `physics.trajectory.reverse_sample` draws from `key` when it is given no
    x_init, bit for bit (σ_T at the schedule's start time times the draw of fold_in(key, 2³¹ − 1)): shape
    (batch, n). Passed as x_init, it makes a run from the prior and a run from another start one compiled run."""
    check_positive_int("batch", batch)
    check_positive_int("n", n)
    return _prior_draw(key, schedule.sigma(schedule.start_time), (batch, n), jnp.zeros(()).dtype)


@functools.partial(jax.jit, static_argnums=(2, 3))
def _prior_draw(key, scale, shape, dtype):
    return scale * jax.lax.optimization_barrier(standard_normal(jax.random.fold_in(key, 2**31 - 1), shape, dtype))


def final_states(key: Array, score_fn: Any, schedule: Schedule, n: int, *, batch: int, num_steps: int,
                 sampler: str = "euler_maruyama", x_init: Array | None = None) -> np.ndarray:
    """The generated states at t_min of `generate` with record_every = num_steps (the same key, score, steps and
    start give the same numbers), without its measurements along the path: shape (batch, n). Without x_init the
    start is `prior_start(key, …)`, so that runs from the prior and from a given start share one compilation."""
    x_init = prior_start(key, schedule, batch, n) if x_init is None else x_init
    if np.shape(x_init) != (batch, n):
        raise ValueError(f"x_init must have shape (batch, n) = {(batch, n)}, got {np.shape(x_init)}")
    out = reverse_sample(key, score_fn, schedule, num_steps=num_steps, sampler=sampler, x_init=x_init,
                         record_every=num_steps, record_path=True)
    return np.asarray(out.x)


def magnetization_histogram(x: Array, n: int) -> np.ndarray:
    """Frequencies of M = Σ_i sign(x_i) over its N + 1 values −N, −N+2, …, N, shape (N + 1,)."""
    k = np.sum(np.asarray(x) > 0, axis=-1)
    return np.bincount(k, minlength=n + 1) / k.size


# ---- the generated-law error split into prior, discretisation and score ----------------------------------------
def exact_start(key: Array, target: Any, schedule: Schedule, num: int) -> Array:
    """x_T = α_T s + σ_T ξ with s exact samples of the target: exact samples of p_T, shape (num, n), the start
    that removes the prior error of a reverse run (which starts from N(0, σ_T² I))."""
    return noised_samples(key, target, schedule, schedule.T, num)


def magnetization_second_moment(x: Array) -> np.ndarray:
    """m² per path with m = mean_i sign(x_i), shape (batch,)."""
    return np.mean(np.sign(np.asarray(x, float)), axis=-1) ** 2


class LawError(NamedTuple):
    """Error of a generated law in ⟨m²⟩ and its standard error over paths."""

    value: float  # mean over paths of m² minus the exact ⟨m²⟩
    error: float  # standard error over paths


def statistic_error(values: Array, exact: float) -> LawError:
    """Mean over paths of a per-path statistic (batch,) minus its exact expectation, with the standard error over
    paths. An unbiased, signed error: the errors of runs that differ in one ingredient subtract (unlike a total
    variation, whose finite-sample floor is positive)."""
    values = np.asarray(values)
    return LawError(float(values.mean() - exact), float(values.std(ddof=1) / math.sqrt(values.size)))


def paired_statistic_difference(values_a: Array, values_b: Array) -> LawError:
    """Mean of a per-path statistic over paths a minus over paths b, paired row by row (same start and step
    noise, one ingredient changed), with the standard error of the paired difference (smaller than that of
    either when the two runs are coupled). values_a, values_b: (batch,)."""
    d = np.asarray(values_a) - np.asarray(values_b)
    return LawError(float(d.mean()), float(d.std(ddof=1) / math.sqrt(d.size)))


def second_moment_error(x: Array, m2_exact: float) -> LawError:
    """⟨m²⟩ of the generated states x (batch, n) minus the exact ⟨m²⟩, with its standard error over paths
    (`statistic_error` of m²)."""
    return statistic_error(magnetization_second_moment(x), m2_exact)


def paired_difference(x_a: Array, x_b: Array) -> LawError:
    """⟨m²⟩ of x_a minus ⟨m²⟩ of x_b for paths paired row by row (`paired_statistic_difference` of m²).
    x_a, x_b: (batch, n)."""
    return paired_statistic_difference(magnetization_second_moment(x_a), magnetization_second_moment(x_b))


# ---- generated laws of an enumerable target: energy, overlap, states ---------------------------------------------
def energy_per_spin(x: Array, couplings: Array) -> np.ndarray:
    """H(s)/N = −½ sᵀJs/N of the spins s = sign(x) of generated states x (batch, n); couplings J (n, n).
    Shape (batch,)."""
    s = np.sign(np.asarray(x, np.float64))
    return -0.5 * np.sum((s @ np.asarray(couplings, np.float64)) * s, axis=-1) / s.shape[-1]


def state_histogram(x: Array) -> np.ndarray:
    """Frequencies of the 2ⁿ configurations sign(x) of generated states x (batch, n), in `models.enumeration`'s
    order (state k: bit n − 1 − i of k is 1 where spin i is −1). Shape (2ⁿ,)."""
    x = np.asarray(x)
    n = x.shape[-1]
    index = (x < 0).astype(np.int64) @ (1 << np.arange(n - 1, -1, -1, dtype=np.int64))
    return np.bincount(index, minlength=2**n) / index.size


def overlap_histogram(x: Array) -> np.ndarray:
    """Frequencies of the overlap q = s·s'/N of independent pairs of generated states (rows 2j and 2j + 1 of
    x (batch, n), s = sign(x)) over its N + 1 values q = 2k/N − 1 (k equal spins; `models.equilibrium`'s P(q)
    grid). Shape (n + 1,)."""
    s = np.sign(np.asarray(x))
    pairs = s.shape[0] // 2
    if pairs < 1:
        raise ValueError(f"need at least two generated states, got shape {s.shape}")
    k = np.sum(s[0:2 * pairs:2] == s[1:2 * pairs:2], axis=-1)
    return np.bincount(k, minlength=s.shape[-1] + 1) / pairs


# ---- memorisation: collapse times ------------------------------------------------------------------------------
def memorisation_index(eps_population: Array, eps_empirical: Array) -> np.ndarray:
    """I = ε_pop/(ε_pop + ε_emp) of a score's relative errors against the population and the empirical score of
    its training set: 0 where it follows the population score, 1 where it follows the data set's."""
    a, b = np.asarray(eps_population, float), np.asarray(eps_empirical, float)
    return a / (a + b)


def collapse_crossing(times: Array, curve: Array, level: float = 0.5, valid: Array | None = None) -> float:
    """The first time, scanning up from the smallest, at which `curve` (≥ level there) falls below `level`,
    linear in ln t between grid points (`physics.scaling.crossing`); only times where `valid` holds (default
    all) are used. NaN when the curve starts below the level (no collapse on the grid) or never falls below it.
    times increasing, shape (T,)."""
    t, y = np.asarray(times, float), np.asarray(curve, float)
    keep = np.ones(t.shape, bool) if valid is None else np.asarray(valid, bool)
    t, y = t[keep], y[keep]
    if t.size < 2 or not y[0] >= level:
        return float("nan")
    return float(np.exp(crossing(np.log(t), y, level)))


@functools.partial(jax.jit, static_argnums=(3,))
def _end_point_weight(key, data, t, schedule):
    alpha, sigma = schedule.alpha(t), schedule.sigma(t)
    x = alpha * data + sigma * jax.random.normal(key, data.shape, data.dtype)
    logits = alpha * (x @ data.T) / sigma**2  # |s_mu|^2 = n for every spin configuration
    same = data @ data.T == data.shape[-1]  # (start, training point): equal configurations (exact for ±1)
    return jnp.sum(jnp.where(same, jax.nn.softmax(logits, axis=-1), 0.0), axis=-1)


def empirical_collapse(key: Array, data: Array, schedule: Schedule, times: Array) -> tuple[np.ndarray, np.ndarray]:
    """Collapse of the exact empirical score of a spin data set (Biroli, Bonnaire, de Bortoli & Mézard, arXiv
    2402.18491, Sec. 3): from each training point s₀ (rows of data, (P, n) of ±1), x_t = α_t s₀ + σ_t ξ (the
    empirical p_t), and q(t) = the posterior weight of s₀'s configuration under the empirical law,
    q = Σ_{μ: s_μ = s₀} softmax_μ(α_t x·s_μ/σ_t²) (repeated configurations pooled). q → 1 as t → 0 (the
    generation ends on the training point) and → Σ_c (P_c/P)² at large t; the collapse time is where E q = ½.
    Returns (E q, standard error over the P starts), each of shape (len(times),); time i uses fold_in(key, i)."""
    data = jnp.asarray(data)
    if data.ndim != 2 or 0 in data.shape:
        raise ValueError(f"data must have shape (P, n) with P, n >= 1, got {data.shape}")
    mean, err = np.zeros(len(times)), np.zeros(len(times))
    for i, t in enumerate(np.asarray(times, float)):
        q = np.asarray(_end_point_weight(jax.random.fold_in(key, i), data, jnp.asarray(t, data.dtype), schedule))
        mean[i], err[i] = q.mean(), q.std(ddof=1) / math.sqrt(q.size) if q.size > 1 else 0.0
    return mean, err
