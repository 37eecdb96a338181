"""Speed–accuracy relations of diffusion models (Ikeda, Uda, Okanohara & Ito, arXiv 2407.04495), in 1-D.

Forward process x_t = m_t y + σ_t ε on t ∈ [0, τ] (data y at t = 0, pure noise at t = τ). Its SDE has drift
(∂_t ln m) x and temperature T_t = g²/2 = m_t σ_t ∂_t(σ_t/m_t) (their eq. 16). The probability (current)
velocity is the conditional velocity of the interpolation,
    ν_t(x) = ṁ_t E[y | x_t = x] + σ̇_t E[ε | x_t = x],
written this way (rather than f x − T ∇ln p_t) because both terms stay finite at m → 0 and σ → 0.
Entropy production rate Ṡ_tot = E|ν|²/T_t, so T_t Ṡ_tot = E|ν|² = v₂(t)², the squared W₂ speed (ν is a
gradient field: conservative force, their eq. 79).

Schedules: cosine m = cos(πt/2τ), σ = sin(πt/2τ); cond-OT m = 1 − t/τ, σ = t/τ; OT = the W₂ geodesic
between the data and N(0, 1), in 1-D the displacement interpolation x_t = (1 − t/τ) y + (t/τ) 𝒯(y) with the
monotone map 𝒯 = Φ⁻¹ ∘ F_data, for which v₂ = W₂/τ is constant and ∫ v₂² dt = W₂²/τ is minimal.

Speed–accuracy bound (their eqs. 77, 79): generation from the true start N(0, 1) and from a perturbed start
q = N(a, b²) uses the same velocity field, so the Pearson divergence D₀ = χ²(q ‖ N(0, 1)) is conserved along the
flow. With W₁(t) = W₁(P̃_t, P_t) (P_t the forward law, P̃_t the law generated from q, at forward time t),
    |∂_t W₁(t)| ≤ √D₀ v₂(t),      v_loss(t) := |∂_t W₁(t)|/√D₀ ≤ v₂(t)      (their eqs. 80, 82),
and ΔW₁ = W₁(0) − W₁(τ) = W₁(q̃, p_data) − W₁(q, N(0, 1)) (generation runs from t = τ to 0). Hierarchy
(their eqs. 81, 83):
    η = (ΔW₁)²/(τ D₀)  ≤  c₁ = ∫₀^τ v_loss(t)² dt  ≤  c₂ = ∫₀^τ v₂(t)² dt = ∫₀^τ T_t Ṡ_tot dt.
The first inequality is Cauchy–Schwarz in time,
    c₁ = ∫₀^τ (∂_t W₁)²/D₀ dt ≥ (∫₀^τ |∂_t W₁| dt)²/(τ D₀) ≥ (ΔW₁)²/(τ D₀) = η,
with equality iff ∂_t W₁ is constant; the second is v_loss ≤ v₂ integrated. A different bound on η is the
path-length bound (∫₀^τ v₂ dt)²/τ (integrate |∂_t W₁| ≤ √D₀ v₂ before squaring): it is ≤ c₂ but not ordered
with c₁, and it is not their c₁.

In 1-D every flow pushing N(0, 1) to the data is monotone, so all three schedules generate with the same map
𝒯⁻¹ = F_data⁻¹ ∘ Φ: q̃ has CDF Φ((𝒯(x) − a)/b), ΔW₁ and η are the same for every schedule, and only c₁, c₂
differ. On the W₂ geodesic W₁(t) = ∫ |F̃ − F|(y) (1 − t/τ + (t/τ) 𝒯'(y)) dy is linear in t, so v_loss is
constant and η = c₁.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
import scipy.special
import scipy.stats

from statphys.models.base import mixture_components

from .integrator import integrate, ode_rk4

Array = Any
#: The interpolations (m_t, σ_t) of this module (not the `physics.schedules` SDE schedules).
INTERPOLATIONS = ("cosine", "cond_ot", "ot")


def _check_schedule(name: str) -> None:
    if name not in INTERPOLATIONS:
        raise ValueError(f"unknown schedule {name!r}; choose one of {INTERPOLATIONS}")


def _check_tau(tau: float) -> float:
    if not (isinstance(tau, (int, float)) and np.isfinite(tau) and tau > 0):
        raise ValueError(f"tau (generation time) must be a positive finite number, got {tau!r}")
    return float(tau)


def interpolation(name: str, t: Array, tau: float) -> tuple[Array, Array, Array, Array]:
    """(m_t, σ_t, ṁ_t, σ̇_t) of the cosine or cond-OT schedule (Ikeda et al., Sec. VI)."""
    if name == "cosine":
        th = 0.5 * np.pi * np.asarray(t) / tau
        w = 0.5 * np.pi / tau
        return np.cos(th), np.sin(th), -w * np.sin(th), w * np.cos(th)
    if name == "cond_ot":
        u = np.asarray(t) / tau
        return 1 - u, u, -np.ones_like(u) / tau, np.ones_like(u) / tau
    raise ValueError(f"schedule {name!r} has no (m, σ) form; choose 'cosine' or 'cond_ot'")


def temperature(name: str, t: Array, tau: float) -> Array:
    """T_t = m σ ∂_t(σ/m) = σ (m σ̇ − σ ṁ)/m: (π/2τ) tan(πt/2τ) (cosine), t/(τ(τ − t)) (cond-OT)."""
    m, s, dm, ds = interpolation(name, t, tau)
    return s * (m * ds - s * dm) / m


def _components(target: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(weights, means, standard deviations) of a 1-D Gaussian or Gaussian mixture."""
    if target.n != 1:
        raise ValueError(f"speed–accuracy quantities are computed in 1-D; target has n = {target.n}")
    weights, means, variances = mixture_components(target, "the 1-D speed–accuracy quadrature")
    sd = np.sqrt(variances)
    if np.any(sd <= 0):
        raise ValueError("mixture variances must be > 0 (the monotone map needs a density)")
    return weights, means[:, 0], sd


