"""Stochastic thermodynamics: closed forms on Gaussian data, fluctuation theorems within their error bars,
Itô ↔ Stratonovich, Yu & Huang's symmetric mixture, Girsanov path KL."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate

from statphys.models.gaussian import Gaussian, GaussianMixture
from statphys.models.spin_marginal import SpinMarginal
from statphys.physics import path_entropy
from statphys.physics.entropy_rates import (
    ensemble_rates_1d,
    entropy_production_rate,
    gaussian_entropy_production_rate,
    reverse_flux_zero,
)
from statphys.physics.fluctuation_theorems import crooks_fit, exponential_average
from statphys.physics.mixture_flux import speciation_time_yu_huang
from statphys.physics.path_entropy import forward_entropy, reverse_entropy, reverse_run_path_ratio
from statphys.physics.path_kl import path_kl
from statphys.physics.schedules import make_schedule

Z = 5.0  # tolerance in standard errors

SCHEDULES = [
    make_schedule("ou", T=2.0),
    make_schedule("vp_linear", T=1.0),
    make_schedule("cosine", T=1.0, s=0.008),
    make_schedule("cond_ot", T=1.0),
    make_schedule("ve", T=1.0, sigma_min=0.1, sigma_max=5.0),
]


def _gaussian_entropy_rate(schedule, t, s0, h=1e-5):
    """d/dt of ½ ln(2πe v_t), v_t = α² s₀² + σ², by central differences (independent of the current)."""
    v = lambda u: float(schedule.alpha(u) ** 2 * s0**2 + schedule.sigma(u) ** 2)  # noqa: E731
    return 0.5 * (np.log(v(t + h)) - np.log(v(t - h))) / (2 * h)


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s.name)
def test_gaussian_rates_every_schedule(schedule):
    s0 = 2.0
    target = Gaussian(jnp.zeros(1), s0**2)
    t = 0.37 * schedule.T
    closed = float(gaussian_entropy_production_rate(schedule, t, s0))
    quad = ensemble_rates_1d(target, schedule, [t], x_max=40.0, num_points=20001)
    assert quad.entropy_production[0] == pytest.approx(closed, rel=1e-7)
    assert quad.entropy_rate_forward[0] == pytest.approx(_gaussian_entropy_rate(schedule, t, s0), rel=1e-5)
    assert quad.entropy_rate_reverse[0] == pytest.approx(-quad.entropy_rate_forward[0], rel=1e-9)
    mc = entropy_production_rate(jax.random.PRNGKey(0), target, schedule, t, num_samples=20000)
    assert abs(mc.value - closed) < Z * mc.stderr


def test_ou_reference_numbers():
    """Gaussian data N(0, s₀²) under OU, closed form: v = 1 + (s₀² − 1)e^{−2t}, π = (v − 1)²/v, φ = v − 1, dS/dt = −(v − 1)/v."""
    s0 = 0.5
    ts = np.array([0.05, 0.3, 1.0, 2.5])
    r = ensemble_rates_1d(Gaussian(jnp.zeros(1), s0**2), make_schedule("ou", T=5.0), ts)
    v = 1 + (s0**2 - 1) * np.exp(-2 * ts)
    np.testing.assert_allclose(r.entropy_production, (v - 1) ** 2 / v, rtol=1e-8)
    np.testing.assert_allclose(r.flux_forward, v - 1, rtol=1e-8)
    np.testing.assert_allclose(r.entropy_rate_forward, -(v - 1) / v, rtol=1e-8)


@pytest.fixture(scope="module")
def ou_paths():
    schedule = make_schedule("ou", T=2.0)
    target = Gaussian(jnp.zeros(1), 4.0)
    fwd = forward_entropy(jax.random.PRNGKey(0), target, schedule, num_trajectories=20000, num_steps=200)
    bwd = forward_entropy(jax.random.PRNGKey(1), target, schedule, num_trajectories=20000, num_steps=200,
                          backward=True)
    return schedule, fwd, bwd


def test_integral_fluctuation_theorem_forward(ou_paths):
    _, fwd, _ = ou_paths
    for sigma in (fwd.total_path, fwd.total):
        avg = exponential_average(sigma)
        assert avg.ess > 0.3 * avg.num
        assert abs(avg.mean - 1.0) < Z * avg.stderr


def test_mean_entropy_production_is_integrated_rate(ou_paths):
    """⟨Σ⟩ = ∫ π dt, π = (v − 1)²/v for N(0, 4) under OU."""
    _, fwd, _ = ou_paths
    v = lambda t: 1 + 3 * np.exp(-2 * t)  # noqa: E731
    exact = scipy.integrate.quad(lambda t: (v(t) - 1) ** 2 / v(t), 0, 2.0)[0]
    sigma = np.asarray(fwd.total_path)
    # Euler–Maruyama bias of the mean is O(Δ) = O(1e-2 · ⟨Σ⟩); below the 5σ error bar of 20 000 paths.
    assert abs(sigma.mean() - exact) < Z * sigma.std() / np.sqrt(sigma.size)


def test_crooks_detailed_fluctuation_theorem(ou_paths):
    _, fwd, bwd = ou_paths
    fit = crooks_fit(fwd.total_path, bwd.total_path)
    assert abs(fit.slope - 1.0) < Z * fit.slope_err
    assert abs(fit.intercept) < Z * fit.intercept_err
    assert fit.slope_err < 0.05


@pytest.mark.parametrize("num_trajectories, steps", [(1000, (25, 400)), pytest.param(4000, (50, 800), marks=pytest.mark.slow)])
def test_ito_stratonovich_conversion(num_trajectories, steps):
    """∫ h∘dx − ∫ h·dx = ∫ ∇·A dt: exact in mean (= n ∫ f dt = −n T for OU), pathwise with error ∝ √Δ."""
    schedule = make_schedule("ou", T=1.0)
    target = Gaussian(jnp.zeros(2), 4.0)
    rms = []
    for steps_ in steps:
        pe = forward_entropy(jax.random.PRNGKey(3), target, schedule, num_trajectories=num_trajectories,
                             num_steps=steps_)
        diff = np.asarray(pe.medium - pe.medium_ito)
        assert np.allclose(pe.ito_correction, -2.0 * 1.0)
        if steps_ == steps[1]:  # the Euler–Maruyama bias −½ n Σ f² E[x²] Δ² ≈ −0.05 at 50 steps, 0.003 at 800
            assert abs(diff.mean() + 2.0) < Z * diff.std() / np.sqrt(diff.size)
        rms.append(float(np.sqrt(np.mean((diff - np.asarray(pe.ito_correction)) ** 2))))
    slope = np.log(rms[0] / rms[1]) / np.log(steps[1] / steps[0])
    assert abs(slope - 0.5) < 0.1


def test_divergence_of_nonlinear_drift():
    drift = lambda x, t: jnp.tanh(x) * t  # noqa: E731
    x = jnp.array([[0.3, -1.2], [2.0, 0.1]])
    expected = 0.7 * jnp.sum(1 - jnp.tanh(x) ** 2, axis=-1)
    np.testing.assert_allclose(path_entropy._divergence(drift, x, 0.7), expected, rtol=1e-12)


def test_yu_huang_reverse_ift_and_rates():
    """½N(1,1) + ½N(−1,1) under OU: reverse IFT, π_R = π, dS/dt = π − φ, flux sign change vs t_S."""
    mix = GaussianMixture.symmetric(1.0, 1.0, 1)
    schedule = make_schedule("ou", T=3.0, t_min=1e-3)
    pr = reverse_entropy(jax.random.PRNGKey(2), mix, schedule, num_trajectories=4000, num_steps=100,
                         ito_correction=False)
    for sigma in (pr.total_path, pr.total):
        avg = exponential_average(sigma)
        assert abs(avg.mean - 1.0) < Z * avg.stderr

    ts = np.array([0.05, 0.2, 0.5, 1.0])
    r = ensemble_rates_1d(mix, schedule, ts)
    x = np.linspace(-12, 12, 4001)

    def entropy(t):
        p = np.exp(np.asarray(mix.marginal_log_prob(jnp.asarray(x)[:, None], np.exp(-t), np.sqrt(1 - np.exp(-2 * t)))))
        return -scipy.integrate.simpson(p * np.log(p), x=x)

    h = 1e-4
    ds = np.array([(entropy(t + h) - entropy(t - h)) / (2 * h) for t in ts])
    np.testing.assert_allclose(r.entropy_rate_forward, ds, rtol=1e-5)
    np.testing.assert_allclose(r.entropy_rate_reverse, -ds, rtol=1e-5)
    assert np.all(r.entropy_production > 0)

    t_s = speciation_time_yu_huang(1.0, 1.0)
    assert t_s == pytest.approx(0.5 * np.log(2.0))
    t_flux = reverse_flux_zero(mix, schedule, 0.01, 0.3)
    assert 0.0 < t_flux < t_s  # the reverse flux turns sign after speciation in generation order (t < t_S)


def test_path_kl_gaussian_closed_form():
    """Score of N(0, s₁²) used for data N(0, s₀²): E‖Δs‖² = n v (1/v₁ − 1/v)², prior KL of two Gaussians."""
    s0, s1 = 2.0, 1.5
    schedule = make_schedule("ou", T=2.0, t_min=1e-2)
    target = Gaussian(jnp.zeros(1), s0**2)
    wrong = Gaussian(jnp.zeros(1), s1**2)
    score_fn = lambda x, t: wrong.marginal_score(x, schedule.alpha(t), schedule.sigma(t))  # noqa: E731
    kl = path_kl(jax.random.PRNGKey(4), target, schedule, score_fn, num_samples=20000)
    v = lambda t, s: np.exp(-2 * t) * s**2 + 1 - np.exp(-2 * t)  # noqa: E731
    gap = scipy.integrate.quad(lambda t: v(t, s0) * (1 / v(t, s1) - 1 / v(t, s0)) ** 2, 1e-2, 2.0)[0]
    r = v(2.0, s0) / (1 - np.exp(-4.0))
    prior = 0.5 * (r - 1 - np.log(r))
    assert abs(kl.score_gap - gap) < Z * kl.score_gap_err + 1e-6 * gap
    assert abs(kl.prior - prior) < Z * kl.prior_err
    exact = path_kl(jax.random.PRNGKey(4), target, schedule,
                    lambda x, t: target.marginal_score(x, schedule.alpha(t), schedule.sigma(t)), num_samples=100)
    assert exact.score_gap == 0.0


def test_paths_compile_once_for_every_schedule_and_direction():
    """forward_entropy and reverse_entropy compile their paths once per kind of target: the schedule enters as
    coefficients on the grid, the direction as a traced flag."""
    target = GaussianMixture.symmetric(1.0, 1.0, 1)
    schedules = [make_schedule("ou", T=1.0), make_schedule("cosine", T=1.0)]
    sizes = [path_entropy._forward_paths_jit._cache_size(), path_entropy._reverse_paths_jit._cache_size()]
    for schedule in schedules:
        for backward in (False, True):
            forward_entropy(jax.random.PRNGKey(0), target, schedule, num_trajectories=17, num_steps=3,
                            t_start=0.01, t_end=0.5, backward=backward, ito_correction=False)
        pe = reverse_entropy(jax.random.PRNGKey(0), target, schedule, num_trajectories=17, num_steps=3, t_max=0.5,
                             ito_correction=False)
        assert np.all(np.isfinite(np.asarray(pe.total_path)))
    assert path_entropy._forward_paths_jit._cache_size() == sizes[0] + 1
    assert path_entropy._reverse_paths_jit._cache_size() == sizes[1] + 1


def test_bad_input():
    schedule = make_schedule("ou", T=1.0)
    target = Gaussian(jnp.zeros(1), 1.0)
    with pytest.raises(ValueError, match="sigma"):
        exponential_average(np.array([1.0]))
    with pytest.raises(ValueError, match="times"):
        path_entropy.path_entropy(jax.random.PRNGKey(0), jnp.zeros((3, 1)), lambda x, t: -x, lambda t: 2.0,
                                  jnp.array([0.0, 0.5, 0.4]), lambda x: 0.0, lambda x: 0.0)
    with pytest.raises(ValueError, match="t_start"):
        forward_entropy(jax.random.PRNGKey(0), target, make_schedule("cond_ot"), num_trajectories=4, num_steps=4,
                        t_end=0.5)
    with pytest.raises(ValueError, match="t_end"):
        forward_entropy(jax.random.PRNGKey(0), target, schedule, num_trajectories=4, num_steps=4, t_end=2.0)
    with pytest.raises(ValueError, match="marginal_log_prob"):
        forward_entropy(jax.random.PRNGKey(0), object(), schedule, num_trajectories=4, num_steps=4)
    with pytest.raises(ValueError, match="1-D"):
        ensemble_rates_1d(Gaussian(jnp.zeros(2), 1.0), schedule, [0.5])


def test_fluctuation_theorems_study_kind_runs():
    from statphys.studies.kinds import fluctuation_theorems as kind

    params = {name: default for name, (_, default) in kind.PARAMS.items()}
    params.update(schedule="ou", num_trajectories=128, num_steps=10, num_times=6)
    kind.validate(params)
    ds = kind.run(params, jax.random.PRNGKey(0))
    assert abs(float(ds.ift_forward_path) - 1) < Z * float(ds.ift_forward_path_err)
    assert abs(float(ds.ift_reverse_path) - 1) < Z * float(ds.ift_reverse_path_err)
    assert ds["entropy_production"].shape == (6,)
    with pytest.raises(ValueError, match="schedule"):
        kind.validate({**params, "schedule": "ve"})


def _spin_ift(target, t_min, num_trajectories, num_steps, spacing="log"):
    schedule = make_schedule("ou", T=3.0, t_min=t_min)
    pe = reverse_entropy(jax.random.PRNGKey(5), SpinMarginal(target), schedule,
                         num_trajectories=num_trajectories, num_steps=num_steps, spacing=spacing,
                         ito_correction=False)
    return exponential_average(pe.total_path), exponential_average(pe.total)


def test_spin_marginal_log_prob_is_normalised_and_matches_score():
    """ln p_t by enumeration: ∫ p_t = 1 (N = 2, grid quadrature) and ∇ ln p_t = Tweedie score (autodiff)."""
    from statphys.models import CurieWeiss

    sm = SpinMarginal(CurieWeiss(2, 1.5))
    g = np.linspace(-6, 6, 161)
    x = jnp.asarray(np.stack(np.meshgrid(g, g), -1).reshape(-1, 2))
    p = np.exp(np.asarray(sm.marginal_log_prob(x, 0.8, 0.6))).reshape(161, 161)
    assert scipy.integrate.simpson(scipy.integrate.simpson(p, x=g), x=g) == pytest.approx(1.0, abs=1e-6)
    y = jnp.array([[0.3, -1.1], [2.0, 0.4]])
    grad = jax.vmap(jax.grad(lambda z: sm.marginal_log_prob(z[None], 0.8, 0.6)[0]))(y)
    np.testing.assert_allclose(grad, sm.marginal_score(y, 0.8, 0.6), rtol=1e-8)


def test_spin_reverse_ift_curie_weiss():
    """Generation of Curie–Weiss (exact HS score, p_t by enumeration): ⟨e^{−Σ}⟩ = 1 below and above β_c."""
    from statphys.models import CurieWeiss

    for beta in (0.8, 1.5):
        for avg in _spin_ift(CurieWeiss(5, beta), 0.3, 800, 20):
            assert avg.ess > 0.1 * avg.num
            assert abs(avg.mean - 1.0) < Z * avg.stderr


def test_spin_reverse_ift_sk():
    from statphys.models import SherringtonKirkpatrick

    for avg in _spin_ift(SherringtonKirkpatrick.random(5, 1.5, seed=0), 0.3, 800, 20):
        assert avg.ess > 0.1 * avg.num
        assert abs(avg.mean - 1.0) < Z * avg.stderr


@pytest.mark.slow
@pytest.mark.parametrize("name, n, beta", [("cw", 12, 0.8), ("cw", 12, 1.5), ("sk", 12, 1.5)])
def test_spin_reverse_ift_larger(name, n, beta):
    from statphys.models import CurieWeiss, SherringtonKirkpatrick

    target = CurieWeiss(n, beta) if name == "cw" else SherringtonKirkpatrick.random(n, beta, seed=0)
    for avg in _spin_ift(target, 0.3, 8192, 100):
        assert avg.ess > 0.02 * avg.num
        assert abs(avg.mean - 1.0) < Z * avg.stderr


def test_cond_ot_reverse_ift_log_grid():
    """cond-OT on the geometric grid: path-ratio IFT within its error bar.

    π ≈ E|x₀|²/t as t → 0 (the velocity −x₀ + ξ stays finite while D = g²/2 ≈ t), so ⟨Σ⟩ and Var Σ grow like
    E|x₀|² ln(1/t_min) and the ESS collapses for t_min → 0 on any grid (t_min = 1e-3: ESS ≈ 40 of 2000);
    t_min = 0.1 keeps ⟨Σ⟩ ≈ 1 and the ESS near 1/6 of the paths.
    """
    mix = GaussianMixture.symmetric(1.0, 0.5, 1)
    schedule = make_schedule("cond_ot", T=1.0, t_min=0.1)
    pe = reverse_entropy(jax.random.PRNGKey(6), mix, schedule, num_trajectories=2000, num_steps=50, t_max=0.8,
                         spacing="log", ito_correction=False)
    avg = exponential_average(pe.total_path)
    assert avg.ess > 0.08 * avg.num
    assert abs(avg.mean - 1.0) < Z * avg.stderr


def test_entropy_production_study_kind_runs():
    from statphys.studies.kinds import entropy_production as kind

    params = {name: default for name, (_, default) in kind.PARAMS.items()}
    params.update(n=8, num_times=6, num_samples=100, num_bootstrap=5, t_lo=0.05, t_hi=3.0)
    kind.validate(params)
    ds = kind.run(params, jax.random.PRNGKey(0))
    assert ds["entropy_production"].shape == (6,)
    assert float(ds.t_speciation) == pytest.approx(0.5 * np.log(float(ds["lambda"])))
    with pytest.raises(ValueError, match="beta"):
        kind.validate({**params, "beta": 0.5})


def test_path_ratio_from_the_kept_noise_of_a_generative_run():
    """Generation by reverse_sample (Euler–Maruyama, exact score of N(0, ¼ I₂), linear VP, t ∈ [0.05, T]) keeping
    its Info: Σ_path = ln p_{t_0}(x_0) − ln p_{t_K}(x_K) + Σ_k (ln K_k − ln K†_k), with ln K_k from the kept noise
    (reverse_run_path_ratio), obeys ⟨e^{−Σ_path}⟩ = 1 exactly at any step, and ⟨Σ_path⟩ = ∫ π dt + O(Δ):
    the Richardson combination 2⟨Σ⟩_{2K} − ⟨Σ⟩_K of K = 50, 100 steps matches the integral of the closed-form
    rate π(t) = n v̇²/(2 v g²) within its standard error (the O(Δ) bias alone is 0.31 at K = 50)."""
    from statphys.physics import ExactScore, reverse_sample

    s0, n, batch = 0.5, 2, 5_000
    target = Gaussian(jnp.zeros(n), s0**2 * jnp.eye(n))
    schedule = make_schedule("vp_linear", t_min=0.05)
    log_p = lambda t, x: target.marginal_log_prob(x, schedule.alpha(t), schedule.sigma(t))  # noqa: E731
    means, errors = [], []
    for i, num_steps in enumerate((50, 100)):
        run = reverse_sample(jax.random.PRNGKey(20 + i), ExactScore(target, schedule), schedule, num_steps=num_steps,
                             batch=batch, n=n, record_every=1, record_path=True, keep_info=True)
        times = schedule.time_grid(num_steps)
        ratio = reverse_run_path_ratio(schedule, run.path, run.info, times, run.denoised)
        sigma = np.asarray(log_p(times[0], run.path[0]) - log_p(times[-1], run.x) + ratio.sum(0))
        ift = exponential_average(sigma)
        assert abs(ift.mean - 1) < Z * ift.stderr and ift.ess > 0.1 * batch  # not carried by a few rare paths
        means.append(sigma.mean())
        errors.append(sigma.std(ddof=1) / np.sqrt(batch))
    exact = scipy.integrate.quad(lambda t: float(gaussian_entropy_production_rate(schedule, t, s0, n)),
                                 schedule.t_min, schedule.T)[0]
    assert means[0] - exact > 5 * errors[0]  # the bias the extrapolation removes is resolved
    assert abs(2 * means[1] - means[0] - exact) < Z * np.hypot(2 * errors[1], errors[0])
