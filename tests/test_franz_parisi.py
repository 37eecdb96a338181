"""Franz–Parisi potentials: the 1-D quadrature vs an independent scipy integral and an independent Monte Carlo,
autodiff vs finite differences, Yu & Huang's Fig. 11 at μ = 1, σ² = 0.1, the window of additional inflection
points; the exact Curie–Weiss two-group sum vs enumeration; the study kinds franz_parisi_mixture and franz_parisi
(Curie–Weiss) store no padding."""

import math

import jax
import numpy as np
import pytest
import scipy.integrate
import scipy.optimize
import scipy.stats

from statphys.models.curie_weiss import CurieWeiss
from statphys.models.sk import SherringtonKirkpatrick
from statphys.physics.franz_parisi_mixture import (
    gmm_franz_parisi,
    gmm_franz_parisi_derivatives,
    gmm_franz_parisi_monte_carlo,
    gmm_inflection_merges,
    gmm_inflection_scan,
    gmm_small_t_inflection,
    inflection_points,
)
from statphys.physics.franz_parisi_spins import (
    enumerated_overlap_log_probs,
    local_minima,
    secondary_minimum_times,
    spin_franz_parisi,
)
from statphys.physics import franz_parisi_mixture

SIGMA_FIG11 = math.sqrt(0.1)  # Yu & Huang's Fig. 11: μ = 1, σ² = 0.1


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


@pytest.mark.parametrize("q,t,sigma", [pytest.param(0.7, 0.1, 1.0, marks=pytest.mark.slow),
                                         pytest.param(2.5, 0.42, 0.5, marks=pytest.mark.slow),
                                         pytest.param(2.0, 0.42, SIGMA_FIG11, marks=pytest.mark.slow)])
def test_gmm_potential_matches_scipy(q, t, sigma):
    """The reduced 1-D form (module docstring) against the 2-D integral of −ln Z over (η, ξ) by scipy dblquad."""
    assert float(gmm_franz_parisi(q, t, 1.0, sigma)) == pytest.approx(_scipy_potential(q, t, 1.0, sigma), abs=1e-6)


def test_mean_log_2cosh_matches_quad():
    """G(k, b) = E ln 2cosh(kξ + b) on both branches (Gauss–Hermite for k < 1, folded normal + Gauss–Laguerre for
    k ≥ 1) against scipy quad split at the kink-free point; ln 2cosh y = |y| + log1p(e^{−2|y|}) evaluated stably."""
    bs = np.array([-30.0, -3.0, -0.5, 0.0, 0.2, 1.0, 4.0, 30.0])
    g = jax.jit(franz_parisi_mixture._mean_log_2cosh)
    worst = 0.0
    for k in (0.01, 0.3, 0.99, 1.0, 1.01, 2.0, 5.0, 20.0, 60.0):
        values = np.asarray(g(k, bs))
        for b, value in zip(bs, values):
            f = lambda xi: (abs(k * xi + b) + np.log1p(np.exp(-2 * abs(k * xi + b)))) * scipy.stats.norm.pdf(xi)  # noqa: E731
            x0 = float(np.clip(-b / k, -39, 39))
            ref = sum(scipy.integrate.quad(f, lo, hi, epsabs=1e-14, epsrel=1e-13, limit=200)[0]
                      for lo, hi in ((-40, x0), (x0, 40)))
            worst = max(worst, abs(float(value) - ref))
    assert worst < 1e-8, worst


def test_gmm_derivatives_match_finite_differences():
    q = np.array([1.0, 1.5, 3.0])
    t, h = 0.2, 1e-3
    v, v1, v2 = gmm_franz_parisi_derivatives(q, t)
    vp, vm = gmm_franz_parisi(q + h, t), gmm_franz_parisi(q - h, t)
    # central differences: truncation h²|V‴|/6, h²|V⁗|/12 ≲ 1e-7 here; rounding ε|V|/h² ≈ 1e-10
    np.testing.assert_allclose(v1, (vp - vm) / (2 * h), atol=1e-6)
    np.testing.assert_allclose(v2, (vp - 2 * v + vm) / h**2, atol=1e-6)


def test_gmm_potential_rejects_bad_input():
    with pytest.raises(ValueError, match="t must be"):
        gmm_franz_parisi(1.0, 0.0)
    with pytest.raises(ValueError, match="sigma"):
        gmm_franz_parisi(1.0, 0.1, sigma=0.0)
    with pytest.raises(ValueError, match="q must be"):
        gmm_franz_parisi(np.array([0.0, 1.0]), 0.1)