def _grid(target: Any, num_points: int = 8001) -> np.ndarray:
    _, mu, sd = _components(target)
    half = np.max(np.abs(mu)) + 12 * np.max(np.maximum(sd, 1.0))
    return np.linspace(-half, half, num_points)


def monotone_map(target: Any, x: Array) -> np.ndarray:
    """𝒯(x) = Φ⁻¹(F_data(x)), the W₂-optimal (monotone) map from the data to N(0, 1), tail-stable."""
    w, mu, sd = _components(target)
    z = (np.asarray(x, float)[..., None] - mu) / sd
    cdf = np.sum(w * scipy.special.ndtr(z), axis=-1)
    sf = np.sum(w * scipy.special.ndtr(-z), axis=-1)
    return np.where(cdf < 0.5, scipy.special.ndtri(cdf), -scipy.special.ndtri(sf))


def data_quantile(target: Any, u: Array) -> np.ndarray:
    """F_data⁻¹(u) by interpolation on a grid and three Newton steps (the generator 𝒯⁻¹ = F⁻¹ ∘ Φ)."""
    w, mu, sd = _components(target)
    u = np.asarray(u, float)
    xs = _grid(target, 20001)
    cdf = np.sum(w * scipy.special.ndtr((xs[:, None] - mu) / sd), axis=-1)
    x = np.interp(u, cdf, xs)
    for _ in range(3):
        z = (x[..., None] - mu) / sd
        f = np.sum(w * scipy.special.ndtr(z), axis=-1) - u
        pdf = np.sum(w * np.exp(-0.5 * z**2) / (np.sqrt(2 * np.pi) * sd), axis=-1)
        x = x - f / np.maximum(pdf, 1e-300)
    return x


def generate(target: Any, z: Array) -> np.ndarray:
    """Samples generated from start values z by the exact flow: 𝒯⁻¹(z) = F_data⁻¹(Φ(z)) (any schedule, 1-D)."""
    return data_quantile(target, scipy.special.ndtr(np.asarray(z, float)))


