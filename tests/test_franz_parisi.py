"""Franz–Parisi potentials: 1-D quadrature vs an independent scipy integral, autodiff vs finite differences,
the exact Curie–Weiss two-group sum vs enumeration."""

import jax
import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.stats

from models.curie_weiss import CurieWeiss
from physics import franz_parisi as fp


def _scipy_potential(q, t, mu=1.0, sigma=1.0):
    a, d = np.exp(-t), 1 - np.exp(-2 * t)

    def log_p0(x):
        return (
            np.logaddexp(-((x - mu) ** 2) / (2 * sigma**2), -((x + mu) ** 2) / (2 * sigma**2))
            - np.log(2) - 0.5 * np.log(2 * np.pi * sigma**2))

    def integrand(xi, eta):
        ref = mu + sigma * eta
        xt = a * ref + np.sqrt(d) * xi
        r = np.sqrt(q)
        mh = lambda x0: -((xt - a * x0) ** 2) / (2 * d) + log_p0(x0)  # noqa: E731
        return -(np.logaddexp(mh(ref + r), mh(ref - r)) - np.log(2 * r)) * scipy.stats.norm.pdf(xi) * scipy.stats.norm.pdf(eta)

    return scipy.integrate.dblquad(integrand, -10, 10, -10, 10, epsabs=1e-11)[0]


@pytest.mark.parametrize("q,t,sigma", [(0.7, 0.1, 1.0), (2.5, 0.42, 0.5)])
def test_gmm_potential_matches_scipy(q, t, sigma):
    assert float(fp.gmm_franz_parisi(q, t, 1.0, sigma)) == pytest.approx(_scipy_potential(q, t, 1.0, sigma), abs=1e-6)


def test_gmm_derivatives_match_finite_differences():
    q = np.array([1.0, 1.5, 3.0])
    t, h = 0.2, 1e-3
    v, v1, v2 = fp.gmm_franz_parisi_derivatives(q, t)
    vp, vm = fp.gmm_franz_parisi(q + h, t), fp.gmm_franz_parisi(q - h, t)
    # central differences: truncation h²|V‴|/6, h²|V⁗|/12 ≲ 1e-7 here; rounding ε|V|/h² ≈ 1e-10
    np.testing.assert_allclose(v1, (vp - vm) / (2 * h), atol=1e-6)
    np.testing.assert_allclose(v2, (vp - 2 * v + vm) / h**2, atol=1e-6)


def test_gmm_potential_rejects_bad_input():
    with pytest.raises(ValueError, match="t must be"):
        fp.gmm_franz_parisi(1.0, 0.0)
    with pytest.raises(ValueError, match="sigma"):
        fp.gmm_franz_parisi(1.0, 0.1, sigma=0.0)


@pytest.mark.parametrize("beta,h", [(0.7, 0.0), (1.4, 0.1)])
def test_curie_weiss_two_group_sum_matches_enumeration(beta, h):
    target = CurieWeiss(10, beta, h)
    key = jax.random.PRNGKey(3)
    refs = target.sample(key, 6)
    x = 0.6 * refs + 0.8 * jax.random.normal(jax.random.fold_in(key, 1), refs.shape)
    exact = fp.curie_weiss_overlap_log_probs(target, refs, x, 0.6, 0.8)
    enum = fp.enumerated_overlap_log_probs(target, refs, x, 0.6, 0.8)
    np.testing.assert_allclose(exact, enum, atol=1e-10)
    np.testing.assert_allclose(np.exp(exact).sum(-1), 1.0, atol=1e-12)


@pytest.mark.parametrize("n,num", [(8, 100), pytest.param(10, 300, marks=pytest.mark.slow)])
def test_spin_potential_methods_agree_and_limits(n, num):
    """The two reference samplers (exact CW sampler, enumeration) agree within errors; at α → 0 the posterior is
    the prior and V(q = 1) = −(1/N) E ln P(s′), the entropy per spin."""
    target = CurieWeiss(n, 1.2)
    key = jax.random.PRNGKey(0)
    q, a = fp.spin_franz_parisi(key, target, 0.5, 0.9, num, method="curie_weiss")
    _, b = fp.spin_franz_parisi(jax.random.fold_in(key, 1), target, 0.5, 0.9, num, method="enumeration")
    assert q.shape == (n + 1,) and q[-1] == 1.0
    z = (a.value - b.value) / np.hypot(a.error, b.error)
    assert np.all(np.abs(z) < 4.5), z
    # high noise: V(q=1) = −(1/N) E ln P(s′) under the prior, P(s) = P(M)/C(N, k)
    _, hot = fp.spin_franz_parisi(key, target, 1e-4, 1.0, num, method="curie_weiss")
    m, p = target.magnetization_law()
    from scipy.special import comb
    entropy = -np.sum(p * np.log(p / comb(n, (n * (1 + m) / 2).round())))
    assert hot.value[-1] == pytest.approx(entropy / n, abs=4 * hot.error[-1] + 1e-3)


