"""Franz–Parisi potential of the 1-D Gaussian mixture p₀ = ½N(μ, σ²) + ½N(−μ, σ²) and its inflection points.

Yu & Huang, arXiv 2405.11932, Sec. V and Fig. 11 (OU schedule, a = e^{−t}, Δ_t = 1 − e^{−2t}); the potential of
Franz & Parisi (J. Phys. I 5, 1401 (1995)) of the posterior P(x₀ | x_t) at squared distance q from a reference x₀′
drawn from that posterior ((x₀′, x_t) then has the joint law P(x₀′) N(x_t; a x₀′, Δ_t), which is how it is sampled):
    H(x₀ | x_t) = (x_t − a x₀)²/(2Δ_t) − ln p₀(x₀),
    Z(q) = ∫ e^{−H} δ(q − (x₀ − x₀′)²) dx₀ = (2√q)⁻¹ [e^{−H(x₀′+√q)} + e^{−H(x₀′−√q)}],
    V(q, t) = −E_{x₀′, x_t} ln Z(q).
Their criterion for the glass-like regime is the appearance of additional inflection points of V (V″ = 0).
Evaluation (`gmm_franz_parisi`): the mixture is symmetric under x → −x, which leaves Z invariant, so
x₀′ = μ + ση (one component), and x_t = a x₀′ + √Δ_t ξ with η, ξ ~ N(0, 1). With r = √q, k = a r/√Δ_t and
c_± = ln p₀(x₀′ ± r), the ξ-dependence of ln Z is ln 2cosh(kξ + b) plus a quadratic, b = (c₊ − c₋)/2, so
    V(q, t) = ln 2 + ½ ln q + ½ + k²/2 − E_η[(c₊ + c₋)/2 + G(k, b)],   G(k, b) = E_ξ ln 2cosh(kξ + b),
with G by Gauss–Hermite (k < 1) or by the folded-normal mean E|kξ + b| plus a Gauss–Laguerre integral of
ln(1 + e^{−2|y|}) (k ≥ 1), and E_η by the trapezoid rule; V′, V″, V‴ by autodiff. An independent Monte-Carlo
estimate of V, V′, V″ from Z itself is `gmm_franz_parisi_monte_carlo`.
As t → 0 V follows the limit law in q′ = a²q/Δ_t, V = ½ ln q′ + q′/2 − E ln cosh(ξ√q′) + const, whose single
inflection is at q′ ≈ 8.26 (`gmm_small_t_inflection`).
"""

from __future__ import annotations

import functools
import math
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
import scipy.optimize
import scipy.stats

from statphys.models.base import check_positive_int

from .scaling import Estimate

Array = Any


_HERMITE_NODES, _HERMITE_WEIGHTS = np.polynomial.hermite_e.hermegauss(60)
_HERMITE_WEIGHTS = _HERMITE_WEIGHTS / _HERMITE_WEIGHTS.sum()
_LAGUERRE_NODES, _LAGUERRE_WEIGHTS = np.polynomial.laguerre.laggauss(40)
_z = np.exp(-_LAGUERRE_NODES)
_LAGUERRE_H = np.where(_z < 1e-12, 1.0 - _z / 2, np.log1p(_z) / np.maximum(_z, 1e-300))  # e^u ln(1 + e^{−u})
_ETA_HALF_WIDTH = 9.0


def _log_p0(x0: Array, mu: Array, sigma: Array) -> Array:
    """ln[½N(x₀; μ, σ²) + ½N(x₀; −μ, σ²)]."""
    a = -((x0 - mu) ** 2) / (2 * sigma**2)
    b = -((x0 + mu) ** 2) / (2 * sigma**2)
    return jnp.logaddexp(a, b) - math.log(2.0) - 0.5 * jnp.log(2 * math.pi * sigma**2)