def generate_pf_ode(target: Any, z: Array, *, num_steps: int = 2000, gamma_max: float = 1e3) -> np.ndarray:
    """Independent check of `generate`: the probability-flow ODE with the exact denoiser, RK4.

    For x_t = m y + σ ε and γ = m/σ, x̄ = x/σ, the PF ODE reads dx̄/dγ = E[y | x̄ = γ y + ξ] for every such
    schedule (Song et al., DDIM, arXiv 2010.02502, eq. 14). Integrated in u = asinh γ,
    dx̄/du = cosh u · E[y | x̄ = sinh u · y + ξ], from γ = 0 (x̄ = z) to γ_max by num_steps RK4 steps
    (`integrator.ode_rk4`); z (num,) -> E[y | x̄] at γ_max, (num,).
    """
    x = jnp.asarray(z, float).reshape(-1, 1)
    us = jnp.linspace(0.0, float(np.arcsinh(gamma_max)), num_steps + 1)
    sampler = ode_rk4(lambda xb, u: target.posterior_mean(xb, jnp.sinh(u), 1.0) * jnp.cosh(u))
    state, _ = integrate(None, sampler, None, None, sampler.init(x), us[:-1], us[1:])
    return np.asarray(target.posterior_mean(state.x, gamma_max, 1.0))[:, 0]


def _velocity_on_grid(target: Any, name: str, t: float, tau: float, num_points: int):
    """(x grid, p_t on it, current velocity ν_t = ṁ E[y|x] + σ̇ E[ε|x], m_t, σ_t) for a 1-D target."""
    m, s, dm, ds = (float(v) for v in interpolation(name, t, tau))
    xs = _grid(target, num_points)
    x = jax.device_put(xs[:, None])
    p = np.exp(np.asarray(target.marginal_log_prob(x, m, s)))
    ey = np.asarray(target.posterior_mean(x, m, s))[:, 0]
    return xs, p, dm * ey + ds * (xs - m * ey) / s, m, s


def speed_squared(target: Any, name: str, t: float, tau: float, *, num_points: int = 8001) -> float:
    """v₂(t)² = T_t Ṡ_tot = ∫ p_t ν_t² dx, ν_t = ṁ E[y|x] + σ̇ E[ε|x], by Simpson's rule on a grid."""
    _check_schedule(name)
    if name == "ot":
        return wasserstein2_to_normal(target) ** 2 / tau**2
    xs, p, nu, m, s = _velocity_on_grid(target, name, t, tau, num_points)
    return float(scipy.integrate.simpson(p * nu**2, x=xs))


def wasserstein2_to_normal(target: Any) -> float:
    """W₂(p_data, N(0, 1)) = (∫ p(y) (y − 𝒯(y))² dy)^{1/2}."""
    xs = _grid(target)
    p = np.exp(np.asarray(target.marginal_log_prob(jax.device_put(xs[:, None]), 1.0, 0.0)))
    return float(np.sqrt(scipy.integrate.simpson(p * (xs - monotone_map(target, xs)) ** 2, x=xs)))


class Costs(NamedTuple):
    """Speed integrals of one schedule: the W₂ path length L = ∫₀^τ v₂ dt, the path-length bound L²/τ on η
    (module docstring; not c₁), and c₂ = ∫₀^τ v₂² dt = ∫₀^τ T_t Ṡ_tot dt (Ikeda et al., eq. 79)."""

    length: float
    path_length_bound: float
    c2: float


def schedule_costs(target: Any, name: str, tau: float, *, num_nodes: int = 64) -> Costs:
    """L, L²/τ and c₂ by Gauss–Legendre in t on (0, τ) (the endpoints, where T_t diverges, are never evaluated).

    W₂ geodesic: v₂ = W₂(p_data, N(0, 1))/τ is constant, so L = W₂ and L²/τ = c₂ = W₂²/τ.
    """
    _check_schedule(name)
    tau = _check_tau(tau)
    if name == "ot":
        w2 = wasserstein2_to_normal(target)
        return Costs(w2, w2**2 / tau, w2**2 / tau)
    ts, ws = _legendre(tau, num_nodes)
    v2 = np.array([speed_squared(target, name, float(t), tau) for t in ts])
    length = float(np.dot(ws, np.sqrt(v2)))
    return Costs(length, length**2 / tau, float(np.dot(ws, v2)))


def _legendre(tau: float, num_nodes: int) -> tuple[np.ndarray, np.ndarray]:
    """Gauss–Legendre nodes and weights on (0, τ)."""
    nodes, weights = np.polynomial.legendre.leggauss(num_nodes)
    return 0.5 * tau * (nodes + 1), 0.5 * tau * weights


