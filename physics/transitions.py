"""Speciation and collapse along the generative trajectory: closed forms, order parameters, cloning.

OU schedule α = e^{−t}, σ² = 1 − e^{−2t} throughout the closed forms (Biroli & Mézard, J. Stat. Mech. 093402 (2023),
"Generative diffusion in very large dimensions"; Biroli, Bonnaire, de Bortoli & Mézard, arXiv 2402.18491;
Yu & Huang, arXiv 2405.11932).

Symmetric Gaussian mixture ½N(μ, σ²) + ½N(−μ, σ²) in 1-D, μ_t = μ e^{−t}, Γ_t = 1 − e^{−2t} + σ² e^{−2t};
∂ₓ∇ln p_t(0) = (μ_t²/Γ_t − 1)/Γ_t. Three different instabilities at x = 0 (name the one you use):
  * reverse-SDE drift x + 2∇ln p_t (forward-time form) turns unstable: Γ_t² − 2Γ_t + 2μ_t² = 0, i.e.
    t_S = ½ ln(μ² + √(σ⁴ − 2σ² + μ⁴ + 1)); never for t > 0 when μ² ≤ σ² − σ⁴/2 (Yu & Huang, arXiv
    2405.11932, Sec. IV; Raya & Ambrogioni, arXiv 2305.19693: θ_c = e^{−t_S} = √(√2 − 1) at μ = 1, σ = 0);
  * p_t turns bimodal: μ_t² = Γ_t, t = ½ ln(μ² + 1 − σ²) (needs μ > σ);
  * probability-flow drift x + ∇ln p_t: Γ_t² − Γ_t + μ_t² = 0, root e^{−2t} = (1 − σ² − μ²)/(σ² − 1)²; a
    positive time exists only when μ² + σ² < 1 (at μ = σ = 1 the PF slope is μ_t² ≥ 0 at every t).

Collapse (Biroli, Bonnaire, de Bortoli & Mézard, arXiv 2402.18491, eq. 8): n points of N(0, σ² I_d) collapse at
t_C = ½ ln(1 + σ²/(n^{2/d} − 1)), where the excess entropy f = s_sep − s vanishes,
s_sep = ln n/d + ½ + ½ ln(2πΔ_t), Δ_t = 1 − e^{−2t}, s the entropy per dimension of p_t.

Curie–Weiss (covariance (1 − q)I + q11ᵀ): Λ = N⟨m²⟩ exactly, t_S = ½ ln Λ (Biroli & Mézard 2024).

Measured speciation time (this module's definition). Projected on the top eigenvector, the class c = ±1 enters
x_t through y = c α√Λ + σ ξ, a binary Gaussian channel of signal-to-noise r = Λ α²/σ², whose class information
I = E[(2P(c=+|y) − 1)²] = E tanh²(r + √r ξ). We call t_S the time at which the measured class information
reaches its channel value at r = 1, I* = 0.5504; in the channel this is t = ½ ln(1 + Λ) = ½ ln Λ + O(1/Λ).
Two estimators of I(t):
  * order parameter: I = E[m_D(t)²]/⟨m²⟩ with m_D the magnetisation of the denoiser (2p − 1 = m_D/m* for two
    classes at ±m*);
  * cloning: clones branched from x_t and run independently to t_min end in the same class with probability
    φ = E[p² + (1 − p)²] (the committor), and I = 2φ − 1.
"""

from __future__ import annotations

import functools
import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from statphys.models.base import check_noise_level, check_positive_int, denoiser_from_score, is_concrete

from .scaling import Estimate, bootstrap, crossing
from .samplers import get_sampler
from .schedules import Schedule
from .scores import as_pytree_callable

Array = Any


# ---- closed forms: Gaussian mixture -------------------------------------------------------------------------
def _check_mixture(mu: float, sigma: float) -> None:
    for name, v in (("mu", mu), ("sigma", sigma)):
        if not math.isfinite(v) or v < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {v!r}")