def _mean_log_2cosh(k: Array, b: Array) -> Array:
    """G(k, b) = E_ξ ln 2cosh(kξ + b), ξ ~ N(0, 1); k ≥ 0 a scalar, b of any shape (module docstring).

    k < 1: 60-node Gauss–Hermite in ξ (the integrand is analytic on the scale 1/k > 1).
    k ≥ 1: ln 2cosh y = |y| + ln(1 + e^{−2|y|}); E|kξ + b| = k√(2/π) e^{−b²/(2k²)} + b erf(b/(√2 k)), and with
    u = 2|y|, E ln(1 + e^{−2|y|}) = ½ ∫₀^∞ e^{−u} [e^{u} ln(1 + e^{−u})] [N(u/2; b, k²) + N(−u/2; b, k²)] du by
    40-node Gauss–Laguerre. Absolute error below 1e-8 for all k, b (tests/test_franz_parisi.py).
    """
    b = jnp.asarray(b)

    def small(k):
        y = k * _HERMITE_NODES + b[..., None]
        return jnp.sum(_HERMITE_WEIGHTS * (jnp.abs(y) + jnp.log1p(jnp.exp(-2 * jnp.abs(y)))), axis=-1)

    def large(k):
        folded = k * math.sqrt(2 / math.pi) * jnp.exp(-(b**2) / (2 * k**2)) + b * jax.scipy.special.erf(
            b / (math.sqrt(2) * k))
        y = _LAGUERRE_NODES / 2
        dens = (jnp.exp(-((y - b[..., None]) ** 2) / (2 * k**2)) + jnp.exp(-((y + b[..., None]) ** 2) / (2 * k**2)))
        rest = 0.5 * jnp.sum(_LAGUERRE_WEIGHTS * _LAGUERRE_H * dens, axis=-1) / (k * math.sqrt(2 * math.pi))
        return folded + rest

    return jax.lax.cond(k < 1.0, small, large, k)


def _eta_step(sigma: float) -> float:
    """Trapezoid step in η: ln p₀ and b vary on the η-scale πσ/(2 max(μ, √q)) (their complex singularities);
    a step ≤ σ/8 keeps the trapezoid error e^{−2π·distance/step} = e^{−8π²/max(μ, √q)} below 1e-8 for q ≤ 16. Steps 9/(2m) with m
    a multiple of 120, so that every σ ≥ 0.3 shares one grid (and one compilation)."""
    return _ETA_HALF_WIDTH / (120 * math.ceil(_ETA_HALF_WIDTH / min(0.0375, sigma / 8) / 120))


def _gmm_potential(q: Array, t: Array, mu: Array, sigma: Array, eta_step: float) -> Array:
    """V(q, t) at one q > 0 (module docstring); t, mu, sigma may be traced."""
    eta = jnp.linspace(-_ETA_HALF_WIDTH, _ETA_HALF_WIDTH, 2 * int(round(_ETA_HALF_WIDTH / eta_step)) + 1)
    w = jnp.exp(-(eta**2) / 2)
    w = w / jnp.sum(w)
    a, delta = jnp.exp(-t), -jnp.expm1(-2 * t)
    r = jnp.sqrt(q)
    k = a * r / jnp.sqrt(delta)
    ref = mu + sigma * eta
    c_plus, c_minus = _log_p0(ref + r, mu, sigma), _log_p0(ref - r, mu, sigma)
    mean = jnp.sum(w * ((c_plus + c_minus) / 2 + _mean_log_2cosh(k, (c_plus - c_minus) / 2)))
    return math.log(2.0) + 0.5 * jnp.log(q) + 0.5 + k**2 / 2 - mean


_CHUNK = 64  # (q, t) pairs per compiled call: one compilation serves every grid, refinement and solve


def _with_derivative(g):
    """x ↦ (g(x), g′(x)) for g mapping a scalar to a pytree, by one forward-mode pass."""
    return lambda x: jax.jvp(g, (x,), (jnp.ones_like(x),))


@functools.partial(jax.jit, static_argnames=("eta_step",))
def _taylor_chunk(q: Array, t: Array, mu: Array, sigma: Array, eta_step: float) -> Array:
    """(V, V′, V″, V‴) in q at the pairs (q_i, t_i), each (_CHUNK,) -> (_CHUNK, 4); three nested forward-mode
    passes over V (each derivative read off the one nesting: V is traced once), a sequential map so that each
    pair evaluates one branch of G."""

    def one(pair):
        qq, tt = pair
        g = lambda x: _gmm_potential(x, tt, mu, sigma, eta_step)  # noqa: E731
        ((v, d1), (_, d2)), ((_, _), (_, d3)) = _with_derivative(_with_derivative(_with_derivative(g)))(qq)
        return jnp.stack([v, d1, d2, d3])

    return jax.lax.map(one, (q, t))