def gaussian_action(name: str, mean: float, sd: float, tau: float) -> float:
    """∫ v₂² dt for data N(μ, s²): ∫ [(ṁ μ)² + (d√v/dt)²] dt, v = m² s² + σ² (OT: (μ² + (s − 1)²)/τ)."""
    _check_schedule(name)
    if name == "ot":
        return (mean**2 + (sd - 1) ** 2) / tau

    def integrand(t):
        m, s, dm, ds = interpolation(name, t, tau)
        v = m**2 * sd**2 + s**2
        return (dm * mean) ** 2 + ((m * dm * sd**2 + s * ds) ** 2) / v

    return float(scipy.integrate.quad(integrand, 0.0, tau, epsabs=1e-13, epsrel=1e-12)[0])


def pearson_divergence(shift: float, scale: float = 1.0) -> float:
    """D₀ = χ²(N(a, b²) ‖ N(0, 1)) = exp(a²/(2 − b²))/(b √(2 − b²)) − 1, finite for b² < 2."""
    if not 0 < scale < np.sqrt(2.0):
        raise ValueError(f"scale b of the perturbed start must be in (0, √2) for a finite χ², got {scale}")
    return float(np.exp(shift**2 / (2 - scale**2)) / (scale * np.sqrt(2 - scale**2)) - 1)


def w1_error_growth(target: Any, shift: float, scale: float = 1.0) -> tuple[float, float, float]:
    """(ΔW₁, W₁(q̃, p_data), W₁(q, N(0,1))) by quadrature of |F − G| (W₁ in 1-D = ∫ |F − G| dx)."""
    xs = _grid(target, 40001)
    f_data = np.sum(_components(target)[0] * scipy.special.ndtr((xs[:, None] - _components(target)[1])
                                                                / _components(target)[2]), axis=-1)
    f_gen = scipy.special.ndtr((monotone_map(target, xs) - shift) / scale)
    w_end = float(scipy.integrate.simpson(np.abs(f_gen - f_data), x=xs))
    zs = np.linspace(-12 - abs(shift), 12 + abs(shift), 40001)
    w_start = float(scipy.integrate.simpson(np.abs(scipy.special.ndtr((zs - shift) / scale) - scipy.special.ndtr(zs)), x=zs))
    return w_end - w_start, w_end, w_start


class SpeedAccuracy(NamedTuple):
    """η ≤ c₁ ≤ c₂ of one schedule (module docstring), the path-length bound, and the ingredients of η.

    eta uses ΔW₁ of the monotone map (w1_error_growth); eta_flow uses ΔW₁ = −∫₀^τ ∂_t W₁ dt integrated along this
    schedule's own flow (loss_integrals), which must give the same number for every schedule in 1-D.
    """

    eta: float
    c1: float
    c2: float
    path_length_bound: float
    eta_flow: float
    delta_w1: float
    d0: float
    tau: float


def speed_accuracy(target: Any, name: str, tau: float, shift: float = 1.0, scale: float = 1.0, *,
                   num_nodes: int = 64) -> SpeedAccuracy:
    """η = (ΔW₁)²/(τ D₀) ≤ c₁ = ∫ v_loss² dt ≤ c₂ = ∫ T_t Ṡ_tot dt (Ikeda et al., eqs. 77, 81, 83) for one
    schedule, with the perturbed start N(shift, scale²); c₁ and c₂ by Gauss–Legendre with num_nodes nodes."""
    tau = _check_tau(tau)
    d0 = pearson_divergence(shift, scale)
    dw1, _, _ = w1_error_growth(target, shift, scale)
    costs = schedule_costs(target, name, tau, num_nodes=num_nodes)
    loss = loss_integrals(target, name, tau, shift, scale, num_nodes=num_nodes)
    return SpeedAccuracy(dw1**2 / (tau * d0), loss.c1, costs.c2, costs.path_length_bound,
                         loss.delta_w1**2 / (tau * d0), dw1, d0, tau)


@functools.partial(jax.jit, static_argnames=("num",))
def _w1_draws(key, target, *, num):
    """From split(key, 4): N(0, 1) draws, data samples (first coordinate), N(0, 1) draws, N(0, 1) draws; each (num,)."""
    k = jax.random.split(key, 4)
    return (jax.random.normal(k[0], (num,)), target.sample(k[1], num)[:, 0], jax.random.normal(k[2], (num,)),
            jax.random.normal(k[3], (num,)))


