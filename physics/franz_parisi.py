"""Franz–Parisi potentials of the posterior P(x₀ | x_t): free energy at fixed distance from a reference.

The reference x₀′ is drawn from the posterior P(x₀′ | x_t) and x_t from p_t; the pair (x₀′, x_t) then has the
joint law of a data point and its noised version, P(x₀′) N(x_t; α x₀′, σ²), which is how it is sampled here.
The reference is a posterior draw, not a configuration produced by the generative dynamics.

1-D Gaussian mixture p₀ = ½N(μ, σ²) + ½N(−μ, σ²) (Yu & Huang, arXiv 2405.11932, Sec. V and Fig. 11; OU schedule,
a = e^{−t}, Δ_t = 1 − e^{−2t}):
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
inflection is at q′ ≈ 8.26 (tests/test_franz_parisi.py).

Spins (overlap q = s·s′/N with a reference s′ drawn from the posterior):
    V(q; t) = −(1/N) E_{s′, x_t} ln P(q | x_t, s′),   P(q | x, s′) = Σ_{s: s·s′ = Nq} P(s | x_t = x),
the constrained free energy per spin minus the unconstrained one (a q-independent shift of Yu & Huang's V).
By enumeration for any target with log_weight (N ≤ 20), and exactly at any N for Curie–Weiss: with τᵢ = sᵢs′ᵢ
(gauge), vᵢ = s′ᵢuᵢ, uᵢ = h + αxᵢ/σ², and groups A = {s′ᵢ = +1}, B = {s′ᵢ = −1}, k_A, k_B the numbers of τ = +1,
    P(q | x, s′) ∝ Σ_{k_A + k_B = K} e_{k_A}(v_A) e_{k_B}(v_B) exp(β M²/(2N)),
    Nq = 2K − N,  M = (2k_A − N_A) − (2k_B − N_B),
with e_k(v) = Σ_{τ: #(τ=+1)=k} exp(Σ vᵢτᵢ) over a group (`log_elementary_symmetric`): a 1-D sum per q.
Beyond enumeration, `umbrella_overlap_potential` (one (x_t, s′)) and `quenched_umbrella_potential` (the mean over
disorder draws, `quenched_average`) estimate the same V by umbrella Monte Carlo, with references s′ drawn by parallel
tempering (`tempering_reference_sampler`) where P cannot be enumerated.
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

from statphys.models.base import MagnetizationLaw, check_enumerable, check_noise_level, check_positive_int, spin_states

from . import montecarlo as mc
from .scaling import Estimate

Array = Any


# ---- 1-D Gaussian mixture (Yu & Huang) ----------------------------------------------------------------------
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


def _derivative(g):
    return lambda x: jax.jvp(g, (x,), (jnp.ones_like(x),))[1]


@functools.partial(jax.jit, static_argnames=("eta_step",))
def _taylor_chunk(q: Array, t: Array, mu: Array, sigma: Array, eta_step: float) -> Array:
    """(V, V′, V″, V‴) in q at the pairs (q_i, t_i), each (_CHUNK,) -> (_CHUNK, 4); nested forward-mode autodiff,
    a sequential map so that each pair evaluates one branch of G."""

    def one(pair):
        qq, tt = pair
        g = lambda x: _gmm_potential(x, tt, mu, sigma, eta_step)  # noqa: E731
        d1 = _derivative(g)
        d2 = _derivative(d1)
        values, slopes = jax.jvp(lambda x: jnp.stack([g(x), d1(x), d2(x)]), (qq,), (jnp.ones_like(qq),))
        return jnp.concatenate([values, slopes[2:]])

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


def local_minima(q: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Indices of strict interior local minima of v on the grid q, plus end points lower than their neighbour."""
    v = np.asarray(v)
    inner = np.nonzero((v[1:-1] < v[:-2]) & (v[1:-1] < v[2:]))[0] + 1
    ends = [i for i, j in ((0, 1), (len(v) - 1, len(v) - 2)) if v[i] < v[j]]
    return np.sort(np.concatenate([inner, np.asarray(ends, dtype=int)]))


