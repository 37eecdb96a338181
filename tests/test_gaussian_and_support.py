"""Gaussian closed forms and the streamed finite-support denoiser."""

import os

import jax
import jax.numpy as jnp

import numpy as np
import pytest

from statphys.models import FiniteSupport, Gaussian, GaussianMixture, score, spin_states
from statphys.models.base import MAX_ENUMERATION_N, import_netket


def test_gaussian_score_matches_autodiff_of_marginal():
    g = Gaussian(jnp.array([0.5, -1.0, 2.0]), jnp.array([[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]]))
    x = jax.random.normal(jax.random.PRNGKey(0), (4, 3))
    alpha, sigma = 0.7, 0.6
    autodiff = jax.vmap(jax.grad(lambda y: g.marginal_log_prob(y[None], alpha, sigma)[0]))(x)
    np.testing.assert_allclose(score(g, x, alpha, sigma), autodiff, rtol=1e-10)
    np.testing.assert_allclose(g.marginal_score(x, alpha, sigma), autodiff, rtol=1e-10)


def test_gaussian_marginal_log_prob_is_normalised_2d():
    g = Gaussian(jnp.array([0.3, -0.2]), jnp.array([[1.0, 0.4], [0.4, 0.8]]))
    grid = jnp.linspace(-8, 8, 321)
    xx = jnp.stack(jnp.meshgrid(grid, grid), -1).reshape(-1, 2)
    dx = grid[1] - grid[0]
    assert abs(float(jnp.exp(g.marginal_log_prob(xx, 0.8, 0.5)).sum() * dx**2) - 1) < 1e-8


def test_mixture_posterior_mean_matches_quadrature():
    mix = GaussianMixture(jnp.array([0.3, 0.7]), jnp.array([-1.0, 2.0]), jnp.array([0.5, 0.2]))
    x = jnp.array([[-0.4], [0.3], [1.5]])
    alpha, sigma = 0.8, 0.5
    grid = np.linspace(-8, 8, 20001)
    prior = np.exp(np.asarray(mix.log_weight(jnp.asarray(grid[:, None]))))
    like = np.exp(-((np.asarray(x) - alpha * grid[None, :]) ** 2) / (2 * sigma**2))
    quad = (like * prior * grid).sum(1) / (like * prior).sum(1)
    np.testing.assert_allclose(np.asarray(mix.posterior_mean(x, alpha, sigma))[:, 0], quad, rtol=1e-8)
    autodiff = jax.vmap(jax.grad(lambda y: mix.marginal_log_prob(y[None], alpha, sigma)[0]))(x)
    np.testing.assert_allclose(mix.marginal_score(x, alpha, sigma), autodiff, rtol=1e-10)
    np.testing.assert_allclose(score(mix, x, alpha, sigma), autodiff, rtol=1e-10)


def test_gaussian_samples_have_the_right_moments():
    cov = jnp.array([[1.0, 0.5], [0.5, 2.0]])
    x = np.asarray(Gaussian(jnp.array([1.0, -1.0]), cov).sample(jax.random.PRNGKey(1), 200_000))
    np.testing.assert_allclose(x.mean(0), [1.0, -1.0], atol=5 * np.sqrt(2.0 / 200_000))
    np.testing.assert_allclose(np.cov(x.T), cov, atol=5 * np.sqrt(2 * 4.0 / 200_000))


@pytest.mark.parametrize("chunk_size", [1, 7, 64, 10_000])
def test_streamed_attention_equals_direct_softmax(chunk_size):
    key = jax.random.PRNGKey(2)
    states = jax.random.normal(key, (300, 5))
    log_weights = jax.random.normal(jax.random.fold_in(key, 1), (300,))
    x = jax.random.normal(jax.random.fold_in(key, 2), (9, 5))
    alpha, sigma = 0.6, 0.4
    logits = log_weights - ((x[:, None, :] - alpha * states[None]) ** 2).sum(-1) / (2 * sigma**2)
    direct = jax.nn.softmax(logits, axis=-1) @ states
    got = FiniteSupport(states, log_weights, chunk_size=chunk_size).posterior_mean(x, alpha, sigma)
    np.testing.assert_allclose(got, direct, rtol=1e-10, atol=1e-12)


def test_finite_support_is_gaussian_mixture_limit():
    """Equal-weight points = a mixture of zero-variance Gaussians: both denoisers agree."""
    points = jnp.array([[-1.0], [0.5], [2.0]])
    support = FiniteSupport(points)
    mix = GaussianMixture(jnp.ones(3) / 3, points, 0.0)
    x = jnp.array([[0.1], [1.2]])
    np.testing.assert_allclose(support.posterior_mean(x, 0.9, 0.7), mix.posterior_mean(x, 0.9, 0.7), rtol=1e-12)


def test_spin_states_match_netket_enumeration():
    n = 6
    nk = import_netket()
    np.testing.assert_array_equal(np.asarray(spin_states(n)), np.asarray(nk.hilbert.Spin(0.5, n).all_states()))


def test_import_netket_keeps_jax_precision_and_default_mesh():
    """In a fresh process: importing NetKet through the package leaves x64 as it was and sets no global mesh
    (NetKet's default NETKET_SHARDING would, and every later trace would carry it); an explicit setting is kept."""
    import subprocess
    import sys

    code = ("import jax; from statphys.models.base import import_netket; import_netket(); "
            "print(jax.config.jax_enable_x64, jax.sharding.get_abstract_mesh().empty)")
    env = {k: v for k, v in os.environ.items() if not k.startswith("NETKET_")}
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "True"]
    out = subprocess.run([sys.executable, "-c", code], env={**env, "NETKET_SHARDING": "1"}, capture_output=True,
                         text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_enumeration_beyond_limit_is_refused():
    with pytest.raises(ValueError, match="too large"):
        spin_states(MAX_ENUMERATION_N + 1)


@pytest.mark.parametrize(
    "make, field",
    [
        (lambda: Gaussian(jnp.zeros(2), jnp.array([[1.0, 0.0], [0.0, -1.0]])), "positive definite"),
        (lambda: Gaussian(jnp.zeros(2), jnp.eye(3)), "cov"),
        (lambda: GaussianMixture(jnp.array([0.5, 0.6]), jnp.zeros((2, 1)), 1.0), "weights"),
        (lambda: GaussianMixture(jnp.array([0.5, 0.5]), jnp.zeros((2, 1)), -1.0), "variances"),
        (lambda: FiniteSupport(jnp.zeros((3, 2)), jnp.zeros(4)), "log_weights"),
        (lambda: FiniteSupport(jnp.zeros((3,))), "states"),
    ],
)
def test_bad_input_is_named(make, field):
    with pytest.raises(ValueError, match=field):
        make()