def w1_error_growth_samples(key: Array, target: Any, shift: float, scale: float, num: int) -> tuple[float, float]:
    """ΔW₁ from samples (scipy.stats.wasserstein_distance), and the Bobkov–Ledoux scale of its error.

    Generated samples 𝒯⁻¹(z), z ~ N(a, b²), against data samples; the start term against N(0, 1) samples.
    The error scale Σ ∫ √(F(1 − F)) dx/√num bounds the mean bias of each empirical W₁ (Bobkov & Ledoux,
    Mem. AMS 261 (2019), Thm. 3.5).
    """
    z, data, start, noise = (np.asarray(v) for v in _w1_draws(key, target, num=num))
    z, start = shift + scale * z, shift + scale * start
    dw1 = scipy.stats.wasserstein_distance(generate(target, z), data) - scipy.stats.wasserstein_distance(start, noise)
    xs = _grid(target, 8001)
    w, mu, sd = _components(target)
    f = np.sum(w * scipy.special.ndtr((xs[:, None] - mu) / sd), axis=-1)
    fg = scipy.special.ndtr((monotone_map(target, xs) - shift) / scale)
    zs = np.linspace(-12 - abs(shift), 12 + abs(shift), 8001)
    fq, fn = scipy.special.ndtr((zs - shift) / scale), scipy.special.ndtr(zs)
    j = lambda F, grid: scipy.integrate.simpson(np.sqrt(F * (1 - F)), x=grid)  # noqa: E731
    scale_err = (j(f, xs) + j(fg, xs) + j(fq, zs) + j(fn, zs)) / np.sqrt(num)
    return float(dw1), float(scale_err)


# ---- instantaneous form (their eq. 80) -------------------------------------------------------------------
#
# Along the generative flow both the true law P_t and the perturbed law P̃_t are carried by the same velocity ν_t,
# so the ratio r_t = P̃_t/P_t is transported and χ²(P̃_t ‖ P_t) = D₀ for every t (their Appendix E).
# With W₁(t) = W₁(P̃_t, P_t) = sup_{Lip f ≤ 1} ∫ f (P̃_t − P_t),
#     d/dt ∫ f (P̃_t − P_t) = ∫ ∇f · ν_t (r_t − 1) P_t  ≤  √(∫ (r_t − 1)² P_t) √(∫ |ν_t|² P_t) = √D₀ v₂(t),
# so v_loss(t) := |d/dt W₁(t)|/√D₀ ≤ v₂(t) pointwise (a.e., their eqs. 80, 82); c₁ = ∫ v_loss² dt (eq. 81).
# ΔW₁ of the module docstring is W₁(t = 0) − W₁(t = τ) (generation runs from t = τ to t = 0).
# In 1-D, W₁(t) = ∫ |F̃_t − F_t| dx with F̃_t = G(F_t), G(u) = Φ((Φ⁻¹(u) − a)/b), and ∂_t F_t = −p_t ν_t,
# ∂_t F̃_t = −r_t p_t ν_t (continuity equation), hence
#     d/dt W₁(t) = −∫ sign(F̃_t − F_t) (r_t − 1) p_t ν_t dx.


class InstantRates(NamedTuple):
    """One time t: W₁(P̃_t, P_t), its forward-time rate dW₁/dt, v₂(t)², and χ²(P̃_t ‖ P_t) (= D₀, a check)."""

    w1: float
    rate: float
    v2_sq: float
    chi2: float


def _perturbed_from_cdf(cdf: np.ndarray, sf: np.ndarray, shift: float, scale: float):
    """(F̃ = G(F), r = P̃/P) at the points where the true CDF is F (sf = 1 − F, for tail stability)."""
    z = np.where(cdf < 0.5, scipy.special.ndtri(cdf), -scipy.special.ndtri(sf))
    z = np.clip(z, -38.5, 38.5)  # finite where F underflows to 0 or 1 (there p = 0)
    zq = (z - shift) / scale
    f_pert = np.where(cdf < 0.5, scipy.special.ndtr(zq), 1 - scipy.special.ndtr(-zq))
    return f_pert, np.exp(-0.5 * zq**2 + 0.5 * z**2) / scale