def _taylor(q: Array, t: Array, mu: float, sigma: float) -> np.ndarray:
    """(V, V′, V″, V‴) at q and t broadcast together -> (4,) + broadcast shape, in chunks of _CHUNK pairs."""
    q, t = np.broadcast_arrays(np.asarray(q, float), np.asarray(t, float))
    shape = q.shape
    q, t = q.ravel(), t.ravel()
    num = q.size
    pad = (-num) % _CHUNK
    q, t = np.concatenate([q, np.ones(pad)]), np.concatenate([t, np.ones(pad)])
    step = _eta_step(sigma)
    rows = [np.asarray(_taylor_chunk(q[i:i + _CHUNK], t[i:i + _CHUNK], mu, sigma, eta_step=step))
            for i in range(0, q.size, _CHUNK)]
    return np.concatenate(rows)[:num].T.reshape((4,) + shape)


def _check_gmm(t: Any, mu: float, sigma: float) -> None:
    if not np.all(np.asarray(t, float) > 0):
        raise ValueError(f"t must be > 0 (Δ_t = 0 at t = 0), got {t!r}")
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0 (the standard deviation of each component), got {sigma!r}")
    if not (math.isfinite(mu) and mu >= 0):
        raise ValueError(f"mu must be a finite number >= 0, got {mu!r}")


def gmm_franz_parisi_derivatives(q: Array, t: float, mu: float = 1.0, sigma: float = 1.0) -> tuple[np.ndarray, ...]:
    """(V, V′, V″) in q of ½N(μ, σ²) + ½N(−μ, σ²) (σ the standard deviation; module docstring), each of the shape
    of q (q > 0; forward-mode autodiff in q)."""
    _check_gmm(t, mu, sigma)
    q = np.asarray(q, dtype=float)
    if not np.all(q > 0):
        raise ValueError("q must be > 0 (Z(q) has a factor 1/(2√q))")
    return tuple(_taylor(q, t, mu, sigma)[:3])


def gmm_franz_parisi(q: Array, t: float, mu: float = 1.0, sigma: float = 1.0) -> np.ndarray:
    """V(q, t) = −E ln Z(q) (module docstring); q > 0 of any shape -> the same shape."""
    return gmm_franz_parisi_derivatives(q, t, mu, sigma)[0]


def inflection_points(q: np.ndarray, second_derivative: np.ndarray) -> np.ndarray:
    """q where V″ changes sign (linear interpolation between grid points)."""
    q, d2 = np.asarray(q), np.asarray(second_derivative)
    i = np.nonzero(np.sign(d2[:-1]) * np.sign(d2[1:]) < 0)[0]
    return q[i] - d2[i] * (q[i + 1] - q[i]) / (d2[i + 1] - d2[i])