def test_fig11_inflection_points_at_sigma2_0p1():
    """Yu & Huang Fig. 11 (μ = 1, σ² = 0.1; t = 0.42 is their t_S = ½ ln(μ² + √(σ⁴ − 2σ² + μ⁴ + 1)) = 0.4262 at this
    σ²): one inflection point of V at t = 0.42 and 0.015, three at t = 0.01. Independently, the Monte-Carlo V″
    (10⁵ draws of (x₀′, x_t), ln Z differentiated per draw, both mixture components) agrees with the quadrature
    (|z| < 4.5) and has the sign pattern −, +, −, + at q = 0.08, 0.3, 1, 3 for t = 0.01 (|z| > 5), while at
    t = 0.015 V″(0.3) < 0: the extra pair sits between 0.08 and 1 at t = 0.01 only."""
    found = gmm_inflection_scan([0.42, 0.015, 0.01], 1.0, SIGMA_FIG11, num_q=192, iterations=6)
    assert [f.size for f in found] == [1, 1, 3], found
    assert found[0][0] == pytest.approx(2.034, abs=2e-3) and found[1][0] == pytest.approx(2.104, abs=2e-3)
    np.testing.assert_allclose(found[2], [0.1544, 0.4246, 1.9843], atol=2e-3)
    q = np.array([0.08, 0.3, 1.0, 3.0])
    key = jax.random.PRNGKey(11)
    for t, signs in ((0.01, [-1, 1, -1, 1]), (0.015, [-1, -1, -1, 1])):
        _, _, mc = gmm_franz_parisi_monte_carlo(jax.random.fold_in(key, int(t * 1e3)), q, t, 1.0, SIGMA_FIG11,
                                                100_000)
        quad = gmm_franz_parisi_derivatives(q, t, 1.0, SIGMA_FIG11)[2]
        z = (mc.value - quad) / mc.error
        assert np.all(np.abs(z) < 4.5), (t, z)
        np.testing.assert_array_equal(np.sign(mc.value), signs)
        assert np.all(np.abs(mc.value) > 5 * mc.error), (t, mc)


def test_window_of_additional_inflection_points():
    """The extra pair exists for t_lo < t < t_hi, the edges being where two inflections merge (V″ = V‴ = 0):
    t_lo ≈ 0.00265 (at q ≈ 1.11), t_hi ≈ 0.0140 (at q ≈ 0.275). Quadrature counts at t = 0.002, 0.0035, 0.012,
    0.016: 1, 3, 3, 1. Independent check by Monte Carlo (10⁵ draws) at the merge levels: V″(1.1) > 0 at t = 0.002
    (no dip: the pair has not appeared) and < 0 at t = 0.0035; V″(0.275) > 0 at t = 0.012 (the bump between the
    lower two inflections) and < 0 at t = 0.016, each |z| > 5: so 0.002 < t_lo < 0.0035 and 0.012 < t_hi < 0.016,
    which the solved edges must satisfy."""
    times = np.array([0.002, 0.0035, 0.012, 0.016])
    found = gmm_inflection_scan(times, 1.0, SIGMA_FIG11, num_q=192, iterations=6)
    assert [f.size for f in found] == [1, 3, 3, 1], found
    merges = gmm_inflection_merges(times, found, 1.0, SIGMA_FIG11)
    assert len(merges) == 2 and all(m.residual < 1e-8 for m in merges), merges
    (t_lo, q_lo, _), (t_hi, q_hi, _) = sorted(merges)
    key = jax.random.PRNGKey(5)
    q = np.array([1.1, 0.275])
    for i, (t, level, sign) in enumerate(((0.002, 0, 1), (0.0035, 0, -1), (0.012, 1, 1), (0.016, 1, -1))):
        _, _, mc = gmm_franz_parisi_monte_carlo(jax.random.fold_in(key, i), q, t, 1.0, SIGMA_FIG11, 100_000)
        assert np.sign(mc.value[level]) == sign and abs(mc.value[level]) > 5 * mc.error[level], (t, mc)
    assert 0.002 < t_lo < 0.0035 and 0.012 < t_hi < 0.016, (t_lo, t_hi)
    assert t_lo == pytest.approx(0.00265, rel=1e-2) and t_hi == pytest.approx(0.01398, rel=1e-2)
    assert q_lo == pytest.approx(1.112, rel=1e-2) and q_hi == pytest.approx(0.2749, rel=1e-2)


