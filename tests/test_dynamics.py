"""Schedules, forward SDE and reverse samplers against Gaussian closed forms; Curie–Weiss generation."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import statphys.physics as physics
from statphys.models import CurieWeiss, Gaussian
from statphys.physics import ExactScore, make_schedule, reverse_sample

SCHEDULE_NAMES = ["ou", "vp_linear", "cosine", "cond_ot", "ve"]


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_sde_coefficients_follow_from_alpha_sigma(name):
    """f = d ln α/dt and g² = dσ²/dt − 2fσ², checked by central finite differences."""
    sch = make_schedule(name)
    t = jnp.linspace(0.1, 0.9, 5) * sch.T
    eps = 1e-6 * sch.T
    f_fd = (jnp.log(sch.alpha(t + eps)) - jnp.log(sch.alpha(t - eps))) / (2 * eps)
    s2_fd = (sch.sigma(t + eps) ** 2 - sch.sigma(t - eps) ** 2) / (2 * eps)
    np.testing.assert_allclose(sch.drift(t), f_fd, rtol=1e-6, atol=1e-8)
    np.testing.assert_allclose(sch.diffusion2(t), s2_fd - 2 * f_fd * sch.sigma(t) ** 2, rtol=1e-6, atol=1e-8)


def test_ou_has_unit_friction_and_g2_two():
    sch = make_schedule("ou")
    np.testing.assert_allclose(sch.drift(jnp.array([0.3, 2.0])), -1.0)
    np.testing.assert_allclose(sch.diffusion2(jnp.array([0.3, 2.0])), 2.0)


@pytest.mark.parametrize("name", SCHEDULE_NAMES)
def test_forward_sde_reproduces_marginals(name):
    """Euler–Maruyama paths of dx = f x dt + g dW from x₀ ~ N(μ, v) have mean α μ and variance α² v + σ²."""
    sch = make_schedule(name)
    mu, v, num = 1.5, 0.25, 40_000
    x0 = mu + np.sqrt(v) * jax.random.normal(jax.random.PRNGKey(0), (num, 1))
    times = jnp.linspace(0.0, 0.6 * sch.T, 2001)
    path = physics.simulate_sde(jax.random.PRNGKey(1), x0, sch, times)
    for k in (500, 2000):
        t = times[k]
        mean, var = float(sch.alpha(t)) * mu, float(sch.alpha(t)) ** 2 * v + float(sch.sigma(t)) ** 2
        x = np.asarray(path[k, :, 0])
        assert abs(x.mean() - mean) < 5 * np.sqrt(var / num) + 2e-3 * np.sqrt(var)
        assert abs(x.var() - var) < 5 * var * np.sqrt(2 / num) + 2e-3 * var


@pytest.mark.parametrize("sampler", sorted(physics.SAMPLERS))
def test_reverse_samplers_reproduce_gaussian_moments(sampler):
    """Exact score, 400 steps: generated mean and covariance within statistical error + O(step) bias."""
    target = Gaussian(jnp.array([1.0, -0.5]), jnp.array([[1.0, 0.3], [0.3, 0.5]]))
    sch = make_schedule("vp_linear")
    num = 20_000
    out = reverse_sample(jax.random.PRNGKey(2), ExactScore(target, sch), sch, num_steps=400, batch=num, n=2, sampler=sampler)
    x = np.asarray(out.x)
    cov = np.asarray(target.cov)
    np.testing.assert_allclose(x.mean(0), target.mean, atol=5 * np.sqrt(np.diag(cov) / num).max() + 0.02)
    np.testing.assert_allclose(np.cov(x.T), cov, atol=5 * np.sqrt(2 / num) + 0.03)


@pytest.mark.parametrize("sampler", ["euler_maruyama", "ddpm", "pf_euler", "ddim"])
def test_variance_error_shrinks_with_step_size(sampler):
    """1-D N(0, 0.25): |generated variance − 0.25| falls when the number of steps grows 8×.

    Deterministic samplers are run from the same prior draws, stochastic ones with 200 000 paths."""
    target = Gaussian(jnp.zeros(1), jnp.array([[0.25]]))
    sch = make_schedule("ou", T=4.0, t_min=1e-3)
    errors = []
    for steps in (25, 200):
        out = reverse_sample(jax.random.PRNGKey(3), ExactScore(target, sch), sch, num_steps=steps, batch=200_000, n=1, sampler=sampler)
        errors.append(abs(float(np.var(np.asarray(out.x))) - 0.25))
    assert errors[1] < 0.5 * errors[0]


def test_observables_are_recorded_and_paths_only_on_request():
    target = CurieWeiss(16, 1.2)
    sch = make_schedule("ou", T=3.0)
    out = reverse_sample(
        jax.random.PRNGKey(4), ExactScore(target, sch), sch, num_steps=20, batch=8, n=16,
        observables={"m": physics.magnetization}, record_every=5,
    )
    assert out.observables["m"].shape == (5, 8)
    assert out.path is None and out.times.shape == (5,)
    np.testing.assert_allclose([out.times[0], out.times[-1]], [sch.T, sch.t_min])
    np.testing.assert_allclose(out.observables["m"][-1], jnp.mean(out.denoised, -1), rtol=1e-12)


def test_runs_are_reproducible_from_the_key():
    target = Gaussian(jnp.zeros(3), jnp.eye(3))
    sch = make_schedule("cosine")
    a = reverse_sample(jax.random.PRNGKey(5), ExactScore(target, sch), sch, num_steps=10, batch=4, n=3)
    b = reverse_sample(jax.random.PRNGKey(5), ExactScore(target, sch), sch, num_steps=10, batch=4, n=3)
    np.testing.assert_array_equal(a.x, b.x)


def test_curie_weiss_generation_matches_exact_law():
    """Reverse SDE with the exact score at small step size: TV between the generated M histogram and the
    exact P(M) is within 4 standard deviations of the TV that exact samples of the same size give."""
    n, num = 12, 4000
    target = CurieWeiss(n, 1.3)
    sch = make_schedule("ou", T=4.0, t_min=1e-3)
    out = reverse_sample(jax.random.PRNGKey(6), ExactScore(target, sch), sch, num_steps=400, batch=num, n=n, sampler="euler_maruyama")
    m_values, p = target.magnetization_law()
    M = np.sign(np.asarray(out.x)).sum(1)
    hist = np.array([(M == round(v * n)).mean() for v in m_values])
    tv = 0.5 * np.abs(hist - p).sum()
    rng = np.random.default_rng(0)
    null = [0.5 * np.abs(rng.multinomial(num, p) / num - p).sum() for _ in range(400)]
    assert tv < np.mean(null) + 4 * np.std(null)


@pytest.mark.parametrize("sampler", ["pf_heun", "ddim"])
def test_deterministic_samplers_need_and_get_a_log_grid(sampler):
    """PF-ODE and DDIM on spins: stiff near t = 0 (score scale σ² ≈ 2t); on the geometric grid the generated
    M histogram matches the exact law within 4 sd of the exact-sample TV floor."""
    n, num = 10, 3000
    target = CurieWeiss(n, 1.3)
    sch = make_schedule("ou", T=4.0, t_min=1e-3)
    out = reverse_sample(jax.random.PRNGKey(7), ExactScore(target, sch), sch, num_steps=100, batch=num, n=n,
                         sampler=sampler, spacing="log")
    m_values, p = target.magnetization_law()
    M = np.sign(np.asarray(out.x)).sum(1)
    tv = 0.5 * np.abs(np.array([(M == round(v * n)).mean() for v in m_values]) - p).sum()
    rng = np.random.default_rng(1)
    null = [0.5 * np.abs(rng.multinomial(num, p) / num - p).sum() for _ in range(400)]
    assert tv < np.mean(null) + 4 * np.std(null)


def test_nan_in_trajectory_is_reported_with_its_time():
    sch = make_schedule("ou")
    bad_score = lambda x, t: jnp.where(t < 2.0, jnp.nan, -x)  # noqa: E731
    with pytest.raises(FloatingPointError, match="non-finite state after step"):
        reverse_sample(jax.random.PRNGKey(0), bad_score, sch, num_steps=10, batch=2, n=2)


@pytest.mark.parametrize(
    "call, match",
    [
        (lambda: make_schedule("linear"), "unknown schedule"),
        (lambda: make_schedule("ou", Tmax=3.0), "no parameter"),
        (lambda: make_schedule("ou", T=-1.0), "T"),
        (lambda: make_schedule("ve", sigma_min=2.0, sigma_max=1.0), "sigma_min"),
        (lambda: physics.get_sampler("leapfrog"), "unknown sampler"),
        (lambda: make_schedule("ou").time_grid(10, "cubic"), "unknown time spacing"),
        (lambda: reverse_sample(jax.random.PRNGKey(0), lambda x, t: -x, make_schedule("ou"), num_steps=10, batch=2, n=2, record_every=3), "record_every"),
    ],
)
def test_bad_dynamics_input_is_named(call, match):
    with pytest.raises(ValueError, match=match):
        call()


@pytest.mark.parametrize("batch", [0, -3])
def test_reverse_sample_refuses_a_nonpositive_batch(batch):
    target = CurieWeiss(n=8, beta=0.5)
    schedule = make_schedule("ou", T=2.0)
    with pytest.raises(ValueError, match="batch must be a positive integer"):
        reverse_sample(jax.random.PRNGKey(0), ExactScore(target, schedule), schedule, num_steps=4, batch=batch, n=8)


def test_reverse_sample_refuses_a_state_size_other_than_the_targets():
    target = CurieWeiss(n=8, beta=0.5)
    schedule = make_schedule("ou", T=2.0)
    with pytest.raises(ValueError, match="n = 6 components but the score's target has n = 8"):
        reverse_sample(jax.random.PRNGKey(0), ExactScore(target, schedule), schedule, num_steps=4, batch=2, n=6)
    with pytest.raises(ValueError, match="n = 5 components"):
        reverse_sample(jax.random.PRNGKey(0), ExactScore(target, schedule), schedule, num_steps=4,
                       x_init=jnp.zeros((3, 5)))


def test_reverse_sample_refuses_what_exceeds_the_memory_before_any_compute():
    target = CurieWeiss(n=10**9, beta=0.5)
    schedule = make_schedule("ou", T=2.0)
    with pytest.raises(MemoryError, match=r"batch = 1024, n = 1000000000 needs about .* GiB"):
        reverse_sample(jax.random.PRNGKey(0), ExactScore(target, schedule), schedule, num_steps=4, batch=1024,
                       n=10**9)