def gmm_inflection_scan(times: Array, mu: float = 1.0, sigma: float = 1.0, q_min: float = 1e-4,
                        q_max: float = 8.0, num_q: int = 384, iterations: int = 10) -> list[np.ndarray]:
    """Every q in [q_min, q_max] where V″(q, t) changes sign, at each t of times: a list of increasing arrays.

    Sign changes of V″ on a geometric grid of num_q points; each bracket is then cut into 9 equal parts in ln q
    and the part with the sign change kept, ``iterations`` times (all brackets of all times evaluated together),
    and the root interpolated linearly: relative precision (grid ratio − 1)·9^{−iterations}. A pair of
    inflections closer than the grid spacing, (q_max/q_min)^{1/(num_q−1)} − 1 in relative terms, is missed: near
    the times where two inflections merge (`gmm_inflection_merges`) the count is uncertain.
    """
    times = np.atleast_1d(np.asarray(times, float))
    _check_gmm(times, mu, sigma)
    check_positive_int("num_q", num_q)
    if not 0 < q_min < q_max:
        raise ValueError(f"need 0 < q_min < q_max, got q_min = {q_min}, q_max = {q_max}")
    log_q = np.linspace(np.log(q_min), np.log(q_max), num_q)
    d2 = _taylor(np.exp(log_q)[None, :], times[:, None], mu, sigma)[2]
    which, j = np.nonzero(np.sign(d2[:, :-1]) * np.sign(d2[:, 1:]) < 0)
    lo, hi, f_lo, f_hi = log_q[j], log_q[j + 1], d2[which, j], d2[which, j + 1]
    parts = np.linspace(0.0, 1.0, 10)[1:-1]
    rows = np.arange(which.size)
    for _ in range(iterations if which.size else 0):
        inner = lo[:, None] + (hi - lo)[:, None] * parts[None, :]
        f_in = _taylor(np.exp(inner), times[which][:, None], mu, sigma)[2]
        edges = np.concatenate([lo[:, None], inner, hi[:, None]], axis=1)
        values = np.concatenate([f_lo[:, None], f_in, f_hi[:, None]], axis=1)
        k = np.argmax(np.sign(values[:, :-1]) != np.sign(values[:, 1:]), axis=1)
        lo, hi, f_lo, f_hi = edges[rows, k], edges[rows, k + 1], values[rows, k], values[rows, k + 1]
    roots = np.exp(lo - f_lo * (hi - lo) / (f_hi - f_lo))
    return [np.sort(roots[which == i]) for i in range(times.size)]


def gmm_inflection_points(t: float, mu: float = 1.0, sigma: float = 1.0, q_min: float = 1e-4, q_max: float = 8.0,
                          num_q: int = 384) -> np.ndarray:
    """Every q in [q_min, q_max] where V″(q, t) changes sign, increasing (`gmm_inflection_scan` at one t)."""
    return gmm_inflection_scan([t], mu, sigma, q_min, q_max, num_q)[0]


@functools.lru_cache(maxsize=1)
def gmm_small_t_inflection() -> float:
    """q′* ≈ 8.26: the inflection of the t → 0 limit law of V in q′ = a²q/Δ_t (module docstring).

    With x_t = a x₀′ + √Δ_t ξ, p₀(x₀′ ± √q) → p₀(x₀′) as t → 0 at fixed q′, so V = ½ ln q′ + q′/2 −
    E_ξ ln cosh(ξ√q′) + const + o(1), and V″ = 0 ⇔ E[y tanh y − y² sech² y] = 2 with y = ξ√q′ (one root; scipy
    quad + brentq, independent of the quadrature of `gmm_franz_parisi`). At small t the inflection of V lies
    near q′* Δ_t/a², whatever μ and σ.
    """
    def excess(qp):
        def f(xi):
            y = xi * math.sqrt(qp)
            return (y * math.tanh(y) - (y / math.cosh(y)) ** 2) * scipy.stats.norm.pdf(xi)

        return scipy.integrate.quad(f, -12, 12, epsabs=1e-13)[0] - 2.0

    return float(scipy.optimize.brentq(excess, 1.0, 50.0, xtol=1e-12))


class Merge(NamedTuple):
    """A point (t, q) where two inflection points of V meet and disappear: V″ = V‴ = 0."""

    t: float
    q: float
    residual: float  # max(|V″|, |V‴|) at the solution