def test_small_t_inflection_follows_the_limit_law():
    """As t → 0 the single inflection of V sits at q* = q′* Δ_t/a², q′* ≈ 8.26 from the limit law
    (`gmm_small_t_inflection`, scipy quad), with a relative deviation O(t): at μ = σ = 1, below 2t at t = 0.015 and
    0.01 (inflections q ≈ 0.247, 0.165), shrinking by ≈ 0.015/0.01 = 1.5 between the two times (a √t law would
    give 1.22, t² 2.25); at σ² = 0.1, below the extra-pair window, at t = 0.001 and 0.0005 with a ratio ≈ 2."""
    limit = gmm_small_t_inflection()
    assert limit == pytest.approx(8.2606, abs=1e-3)
    for sigma, times, ratio, bound in ((1.0, (0.015, 0.01), (1.3, 1.7), 2.0), (SIGMA_FIG11, (0.001, 0.0005),
                                                                              (1.8, 2.2), 25.0)):
        found = gmm_inflection_scan(times, 1.0, sigma, num_q=192, iterations=6)
        assert [f.size for f in found] == [1, 1], found
        dev = [f[0] / (limit * np.expm1(2 * t)) - 1 for f, t in zip(found, times)]
        assert all(abs(d) < bound * t for d, t in zip(dev, times)), dev
        assert ratio[0] < dev[0] / dev[1] < ratio[1], dev
    far = gmm_inflection_scan([0.42], 1.0, 1.0, q_min=1.0, num_q=64, iterations=6)[0]
    assert far.size == 1 and far[0] == pytest.approx(4.702, abs=2e-3)  # far from the law (10.9)


@pytest.mark.parametrize("beta,h", [(0.7, 0.0), (1.4, 0.1)])
def test_curie_weiss_two_group_sum_matches_enumeration(beta, h):
    target = CurieWeiss(10, beta, h)
    key = jax.random.PRNGKey(3)
    refs = target.sample(key, 6)
    x = 0.6 * refs + 0.8 * jax.random.normal(jax.random.fold_in(key, 1), refs.shape)
    exact = target.overlap_log_probs(refs, x, 0.6, 0.8)
    enum = enumerated_overlap_log_probs(target, refs, x, 0.6, 0.8)
    np.testing.assert_allclose(exact, enum, atol=1e-10)
    np.testing.assert_allclose(np.exp(exact).sum(-1), 1.0, atol=1e-12)


@pytest.mark.parametrize("n,num", [(8, 100), pytest.param(10, 300, marks=pytest.mark.slow)])
def test_spin_potential_methods_agree_and_limits(n, num):
    """The two reference samplers (exact CW sampler, enumeration) agree within errors; at α → 0 the posterior is
    the prior and V(q = 1) = −(1/N) E ln P(s′), the entropy per spin."""
    target = CurieWeiss(n, 1.2)
    key = jax.random.PRNGKey(0)
    q, a = spin_franz_parisi(key, target, 0.5, 0.9, num, method="exact")
    _, b = spin_franz_parisi(jax.random.fold_in(key, 1), target, 0.5, 0.9, num, method="enumeration")
    assert q.shape == (n + 1,) and q[-1] == 1.0
    z = (a.value - b.value) / np.hypot(a.error, b.error)
    assert np.all(np.abs(z) < 4.5), z
    # high noise: V(q=1) = −(1/N) E ln P(s′) under the prior, P(s) = P(M)/C(N, k)
    _, hot = spin_franz_parisi(key, target, 1e-4, 1.0, num, method="exact")
    m, p = target.magnetization_law()
    from scipy.special import comb
    entropy = -np.sum(p * np.log(p / comb(n, (n * (1 + m) / 2).round())))
    assert hot.value[-1] == pytest.approx(entropy / n, abs=4 * hot.error[-1] + 1e-3)


def test_spin_potential_rejects_bad_method():
    with pytest.raises(ValueError, match="method"):
        spin_franz_parisi(jax.random.PRNGKey(0), CurieWeiss(4, 1.0), 0.5, 0.5, 2, method="mc")
    sk = SherringtonKirkpatrick.random(4, 1.0, seed=0)  # no exact overlap law: "exact" is refused, "auto" enumerates
    with pytest.raises(ValueError, match="OverlapLaw"):
        spin_franz_parisi(jax.random.PRNGKey(0), sk, 0.5, 0.5, 2, method="exact")
    q, v = spin_franz_parisi(jax.random.PRNGKey(0), sk, 0.5, 0.5, 2)
    assert q.shape == (5,) and np.all(np.isfinite(v.value))


def test_local_minima_and_inflections():
    q = np.linspace(-2, 2, 401)
    v = (q**2 - 1) ** 2
    assert np.allclose(q[local_minima(q, v)], [-1, 1])
    np.testing.assert_allclose(inflection_points(q, 12 * q**2 - 4), [-1 / np.sqrt(3), 1 / np.sqrt(3)], atol=1e-4)