def instantaneous_rates(target: Any, name: str, t: float, tau: float, shift: float = 1.0, scale: float = 1.0, *,
                        num_points: int = 8001) -> InstantRates:
    """W₁(t), dW₁/dt, v₂(t)², χ²(t) at forward time t ∈ (0, τ) by Simpson quadrature (1-D, exact velocity)."""
    _check_schedule(name)
    tau = _check_tau(tau)
    w, mu, sd = _components(target)
    if name == "ot":
        # x_t = (1 − t/τ) y + (t/τ) 𝒯(y) is monotone in y: integrate in y, dx_t/dy = 1 − t/τ + (t/τ) 𝒯'(y).
        ys = _grid(target, num_points)
        zk = (ys[:, None] - mu) / sd
        cdf, sf = np.sum(w * scipy.special.ndtr(zk), -1), np.sum(w * scipy.special.ndtr(-zk), -1)
        p = np.sum(w * np.exp(-0.5 * zk**2) / (np.sqrt(2 * np.pi) * sd), -1)
        tz = monotone_map(target, ys)
        dtz = p / np.maximum(np.exp(-0.5 * tz**2) / np.sqrt(2 * np.pi), 1e-300)
        f_pert, r = _perturbed_from_cdf(cdf, sf, shift, scale)
        gap = np.abs(f_pert - cdf)
        u = t / tau
        w1 = float(scipy.integrate.simpson(gap * (1 - u + u * dtz), x=ys))
        rate = float(scipy.integrate.simpson(gap * (dtz - 1), x=ys)) / tau
        chi2 = float(scipy.integrate.simpson((r - 1) ** 2 * p, x=ys))
        return InstantRates(w1, rate, wasserstein2_to_normal(target) ** 2 / tau**2, chi2)
    xs, p, nu, m, s = _velocity_on_grid(target, name, t, tau, num_points)
    zk = (xs[:, None] - m * mu) / np.sqrt(m**2 * sd**2 + s**2)
    cdf, sf = np.sum(w * scipy.special.ndtr(zk), -1), np.sum(w * scipy.special.ndtr(-zk), -1)
    f_pert, r = _perturbed_from_cdf(cdf, sf, shift, scale)
    return InstantRates(
        float(scipy.integrate.simpson(np.abs(f_pert - cdf), x=xs)),
        float(-scipy.integrate.simpson(np.sign(f_pert - cdf) * (r - 1) * p * nu, x=xs)),
        float(scipy.integrate.simpson(p * nu**2, x=xs)),
        float(scipy.integrate.simpson((r - 1) ** 2 * p, x=xs)),
    )


def instantaneous_curves(target: Any, name: str, tau: float, shift: float = 1.0, scale: float = 1.0, *,
                         num_times: int = 64, num_points: int = 8001) -> dict[str, np.ndarray]:
    """Curves on the midpoints t_k = τ(k + ½)/K: time, w1, rate, v_loss_sq = rate²/D₀, v2_sq, chi2."""
    tau = _check_tau(tau)
    d0 = pearson_divergence(shift, scale)
    ts = tau * (np.arange(num_times) + 0.5) / num_times
    rows = [instantaneous_rates(target, name, float(t), tau, shift, scale, num_points=num_points) for t in ts]
    out = {k: np.array([getattr(r, k) for r in rows]) for k in InstantRates._fields}
    out["time"] = ts
    out["v_loss_sq"] = out["rate"] ** 2 / d0
    return out


class LossIntegrals(NamedTuple):
    """c₁ = ∫₀^τ v_loss² dt and ΔW₁ = −∫₀^τ ∂_t W₁ dt of one schedule (Ikeda et al., eqs. 80, 81)."""

    c1: float
    delta_w1: float


def loss_integrals(target: Any, name: str, tau: float, shift: float = 1.0, scale: float = 1.0, *,
                   num_nodes: int = 64, num_points: int = 8001) -> LossIntegrals:
    """c₁ = ∫₀^τ (∂_t W₁)²/D₀ dt and ΔW₁ = W₁(0) − W₁(τ) = −∫₀^τ ∂_t W₁ dt, with ∂_t W₁ from the continuity
    equation (instantaneous_rates) at Gauss–Legendre nodes in t ∈ (0, τ). Ikeda et al., eqs. 80–81, 83."""
    _check_schedule(name)
    tau = _check_tau(tau)
    d0 = pearson_divergence(shift, scale)
    ts, ws = _legendre(tau, num_nodes)
    rates = np.array([instantaneous_rates(target, name, float(t), tau, shift, scale, num_points=num_points).rate
                      for t in ts])
    return LossIntegrals(float(np.dot(ws, rates**2)) / d0, -float(np.dot(ws, rates)))
