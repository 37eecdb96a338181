"""Exact path law of the reverse SDE (`physics.exact_paths`): posterior draws against closed forms and enumeration,
paths against the Gaussian regression of the forward process from a start that is not p_T, and the Curie–Weiss
end law against the exact P(M)."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats

from statphys.models import curie_weiss
from statphys.models import CurieWeiss, DataSet, Gaussian, GaussianMixture, Hopfield, SherringtonKirkpatrick
from statphys.models.hubbard_stratonovich import hubbard_stratonovich_field_sample
from statphys.physics.exact_paths import exact_reverse_paths
from statphys.physics.schedules import make_schedule
from statphys.physics.trajectory import reverse_sample, sign_magnetization


def _z(sample_mean, expected, sample_sd, num):
    return abs(sample_mean - expected) / (sample_sd / np.sqrt(num))


def _chi_square_p(counts, probs):
    """p-value of the multinomial counts against probs (cells expecting < 5 merged into one)."""
    num = counts.sum()
    keep = probs * num >= 5
    observed = np.append(counts[keep], counts[~keep].sum())
    expected = np.append(probs[keep], probs[~keep].sum()) * num
    observed, expected = observed[expected > 0], expected[expected > 0]
    return scipy.stats.chisquare(observed, expected).pvalue


def test_gaussian_paths_follow_the_reverse_kernel_from_a_start_that_is_not_p_t():
    """Gaussian target, start x_T ~ N(m₀, v₀) far from p_T: the reverse SDE takes x_t to x_s with the regression
    of the forward pair, x_s | x_t ~ N(E_s + A (x_t − E_t), V), A = a Var_s/Var_t, V = Var_s − A a Var_s
    (a = α_t/α_s), so the state at s has mean E_s + A (m₀ − E_t) and variance A² v₀ + V, and the pair
    (x_T, x_s) the covariance A v₀. Every recorded time and pair is checked at 4.5 standard errors."""
    schedule = make_schedule("ou", T=0.7, t_min=0.05)
    mu, var = 0.8, 0.3
    target = Gaussian(jnp.array([mu]), jnp.array([[var]]))
    num, m0, v0 = 200_000, -0.4, 0.25
    x_init = m0 + np.sqrt(v0) * np.asarray(jax.random.normal(jax.random.PRNGKey(0), (num, 1)))
    traj = exact_reverse_paths(jax.random.PRNGKey(1), target, schedule, num_steps=12, x_init=x_init, record_every=3,
                               record_path=True)
    path = np.asarray(traj.path)[..., 0]
    start = path[0]
    a_T, s_T = float(schedule.alpha(schedule.T)), float(schedule.sigma(schedule.T))
    mean_T, var_T = a_T * mu, a_T**2 * var + s_T**2
    for t, x in zip(np.asarray(traj.times)[1:], path[1:]):
        a_s, s_s = float(schedule.alpha(t)), float(schedule.sigma(t))
        mean_s, var_s = a_s * mu, a_s**2 * var + s_s**2
        a = a_T / a_s
        gain = a * var_s / var_T
        expected_mean = mean_s + gain * (start.mean() - mean_T)
        expected_var = gain**2 * start.var() + var_s - gain * a * var_s
        assert _z(x.mean(), expected_mean, x.std(), num) < 4.5
        assert _z(x.var(), expected_var, expected_var * np.sqrt(2), num) < 4.5
        cov = np.mean((x - x.mean()) * (start - start.mean()))
        assert _z(cov, gain * start.var(), np.sqrt(x.var() * start.var()), num) < 4.5
    np.testing.assert_array_equal(np.asarray(traj.x), np.asarray(traj.path)[-1])


def test_gaussian_posterior_draws_have_the_closed_form_law():
    cov = np.array([[1.0, 0.6], [0.6, 0.8]])
    target = Gaussian(jnp.array([0.3, -0.5]), jnp.asarray(cov))
    alpha, sigma = 0.7, 0.9
    x = jnp.tile(jnp.array([[0.4, 1.1]]), (100_000, 1))
    draws = np.asarray(target.posterior_sample(jax.random.PRNGKey(2), x, alpha, sigma))
    c = alpha**2 * cov + sigma**2 * np.eye(2)
    expected_cov = cov - alpha**2 * cov @ np.linalg.solve(c, cov)
    mean = np.asarray(target.posterior_mean(x[:1], alpha, sigma))[0]
    sd = np.sqrt(np.diag(expected_cov))
    assert np.all(_z(draws.mean(0), mean, sd, len(draws)) < 4.5)
    sample_cov = np.cov(draws.T)
    # standard error of a sample covariance entry: sqrt((Σ_ii Σ_jj + Σ_ij²)/num)
    err = np.sqrt((np.outer(np.diag(expected_cov), np.diag(expected_cov)) + expected_cov**2) / len(draws))
    assert np.all(np.abs(sample_cov - expected_cov) < 4.5 * err)


def test_mixture_posterior_draws_pick_components_by_responsibility():
    target = GaussianMixture(jnp.array([0.3, 0.7]), jnp.array([[1.0, 0.0], [-1.0, 0.5]]), jnp.array([0.2, 0.5]))
    alpha, sigma, num = 0.6, 0.8, 100_000
    x = jnp.tile(jnp.array([[0.1, 0.2]]), (num, 1))
    draws = np.asarray(target.posterior_sample(jax.random.PRNGKey(3), x, alpha, sigma))
    r = np.asarray(target.responsibilities(x[:1], alpha, sigma))[0]
    c = alpha**2 * np.array([0.2, 0.5]) + sigma**2
    within = np.array([0.2, 0.5]) * sigma**2 / c  # variance of x₀ given x and the component
    mean = np.asarray(target.posterior_mean(x[:1], alpha, sigma))[0]
    centres = np.array([[1.0, 0.0], [-1.0, 0.5]])
    gains = alpha * np.array([0.2, 0.5]) / c
    comp_means = centres + gains[:, None] * (np.array([0.1, 0.2]) - alpha * centres)
    total_var = r @ within + r @ comp_means**2 - mean**2  # law of total variance, per coordinate
    assert np.all(_z(draws.mean(0), mean, np.sqrt(total_var), num) < 4.5)
    assert np.all(_z(draws.var(0), total_var, total_var * 2.5, num) < 4.5)


@pytest.mark.parametrize("field_sampler", [False, True])
def test_curie_weiss_posterior_draws_are_the_enumerated_posterior(field_sampler, monkeypatch):
    """Both routes to the Hubbard–Stratonovich field: through P(M | x) (N ≤ FIELD_SAMPLER_MIN_N) and by rejection
    (above; forced here by lowering the threshold)."""
    if field_sampler:
        monkeypatch.setattr(curie_weiss, "FIELD_SAMPLER_MIN_N", 0)
    n, beta, h = 5, 1.4, 0.15
    target = CurieWeiss(n, beta, h)
    alpha, sigma, num = 0.5, 0.7, 60_000
    x_row = np.array([0.9, -0.4, 0.1, 1.3, -1.0])
    draws = np.asarray(target.posterior_sample(jax.random.PRNGKey(4), jnp.tile(jnp.asarray(x_row), (num, 1)),
                                               alpha, sigma))
    assert set(np.unique(draws)) <= {-1.0, 1.0}
    _, probs = _enumerated_posterior(target.log_weight, x_row, alpha, sigma)
    assert _chi_square_p(_state_counts(draws, n), probs) > 1e-4


def test_curie_weiss_paths_from_the_exact_p_t_end_in_the_exact_magnetisation_law():
    n, beta, num = 24, 1.3, 20_000
    target = CurieWeiss(n, beta)
    schedule = make_schedule("ou", T=2.0, t_min=1e-3)
    data = target.sample(jax.random.PRNGKey(5), num)
    a, s = schedule.alpha(schedule.T), schedule.sigma(schedule.T)
    x_init = a * data + s * jax.random.normal(jax.random.PRNGKey(6), data.shape)
    traj, end = exact_reverse_paths(jax.random.PRNGKey(7), target, schedule, num_steps=50, x_init=x_init,
                                    record_every=10, observables={"m": sign_magnetization}, return_data=True)
    m_values, probs = target.magnetization_law()
    for label, spins in (("x0 draw", np.asarray(end)), ("sign x(t_min)", np.sign(np.asarray(traj.x)))):
        ups = ((spins.sum(1) + n) / 2).astype(int)
        counts = np.bincount(ups, minlength=n + 1)
        assert _chi_square_p(counts, probs) > 1e-4, label
    assert np.asarray(traj.observables["m"]).shape == (6, num)


@pytest.mark.slow
def test_curie_weiss_paths_agree_with_fine_euler_maruyama_from_the_prior():
    """From the prior N(0, σ_T² I) (not p_T) the recorded ⟨m²⟩ of sign(x_t) along the path agrees with
    Euler–Maruyama at 1000 steps within 4.5 standard errors (both have errors ~0.0005; the Euler–Maruyama bias
    at this step is below them)."""
    n, beta, num = 32, 1.3, 20_000
    target = CurieWeiss(n, beta)
    schedule = make_schedule("ou", T=3.0, t_min=1e-3)
    observables = {"m": sign_magnetization}
    exact = exact_reverse_paths(jax.random.PRNGKey(8), target, schedule, num_steps=100, batch=num, record_every=20,
                                observables=observables)
    from statphys.physics.scores import ExactScore

    euler = reverse_sample(jax.random.PRNGKey(9), ExactScore(target, schedule), schedule, num_steps=1000, batch=num,
                           n=n, record_every=200, observables=observables)
    np.testing.assert_allclose(np.asarray(exact.times), np.asarray(euler.times), rtol=1e-12)
    for a, b in zip(np.asarray(exact.observables["m"]) ** 2, np.asarray(euler.observables["m"]) ** 2):
        assert abs(a.mean() - b.mean()) < 4.5 * np.sqrt(a.var() / num + b.var() / num)


@pytest.mark.parametrize("n, beta, scale, intervals", [(64, 1.5, 0.3, None), (64, 1.05, 0.05, None),
                                                       (16, 3.0, 0.5, None), (256, 0.5, 1.0, None),
                                                       (1024, 1.2, 0.03, None), (64, 1.5, 0.3, 6)])
def test_field_draws_follow_the_hubbard_stratonovich_density(n, beta, scale, intervals):
    """z ~ w(z) ∝ exp(−N z²/(2β) + Σⱼ ln 2cosh(z + uⱼ)) by rejection, against w on a grid of 40 001 points
    (Kolmogorov–Smirnov): bimodal, near-critical, β = 3 at N = 16, paramagnetic, narrow peaks at N = 1024, and an
    envelope of 6 intervals only (loose: there the rejection step makes the law; the default envelope is so tight
    that its proposals alone pass this test)."""
    u_row = scale * np.random.default_rng(n).normal(size=n) + 0.001
    num = 20_000 if n < 1024 else 4_000
    z = np.asarray(hubbard_stratonovich_field_sample(jax.random.PRNGKey(n), jnp.tile(jnp.asarray(u_row), (num, 1)),
                                                     beta, intervals=intervals, max_trials=400))
    assert not np.isnan(z).any()
    radius = beta + 12 * np.sqrt(beta / n) + 0.5
    grid = np.linspace(-radius, radius, 40_001)
    log_w = np.concatenate([-n * g**2 / (2 * beta) + np.logaddexp(g[:, None] + u_row, -g[:, None] - u_row).sum(1)
                            for g in np.array_split(grid, 80)])
    cdf = np.cumsum(np.exp(log_w - log_w.max()))
    assert scipy.stats.kstest(z, lambda q: np.interp(q, grid, cdf / cdf[-1])).pvalue > 1e-4


def test_field_draws_at_beta_zero_are_zero():
    z = hubbard_stratonovich_field_sample(jax.random.PRNGKey(0), jnp.ones((3, 8)), 0.0)
    np.testing.assert_array_equal(np.asarray(z), 0.0)


def _enumerated_posterior(log_weight, x_row, alpha, sigma):
    n = len(x_row)
    states = np.array(list(itertools.product([1.0, -1.0], repeat=n)))
    logits = np.asarray(log_weight(jnp.asarray(states))) + alpha * states @ x_row / sigma**2
    probs = np.exp(logits - logits.max())
    return states, probs / probs.sum()


def _state_counts(draws, n):
    index = ((1 - draws) / 2) @ (2 ** np.arange(n - 1, -1, -1))
    return np.bincount(index.astype(int), minlength=2**n)


@pytest.mark.parametrize("kind", ["sk", "hopfield"])
def test_enumerated_spin_posterior_draws_are_the_enumerated_posterior(kind):
    """Gumbel-max over the 2ᴺ states (`models.base.enumerated_posterior_sample`, chunks of 8 states here so that the
    maximum runs over several chunks) against the enumerated P(s | x), χ² over the 32 states."""
    n, alpha, sigma, num = 5, 0.6, 0.8, 40_000
    target = (SherringtonKirkpatrick.random(n, 1.3, h=0.1, seed=3, chunk_size=8) if kind == "sk"
              else Hopfield.random(n, 3, 1.2, seed=2, chunk_size=8))
    x_row = np.array([0.5, -0.9, 0.2, 1.1, -0.3])
    draws = np.asarray(target.posterior_sample(jax.random.PRNGKey(10), jnp.tile(jnp.asarray(x_row), (num, 1)),
                                               alpha, sigma))
    _, probs = _enumerated_posterior(target.log_weight, x_row, alpha, sigma)
    assert _chi_square_p(_state_counts(draws, n), probs) > 1e-4


def test_data_set_posterior_draws_pick_rows_by_their_posterior_weight():
    rows = np.array([[1, 1, -1, 1], [-1, 1, 1, 1], [1, -1, -1, -1], [1, 1, -1, 1], [-1, -1, 1, -1]], float)
    target = DataSet(rows, chunk_size=2)  # three chunks, the last padded
    alpha, sigma, num = 0.7, 0.9, 40_000
    x_row = np.array([0.4, 0.3, -0.8, 0.1])
    draws = np.asarray(target.posterior_sample(jax.random.PRNGKey(11), jnp.tile(jnp.asarray(x_row), (num, 1)),
                                               alpha, sigma))
    logits = alpha * rows @ x_row / sigma**2
    probs = np.exp(logits - logits.max())
    probs /= probs.sum()
    distinct, inverse = np.unique(rows, axis=0, return_inverse=True)
    expected = np.bincount(inverse.ravel(), weights=probs, minlength=len(distinct))
    drawn = np.array([np.sum(np.all(draws == d, axis=1)) for d in distinct])
    assert drawn.sum() == num
    assert _chi_square_p(drawn, expected) > 1e-4


def test_sk_paths_from_the_exact_p_t_end_in_the_enumerated_law():
    n, num = 6, 30_000
    target = SherringtonKirkpatrick.random(n, 1.5, seed=4)
    schedule = make_schedule("ou", T=1.5, t_min=1e-3)
    data = target.sample(jax.random.PRNGKey(12), num)
    a, s = schedule.alpha(schedule.T), schedule.sigma(schedule.T)
    x_init = a * data + s * jax.random.normal(jax.random.PRNGKey(13), data.shape)
    traj = exact_reverse_paths(jax.random.PRNGKey(14), target, schedule, num_steps=20, x_init=x_init, record_every=5)
    states = np.array(list(itertools.product([1.0, -1.0], repeat=n)))
    logits = np.asarray(target.log_weight(jnp.asarray(states)))
    probs = np.exp(logits - logits.max())
    assert _chi_square_p(_state_counts(np.sign(np.asarray(traj.x)), n), probs / probs.sum()) > 1e-4


def test_refuses_targets_without_posterior_draws_and_bad_starts():
    class ScoreOnly:
        n = 4

        def posterior_mean(self, x, alpha, sigma):
            return jnp.tanh(alpha * x / sigma**2)

    schedule = make_schedule("ou")
    with pytest.raises(ValueError, match="posterior_sample"):
        exact_reverse_paths(jax.random.PRNGKey(0), ScoreOnly(), schedule, num_steps=4, batch=3)
    with pytest.raises(ValueError, match="too large"):
        exact_reverse_paths(jax.random.PRNGKey(0), SherringtonKirkpatrick.random(24, 1.0), schedule, num_steps=4,
                            batch=3)
    target = CurieWeiss(4, 1.0)
    with pytest.raises(ValueError, match="NaN"):
        exact_reverse_paths(jax.random.PRNGKey(0), target, schedule, num_steps=4, x_init=np.full((2, 4), np.nan))
    with pytest.raises(ValueError, match="shape"):
        exact_reverse_paths(jax.random.PRNGKey(0), target, schedule, num_steps=4, x_init=np.zeros((2, 5)))
    with pytest.raises(ValueError, match="record_every"):
        exact_reverse_paths(jax.random.PRNGKey(0), target, schedule, num_steps=4, batch=2, record_every=3)
    with pytest.raises(ValueError, match="spacing"):
        exact_reverse_paths(jax.random.PRNGKey(0), target, schedule, num_steps=4, batch=2, spacing="cubic")