def gmm_symmetry_breaks(mu: float, sigma: float) -> bool:
    """True when the reverse-SDE drift at x = 0 turns unstable at some t > 0, i.e. μ² > σ² − σ⁴/2."""
    _check_mixture(mu, sigma)
    return mu**2 > sigma**2 - sigma**4 / 2


def gmm_speciation_time(mu: float, sigma: float) -> float:
    """Reverse-SDE drift instability at x = 0: t_S = ½ ln(μ² + √(σ⁴ − 2σ² + μ⁴ + 1)); NaN if it never happens.

    Yu & Huang, arXiv 2405.11932 (U''(0) = 0 of U = ½x² − 2 ln cosh(xμ_t), generalised to σ ≠ 1).
    """
    if not gmm_symmetry_breaks(mu, sigma):
        return float("nan")
    return 0.5 * math.log(mu**2 + math.sqrt(sigma**4 - 2 * sigma**2 + mu**4 + 1))


def gmm_bimodality_time(mu: float, sigma: float) -> float:
    """Time at which p_t turns bimodal (μ_t² = Γ_t): ½ ln(μ² + 1 − σ²); NaN when μ ≤ σ (never for t > 0)."""
    _check_mixture(mu, sigma)
    return 0.5 * math.log(mu**2 + 1 - sigma**2) if mu > sigma else float("nan")


def gmm_pf_ode_instability_time(mu: float, sigma: float) -> float:
    """Probability-flow drift slope at 0 changes sign: Γ² − Γ + μ_t² = 0; NaN unless μ² + σ² < 1."""
    _check_mixture(mu, sigma)
    if mu**2 + sigma**2 >= 1:
        return float("nan")
    return -0.5 * math.log((1 - sigma**2 - mu**2) / (sigma**2 - 1) ** 2)


def gmm_drift_slopes(t: Array, mu: float, sigma: float) -> tuple[Array, Array, Array]:
    """At x = 0: (∂ₓ∇ln p_t, slope of x + 2∇ln p_t, slope of x + ∇ln p_t) = (k, 1 + 2k, 1 + k)."""
    e2 = jnp.exp(-2 * jnp.asarray(t))
    gamma, mu_t2 = 1 - e2 + sigma**2 * e2, mu**2 * e2
    k = (mu_t2 / gamma - 1) / gamma
    return k, 1 + 2 * k, 1 + k


def gmm_drift_instability_time(schedule, mu: float, sigma: float, num_grid: int = 4096) -> float:
    """Diffusion time where ∂ₓ[f x − g² ∇ln p_t](0) changes sign for ½N(μ,σ²) + ½N(−μ,σ²): the root of
    f − g² (μ_t²/Γ_t² − 1/Γ_t) with μ_t = α_t μ, Γ_t = σ_t² + α_t² σ². Under OU (f = −1, g² = 2) this is
    Γ² − 2Γ + 2μ_t² = 0, i.e. t_S = ½ ln(μ² + √(σ⁴ − 2σ² + μ⁴ + 1)) (Yu & Huang, arXiv 2405.11932, eq. 31);
    for any variance-preserving schedule (g² = −2f) it is the time where α_t equals OU's e^{−t_S}.
    NaN when the drift never turns unstable on the schedule's time range."""
    def slope(t):
        alpha, var = schedule.alpha(t), schedule.sigma2(t)
        gamma = var + alpha**2 * sigma**2
        return schedule.drift(t) - schedule.diffusion2(t) * ((alpha * mu) ** 2 / gamma**2 - 1 / gamma)

    slopes = jax.jit(jax.vmap(slope))
    criterion = lambda t: float(slopes(jnp.asarray([t]))[0])  # noqa: E731
    grid = np.linspace(schedule.t_min, schedule.start_time, num_grid)
    values = np.asarray(slopes(jnp.asarray(grid)))
    change = np.nonzero(np.isfinite(values[1:]) & np.isfinite(values[:-1])
                        & (np.sign(values[1:]) != np.sign(values[:-1])))[0]
    if change.size == 0:
        return float("nan")
    i = change[-1]  # the latest change in diffusion time: the first met in generation order
    return float(scipy.optimize.brentq(criterion, grid[i], grid[i + 1], xtol=1e-12))


