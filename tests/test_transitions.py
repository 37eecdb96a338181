"""Speciation and collapse: closed forms against independent derivatives, measured
speciation times (order parameter, cloning) against ½ ln Λ, collapse time against Biroli et al."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from statphys.models.curie_weiss import CurieWeiss
from statphys.models.finite_support import FiniteSupport
from statphys.models.gaussian import GaussianMixture
from statphys.physics import transitions as tr
from statphys.physics import cloning
from statphys.physics.schedules import make_schedule
from statphys.physics.scores import ExactScore
from statphys.physics.trajectory import reverse_sample

OU = make_schedule("ou")


def _slopes_by_autodiff(t, mu, sigma):
    """∂ₓ∇ln p_t at x = 0 from the GaussianMixture closed form (independent of gmm_drift_slopes)."""
    gm = GaussianMixture.symmetric(mu, sigma)
    a, s = math.exp(-t), math.sqrt(-math.expm1(-2 * t))
    return float(jax.grad(lambda x: gm.marginal_score(x[None, None], a, s)[0, 0])(0.0))


@pytest.mark.parametrize("mu,sigma", [(1.0, 1.0), (1.5, 0.5), (0.8, 1.2)])
def test_gmm_speciation_time_is_reverse_sde_instability(mu, sigma):
    t = tr.gmm_speciation_time(mu, sigma)
    k = _slopes_by_autodiff(t, mu, sigma)
    assert 1 + 2 * k == pytest.approx(0.0, abs=1e-12)
    assert float(tr.gmm_drift_slopes(t, mu, sigma)[0]) == pytest.approx(k, abs=1e-12)


def test_gmm_values_and_regimes():
    assert tr.gmm_speciation_time(1.0, 1.0) == pytest.approx(0.5 * math.log(2))
    assert math.exp(-tr.gmm_speciation_time(1.0, 0.0)) == pytest.approx(tr.raya_ambrogioni_alpha_c())
    assert tr.raya_ambrogioni_alpha_c() == pytest.approx(0.6435942529)
    sigma = 1.1
    mu_edge = math.sqrt(sigma**2 - sigma**4 / 2)
    assert not tr.gmm_symmetry_breaks(mu_edge * 0.999, sigma) and math.isnan(tr.gmm_speciation_time(mu_edge * 0.999, sigma))
    assert tr.gmm_speciation_time(mu_edge * 1.001, sigma) == pytest.approx(0.0, abs=1e-2)
    assert tr.gmm_bimodality_time(1.0, 1.0) != tr.gmm_bimodality_time(1.0, 1.0)  # NaN: μ = σ is the edge
    with pytest.raises(ValueError, match="sigma"):
        tr.gmm_speciation_time(1.0, -1.0)


def test_gmm_bimodality_and_pf_ode_times():
    mu, sigma = 1.5, 0.5
    t_b = tr.gmm_bimodality_time(mu, sigma)
    a, s = math.exp(-t_b), math.sqrt(-math.expm1(-2 * t_b))
    gm = GaussianMixture.symmetric(mu, sigma)
    curvature = jax.grad(jax.grad(lambda x: gm.marginal_log_prob(x[None, None], a, s)[0]))(0.0)
    assert float(curvature) == pytest.approx(0.0, abs=1e-12)
    t_pf = tr.gmm_pf_ode_instability_time(0.5, 0.5)
    assert 1 + _slopes_by_autodiff(t_pf, 0.5, 0.5) == pytest.approx(0.0, abs=1e-12)
    assert math.isnan(tr.gmm_pf_ode_instability_time(1.0, 1.0))
    assert tr.gmm_speciation_time(mu, sigma) > t_b  # the SDE instability comes first in generation


@pytest.mark.parametrize("d,expected", [(256, 1.299), (1024, 1.978), (4096, 2.667)])
def test_collapse_time_reference_numbers(d, expected):
    assert tr.collapse_time(20000, d) == pytest.approx(expected, abs=5e-4)


def test_collapse_time_is_excess_entropy_root():
    n, d, s2 = 500, 40, 2.0
    entropy = lambda t: 0.5 * math.log(2 * math.pi * math.e * (1 - math.exp(-2 * t) + s2 * math.exp(-2 * t)))  # noqa: E731
    assert tr.collapse_time_from_entropy(n, d, entropy) == pytest.approx(tr.collapse_time(n, d, s2), rel=1e-10)
    with pytest.raises(ValueError, match="n must be"):
        tr.collapse_time(1, 10)


@pytest.mark.parametrize("batch,num_times", [(128, 12), pytest.param(256, 16, marks=pytest.mark.slow)])
def test_collapse_time_measured_converges_in_d(batch, num_times):
    """End-point overlap E[q(t)] = ½ on Gaussian data (FiniteSupport): relative excess over t_C shrinks ∝ 1/d."""
    n, excess = 4096, []
    for d in (64, 128):
        data = jax.random.normal(jax.random.PRNGKey(d), (n, d))
        t_c = tr.collapse_time(n, d)
        times = jnp.linspace(0.8 * t_c, 1.4 * t_c, num_times)
        q = np.asarray(tr.forward_observable(jax.random.PRNGKey(1), FiniteSupport(data), OU, times, batch, tr.end_point_overlap))
        est = tr.speciation_time(np.asarray(times), q, lambda s: s.mean(-1), threshold=0.5)
        excess.append((est.value / t_c - 1, est.error / t_c))
    (e64, de64), (e128, de128) = excess
    assert 0 < e128 < 0.1
    ratio, dratio = e64 / e128, e64 / e128 * math.hypot(de64 / e64, de128 / e128)
    assert abs(ratio - 2) < 3 * dratio + 0.3, (ratio, dratio)


@pytest.mark.parametrize("n,batch", [(256, 256), pytest.param(1024, 512, marks=pytest.mark.slow)])
def test_curie_weiss_speciation_time(n, batch):
    """Order-parameter t_S (I(t) = E m_D²/⟨m²⟩ = I*) within 5% of ½ ln Λ at β = 1.5 (exact forward law)."""
    target = CurieWeiss(n, 1.5)
    t_s = target.speciation_time()
    times = jnp.linspace(t_s - 0.5, t_s + 0.5, 9)
    m_d = np.asarray(tr.forward_denoiser_magnetization(jax.random.PRNGKey(0), target, OU, times, batch))
    m2 = target.top_eigenvalue() / target.n
    est = tr.speciation_time(np.asarray(times), m_d, lambda s: tr.class_information(s, m2))
    assert abs(est.value - t_s) < 0.05 * t_s
    assert abs(est.value - t_s) < 4 * est.error + 0.01  # and statistically consistent


@pytest.mark.parametrize("n,batch", [(32, 256), pytest.param(64, 1024, marks=pytest.mark.slow)])
def test_reverse_trajectory_matches_forward_law(n, batch):
    """I(t) recorded along reverse Euler–Maruyama runs agrees with the exact forward estimate (β = 1.5)."""
    target = CurieWeiss(n, 1.5)
    schedule = make_schedule("ou", T=4.0, t_min=0.05)
    traj = reverse_sample(jax.random.PRNGKey(2), ExactScore(target, schedule), schedule, num_steps=200, batch=batch,
                          n=n, observables={"m": lambda x, d, t: jnp.mean(d, -1)}, record_every=20)
    m2 = target.top_eigenvalue() / n
    rev = tr.class_information(np.asarray(traj.observables["m"]), m2)
    fwd_m = np.asarray(tr.forward_denoiser_magnetization(jax.random.PRNGKey(3), target, schedule, traj.times[::-1], batch))
    fwd = tr.class_information(fwd_m, m2)[::-1]
    err = np.hypot(np.std(np.asarray(traj.observables["m"]) ** 2, -1), np.std(fwd_m**2, -1)[::-1]) / m2 / math.sqrt(batch)
    # Euler–Maruyama bias O(dt) = O(0.02) on I; statistical error from 1024 independent paths
    assert np.all(np.abs(rev - fwd) < 4 * err + 0.02), np.c_[traj.times, rev, fwd, err]


@pytest.mark.parametrize("branches,clones", [(32, 8), pytest.param(96, 16, marks=pytest.mark.slow)])
def test_cloning_committor_matches_exact(branches, clones):
    """Same-class fraction of clones = exact φ(x) = p² + (1 − p)² on the same branch points (N = 11)."""
    target = CurieWeiss(11, 1.5)
    schedule = make_schedule("ou", T=3.0, t_min=0.02)
    t_b = 0.8
    s0 = target.sample(jax.random.PRNGKey(0), branches)
    x = tr.forward_path(jax.random.PRNGKey(1), s0, schedule, jnp.array([t_b]))[0]
    exact = np.asarray(target.committor(x, schedule.alpha(t_b), schedule.sigma(t_b)))
    labels = cloning.clone_end_classes(jax.random.PRNGKey(2), ExactScore(target, schedule), schedule, x, t_b,
                                  num_clones=clones, num_steps=80, classify=cloning.sign_class)
    measured = np.asarray(cloning.same_class_fraction(labels))
    diff = measured - exact
    assert 0.55 < exact.mean() < 0.95  # branch time inside the transition
    assert abs(diff.mean()) < 4 * diff.std(ddof=1) / math.sqrt(len(diff)) + 0.01
    with pytest.raises(ValueError, match="n must be odd"):
        CurieWeiss(10, 1.0).committor(x[:, :10], 0.5, 0.5)