# ---- spins ----------------------------------------------------------------------------------------------------
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
    n = target.n
    check_enumerable(n, "the Franz–Parisi potential by enumeration")
    check_noise_level(alpha, sigma)
    states = spin_states(n, jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    log_prior = target.log_weight(states)  # (2ᴺ,)

    def one(ref, xx):
        logw = log_prior + alpha * states @ xx / sigma**2
        agree = ((states @ ref + n) / 2).round().astype(jnp.int32)  # K per state
        log_pk = jax.ops.segment_max(logw, agree, num_segments=n + 1)
        shift = jnp.where(jnp.isfinite(log_pk), log_pk, 0.0)
        sums = jax.ops.segment_sum(jnp.exp(logw - shift[agree]), agree, num_segments=n + 1)
        log_pk = shift + jnp.log(sums)
        return log_pk - jax.nn.logsumexp(log_pk)

    return jax.lax.map(lambda rx: one(*rx), (jnp.asarray(references, states.dtype), jnp.asarray(x, states.dtype)))


def _masked_log_elementary(v: Array, mask: Array) -> Array:
    """ln e_k of the spins with mask = True (others contribute a factor 1), k = 0..N; v, mask (batch, N)."""
    n = v.shape[-1]
    init = jnp.full(v.shape[:-1] + (n + 1,), -jnp.inf, v.dtype).at[..., 0].set(0.0)

    def body(c, vm):
        vi, mi = vm
        shifted = jnp.concatenate([jnp.full(c.shape[:-1] + (1,), -jnp.inf, c.dtype), c[..., :-1]], axis=-1)
        new = jnp.logaddexp(shifted + vi[..., None], c - vi[..., None])
        return jnp.where(mi[..., None], new, c), None

    c, _ = jax.lax.scan(body, init, (jnp.moveaxis(v, -1, 0), jnp.moveaxis(mask, -1, 0)))
    return c


def curie_weiss_overlap_log_probs(target: Any, references: Array, x: Array, alpha: Array, sigma: Array) -> Array:
    """Exact ln P(q | x, s′) for Curie–Weiss at any N (two-group sum, module docstring); (batch, N+1) over K."""
    check_noise_level(alpha, sigma)
    return _curie_weiss_overlap_log_probs(target, references, x, alpha, sigma)


@jax.jit
def _curie_weiss_overlap_log_probs(target: Any, references: Array, x: Array, alpha: Array, sigma: Array) -> Array:
    n = target.n
    ref = jnp.asarray(references, dtype=jnp.asarray(x).dtype)
    v = ref * (target.h + alpha * jnp.asarray(x) / sigma**2)
    in_a = ref > 0
    log_a = _masked_log_elementary(v, in_a)  # (batch, N+1) over k_A
    log_b = _masked_log_elementary(v, ~in_a)
    n_a = jnp.sum(in_a, axis=-1)[:, None, None]
    n_b = n - n_a
    k_a = jnp.arange(n + 1)[None, :, None]
    k_b = jnp.arange(n + 1)[None, None, :]
    M = (2 * k_a - n_a) - (2 * k_b - n_b)
    joint = log_a[:, :, None] + log_b[:, None, :] + target.beta * M**2 / (2 * n)  # (batch, k_A, k_B)
    total = k_a + k_b  # K
    flat_k = jnp.broadcast_to(total, joint.shape).reshape(joint.shape[0], -1)
    flat = joint.reshape(joint.shape[0], -1)
    log_pk = jax.vmap(lambda f, k: _segment_logsumexp(f, k, n + 1))(flat, flat_k)
    return log_pk - jax.nn.logsumexp(log_pk, axis=-1, keepdims=True)


def _segment_logsumexp(values: Array, segments: Array, num: int) -> Array:
    peak = jax.ops.segment_max(values, segments, num_segments=num)
    shift = jnp.where(jnp.isfinite(peak), peak, 0.0)
    return shift + jnp.log(jax.ops.segment_sum(jnp.exp(values - shift[segments]), segments, num_segments=num))


def spin_franz_parisi(key: Array, target: Any, alpha: float, sigma: float, num_samples: int,
                      method: str = "auto") -> tuple[np.ndarray, Estimate]:
    """V(q; t) = −(1/N) E ln P(q | x_t, s′) with s′ ~ P exact and x_t = α s′ + σ ξ (module docstring).

    Args:
        target: a spin target; method "curie_weiss" (exact two-group sum, any N) needs its beta and h,
            "enumeration" needs log_weight and N ≤ 20; "auto" picks curie_weiss for a target with the MagnetizationLaw capability.
        alpha, sigma: noise level of x_t = α s + σ ξ.
        num_samples: Monte-Carlo samples of (s′, x_t).
    Returns:
        q (N+1,), Estimate(V, standard error of the sample mean) each (N+1,).
    """
    check_positive_int("num_samples", num_samples)
    if method == "auto":
        method = "curie_weiss" if isinstance(target, MagnetizationLaw) else "enumeration"
    if method not in ("curie_weiss", "enumeration"):
        raise ValueError(f"method must be 'auto', 'curie_weiss' or 'enumeration', got {method!r}")
    k_ref, k_noise = jax.random.split(key)
    if method == "enumeration":
        check_enumerable(target.n, "the Franz–Parisi potential by enumeration")
        states = spin_states(target.n, float)
        refs = states[jax.random.categorical(k_ref, target.log_weight(states), shape=(num_samples,))]
        log_probs = enumerated_overlap_log_probs
    else:
        refs = target.sample(k_ref, num_samples)
        log_probs = curie_weiss_overlap_log_probs
    x = alpha * refs + sigma * jax.random.normal(k_noise, refs.shape, refs.dtype)
    values = -np.asarray(log_probs(target, refs, x, alpha, sigma)) / target.n
    err = values.std(axis=0, ddof=1) / math.sqrt(num_samples) if num_samples > 1 else np.full(values.shape[1], np.nan)
    return overlap_grid(target.n), Estimate(values.mean(axis=0), err)


# ---- secondary minimum: appearance and degeneracy -------------------------------------------------------------
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


# ---- constrained Monte Carlo beyond enumeration: umbrella sampling over q + WHAM -------------------------------
class UmbrellaPotential(NamedTuple):
    """Result of `umbrella_overlap_potential` for one (x_t, s′)."""

    q: np.ndarray  # (N+1,) overlap levels (2K − N)/N
    potential: Estimate  # V(q) = −(1/N) ln P(q | x_t, s′), P normalised over the levels; ± group spread
    log_probs: np.ndarray  # (N+1,) ln P(K) from all chains (−inf where never visited)
    counts: np.ndarray  # (windows, N+1) histogram of K in each window, final round
    acceptance: float  # mean Metropolis acceptance, final round


@functools.partial(jax.jit, static_argnames=("num_steps",))
def _biased_metropolis(key: Array, spins: Array, couplings: Array, field: Array, beta: Array, ref: Array,
                       log_bias: Array, num_steps: int):
    """Random-site Metropolis on ln P(s) + log_bias[K(s)], K = #(sᵢ = s′ᵢ); chains (c, n), log_bias (c, N+1).

    A flip of spin i changes ln P by −2sᵢ(βgᵢ + bᵢ) (g = Js, `physics.montecarlo`) and K by −sᵢs′ᵢ.
    Returns (spins, visits (c, N+1) counted after every proposal, number of accepted flips (c,)).
    """
    chains, n = spins.shape
    rows = jnp.arange(chains)
    g = spins @ couplings
    k = jnp.round((spins @ ref + n) / 2).astype(jnp.int32)
    k_site, k_u = jax.random.split(key)
    sites = jax.random.randint(k_site, (num_steps, chains), 0, n)
    logu = jnp.log(jax.random.uniform(k_u, (num_steps, chains), dtype=spins.dtype))
    levels = jnp.arange(n + 1)

    def step(carry, inputs):
        s, g, k, visits, acc = carry
        i, lu = inputs
        s_i = s[rows, i]
        k_new = k - (s_i * ref[i]).astype(jnp.int32)
        delta = (-2.0 * s_i * (beta * g[rows, i] + field[rows, i])
                 + log_bias[rows, k_new] - log_bias[rows, k])
        accept = lu < delta
        new = jnp.where(accept, -s_i, s_i)
        s = s.at[rows, i].set(new)
        g = g + (new - s_i)[:, None] * couplings[i]
        k = jnp.where(accept, k_new, k)
        visits = visits + (k[:, None] == levels)
        return (s, g, k, visits, acc + accept), None

    init = (spins, g, k, jnp.zeros((chains, n + 1), jnp.int32), jnp.zeros((chains,), jnp.int32))
    (spins, _, _, visits, acc), _ = jax.lax.scan(step, init, (sites, logu))
    return spins, visits, acc


def wham_log_probs(counts: np.ndarray, log_bias: np.ndarray, tol: float = 1e-12, max_iter: int = 100_000) -> np.ndarray:
    """WHAM on discrete levels: ln P(K) (normalised) from histograms counts (W, L) sampled under P(K) e^{log_bias}.

    Self-consistent P(K) = Σ_w C_w(K) / Σ_w n_w e^{b_w(K) − F_w}, e^{F_w} = Σ_K P(K) e^{b_w(K)} (exact for
    discrete levels: no binning error). Levels never visited get −inf.
    """
    counts, log_bias = np.asarray(counts, float), np.asarray(log_bias, float)
    from scipy.special import logsumexp

    total = counts.sum(0)
    seen = total > 0
    n_w = counts.sum(1)
    use = n_w > 0
    log_num = np.where(seen, np.log(np.where(seen, total, 1.0)), -np.inf)
    b, log_n = log_bias[use], np.log(n_w[use])
    f = np.zeros(b.shape[0])
    log_p = log_num
    for _ in range(max_iter):
        log_p = log_num - logsumexp(log_n[:, None] + b - f[:, None], axis=0)
        log_p = log_p - logsumexp(log_p)
        f_new = logsumexp(log_p[None, :] + b, axis=1)
        f_new = f_new - f_new[0]
        if np.max(np.abs(f_new - f)) < tol:
            f = f_new
            break
        f = f_new
    return log_p


def umbrella_overlap_potential(key: Array, target: Any, reference: Array, x: Array, alpha: float, sigma: float, *,
                               num_windows: int | None = None, stiffness: float = 1.0, chains_per_window: int = 16,
                               num_groups: int = 8, num_sweeps: int = 200, burn_in: int = 50,
                               num_rounds: int = 2) -> UmbrellaPotential:
    """V(q) = −(1/N) ln P(q | x_t = x, s′) by umbrella sampling over q, for any pairwise target (no enumeration).

    The posterior P(s | x) ∝ exp(β ½sᵀJs + (b + αx/σ²)·s) (`physics.montecarlo`) is sampled by Metropolis with
    a bias exp(b_w(K)) in window w, K = #(sᵢ = s′ᵢ) = N(1 + q)/2:
        b_w(K) = −(stiffness/2) ((q_K − c_w)/Δc)² − g(K),
    window centres c_w evenly spaced on [−1, 1] (spacing Δc), g(K) = ln C(N, K) in the first round (the overlap
    law at β = 0, x = 0) and, in each later round, the previous round's WHAM estimate of ln P(K) (a multicanonical
    flattening, so that each window's histogram is set by its harmonic term alone; levels not yet visited take
    the nearest visited estimate shifted by the difference of ln C(N, K)). Chains start at exactly K = round(N(1 + c_w)/2) agreements.
    The final round's histograms (every proposal counted) are combined by `wham_log_probs`.

    Errors: the chains of each window are split into ``num_groups`` independent groups; each group (one chain set
    per window) gives its own WHAM estimate, and the standard error of V is std(group estimates)/√groups.

    Args:
        target: pairwise target with couplings (N, N), field (N,), beta.
        reference: s′ (N,), ±1; x: x_t (N,); alpha, sigma: the noise level (σ > 0).
        num_windows: default min(N + 1, 33).
        stiffness: bias, in log-weight units, ½·stiffness at the neighbouring window centre.
        chains_per_window: a multiple of num_groups (≥ 2 groups).
        num_sweeps, burn_in: N-proposal sweeps per chain after / before the counting, per round.
        num_rounds: ≥ 1 rounds of bias refinement (only the last one's counts enter the estimate).
    """
    from .montecarlo import check_model

    check_noise_level(alpha, sigma)
    if not sigma > 0:
        raise ValueError(f"sigma must be > 0, got {sigma!r}")
    for name, value in (("chains_per_window", chains_per_window), ("num_sweeps", num_sweeps),
                        ("num_rounds", num_rounds), ("num_groups", num_groups)):
        check_positive_int(name, value)
    if num_groups < 2 or chains_per_window % num_groups:
        raise ValueError(f"chains_per_window ({chains_per_window}) must be a multiple of num_groups ({num_groups}) >= 2")
    if not stiffness > 0:
        raise ValueError(f"stiffness must be > 0, got {stiffness!r}")
    couplings = jnp.asarray(target.couplings)
    check_model(couplings, target.beta)
    n = couplings.shape[0]
    dtype = couplings.dtype
    num_windows = min(n + 1, 33) if num_windows is None else num_windows
    check_positive_int("num_windows", num_windows)
    if num_windows < 2:
        raise ValueError(f"num_windows must be >= 2, got {num_windows}")
    ref = jnp.asarray(reference, dtype)
    x = jnp.asarray(x, dtype)
    if ref.shape != (n,) or x.shape != (n,):
        raise ValueError(f"reference and x must have shape ({n},), got {ref.shape} and {x.shape}")
    if not np.all(np.abs(np.asarray(ref)) == 1):
        raise ValueError("reference must be a ±1 configuration")

    q = overlap_grid(n)
    centres = np.linspace(-1.0, 1.0, num_windows)
    spacing = centres[1] - centres[0]
    harmonic = -0.5 * stiffness * ((q[None, :] - centres[:, None]) / spacing) ** 2  # (W, N+1)
    chains = num_windows * chains_per_window
    window_of_chain = np.repeat(np.arange(num_windows), chains_per_window)
    field = jnp.broadcast_to(jnp.asarray(target.field, dtype) + alpha * x / sigma**2, (chains, n))
    beta = jnp.asarray(target.beta, dtype)

    # initial chains: s = s′ with N − K₀ randomly chosen spins flipped, K₀ the window's centre level
    k_init, key = jax.random.split(key)
    k0 = np.clip(np.round(n * (1 + centres) / 2).astype(int), 0, n)[window_of_chain]
    ranks = jnp.argsort(jax.random.uniform(k_init, (chains, n)), axis=1).argsort(axis=1)
    spins = ref[None, :] * jnp.where(ranks < jnp.asarray(n - k0)[:, None], -1.0, 1.0).astype(dtype)

    g_entropy = np.array([math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1) for k in range(n + 1)])
    g = g_entropy  # first guess of ln P(K): the number of configurations at K (the law at β = 0, x = 0)
    for r in range(num_rounds):
        log_bias = harmonic - g[None, :]
        chain_bias = jnp.asarray(log_bias[window_of_chain], dtype)
        key, k_burn, k_run = jax.random.split(key, 3)
        if burn_in:
            spins, _, _ = _biased_metropolis(k_burn, spins, couplings, field, beta, ref, chain_bias, burn_in * n)
        spins, visits, acc = _biased_metropolis(k_run, spins, couplings, field, beta, ref, chain_bias, num_sweeps * n)
        visits = np.asarray(visits).reshape(num_windows, chains_per_window, n + 1)
        log_p = wham_log_probs(visits.sum(1), log_bias)
        if r < num_rounds - 1 and np.isfinite(log_p).any():
            # unvisited levels: the nearest visited one's estimate, shifted by the entropic guess
            seen = np.nonzero(np.isfinite(log_p))[0]
            near = seen[np.argmin(np.abs(np.arange(n + 1)[:, None] - seen[None, :]), axis=1)]
            g = log_p[near] + g_entropy - g_entropy[near]

    groups = visits.reshape(num_windows, num_groups, chains_per_window // num_groups, n + 1).sum(2)
    group_v = np.stack([-wham_log_probs(groups[:, j], log_bias) / n for j in range(num_groups)])
    with np.errstate(invalid="ignore"):
        err = group_v.std(axis=0, ddof=1) / math.sqrt(num_groups)
    err = np.where(np.all(np.isfinite(group_v), axis=0), err, np.nan)
    return UmbrellaPotential(q, Estimate(-log_p / n, err), log_p, visits.sum(1),
                             float(np.asarray(acc).sum() / (chains * num_sweeps * n)))


# ---- quenched average over the disorder (s′, x_t) --------------------------------------------------------------
def sample_disorder(key: Array, target: Any, alpha: float, sigma: float, num_disorder: int,
                    reference_sampler: Any = None) -> tuple[Array, Array]:
    """Disorder draws (s′_d, x_d), d = 1..D: s′_d ~ P exactly and x_d = α s′_d + σ ξ_d, ξ_d ~ N(0, I).

    (s′, x_t) then has the joint law P(s′) N(x_t; α s′, σ² I), i.e. s′ is a posterior sample given x_t ~ p_t
    (module docstring). ``reference_sampler(key, num) -> (num, N)`` replaces ``target.sample`` (exact by
    enumeration for N ≤ 20) when given, e.g. an equilibrated Monte-Carlo sampler at larger N.
    Returns references, x, each (D, N).
    """
    check_positive_int("num_disorder", num_disorder)
    check_noise_level(alpha, sigma)
    sampler = target.sample if reference_sampler is None else reference_sampler
    k_ref, k_noise = jax.random.split(key)
    refs = jnp.asarray(sampler(k_ref, num_disorder))
    if refs.ndim != 2 or refs.shape[0] != num_disorder:
        raise ValueError(f"reference_sampler must return shape (num_disorder, N) = ({num_disorder}, N), "
                         f"got {refs.shape}")
    refs = refs.astype(jnp.float64 if jax.config.jax_enable_x64 else jnp.float32)
    return refs, alpha * refs + sigma * jax.random.normal(k_noise, refs.shape, refs.dtype)


def _no_observables(state):
    return ()


def tempering_reference_sampler(target: Any, num_replicas: int, num_sweeps: int):
    """reference_sampler(key, num) -> (num, N) for `sample_disorder` beyond enumeration: the β = target.beta
    replica of parallel tempering (`physics.montecarlo.run_tempering`, β geometric from target.beta/4 to
    target.beta) after num_sweeps sweeps from random spins. The smallest swap acceptance over the calls so far is
    in ``sampler.swap_min`` (1 before the first call)."""
    couplings = jnp.asarray(target.couplings)
    betas = jnp.asarray(np.geomspace(float(target.beta) / 4, float(target.beta), num_replicas), couplings.dtype)

    def sampler(key, num):
        k_init, k_run = jax.random.split(key)
        state = mc.init_tempering(k_init, couplings, num_replicas, num)
        state, _, _, swaps = mc.run_tempering(k_run, couplings, jnp.asarray(target.field), betas, state,
                                              num_sweeps=num_sweeps, observables=_no_observables)
        sampler.swap_min = min(sampler.swap_min, float(jnp.min(swaps)))
        return state.spins[-1]

    sampler.swap_min = 1.0
    return sampler


class QuenchedAverage(NamedTuple):
    """Quenched mean over disorder samples of per-sample estimates (`quenched_average`)."""

    value: np.ndarray  # (L,) mean over the samples where the level is finite; NaN where none is
    error: np.ndarray  # (L,) standard error as an estimate of the disorder average E_{s′, x_t}
    mc_error: np.ndarray  # (L,) standard error given these disorder samples (Monte-Carlo errors only)
    count: np.ndarray  # (L,) number of disorder samples entering each level


def quenched_average(values: Array, errors: Array | None = None) -> QuenchedAverage:
    """Mean over disorder d of estimates V̂_d(q) = V_d(q) + e_d(q), Var e_d = ε_d²; values, errors (D, L).

    Levels where V̂_d is NaN or ±inf (not visited by sample d) are left out of that level's mean, and ``count``
    says how many entered (a level's mean over fewer than D samples is not the quenched average: the missing
    samples are those where it is least probable). With D_q the count,
        V̄ = (1/D_q) Σ_d V̂_d,
        error² = s²/D_q,  s² = Σ_d (V̂_d − V̄)²/(D_q − 1)   (E s² = Var_disorder V + ⟨ε_d²⟩: the spread of the V̂_d
                                                             already contains their Monte-Carlo noise, which is
                                                             therefore not added again),
        mc_error² = Σ_d ε_d² / D_q²                         (the error of V̄ as an estimate of (1/D_q) Σ_d V_d for
                                                             these very draws, e.g. against an exact method).
    error is NaN where D_q < 2; mc_error is NaN where an entering ε_d is NaN, and 0 when errors is None.
    """
    v = np.asarray(values, float)
    if v.ndim != 2:
        raise ValueError(f"values must have shape (num_disorder, num_levels), got {v.shape}")
    eps = np.zeros_like(v) if errors is None else np.asarray(errors, float)
    if eps.shape != v.shape:
        raise ValueError(f"errors must have the shape of values {v.shape}, got {eps.shape}")
    ok = np.isfinite(v)
    count = ok.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(ok, v, 0.0).sum(0) / count
        spread = np.where(ok, (v - mean) ** 2, 0.0).sum(0) / (count - 1)
        error = np.where(count >= 2, np.sqrt(spread / count), np.nan)
        mc_error = np.sqrt(np.where(ok, eps**2, 0.0).sum(0)) / count
    mc_error = np.where(np.any(ok & ~np.isfinite(eps), axis=0), np.nan, mc_error)
    return QuenchedAverage(np.where(count > 0, mean, np.nan), error, np.where(count > 0, mc_error, np.nan), count)


class QuenchedPotential(NamedTuple):
    """Result of `quenched_umbrella_potential`."""

    q: np.ndarray  # (N+1,) overlap levels (2K − N)/N
    potentials: np.ndarray  # (D, N+1) V_d(q) = −(1/N) ln P(q | x_d, s′_d); NaN where sample d never visited q
    errors: np.ndarray  # (D, N+1) their umbrella standard errors (NaN where unavailable)
    mean: QuenchedAverage  # quenched mean over d, its errors, and the count per level
    references: np.ndarray  # (D, N) s′_d
    x: np.ndarray  # (D, N) x_d
    acceptance: np.ndarray  # (D,) Metropolis acceptance of each umbrella run


def quenched_umbrella_potential(key: Array, target: Any, alpha: float, sigma: float, num_disorder: int | None = None,
                                *, references: Array | None = None, x: Array | None = None,
                                reference_sampler: Any = None, **umbrella_options) -> QuenchedPotential:
    """Quenched Franz–Parisi potential V(q) = −(1/N) E_{s′, x_t} ln P(q | x_t, s′) by umbrella Monte Carlo.

    For each disorder sample d = 1..D, (s′_d, x_d) from `sample_disorder` (or the given ``references`` and ``x``,
    so that an exact method can be run on the same draws), V_d(q) = −(1/N) ln P(q | x_d, s′_d) with its error by
    `umbrella_overlap_potential` (key fold_in(key, d); ``umbrella_options`` are its keyword arguments), and the
    mean over d by `quenched_average` (its docstring gives the two error formulas). Levels a run never visited are
    NaN in ``potentials`` (not +inf) and are counted out of the mean.

    Args:
        target: pairwise target (couplings, field, beta); ``target.sample`` or ``reference_sampler`` draws s′.
        alpha, sigma: noise level of x_t = α s′ + σ ξ (σ > 0).
        num_disorder: D, when the disorder is drawn here; with ``references`` and ``x`` it may be omitted.
        references, x: (D, N) disorder given explicitly (both or neither).
    """
    if (references is None) != (x is None):
        raise ValueError("references and x must be given together (both (num_disorder, N)) or not at all")
    k_disorder, k_mc = jax.random.split(key)
    if references is None:
        if num_disorder is None:
            raise ValueError("num_disorder is required when references and x are not given")
        references, x = sample_disorder(k_disorder, target, alpha, sigma, num_disorder, reference_sampler)
    references, x = np.asarray(references, float), np.asarray(x, float)
    if references.ndim != 2 or references.shape != x.shape or references.shape[1] != target.n:
        raise ValueError(f"references and x must both have shape (num_disorder, N = {target.n}), "
                         f"got {references.shape} and {x.shape}")
    if num_disorder is not None and num_disorder != references.shape[0]:
        raise ValueError(f"num_disorder ({num_disorder}) must equal len(references) ({references.shape[0]})")
    runs = [umbrella_overlap_potential(jax.random.fold_in(k_mc, d), target, references[d], x[d], alpha, sigma,
                                       **umbrella_options) for d in range(references.shape[0])]
    values = np.stack([r.potential.value for r in runs])
    values = np.where(np.isfinite(values), values, np.nan)
    errors = np.stack([r.potential.error for r in runs])
    return QuenchedPotential(runs[0].q, values, errors, quenched_average(values, errors), references, x,
                             np.array([r.acceptance for r in runs]))