def raya_ambrogioni_alpha_c() -> float:
    """θ_c = √(√2 − 1) ≈ 0.6436: α at which two deltas at ±1 under VP become unstable (arXiv 2305.19693)."""
    return math.sqrt(math.sqrt(2.0) - 1.0)


# ---- closed forms: collapse ---------------------------------------------------------------------------------
def collapse_time(n: int, d: int, sigma2: float = 1.0) -> float:
    """t_C = ½ ln(1 + σ²/(n^{2/d} − 1)) for n points of N(0, σ² I_d) (Biroli et al. 2402.18491)."""
    check_positive_int("n", n)
    check_positive_int("d", d)
    if n < 2:
        raise ValueError(f"n must be >= 2 for a collapse, got {n}")
    if not sigma2 > 0:
        raise ValueError(f"sigma2 must be > 0, got {sigma2!r}")
    return 0.5 * math.log1p(sigma2 / math.expm1(2 * math.log(n) / d))


def excess_entropy(t: float, n: int, d: int, entropy_per_dim: Callable[[float], float]) -> float:
    """f(t) = s_sep − s = ln n/d + ½ + ½ ln(2πΔ_t) − s(t), Δ_t = 1 − e^{−2t}."""
    return math.log(n) / d + 0.5 + 0.5 * math.log(2 * math.pi * -math.expm1(-2 * t)) - entropy_per_dim(t)


def collapse_time_from_entropy(n: int, d: int, entropy_per_dim: Callable[[float], float],
                               t_max: float = 20.0) -> float:
    """Root of the excess entropy f(t) = 0 (brentq on (10⁻⁹, t_max)); f < 0 before the collapse time."""
    f = lambda t: excess_entropy(t, n, d, entropy_per_dim)  # noqa: E731
    return float(scipy.optimize.brentq(f, 1e-9, t_max, xtol=1e-13))


# ---- closed forms: Curie–Weiss ------------------------------------------------------------------------------
def curie_weiss_top_eigenvalue(target: Any) -> float:
    """Λ = N⟨m²⟩ (largest eigenvalue of ⟨s sᵀ⟩ at h = 0), exact from target.magnetization_law()."""
    m, p = target.magnetization_law()
    return float(target.n * np.sum(p * m**2))


def curie_weiss_speciation_time(target: Any) -> float:
    """t_S = ½ ln Λ (Biroli et al., arXiv 2402.18491) with Λ = N⟨m²⟩ exact: the Curie–Weiss covariance is
    (1 − q)I + q11ᵀ, whose largest eigenvalue is N⟨m²⟩."""
    return 0.5 * math.log(curie_weiss_top_eigenvalue(target))


# ---- measured speciation time --------------------------------------------------------------------------------
def class_information_threshold(snr: float = 1.0, num_nodes: int = 120) -> float:
    """I* = E tanh²(r + √r ξ), ξ ~ N(0,1): class information of a binary Gaussian channel at SNR r."""
    x, w = np.polynomial.hermite_e.hermegauss(num_nodes)
    return float(np.sum(w * np.tanh(snr + math.sqrt(snr) * x) ** 2) / np.sum(w))


def forward_path(key: Array, x0: Array, schedule: Schedule, times: Array) -> Array:
    """Exact forward path at increasing times: x_{t'} = α_{t'|t} x_t + σ_{t'|t} ξ. Returns (len(times), *x0.shape).

    Its joint law with x0 equals that of a reverse trajectory with exact score and its end point, so
    estimators of I(t) can use it instead of integrating the reverse SDE.
    """
    times = jnp.asarray(times)
    first = schedule.alpha(times[0]) * x0 + schedule.sigma(times[0]) * jax.random.normal(
        jax.random.fold_in(key, 0), x0.shape, x0.dtype)

    def step(x, k):
        a, s = schedule.transition(times[k], times[k + 1])
        x = a * x + s * jax.random.normal(jax.random.fold_in(key, k + 1), x.shape, x.dtype)
        return x, x

    _, rest = jax.lax.scan(step, first, jnp.arange(len(times) - 1))
    return jnp.concatenate([first[None], rest])