def test_secondary_minimum_times_on_tilted_double_well():
    """V = (q² − 1)² − c(t) q with c = 3e^{−t} − ½: a secondary minimum exists iff |c| < 8/(3√3) (V′ = 0 has three
    roots), so it appears at t = ln(3/(½ + 8/(3√3))); the two minima are degenerate at c = 0, t = ln 6."""
    q = np.linspace(-2, 2, 2001)
    times = np.linspace(0, 3, 601)
    c = 3 * np.exp(-times) - 0.5
    v = (q[None] ** 2 - 1) ** 2 - c[:, None] * q[None]
    out = secondary_minimum_times(times, q, v)
    t_appear = np.log(3 / (0.5 + 8 / (3 * np.sqrt(3))))
    # near the spinodal the secondary well is shallow: detectable once its depth exceeds the q-grid resolution,
    # a shift of order (Δq)^{2/3} in c, i.e. dt ≲ 0.02 here
    assert abs(out.appear - t_appear) < out.appear_resolution + 0.02, (out, t_appear)
    assert out.degenerate == pytest.approx(np.log(6), abs=1e-3)
    assert out.q_secondary < 0
    assert np.isnan(secondary_minimum_times(times[::-1], q, v[::-1]).appear)  # starts with two minima
    with pytest.raises(ValueError, match="shape"):
        secondary_minimum_times(times, q, v.T)


MIXTURE_TINY = dict(num_q=40, gmm_check_q=[0.3, 3.0], gmm_check_samples=5000, num_scan=4, scan_t_min=2e-3,
                    scan_t_max=0.02, scan_num_q=96)


def test_study_kind_mixture_stores_inflections_flat(run_tiny_study, assert_no_padding):
    """The franz_parisi_mixture study at tiny sizes: Fig. 11 counts (1, 1, 3) at σ² = 0.1, stored flat without
    padding (each point with its time and rank), a finite window whose edges are 0.00265 and 0.0140, the
    Monte-Carlo V″ within 4.5 standard errors of the quadrature, no NaN anywhere."""
    from statphys.studies.kinds import franz_parisi_mixture as kind

    ds = run_tiny_study("franz_parisi_mixture", MIXTURE_TINY)
    assert_no_padding(ds)
    assert list(ds.gmm_inflections.values) == [1, 1, 3] and list(ds.scan_inflections.values) == [1, 3, 3, 1]
    assert ds.sizes["gmm_inflection"] == 5 and ds.sizes["scan_inflection"] == 8
    np.testing.assert_array_equal(ds.gmm_inflection_time.values, [0.42, 0.015, 0.01, 0.01, 0.01])
    np.testing.assert_array_equal(ds.gmm_inflection_rank.values, [0, 0, 0, 1, 2])
    three = ds.gmm_inflection_q.values[ds.gmm_inflection_time.values == 0.01]
    np.testing.assert_allclose(three, [0.1544, 0.4246, 1.9843], atol=2e-3)
    assert float(ds.window_t_lo) == pytest.approx(0.00265, rel=1e-2)
    assert float(ds.window_t_hi) == pytest.approx(0.01398, rel=1e-2)
    assert float(ds.gmm_check_max_z) < 4.5
    defaults = {name: default for name, (_, default) in kind.PARAMS.items()}
    kind.validate(defaults)
    with pytest.raises(ValueError, match="sigma2"):
        kind.validate({**defaults, "sigma2": 0.0})


@pytest.mark.slow
def test_study_kind_mixture_figure(tmp_path, run_tiny_study):
    import matplotlib.pyplot as plt

    from statphys.paper import plots

    ds = run_tiny_study("franz_parisi_mixture", MIXTURE_TINY)
    written = plots.draw("franz_parisi_mixture", ds, tmp_path / "franz_parisi_mixture")
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    fig = plots.plot("franz_parisi_mixture", ds)
    assert "μ = 1, σ² = 0.1" in fig.get_suptitle()  # the parameters are stated
    plt.close(fig)


def test_study_kind_curie_weiss_no_padding(tmp_path, run_tiny_study, assert_no_padding):
    """The franz_parisi (Curie–Weiss) study at tiny sizes, two N: every variable computed, no NaN (the secondary
    minimum appears and becomes degenerate on the grid), the class gap closes with t, and the figure."""
    from statphys.paper import plots
    from statphys.studies.kinds import franz_parisi as kind

    ds = run_tiny_study("franz_parisi", dict(n=[8, 12], num_samples=20, num_t=8, t_min=0.3, t_max=3.0))
    assert_no_padding(ds)
    assert set(ds.data_vars) == set(kind.VARIABLES) - set(ds.coords)
    assert ds.spin_v.dims == ("n", "time", "q_spin") and list(ds.n.values) == [8, 12]
    assert np.all(ds.class_gap.isel(time=0) > ds.class_gap.isel(time=-1))
    assert np.all(ds.t_appear < ds.t_degenerate) and np.all(ds.q_secondary < 0)
    written = plots.draw("franz_parisi", ds, tmp_path / "franz_parisi")
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    with pytest.raises(ValueError, match="t_min"):
        kind.validate({**{name: default for name, (_, default) in kind.PARAMS.items()}, "t_min": 0.0})
