"""Franz–Parisi potential by umbrella sampling over q + WHAM (`umbrella_overlap_potential`) against exact values:
enumeration for SK at N = 12, the two-group sum for Curie–Weiss beyond enumeration; WHAM's exactness on exact
histograms; and a comparison that must fail (a wrong β)."""

import jax
import numpy as np
import pytest

from models.curie_weiss import CurieWeiss
from models.sk import SherringtonKirkpatrick
from physics import franz_parisi as fp

ALPHA, SIGMA = 0.6, 0.8  # intermediate noise: α²/σ² ≈ 0.56 per spin


def _problem(n=12, beta=1.5):
    target = SherringtonKirkpatrick.random(n, beta, seed=1)
    key = jax.random.PRNGKey(0)
    s_ref = target.sample(key, 1)[0]  # (s′, x_t) drawn jointly: s′ is a posterior sample given x_t
    x = ALPHA * s_ref + SIGMA * jax.random.normal(jax.random.fold_in(key, 1), (n,))
    return target, s_ref, x


def _z(estimate, exact_log_probs, n):
    return (estimate.value + np.asarray(exact_log_probs) / n) / estimate.error


@pytest.fixture(scope="module")
def sk_umbrella():
    target, s_ref, x = _problem()
    res = fp.umbrella_overlap_potential(jax.random.PRNGKey(7), target, s_ref, x, ALPHA, SIGMA,
                                        chains_per_window=32, num_groups=16, num_sweeps=200, burn_in=200)
    return target, s_ref, x, res


def test_umbrella_matches_enumeration_sk(sk_umbrella):
    """Every one of the 13 levels (P(q) spans e^{−15}..e^{−1}) within 4.5 standard errors; errors from 16
    independent chain groups (2 chains per window each)."""
    target, s_ref, x, res = sk_umbrella
    n = target.n
    exact = fp.enumerated_overlap_log_probs(target, s_ref[None], x[None], ALPHA, SIGMA)[0]
    assert np.asarray(exact).min() < -10  # the windows reach levels that plain sampling would not
    assert res.q.shape == (n + 1,) and np.all(res.counts.sum(0) > 0)
    assert np.all(np.isfinite(res.potential.error)) and np.all(res.potential.error > 0)
    z = _z(res.potential, exact, n)
    assert np.max(np.abs(z)) < 4.5, z
    np.testing.assert_allclose(np.exp(res.log_probs).sum(), 1.0, atol=1e-12)


def test_comparison_can_fail(sk_umbrella):
    """The same estimate against the enumeration of a different β (1.0 instead of 1.5) is rejected."""
    target, s_ref, x, res = sk_umbrella
    wrong = SherringtonKirkpatrick(target.couplings, 1.0)
    exact = fp.enumerated_overlap_log_probs(wrong, s_ref[None], x[None], ALPHA, SIGMA)[0]
    assert np.max(np.abs(_z(res.potential, exact, target.n))) > 10


def test_umbrella_curie_weiss_beyond_enumeration():
    """N = 40 (2⁴⁰ states) against the exact two-group sum on all 41 levels (ln P from −61 to −1.2)."""
    n = 40
    target = CurieWeiss(n, 1.2, 0.05)
    key = jax.random.PRNGKey(2)
    s_ref = target.sample(key, 1)[0]
    x = ALPHA * s_ref + SIGMA * jax.random.normal(jax.random.fold_in(key, 1), (n,))
    exact = np.asarray(fp.curie_weiss_overlap_log_probs(target, s_ref[None], x[None], ALPHA, SIGMA)[0])
    res = fp.umbrella_overlap_potential(jax.random.PRNGKey(3), target, s_ref, x, ALPHA, SIGMA, num_windows=21,
                                        chains_per_window=16, num_groups=8, num_sweeps=100, burn_in=50)
    assert exact.min() < -50
    z = _z(res.potential, exact, n)
    assert np.all(np.isfinite(z)) and np.max(np.abs(z)) < 4.5, z


def test_wham_exact_on_exact_histograms():
    """Histograms equal to their expectations n_w P(K) e^{b_w(K)}/Z_w give back P exactly."""
    rng = np.random.default_rng(0)
    log_p = rng.normal(size=9) * 3
    log_p -= np.logaddexp.reduce(log_p)
    bias = -0.5 * ((np.arange(9)[None, :] - np.array([0, 3, 5, 8])[:, None]) / 1.5) ** 2 - log_p[None, :] * 0.7
    w = np.exp(log_p[None, :] + bias)
    counts = np.array([1e4, 2e4, 5e3, 1e4])[:, None] * w / w.sum(1, keepdims=True)
    np.testing.assert_allclose(fp.wham_log_probs(counts, bias), log_p, atol=1e-9)


def test_umbrella_rejects_bad_input():
    target, s_ref, x = _problem(n=6)
    with pytest.raises(ValueError, match="multiple"):
        fp.umbrella_overlap_potential(jax.random.PRNGKey(0), target, s_ref, x, ALPHA, SIGMA, chains_per_window=5,
                                      num_groups=2)
    with pytest.raises(ValueError, match="±1"):
        fp.umbrella_overlap_potential(jax.random.PRNGKey(0), target, 0.5 * s_ref, x, ALPHA, SIGMA)