def forward_observable(key: Array, target: Any, schedule: Schedule, times: Array, batch: int,
                       observable: Callable[[Array, Array, Array], Array]) -> Array:
    """observable(s₀, x_t, E[s | x_t]) -> (batch,) along exact forward paths from exact samples s₀ of the
    target; shape (len(times), batch). s₀ is the end point of the equivalent reverse trajectory."""
    check_positive_int("batch", batch)
    k_data, k_path = jax.random.split(key)
    return observe_along_path(k_path, target, target.sample(k_data, batch), schedule, times, observable)


def observe_along_path(key: Array, target: Any, s0: Array, schedule: Schedule, times: Array,
                       observable: Callable[[Array, Array, Array], Array]) -> Array:
    """observable(s₀, x_t, E[s | x_t]) along one exact forward path from each given end point s₀ (batch, n);
    shape (len(times), ...). Pure in (key, target, s0, times), so it can be jitted with the target as an
    argument: one compilation then serves every disorder sample of a given size."""
    path = forward_path(key, s0, schedule, times)

    def one(x, t):
        return observable(s0, x, target.posterior_mean(x, schedule.alpha(t), schedule.sigma(t)))

    return jax.lax.map(lambda xt: one(*xt), (path, jnp.asarray(times)))


def denoiser_magnetization(s0: Array, x: Array, denoised: Array) -> Array:
    """m_D = (1/N) Σᵢ E[sᵢ | x_t]."""
    return jnp.mean(denoised, axis=-1)


def end_point_overlap(s0: Array, x: Array, denoised: Array) -> Array:
    """q = E[s | x_t]·s₀/|s₀|², overlap of the denoiser with the data point the trajectory ends at; for a data
    set of nearly orthogonal points it is the posterior weight of that point (→ 1 after the collapse)."""
    return jnp.sum(denoised * s0, axis=-1) / jnp.sum(s0 * s0, axis=-1)


def forward_denoiser_magnetization(key: Array, target: Any, schedule: Schedule, times: Array,
                                   batch: int) -> Array:
    """m_D(t) along exact forward paths, shape (len(times), batch) (`forward_observable`)."""
    return forward_observable(key, target, schedule, times, batch, denoiser_magnetization)


def class_information(m_denoiser: np.ndarray, m2_data: float) -> np.ndarray:
    """I(t) = E[m_D(t)²]/⟨m²⟩ over the last (batch) axis of m_denoiser (times, batch)."""
    return np.mean(np.asarray(m_denoiser) ** 2, axis=-1) / m2_data


def speciation_time(times: np.ndarray, info_samples: np.ndarray, statistic: Callable[[np.ndarray], np.ndarray],
                    threshold: float | None = None, seed: int = 0, num_resamples: int = 200) -> Estimate:
    """t_S where the class information I(t) = statistic(samples) first falls below I* (scanning up in t).

    Args:
        times: recording times (any order), shape (T,).
        info_samples: per-trajectory samples, shape (T, batch) (m_D, or same-class indicators of clones).
        statistic: (T, batch) -> (T,) the estimator of I(t) (e.g. `class_information` or 2φ − 1).
        threshold: I*, default `class_information_threshold(1.0)`.
    Returns:
        Estimate(t_S, bootstrap standard error over trajectories).
    """
    threshold = class_information_threshold(1.0) if threshold is None else threshold
    order = np.argsort(times)
    t = np.asarray(times)[order]
    samples = np.asarray(info_samples)[order]
    est = bootstrap(samples, lambda s: {"t": np.asarray(crossing(t, statistic(s), threshold))}, seed, num_resamples)
    return Estimate(float(est["t"].value), float(est["t"].error))


# ---- cloning ------------------------------------------------------------------------------------------------
# Biroli, Bonnaire, de Bortoli & Mézard (arXiv 2402.18491), speciation by cloning: a reverse trajectory started
# at T ~ N(0, σ_T² I) is run down to a branch time t_b, copied, and the copies run on independently to t_min;
# φ(t_b) = P(two copies end in the same class) = E[p² + (1 − p)²] for two classes, and I = 2φ − 1.
# Times, branch times and step counts are traced values: one compilation serves a whole cloning curve.


