"""Speed–accuracy relations (Ikeda, Uda, Okanohara & Ito, arXiv 2407.04495) for Curie–Weiss generation
(N spins); the 1-D mixture version and the notation are in `physics.speed_accuracy`.

Data y ∈ {±1}^N from models.CurieWeiss; x_t = m_t y + σ_t ε. For every (m, σ) schedule the PF ODE in
γ = m/σ, x̄ = x/σ is dx̄/dγ = E[y | x̄ = γ y + ξ] (see `speed_accuracy.generate_pf_ode`), so cosine and cond-OT generate the
same samples (ΔW₁ is shared) and differ only through the clock t(γ). The velocity at x = σ x̄ is
ν = ṁ E[y|x] + σ̇ (x̄ − γ E[y|x]), and ∫ v₂² dt = E ∫ |ν(x_t)|² dt along true-start trajectories (Monte Carlo,
i.i.d. trajectories → standard error). The t ∈ (0, t(γ_max)) tail, where the posterior is a point mass, adds
(ṁ² + σ̇²) N dt exactly (ν = ṁ y + σ̇ ε there).
W₁ is measured on the 1-D projection π(x) = 1·x/√N (1-Lipschitz, so the Kantorovich argument of `speed_accuracy` — and
the bound, with the N-dimensional D₀ — holds for W₁^π(t) = W₁(π#P̃_t, π#P_t); Ikeda et al., eqs. 80–82):
ΔW₁ = W₁(π#q̃, π#p_data) − W₁(π#q, N(0, 1)), with π#p_data the exact law of √N·m. Along the flow,
π#P_t is exactly the law of m_t √N m + σ_t ξ (ξ ~ N(0, 1), m ~ the exact P(m)); in x̄ = x/σ it is the
unit-variance mixture Σ_k P(m_k) N(γ √N m_k, 1), and π#P̃_t is the empirical law of the perturbed-start
trajectories, so W₁^π(t) = σ_t W̄₁(γ), W̄₁ the (exact) W₁ between that empirical law and that mixture.
c₁ = ∫ (∂_t W₁^π)²/D₀ dt by finite differences in u = asinh γ. Beyond γ_max each trajectory continues as
x̄ = γ ŷ + ε̂ (posterior a point mass, ŷ = E[y | x̄(γ_max)], ε̂ = x̄(γ_max) − γ_max ŷ) up to γ = 10⁶.
The perturbed start is N(shift·1/√N, scale² I): its projection is N(shift, scale²) and
D₀ = χ² = (b √(2 − b²))^{−N} exp(shift²/(2 − b²)) − 1.
OT (the W₂ geodesic from N(0, I_N) to a law on 2^N atoms: semi-discrete OT with Laguerre cells) has no closed
form and is not computed here.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
import scipy.special

from .integrator import integrate, ode_rk4
from .speed_accuracy import _check_tau, interpolation

Array = Any


CW_INTERPOLATIONS = ("cosine", "cond_ot")


def _clock(name: str, gamma: np.ndarray, tau: float):
    """t(γ) and dt/dγ for γ = m/σ: cosine t = (2τ/π) arctan(1/γ); cond-OT t = τ/(1 + γ)."""
    if name == "cosine":
        return (2 * tau / np.pi) * np.arctan2(1.0, gamma), -(2 * tau / np.pi) / (1 + gamma**2)
    if name == "cond_ot":
        return tau / (1 + gamma), -tau / (1 + gamma) ** 2
    raise ValueError(f"Curie–Weiss speed–accuracy supports schedules {CW_INTERPOLATIONS}, got {name!r}")


def gaussian_product_divergence(n: int, shift: float, scale: float = 1.0) -> float:
    """χ²(N(shift·1/√n, b² I_n) ‖ N(0, I_n)) = (b √(2 − b²))^{−n} exp(shift²/(2 − b²)) − 1."""
    if not 0 < scale < np.sqrt(2.0):
        raise ValueError(f"scale b of the perturbed start must be in (0, √2) for a finite χ², got {scale}")
    return float(np.expm1(shift**2 / (2 - scale**2) - n * np.log(scale * np.sqrt(2 - scale**2))))


def normal_w1(shift: float, scale: float = 1.0) -> float:
    """W₁(N(shift, scale²), N(0, 1)) by quadrature of |F − G|."""
    zs = np.linspace(-12 - abs(shift), 12 + abs(shift), 40001)
    return float(scipy.integrate.simpson(np.abs(scipy.special.ndtr((zs - shift) / scale) - scipy.special.ndtr(zs)), x=zs))


def _w1_to_atoms(samples: np.ndarray, atoms: np.ndarray, probs: np.ndarray) -> float:
    """W₁ between an empirical law and a discrete law in 1-D: ∫ |F_n − F| dx, exact on the union of jumps."""
    pts = np.sort(np.concatenate([samples, atoms]))
    f_n = np.searchsorted(np.sort(samples), pts[:-1], side="right") / samples.size
    order = np.argsort(atoms)
    f = np.concatenate([[0.0], np.cumsum(probs[order])])[np.searchsorted(atoms[order], pts[:-1], side="right")]
    return float(np.sum(np.abs(f_n - f) * np.diff(pts)))


def w1_empirical_to_normal_mixture(samples: Array, means: Array, weights: Array) -> float:
    """W₁ = ∫ |F_n − F| dz between the empirical law of `samples` (shape (n,)) and F = Σ_k w_k Φ(z − μ_k), exact.

    On the gap (z_(i), z_(i+1)) between ordered samples F_n = i/n, and ∫ F dz = G(b) − G(a) with
    G(z) = Σ_k w_k [(z − μ_k) Φ(z − μ_k) + φ(z − μ_k)]; where F crosses i/n inside a gap, the crossing z*
    (bisection) splits it: ∫_a^b |i/n − F| = (i/n)(2z* − a − b) − 2G(z*) + G(a) + G(b), z* clipped to [a, b].
    The tails add G(z_(1)) and Σ_k w_k [φ(d_k) − d_k Φ(−d_k)], d_k = z_(n) − μ_k.
    """
    z = np.sort(np.asarray(samples, float))
    mu, w = np.asarray(means, float), np.asarray(weights, float)
    n = z.size

    def cdf(x):
        return np.sum(w * scipy.special.ndtr(x[:, None] - mu), axis=-1)

    def prim(x):
        d = x[:, None] - mu
        return np.sum(w * (d * scipy.special.ndtr(d) + np.exp(-0.5 * d**2) / np.sqrt(2 * np.pi)), axis=-1)

    a, b = z[:-1], z[1:]
    level = np.arange(1, n) / n
    fa, fb = cdf(a), cdf(b)
    cross = (fa < level) & (fb > level)
    lo, hi = a[cross].copy(), b[cross].copy()
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        below = cdf(mid) < level[cross]
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    zstar = np.where(fa >= level, a, b)
    zstar[cross] = 0.5 * (lo + hi)
    ga, gb = prim(a), prim(b)
    gaps = level * (2 * zstar - a - b) - 2 * prim(zstar) + ga + gb
    d = z[-1] - mu
    right = float(np.sum(w * (np.exp(-0.5 * d**2) / np.sqrt(2 * np.pi) - d * scipy.special.ndtr(-d))))
    return float(prim(z[:1])[0] + np.sum(gaps) + right)


@functools.partial(jax.jit, static_argnames=("shape",))
def _normal_pair(key, *, shape):
    """Two independent N(0, 1) arrays of the given shape, from the two halves of split(key)."""
    k_true, k_pert = jax.random.split(key)
    return jax.random.normal(k_true, shape), jax.random.normal(k_pert, shape)


def _pf_ode_records(x0, model, us, *, num_traj, gamma_max):
    """PF ODE in u = asinh γ (RK4 on the grid us) from x0 (2 num_traj, N): true-start trajectories first, then the
    perturbed-start ones; one compiled run with the model and the grid as compile-time constants. Records at each
    step's start, and at the end: the moments (|E y|², x̄·E y, |x̄|²) (3, num_traj) of the true-start half and the
    projection 1·x̄/√N (num_traj,) of the perturbed half; and the projection of the denoised end point E[y | x̄] at
    γ_max, (2 num_traj,)."""
    n = model.n
    sampler = ode_rk4(lambda xb, u: model.posterior_mean(xb, jnp.sinh(u), 1.0) * jnp.cosh(u))

    def record(xb, u):  # |E y|², x̄·E y, |x̄|² on the true-start half; projection 1·x̄/√N of the perturbed half
        ey = model.posterior_mean(xb[:num_traj], jnp.sinh(u), 1.0)
        xt = xb[:num_traj]
        return jnp.stack([jnp.sum(ey**2, -1), jnp.sum(xt * ey, -1), jnp.sum(xt**2, -1)]), xb[num_traj:].sum(-1) / np.sqrt(n)

    def run(x):
        state, recorded = integrate(None, sampler, None, None, sampler.init(x), us[:-1], us[1:],
                                    observe=lambda old, new, info, u, v: record(old.x, u))
        xb = state.x
        return recorded, record(xb, us[-1]), model.posterior_mean(xb, gamma_max, 1.0).sum(-1) / np.sqrt(n)

    return jax.jit(run)(x0)


class CurieWeissSpeedAccuracy(NamedTuple):
    """η, c₁, c₂ and the path-length bound (per schedule, with standard errors) of the Curie–Weiss check, the
    ingredients of η, and the curves along generation: forward time t, W₁^π(t), v_loss(t)², v₂(t)² (with standard
    errors), each of shape (schedule, num_steps) on the RK4 grid γ_k = sinh(u_k), k = 1..num_steps."""

    schedules: tuple
    eta: float
    eta_err: float
    c1: np.ndarray
    c1_err: np.ndarray
    c2: np.ndarray
    c2_err: np.ndarray
    path_length_bound: np.ndarray
    path_length_bound_err: np.ndarray
    delta_w1: float
    delta_w1_err: float
    w1_true_start: float
    d0: float
    t: np.ndarray
    w1: np.ndarray
    v_loss_sq: np.ndarray
    v_loss_sq_err: np.ndarray
    v2_sq: np.ndarray
    v2_sq_err: np.ndarray


def curie_weiss_speed_accuracy(key: Array, model: Any, tau: float = 1.0, shift: float = 1.0, scale: float = 1.0, *,
                               schedules=CW_INTERPOLATIONS, num_traj: int = 2000, num_steps: int = 200,
                               gamma_max: float = 1e3, gamma_far: float = 1e6,
                               num_groups: int = 10) -> CurieWeissSpeedAccuracy:
    """Speed–accuracy hierarchy η ≤ c₁ ≤ c₂ (Ikeda et al., eqs. 77, 80–83) for Curie–Weiss generation with the
    exact denoiser (see the block comment above).

    PF ODE by RK4 in u = asinh γ on [0, asinh γ_max] (num_steps steps) for num_traj true-start and num_traj
    perturbed-start trajectories; the end point is denoised, E[y | x̄] at γ_max. c₂ = E ∫ |ν|² dt over the
    true-start trajectories (Simpson in u, exact tail (ṁ² + σ̇²) N t(γ_max)), standard error from the i.i.d.
    per-trajectory actions. c₁ = ∫ (∂_t W₁^π)²/D₀ dt, ∂_t W₁^π by second-order finite differences in u, Simpson
    in u from γ = 0 to gamma_far (trajectories continued analytically beyond γ_max). Errors of c₁, v_loss² and the
    path-length bound (∫ v₂ dt)²/τ: batch means over num_groups disjoint groups of trajectories. ΔW₁ error: the
    Bobkov–Ledoux scale ∫ √(F(1 − F)) dx/√num_traj of the empirical W₁ (a conservative one-σ scale).
    """
    tau = _check_tau(tau)
    for name in schedules:
        _clock(name, np.ones(1), tau)
    n = model.n
    d0 = gaussian_product_divergence(n, shift, scale)
    us = jnp.linspace(0.0, float(np.arcsinh(gamma_max)), num_steps + 1)
    z_true, z_pert = (np.asarray(z) for z in _normal_pair(key, shape=(num_traj, n)))
    real = z_pert.dtype.type
    x0 = np.concatenate([z_true, real(shift / np.sqrt(n)) + real(scale) * z_pert])
    (mom, proj_path), (last_mom, last_proj), proj = _pf_ode_records(x0, model, us, num_traj=num_traj,
                                                                    gamma_max=gamma_max)
    mom = np.concatenate([np.asarray(mom), np.asarray(last_mom)[None]])  # (steps + 1, 3, traj)
    proj_path = np.concatenate([np.asarray(proj_path), np.asarray(last_proj)[None]])  # (steps + 1, traj)
    proj = np.asarray(proj)

    # ΔW₁ on the projection, against the exact law of √N m.
    mvals, probs = model.magnetization_law()
    atoms = np.sqrt(n) * mvals
    w1_end = _w1_to_atoms(proj[num_traj:], atoms, probs)
    w1_true = _w1_to_atoms(proj[:num_traj], atoms, probs)
    dw1 = w1_end - normal_w1(shift, scale)
    cdf = np.cumsum(probs)[:-1]
    dw1_err = float(np.sum(np.sqrt(cdf * (1 - cdf)) * np.diff(atoms)) / np.sqrt(num_traj))

    # W̄₁(γ) in x̄ coordinates on the uniform u grid, continued beyond γ_max with x̄ = γ ŷ + ε̂.
    uu = np.asarray(us, float)
    h = uu[1] - uu[0]
    extra = max(2, int(np.ceil((np.arcsinh(gamma_far) - uu[-1]) / h)))
    u_all = uu[-1] + h * np.arange(-num_steps, extra + 1)
    g_all = np.sinh(u_all)
    y_hat = proj[num_traj:]
    eps_hat = proj_path[-1] - gamma_max * y_hat
    paths = np.concatenate([proj_path, g_all[num_steps + 1:, None] * y_hat + eps_hat], axis=0)
    groups = [slice(None)] + [g for g in np.array_split(np.arange(num_traj), num_groups)]
    wbar = np.array([[w1_empirical_to_normal_mixture(paths[k, g], g_all[k] * atoms, probs) for k in range(u_all.size)]
                     for g in groups])  # (1 + groups, u)

    gam = np.sinh(uu)
    out_t, out_w1, out_vl, out_vle, out_v2, out_v2e = [], [], [], [], [], []
    c1, c1e, c2, c2e, pl, ple = [], [], [], [], [], []
    for name in schedules:
        t, dtdg = _clock(name, gam, tau)
        m, s, dm, ds = interpolation(name, t, tau)
        a = dm - ds * gam
        nu2 = np.maximum((a**2)[:, None] * mom[:, 0] + (2 * a * ds)[:, None] * mom[:, 1] + (ds**2)[:, None] * mom[:, 2], 0.0)
        jac = (np.abs(dtdg) * np.cosh(uu))[:, None]
        _, _, dm0, ds0 = interpolation(name, np.array([0.5 * t[-1]]), tau)
        speed0 = float(dm0[0] ** 2 + ds0[0] ** 2)  # ṁ² + σ̇² is constant for both schedules
        actions = scipy.integrate.simpson(nu2 * jac, x=uu, axis=0) + speed0 * n * t[-1]
        c2.append(actions.mean())
        c2e.append(actions.std(ddof=1) / np.sqrt(num_traj))
        lengths = [scipy.integrate.simpson(np.sqrt(nu2[:, g].mean(1)) * jac[:, 0], x=uu) + np.sqrt(speed0 * n) * t[-1]
                   for g in groups]
        pl.append(lengths[0] ** 2 / tau)
        ple.append(np.std([L**2 / tau for L in lengths[1:]], ddof=1) / np.sqrt(num_groups))

        t_all, dtdg_all = _clock(name, g_all, tau)
        sig_all = interpolation(name, t_all, tau)[1]
        w1_t = sig_all * wbar  # (1 + groups, u): W₁^π(t(γ))
        dw_du = np.gradient(w1_t, h, axis=-1, edge_order=2)
        dt_du = np.abs(dtdg_all) * np.cosh(u_all)
        c1_all = scipy.integrate.simpson(dw_du**2 / dt_du, x=u_all, axis=-1) / d0
        c1.append(c1_all[0])
        c1e.append(c1_all[1:].std(ddof=1) / np.sqrt(num_groups))
        inner = slice(1, num_steps + 1)  # central differences only (γ = 0 is a one-sided edge)
        vl = (dw_du[:, inner] / dt_du[inner]) ** 2 / d0
        out_t.append(t[inner])
        out_w1.append(w1_t[0, inner])
        out_vl.append(vl[0])
        out_vle.append(vl[1:].std(0, ddof=1) / np.sqrt(num_groups))
        out_v2.append(nu2[inner].mean(1))
        out_v2e.append(nu2[inner].std(1, ddof=1) / np.sqrt(num_traj))
    eta = dw1**2 / (tau * d0)
    return CurieWeissSpeedAccuracy(tuple(schedules), float(eta), float(2 * abs(dw1) * dw1_err / (tau * d0)),
                                   np.array(c1), np.array(c1e), np.array(c2), np.array(c2e), np.array(pl), np.array(ple),
                                   float(dw1), dw1_err, w1_true, d0, np.array(out_t), np.array(out_w1),
                                   np.array(out_vl), np.array(out_vle), np.array(out_v2), np.array(out_v2e))
