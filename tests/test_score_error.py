"""Score error propagation (physics.score_error, study kind score_error_propagation): the zero error is the exact
score bit for bit, the path-KL weights converge to the Girsanov integral in closed form, the measured TV obeys
the Pinsker bound, and a shrunk denoiser on Gaussian data gives the variance of the linear reverse SDE."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from statphys.models import CurieWeiss
from statphys.models.gaussian import Gaussian
from statphys.physics import ExactScore, make_schedule, reverse_sample
from statphys.physics import score_error as se
from statphys.studies.kinds import score_error_propagation as kind

SCHEDULE = make_schedule("ou", T=5.0, t_min=1e-2)


@pytest.mark.parametrize("sampler", ["ddpm", pytest.param("pf_heun", marks=pytest.mark.slow)])
def test_zero_error_reproduces_the_exact_score_run_bit_for_bit(sampler):
    target = CurieWeiss(8, 1.2)
    exact = ExactScore(target, SCHEDULE)
    key = jax.random.PRNGKey(3)
    args = dict(num_steps=20, batch=64, n=8, sampler=sampler, spacing="log")
    reference = reverse_sample(key, exact, SCHEDULE, **args)
    zero = reverse_sample(key, se.perturb(exact, SCHEDULE, 0.0, 0.0), SCHEDULE, **args, keep_info=True)
    np.testing.assert_array_equal(np.asarray(zero.x), np.asarray(reference.x))
    # the active score at ε = b = 0 (traced levels) differs only by XLA's fusion of s + 0: float rounding
    # (what the study runs: one compiled program for every level, zero included)
    traced_zero = se.perturb(exact, SCHEDULE, 0.0, 0.0, exact_at_zero=False)
    assert traced_zero.active
    traced = reverse_sample(key, traced_zero, SCHEDULE, **args, keep_info=True)
    np.testing.assert_allclose(np.asarray(traced.x), np.asarray(reference.x), rtol=1e-11, atol=1e-11)
    noisy = reverse_sample(key, se.perturb(exact, SCHEDULE, 0.1, 0.0), SCHEDULE, **args, keep_info=True)
    assert not np.array_equal(np.asarray(noisy.x), np.asarray(reference.x))
    np.testing.assert_array_equal(np.asarray(noisy.info.noise), np.asarray(zero.info.noise))  # same sampler noise


def test_perturbed_score_is_the_shrunk_noisy_denoiser():
    """ŝ = (α D̂ − x)/σ², D̂ = (1 − b) D + ε ζ with ζ = normal(key)."""
    target = CurieWeiss(6, 0.8)
    exact = ExactScore(target, SCHEDULE)
    x = jax.random.normal(jax.random.PRNGKey(0), (5, 6))
    t = jnp.asarray(0.7)
    key = jax.random.PRNGKey(9)
    value, _ = se.perturb(exact, SCHEDULE, 0.3, 0.2)(key, x, t, None)
    alpha, sigma = SCHEDULE.alpha(t), SCHEDULE.sigma(t)
    denoised = 0.8 * target.posterior_mean(x, alpha, sigma) + 0.3 * jax.random.normal(key, x.shape, x.dtype)
    np.testing.assert_allclose(np.asarray(value), np.asarray((alpha * denoised - x) / sigma**2), rtol=1e-5, atol=1e-5)


def test_step_weights_converge_to_the_girsanov_integral():
    """½ ∫ g² α²/σ⁴ dt = ½ (α²/σ²)|_{t_min}^{T} for OU (g² = 2, d(α²/σ²)/dt = −2 α²/σ⁴). DDPM's weights
    α_s² σ²_{t|s}/(2σ_t²σ_s²) = ½ (α_s²/σ_s² − α_t²/σ_t²) telescope to it at any step count; Euler–Maruyama's
    converge at first order in Δ."""
    snr = lambda t: float(SCHEDULE.alpha(t)) ** 2 / float(SCHEDULE.sigma(t)) ** 2  # noqa: E731
    exact = 0.5 * (snr(SCHEDULE.t_min) - snr(SCHEDULE.T))
    for steps in (3, 40, 400):
        times = np.asarray(SCHEDULE.time_grid(steps, "log"), np.float64)
        assert se.step_kl_weights(SCHEDULE, times, "ddpm").sum() == pytest.approx(exact, rel=1e-12)
    errors = []
    for steps in (400, 1600, 6400):
        times = np.asarray(SCHEDULE.time_grid(steps, "log"), np.float64)
        errors.append(abs(se.step_kl_weights(SCHEDULE, times, "euler_maruyama").sum() / exact - 1))
    assert errors[-1] < 2e-3
    assert 3 < errors[1] / errors[2] < 5  # first order: ×4 steps, ~×4 smaller


def test_kl_bound_is_the_weighted_sum_and_pinsker_caps_at_one():
    times = np.asarray(SCHEDULE.time_grid(50, "log"), np.float64)
    w = se.step_kl_weights(SCHEDULE, times, "ddpm")
    d2 = np.linspace(1.0, 8.0, 50)
    kl = se.path_kl_bound(SCHEDULE, times, "ddpm", 0.1, 0.05, 8, d2)
    assert kl == pytest.approx(float(np.sum(w * (0.01 * 8 + 0.0025 * d2))), rel=1e-12)
    assert se.path_kl_bound(SCHEDULE, times, "ddpm", 0.0, 0.0, 8, d2) == 0.0
    np.testing.assert_allclose(se.pinsker([0.0, 0.5, 8.0]), [0.0, 0.5, 1.0])


@pytest.mark.slow
def test_measured_tv_obeys_the_pinsker_bound():
    """Coupled Curie–Weiss runs (N = 8): the TV between the empirical laws of m with and without the error stays
    below √(KL/2) (+ 3 bootstrap standard errors; the empirical TV is biased upwards, so this is conservative)."""
    params = {name: default for name, (_, default) in kind.PARAMS.items()}
    params.update(target="curie_weiss:8", noise=[0.0, 0.01, 0.03], bias=[0.0, 0.003, 0.01], num_steps=40,
                  num_samples=2048, batch_size=2048, bootstrap=50)
    kind.validate(params)
    ds = kind.run(params, jax.random.PRNGKey(1))
    for family in ("noise", "bias"):
        tv, err, bound = (ds[f"{family}_{v}"].values for v in ("tv_pair", "tv_pair_err", "pinsker"))
        assert tv[0] == 0 and bound[0] == 0
        assert np.all(bound[1:] < 1)  # the check is not vacuous
        assert np.all(tv <= bound + 3 * err), (family, tv, bound, err)


def _em_variance_recursion(v, bias, times):
    """Exact variance of Euler–Maruyama on N(0, v) data with the shrunk score ŝ = −k_t x:
    x_s = (1 − (f + g² k_t) Δ) x + g √Δ ξ ⇒ V_s = (1 − (f + g² k_t) Δ)² V + g² Δ, from V = σ_T²."""
    t = jnp.asarray(times[:-1])
    alpha, sigma, f, g2 = (np.asarray(c, np.float64) for c in (SCHEDULE.alpha(t), SCHEDULE.sigma(t),
                                                              SCHEDULE.drift(t), SCHEDULE.diffusion2(t)))
    k = (bias * alpha**2 * v + sigma**2) / (sigma**2 * (alpha**2 * v + sigma**2))
    dt = times[:-1] - times[1:]
    V = float(SCHEDULE.sigma(times[0])) ** 2
    for a, c in zip((1 - (f + g2 * k) * dt) ** 2, g2 * dt):
        V = a * V + c
    return V


def test_shrunk_denoiser_variance_matches_the_linear_reverse_sde():
    """Gaussian data N(0, v I): (i) the Euler–Maruyama recursion converges to `gaussian_shrunk_variance` (the
    continuum linear SDE) at first order in Δ (log grid); (ii) generated samples have the variance of the recursion within
    4 standard errors √(2/(M−1)) V; (iii) the effect of b is far larger than that error."""
    v, n, steps = 2.0, 4, 400
    times = np.asarray(SCHEDULE.time_grid(steps, "log"), np.float64)
    gaps = []
    for b in (0.0, 0.1):
        ode = se.gaussian_shrunk_variance(v, b, SCHEDULE)
        fine = [_em_variance_recursion(v, b, np.asarray(SCHEDULE.time_grid(k, "log"), np.float64))
                for k in (1000, 4000)]
        assert abs(fine[1] / ode - 1) < 1.5e-3
        assert 3 < abs(fine[0] - ode) / abs(fine[1] - ode) < 5
        gaps.append(ode)
    assert gaps[1] < 0.6 * gaps[0]  # b = 0.1 halves the generated variance (1.98 → 0.97 at v = 2, t_min = 0.01)
    target = Gaussian(jnp.zeros(n), v)
    exact = ExactScore(target, SCHEDULE)
    for b in (0.0, 0.1):
        out = reverse_sample(jax.random.PRNGKey(5), se.perturb(exact, SCHEDULE, 0.0, b), SCHEDULE,
                             num_steps=steps, batch=8192, n=n, sampler="euler_maruyama", spacing="log")
        x = np.asarray(out.x, np.float64).ravel()
        predicted = _em_variance_recursion(v, b, times)
        assert abs(np.var(x) - predicted) < 4 * np.sqrt(2 / (x.size - 1)) * predicted, (b, np.var(x), predicted)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="noise"):
        se.check_error(-0.1, 0.0)
    with pytest.raises(ValueError, match="bias"):
        se.check_error(0.0, 1.0)
    times = np.asarray(SCHEDULE.time_grid(10, "log"))
    with pytest.raises(ValueError, match="Gaussian step"):
        se.step_kl_weights(SCHEDULE, times, "pf_euler")
    with pytest.raises(ValueError, match="decreasing"):
        se.step_kl_weights(SCHEDULE, times[::-1], "ddpm")
    params = {name: default for name, (_, default) in kind.PARAMS.items()}
    for bad, match in (({"target": "sk:40"}, "enumeration"), ({"target": "ising:8"}, "target"),
                       ({"noise": [0.1, 0.2]}, "noise"), ({"bias": [0.0, 1.0]}, "bias"),
                       ({"sampler": "pf_heun"}, "sampler")):
        with pytest.raises(ValueError, match=match):
            kind.validate({**params, **bad})