def evolve(key: Array, score_fn: Any, schedule: Schedule, x: Array, t_start: Array, t_end: Array, num_steps: Array,
           sampler: str = "euler_maruyama") -> Array:
    """x at t_end from x (batch, n) at t_start > t_end: num_steps steps of the sampler on the uniform grid
    t_k = t_start + (t_end − t_start) k/num_steps, step k with noise from fold_in(key, k).

    The schedule is used as it is (its T plays no part), and t_start, t_end and num_steps are traced, so one
    compilation serves every start time, end time and step count (per shapes, score structure, schedule and
    sampler). Same steps as `physics.trajectory.reverse_sample` with its uniform grid from t_start."""
    get_sampler(sampler)
    x = jnp.asarray(x)
    if is_concrete(t_start, t_end, num_steps):
        if not float(t_start) > float(t_end) >= 0:
            raise ValueError(f"need t_start > t_end >= 0, got t_start = {float(t_start)}, t_end = {float(t_end)}")
        if int(num_steps) != num_steps or int(num_steps) < 0:
            raise ValueError(f"num_steps must be an integer >= 0, got {num_steps!r}")
    dtype = jnp.result_type(x.dtype, float)
    return _evolve(key, as_pytree_callable(score_fn), schedule, x.astype(dtype), jnp.asarray(t_start, dtype),
                   jnp.asarray(t_end, dtype), jnp.asarray(num_steps, jnp.int32), sampler)


@functools.partial(jax.jit, static_argnums=(2, 7))
def _evolve(key, score_fn, schedule, x, t_start, t_end, num_steps, sampler):
    step = get_sampler(sampler)
    span = t_end - t_start

    def body(k, x):
        t = t_start + span * k / num_steps
        s = jnp.where(k + 1 == num_steps, t_end, t_start + span * (k + 1) / num_steps)
        return step(jax.random.fold_in(key, k), x, t, s, score_fn, schedule)[0]

    return jax.lax.fori_loop(0, num_steps, body, x)


