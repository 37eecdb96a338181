"""Speciation and collapse along the generative trajectory: closed forms and order parameters (cloning:
`physics.cloning`).

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

Curie–Weiss (covariance (1 − q)I + q11ᵀ): Λ = N⟨m²⟩ exactly, t_S = ½ ln Λ (Biroli & Mézard 2024;
`models.curie_weiss.CurieWeiss.speciation_time`, with the exact committor `CurieWeiss.committor`).

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

import math
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import scipy.optimize

from statphys.models.base import check_positive_int

from .forward import noise
from .normal_draws import split
from .scaling import Estimate, bootstrap, crossing
from .schedules import Schedule

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


@jax.jit
def _drift_slopes(schedule: Schedule, mu: Array, sigma: Array, times: Array) -> Array:
    """∂ₓ[f x − g² ∇ln p_t](0) of ½N(μ,σ²) + ½N(−μ,σ²) at every time of ``times`` (`gmm_drift_instability_time`)."""
    def slope(t):
        alpha, var = schedule.alpha(t), schedule.sigma2(t)
        gamma = var + alpha**2 * sigma**2
        return schedule.drift(t) - schedule.diffusion2(t) * ((alpha * mu) ** 2 / gamma**2 - 1 / gamma)

    return jax.vmap(slope)(times)


def gmm_drift_instability_time(schedule, mu: float, sigma: float, num_grid: int = 4096) -> float:
    """Diffusion time where ∂ₓ[f x − g² ∇ln p_t](0) changes sign for ½N(μ,σ²) + ½N(−μ,σ²): the root of
    f − g² (μ_t²/Γ_t² − 1/Γ_t) with μ_t = α_t μ, Γ_t = σ_t² + α_t² σ². Under OU (f = −1, g² = 2) this is
    Γ² − 2Γ + 2μ_t² = 0, i.e. t_S = ½ ln(μ² + √(σ⁴ − 2σ² + μ⁴ + 1)) (Yu & Huang, arXiv 2405.11932, eq. 31);
    for any variance-preserving schedule (g² = −2f) it is the time where α_t equals OU's e^{−t_S}.
    NaN when the drift never turns unstable on the schedule's time range."""
    criterion = lambda t: float(_drift_slopes(schedule, mu, sigma, np.asarray([t]))[0])  # noqa: E731
    grid = np.linspace(schedule.t_min, schedule.start_time, num_grid)
    values = np.asarray(_drift_slopes(schedule, mu, sigma, grid))
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
    first = noise(jax.random.fold_in(key, 0), x0, schedule, times[0])

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
    k_data, k_path = split(key)
    return _observe_along_path(k_path, target, target.sample(k_data, batch), schedule, jnp.asarray(times), observable)


def observe_along_path(key: Array, target: Any, s0: Array, schedule: Schedule, times: Array,
                       observable: Callable[[Array, Array, Array], Array]) -> Array:
    """observable(s₀, x_t, E[s | x_t]) along one exact forward path from each given end point s₀ (batch, n);
    shape (len(times), ...). Pure in (key, target, s0, times), so it can be jitted with the target as an
    argument: one compilation then serves every disorder sample of a given size."""
    path = forward_path(key, s0, schedule, times)

    def one(x, t):
        return observable(s0, x, target.posterior_mean(x, schedule.alpha(t), schedule.sigma(t)))

    return jax.lax.map(lambda xt: one(*xt), (path, jnp.asarray(times)))


_observe_along_path = jax.jit(observe_along_path, static_argnums=5)


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