def test_spin_potential_rejects_bad_method():
    with pytest.raises(ValueError, match="method"):
        fp.spin_franz_parisi(jax.random.PRNGKey(0), CurieWeiss(4, 1.0), 0.5, 0.5, 2, method="mc")


def test_local_minima_and_inflections():
    q = np.linspace(-2, 2, 401)
    v = (q**2 - 1) ** 2
    assert np.allclose(q[fp.local_minima(q, v)], [-1, 1])
    np.testing.assert_allclose(fp.inflection_points(q, 12 * q**2 - 4), [-1 / np.sqrt(3), 1 / np.sqrt(3)], atol=1e-4)


def test_secondary_minimum_times_on_tilted_double_well():
    """V = (q² − 1)² − c(t) q with c = 3e^{−t} − ½: a secondary minimum exists iff |c| < 8/(3√3) (V′ = 0 has three
    roots), so it appears at t = ln(3/(½ + 8/(3√3))); the two minima are degenerate at c = 0, t = ln 6."""
    q = np.linspace(-2, 2, 2001)
    times = np.linspace(0, 3, 601)
    c = 3 * np.exp(-times) - 0.5
    v = (q[None] ** 2 - 1) ** 2 - c[:, None] * q[None]
    out = fp.secondary_minimum_times(times, q, v)
    t_appear = np.log(3 / (0.5 + 8 / (3 * np.sqrt(3))))
    # near the spinodal the secondary well is shallow: detectable once its depth exceeds the q-grid resolution,
    # a shift of order (Δq)^{2/3} in c, i.e. dt ≲ 0.02 here
    assert abs(out.appear - t_appear) < out.appear_resolution + 0.02, (out, t_appear)
    assert out.degenerate == pytest.approx(np.log(6), abs=1e-3)
    assert out.q_secondary < 0
    assert np.isnan(fp.secondary_minimum_times(times[::-1], q, v[::-1]).appear)  # starts with two minima
    with pytest.raises(ValueError, match="shape"):
        fp.secondary_minimum_times(times, q, v.T)


def _small_t_inflection_limit():
    """q′* of the t → 0 limit law in q′ = a²q/Δ_t: with x_t = a x₀′ + √Δ_t ξ, Z(q) of the module docstring gives
    V = ½ ln q′ + q′/2 − E_ξ ln cosh(ξ√q′) + const + O(t) (p₀(x₀′ ± √q) → p₀(x₀′), the O(√t) term odd in ξ), so
    V″ = 0 ⇔ E[y tanh y − y² sech² y] = 2, y = ξ√q′ (one root)."""

    def excess(qp):
        def f(xi):
            y = xi * np.sqrt(qp)
            return (y * np.tanh(y) - (y / np.cosh(y)) ** 2) * scipy.stats.norm.pdf(xi)

        return scipy.integrate.quad(f, -12, 12, epsabs=1e-13)[0] - 2.0

    return scipy.optimize.brentq(excess, 1.0, 50.0, xtol=1e-12)


def test_gmm_fig11_times_have_one_inflection_point_on_the_small_t_scaling():
    """Yu & Huang Fig. 11 (μ = σ = 1, t = 0.42, 0.015, 0.01): V″ changes sign once on q ∈ (0, 12] at each time
    (concave below, convex above; no additional inflection points as t → 0). The one at small t sits at
    q* = q′* Δ_t/a², q′* ≈ 8.26 from the limit law (scipy quad, independent of the Gauss–Hermite quadrature and
    autodiff), with a relative deviation O(t): below 2t, and shrinking by ≈ 0.015/0.01 = 1.5 between the two
    times (a √t law would give 1.22, t² 2.25)."""
    q = np.geomspace(1e-3, 12.0, 800)
    found = {}
    for t in (0.42, 0.015, 0.01):
        d2 = jax.jit(lambda qq, t=t: fp.gmm_franz_parisi_derivatives(qq, t)[2])(q)
        found[t] = fp.inflection_points(q, np.asarray(d2))
        assert found[t].size == 1, (t, found[t])
    assert 4.5 < found[0.42][0] < 4.9  # far from the small-t law (10.9 there): p₀ shapes V at t = 0.42
    limit = _small_t_inflection_limit()
    dev = {t: found[t][0] / (limit * np.expm1(2 * t)) - 1 for t in (0.015, 0.01)}
    assert all(abs(d) < 2 * t for t, d in dev.items()), dev
    assert 1.3 < dev[0.015] / dev[0.01] < 1.7, dev