def clone_end_classes(key: Array, score_fn: Any, schedule: Schedule, x_branch: Array, t_branch: float,
                      num_clones: int, num_steps: int, classify: Callable[[Array, Array], Array],
                      sampler: str = "euler_maruyama") -> Array:
    """Classes of clones branched at t_branch: each row of x_branch (B, n) is copied num_clones times and run
    independently from t_branch to schedule.t_min in num_steps steps (`evolve`: one compilation for every
    t_branch and num_steps). classify(x, denoised) -> (batch,) integer labels, with denoised = E[s | x] at
    t_min from Tweedie's formula. Returns labels of shape (B, num_clones)."""
    check_positive_int("num_clones", num_clones)
    check_positive_int("num_steps", num_steps)
    if not schedule.t_min < t_branch:
        raise ValueError(f"t_branch must exceed t_min = {schedule.t_min}, got {t_branch}")
    x0 = jnp.repeat(jnp.asarray(x_branch), num_clones, axis=0)
    x = evolve(key, score_fn, schedule, x0, t_branch, schedule.t_min, num_steps, sampler)
    labels = _classify_at(score_fn, schedule, x, jnp.asarray(schedule.t_min, x.dtype), classify)
    return labels.reshape(x0.shape[0] // num_clones, num_clones)


def _classify_at(score_fn, schedule, x, t, classify):
    alpha, sigma = schedule.alpha(t), schedule.sigma(t)
    return classify(x, denoiser_from_score(score_fn(x, t), x, alpha, sigma))


def cloning_curve(key: Array, score_fn: Any, schedule: Schedule, branch_times: Array, *, batch: int, n: int,
                  dt: float, classify: Callable[[Array, Array], Array], num_clones: int = 2,
                  sampler: str = "euler_maruyama", dtype=None) -> Array:
    """Same-class fractions of clones for every branch time (Biroli et al., arXiv 2402.18491, cloning).

    For each branch time t_b: x_T ~ N(0, σ_T² I) (batch, n) at T = schedule.start_time, run to t_b in
    round((T − t_b)/dt) steps, each row copied num_clones times, the copies run to schedule.t_min in
    round((t_b − t_min)/dt) steps, classified at t_min. One compiled function serves every branch time.
    With a `physics.reduced` reduction, pass its r-dimensional ExactScore, n = r and a classify of the projected
    state: the classes have the same law as in d dimensions (the projection's dynamics is closed).

    Args:
        key: PRNG key; branch time b uses fold_in(key, b).
        branch_times: t_b values in (t_min, T], shape (B,).
        batch: trajectories per branch time; n: dimension.
        dt: step size (both legs); classify: (x, denoised) -> (batch,) integer labels.
    Returns:
        same-class fraction of the clone pairs of each trajectory, shape (B, batch) (`same_class_fraction`);
        its mean over the last axis estimates φ(t_b).
    """
    check_positive_int("batch", batch)
    check_positive_int("n", n)
    check_positive_int("num_clones", num_clones)
    if num_clones < 2:
        raise ValueError(f"need at least 2 clones per branch point, got {num_clones}")
    get_sampler(sampler)
    branch_times = np.atleast_1d(np.asarray(branch_times, dtype=np.float64))
    start, end = float(schedule.start_time), float(schedule.t_min)
    if not dt > 0:
        raise ValueError(f"dt must be > 0, got {dt!r}")
    if np.any(branch_times <= end) or np.any(branch_times > start):
        raise ValueError(f"branch_times must lie in (t_min, T] = ({end}, {start}], got {branch_times}")
    dtype = dtype or jnp.zeros(()).dtype
    before = np.rint((start - branch_times) / dt).astype(np.int32)
    after = np.maximum(np.rint((branch_times - end) / dt), 1).astype(np.int32)
    out = []
    for b, (t_b, k_before, k_after) in enumerate(zip(branch_times, before, after)):
        out.append(_clone_experiment(
            jax.random.fold_in(key, b), as_pytree_callable(score_fn), schedule, jnp.asarray(start, dtype),
            jnp.asarray(t_b, dtype), jnp.asarray(end, dtype), jnp.asarray(k_before), jnp.asarray(k_after),
            batch, n, num_clones, classify, sampler, jnp.dtype(dtype)))
    return jnp.stack(out)


@functools.partial(jax.jit, static_argnums=(2, 8, 9, 10, 11, 12, 13))
def _clone_experiment(key, score_fn, schedule, t_start, t_branch, t_end, steps_before, steps_after, batch, n,
                      num_clones, classify, sampler, dtype):
    x = schedule.sigma(t_start) * jax.random.normal(jax.random.fold_in(key, 2**31 - 1), (batch, n), dtype)
    x = _evolve(jax.random.fold_in(key, 0), score_fn, schedule, x, t_start, t_branch, steps_before, sampler)
    x = jnp.repeat(x, num_clones, axis=0)
    x = _evolve(jax.random.fold_in(key, 1), score_fn, schedule, x, t_branch, t_end, steps_after, sampler)
    labels = _classify_at(score_fn, schedule, x, t_end, classify).reshape(batch, num_clones)
    return same_class_fraction(labels)


def same_class_fraction(labels: Array) -> Array:
    """Committor estimate per branch point: fraction of clone pairs (a < b) with equal labels; (B, K) -> (B,)."""
    labels = jnp.asarray(labels)
    k = labels.shape[-1]
    if k < 2:
        raise ValueError(f"need at least 2 clones per branch point, got {k}")
    equal = labels[:, :, None] == labels[:, None, :]
    return (jnp.sum(equal, axis=(1, 2)) - k) / (k * (k - 1))


def sign_class(x: Array, denoised: Array) -> Array:
    """Class = sign of the denoiser magnetisation (0 or 1)."""
    return (jnp.sum(denoised, axis=-1) > 0).astype(jnp.int32)


def nearest_centre_class(centres: Array) -> Callable[[Array, Array], Array]:
    """classify(x, denoised) = argmin_k |denoised − μ_k|² for centres (K, n) (in the coordinates the run uses:
    projected centres Qᵀμ_k for a reduced run). Make it once per experiment: it is a compile-time constant."""
    centres = jnp.asarray(centres)

    def classify(x: Array, denoised: Array) -> Array:
        return jnp.argmin(jnp.sum(centres**2, -1) - 2 * denoised @ centres.T, axis=-1).astype(jnp.int32)

    return classify


def two_class_cloning_probability(t: Array, signal: float, variance: float = 1.0, num_nodes: int = 120) -> Array:
    """Exact φ(t) for ½N(m, v I) + ½N(−m, v I) under OU (α = e^{−t}, σ² = 1 − e^{−2t}) with the exact score in
    continuous time. p = P(+ | x_t) = sigmoid(2α m·x/c), c = α² v + σ², and m·x_t = ±α|m|² + √c |m| ξ, so
        φ(t) = E[p² + (1 − p)²] = ½(1 + E tanh²(r + √r ξ)),   r = α²|m|²/c,
    the binary channel of the module docstring with signal |m|² (= d for m = 1⃗; r = 1 near t = ½ ln d).
    Gauss–Hermite quadrature in ξ. Biroli, Bonnaire, de Bortoli & Mézard, arXiv 2402.18491 (speciation of a
    two-Gaussian mixture). t of any shape -> φ of that shape."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(num_nodes)
    t = np.asarray(t, dtype=np.float64)
    a2 = np.exp(-2 * t)
    r = a2 * signal / (a2 * variance + 1 - a2)
    tanh2 = np.tanh(r[..., None] + np.sqrt(r)[..., None] * nodes) ** 2
    return 0.5 * (1 + tanh2 @ weights / weights.sum())


# ---- exact Curie–Weiss class probability --------------------------------------------------------------------
def log_elementary_symmetric(u: Array) -> Array:
    """ln Σ_{s ∈ {±1}ⁿ, #(s=+1) = k} exp(Σᵢ uᵢ sᵢ) for k = 0..n, by the recursion over spins
    c_k ← c_{k−1} e^{u_i} + c_k e^{−u_i} in log space. u (..., n) -> (..., n + 1)."""
    u = jnp.asarray(u)
    n = u.shape[-1]
    init = jnp.full(u.shape[:-1] + (n + 1,), -jnp.inf, u.dtype).at[..., 0].set(0.0)

    def body(c, ui):
        shifted = jnp.concatenate([jnp.full(c.shape[:-1] + (1,), -jnp.inf, c.dtype), c[..., :-1]], axis=-1)
        return jnp.logaddexp(shifted + ui[..., None], c - ui[..., None]), None

    c, _ = jax.lax.scan(body, init, jnp.moveaxis(u, -1, 0))
    return c


def curie_weiss_magnetization_posterior(target: Any, x: Array, alpha: Array, sigma: Array) -> Array:
    """ln P(M | x_t = x) for M = −N, …, N (k = #up): ln e_k(u) + βM²/(2N), u = h + αx/σ², normalised.
    x (batch, n) -> (batch, n + 1). Exact at any N (O(N²) per row)."""
    check_noise_level(alpha, sigma)
    u = target.h + alpha * jnp.asarray(x) / sigma**2
    n = target.n
    M = 2 * jnp.arange(n + 1) - n
    logp = log_elementary_symmetric(u) + target.beta * M**2 / (2 * n)
    return logp - jax.nn.logsumexp(logp, axis=-1, keepdims=True)


def curie_weiss_committor(target: Any, x: Array, alpha: Array, sigma: Array) -> Array:
    """Exact φ(x) = p² + (1 − p)², p = P(M > 0 | x) (N odd, so M ≠ 0). x (batch, n) -> (batch,)."""
    if target.n % 2 == 0:
        raise ValueError(f"n must be odd for a two-class committor (M = 0 is a third class), got {target.n}")
    logp = curie_weiss_magnetization_posterior(target, x, alpha, sigma)
    p = jnp.sum(jnp.exp(logp[..., (target.n + 1) // 2:]), axis=-1)
    return p**2 + (1 - p) ** 2