def gmm_inflection_merges(times: Array, found: list[np.ndarray], mu: float = 1.0, sigma: float = 1.0,
                          max_iter: int = 40) -> list[Merge]:
    """Where a pair of inflection points is born or annihilates along t: the solutions of V″ = V‴ = 0.

    For each pair of consecutive scan times whose counts (``found``, from `gmm_inflection_scan`) differ by 2,
    Newton's method on (V″, V‴) = 0 in z = (ln q, ln t), with a central-difference Jacobian (step 1e-5 in z),
    starts from the pair of adjacent inflections closest in ln q at the time with more of them and from the
    geometric mean of the two times. A solution outside those two times, or not converged to |Δz| < 1e-10, is
    NaN. Returns one Merge per such pair of times, in the order of times.
    """
    times = np.asarray(times, float)
    _check_gmm(times, mu, sigma)
    h = 1e-5
    offsets = np.array([[0, 0], [h, 0], [-h, 0], [0, h], [0, -h]])

    def residual_and_jacobian(z):
        pts = z[None, :] + offsets
        r = _taylor(np.exp(pts[:, 0]), np.exp(pts[:, 1]), mu, sigma)[2:4].T  # (5, 2): V″, V‴
        jac = np.stack([(r[1] - r[2]) / (2 * h), (r[3] - r[4]) / (2 * h)], axis=1)
        return r[0], jac

    merges = []
    for i in range(times.size - 1):
        a, b = found[i], found[i + 1]
        if abs(a.size - b.size) != 2:
            continue
        more = a if a.size > b.size else b
        j = int(np.argmin(np.diff(np.log(more))))
        z = np.array([0.5 * np.log(more[j] * more[j + 1]), 0.5 * np.log(times[i] * times[i + 1])])
        converged = False
        for _ in range(max_iter):
            r, jac = residual_and_jacobian(z)
            dz = np.linalg.solve(jac, -r)
            dz *= min(1.0, 0.5 / max(np.max(np.abs(dz)), 1e-300))  # at most a factor e^{0.5} per step
            z = z + dz
            if np.max(np.abs(dz)) < 1e-10:
                converged = True
                break
        r, _ = residual_and_jacobian(z)
        t_m, q_m = float(np.exp(z[1])), float(np.exp(z[0]))
        ok = converged and times[i] <= t_m <= times[i + 1]
        merges.append(Merge(t_m if ok else float("nan"), q_m if ok else float("nan"), float(np.max(np.abs(r)))))
    return merges


def gmm_franz_parisi_monte_carlo(key: Array, q: Array, t: float, mu: float = 1.0, sigma: float = 1.0,
                                 num_samples: int = 100_000) -> tuple[Estimate, Estimate, Estimate]:
    """V, V′, V″ at each q by Monte Carlo, independently of the quadrature of `gmm_franz_parisi`.

    (x₀′, x_t) drawn from P(x₀′) N(x_t; e^{−t} x₀′, Δ_t) with x₀′ from both mixture components, and
    −ln Z(q), −∂_q ln Z, −∂²_q ln Z evaluated per sample from Z(q) of the module docstring (autodiff);
    estimates are sample means with standard errors std/√num_samples. q of shape (k,) -> Estimates (k,).
    """
    _check_gmm(t, mu, sigma)
    check_positive_int("num_samples", num_samples)
    q = jnp.asarray(np.atleast_1d(np.asarray(q, float)))
    k_comp, k_ref, k_noise = jax.random.split(key, 3)
    sign = jnp.where(jax.random.bernoulli(k_comp, 0.5, (num_samples,)), 1.0, -1.0)
    ref = sign * mu + sigma * jax.random.normal(k_ref, (num_samples,))
    a, delta = math.exp(-t), -math.expm1(-2 * t)
    xt = a * ref + math.sqrt(delta) * jax.random.normal(k_noise, (num_samples,))
    per = np.asarray(_monte_carlo_terms(q, ref, xt, a, delta, mu, sigma))  # (3, k, num_samples)
    mean, err = per.mean(axis=2), per.std(axis=2, ddof=1) / math.sqrt(num_samples)
    return tuple(Estimate(mean[i], err[i]) for i in range(3))


def _minus_log_z(q, x0p, x, a, delta, mu, sigma):
    """−ln Z(q) for one (x₀′, x_t) (module docstring)."""
    r = jnp.sqrt(q)
    minus_h = lambda x0: -((x - a * x0) ** 2) / (2 * delta) + _log_p0(x0, mu, sigma)  # noqa: E731
    return jnp.log(2 * r) - jnp.logaddexp(minus_h(x0p + r), minus_h(x0p - r))


@jax.jit
def _monte_carlo_terms(q, ref, xt, a, delta, mu, sigma):
    """(−ln Z, −∂_q ln Z, −∂²_q ln Z) per q and draw, (3, len(q), len(ref))."""
    fns = (_minus_log_z, jax.grad(_minus_log_z), jax.grad(jax.grad(_minus_log_z)))
    return jnp.stack([jax.vmap(jax.vmap(fn, in_axes=(None, 0, 0, None, None, None, None)),
                               in_axes=(0, None, None, None, None, None, None))(q, ref, xt, a, delta, mu, sigma)
                      for fn in fns])
