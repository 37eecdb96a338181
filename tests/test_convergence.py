"""Convergence rates of every sampler with the exact score (closed form on Gaussians), TV on Curie–Weiss."""

import itertools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from statphys.models.curie_weiss import CurieWeiss
from statphys.models.gaussian import Gaussian
from statphys.physics.convergence import (
    ORDER,
    curie_weiss_tv,
    fit_rate,
    gaussian_error,
    gaussian_errors,
    gaussian_kl,
    local_slope,
    propagate_continuous,
    propagate_continuous_many,
    propagate_discrete,
    propagate_discrete_many,
    step_size,
    tv_floor,
)
from statphys.physics.discrete import DISCRETE_SAMPLERS, LiExactScore, discrete_sample, li_schedule
from statphys.physics.samplers import SAMPLERS
from statphys.physics.schedules import make_schedule
from statphys.physics.trajectory import reverse_sample
from statphys.physics.scores import ExactScore

TARGET = Gaussian(jnp.array([1.0, -0.5]), jnp.array([[0.3, 0.1], [0.1, 2.0]]))
OU = make_schedule("ou", T=5.0, t_min=1e-2)


def test_gaussian_kl_closed_form():
    assert gaussian_kl(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2)) == pytest.approx(0.0, abs=1e-14)
    # 1-D: KL(N(0,1) ‖ N(1,4)) = ln 2 + (1 + 1)/8 − ½
    assert gaussian_kl([0.0], [[1.0]], [1.0], [[4.0]]) == pytest.approx(math.log(2) + 2 / 8 - 0.5, rel=1e-12)


@pytest.mark.parametrize("delta", [1e-3, 1e-5, 1e-7])
def test_gaussian_kl_keeps_its_precision_for_nearby_laws(delta):
    """KL(N(0, 1+δ) ‖ N(0, 1)) = ½(δ − ln(1+δ)) = δ²/4 − δ³/6 + …: tr − n + ln det loses it to cancellation."""
    exact = 0.5 * sum((-delta) ** k / k for k in range(2, 9))  # ½ Σ_{k≥2} (−δ)^k / k
    assert gaussian_kl([0.0], [[1 + delta]], [0.0], [[1.0]]) == pytest.approx(exact, rel=1e-9)
    rot = np.array([[0.8, -0.6], [0.6, 0.8]])  # the same in 2-D after a rotation and with a second direction
    c2 = rot @ np.diag([0.3, 2.0]) @ rot.T
    c1 = rot @ np.diag([0.3 * (1 + delta), 2.0]) @ rot.T
    assert gaussian_kl(np.zeros(2), c1, np.zeros(2), c2) == pytest.approx(exact, rel=1e-7)


def test_local_slope_of_power_laws_with_logs():
    """Secant slopes of x^{-p} lnᵏx at the geometric midpoints: −p + k/ln x; exact for a pure power law."""
    x = np.geomspace(20, 20480, 11)
    mid, slope = local_slope(x, 3 * x**-1.5)
    np.testing.assert_allclose(mid, np.sqrt(x[1:] * x[:-1]), rtol=1e-12)
    np.testing.assert_allclose(slope, -1.5, rtol=1e-12)
    y = np.log(mid)
    _, slope = local_slope(x, x**-2.0 * np.log(x) ** 2)
    # secant of F(y) = −2y + 2 ln y over Δ = ln 2 around y: F'(y) + Δ² F'''(y)/24 + O(Δ⁴), F''' = 4/y³
    tolerance = 1.2 * np.log(2) ** 2 * 4 / (24 * y**3)
    assert np.all(np.abs(slope - (-2 + 2 / y)) < tolerance)
    with pytest.raises(ValueError):
        local_slope(x, -x)


def test_fit_rate_recovers_a_known_exponent():
    rng = np.random.default_rng(0)
    T = np.array([10, 20, 40, 80, 160, 320])
    err = 3.0 * T**-1.5 * (1 + 0.05 * rng.standard_normal(T.size))
    fit = fit_rate(T, err, 0.05 * err)
    assert abs(fit.rate - 1.5) < 4 * fit.rate_err
    assert fit.rate_err < 0.1
    with pytest.raises(ValueError):
        fit_rate([1, 2], [1.0, 0.5])
    with pytest.raises(ValueError):
        fit_rate([1, 2, 3], [1.0, 0.0, 0.5])


def _check_propagated_laws(runs, num):
    """runs: sampler -> (samples (num,), (m, c) propagated in the program of every sampler, (m, c) propagated alone).
    The two propagations agree to rounding and with the samples' mean and variance (4 errors); the laws of samplers
    that share a program differ pairwise by more than 8 errors, so that a wrong branch would put the samples more
    than 4 errors off its law."""
    laws = {}
    for sampler, (x, (m, c), (m_alone, c_alone)) in runs.items():
        np.testing.assert_allclose([m_alone[0], c_alone[0, 0]], [m[0], c[0, 0]], rtol=1e-12, atol=0)
        m, v = float(m[0]), float(c[0, 0])
        assert abs(x.mean() - m) < 4 * math.sqrt(v / num), sampler
        assert abs(x.var() - v) < 4 * v * math.sqrt(2 / num), sampler
        laws[sampler] = (m, v)
    for a, b in itertools.combinations(laws, 2):
        (m_a, v_a), (m_b, v_b) = laws[a], laws[b]
        assert max(abs(m_a - m_b) / math.sqrt(v_a / num), abs(v_a - v_b) / (v_a * math.sqrt(2 / num))) > 8, (a, b)


def test_propagation_matches_monte_carlo_for_continuous_samplers():
    """The exact affine propagation agrees with sample moments of reverse_sample (independent route) at 8 steps, for
    every continuous sampler, compiled alone and in the program of every sampler (every_sampler=True: a traced
    index picks the propagation; `_check_propagated_laws`)."""
    target = Gaussian(jnp.array([1.5]), jnp.array([[0.2]]))
    num = 40_000
    runs = {}
    for sampler in SAMPLERS:
        x = np.asarray(reverse_sample(jax.random.PRNGKey(3), ExactScore(target, OU), OU, num_steps=8, batch=num, n=1,
                                      sampler=sampler).x)[:, 0]
        [shared], _ = propagate_continuous_many(target, OU, sampler, [8], init="prior", every_sampler=True)
        runs[sampler] = (x, shared, propagate_continuous(target, OU, sampler, 8, init="prior")[0])
    _check_propagated_laws(runs, num)


def test_propagation_matches_monte_carlo_for_discrete_samplers():
    """The same for Li et al.'s samplers against discrete_sample from Y_K ~ N(0, I) at K = 12, each family of samplers
    that share a program apart (li_ddpm_acc, the one drawing two noises per step, is compiled alone)."""
    target = Gaussian(jnp.array([1.5]), jnp.array([[0.2]]))
    schedule, num = li_schedule(12), 40_000
    x_init = jax.random.normal(jax.random.PRNGKey(4), (num, 1))
    for family in (("li_ode", "li_ddpm", "li_ddim", "li_ddim_acc"), ("li_ddpm_acc",)):
        runs = {}
        for sampler in family:
            x = np.asarray(discrete_sample(jax.random.PRNGKey(3), LiExactScore(target, schedule), schedule, x_init,
                                           sampler))[:, 0]
            [(shared, _)] = propagate_discrete_many(target, sampler, [12], init="prior", every_sampler=True)
            runs[sampler] = (x, shared, propagate_discrete(target, schedule, sampler, init="prior")[0])
        _check_propagated_laws(runs, num)
    assert sorted(DISCRETE_SAMPLERS) == sorted(("li_ode", "li_ddpm", "li_ddim", "li_ddim_acc", "li_ddpm_acc"))


# The errors are deterministic: the order q of a scheme is read from the secant slope Δ ln √KL / Δ ln h between
# the two largest numbers of steps, with h the step size (uniform grid: (T − t_min)/N; Li et al.'s schedule:
# c₁ ln T / T). Their corrections fall like h or 1/ln T (measured at N, T ≤ 1e4 by the study): 0.03 covers
# them at T = 1280–2560, and the slope must move towards q as the steps shrink.
@pytest.mark.parametrize("sampler", ["pf_euler", "euler_maruyama", "pf_heun", "li_ddim", "li_ddim_acc", "li_ddpm",
                                     "li_ddpm_acc"])
def test_local_order_matches_the_scheme(sampler):
    steps = [640, 1280, 2560]
    err = np.sqrt(gaussian_errors(TARGET, sampler, steps, schedule=OU))
    _, order = local_slope(step_size(sampler, steps, diffusion_time=OU.T, t_min=OU.t_min), err)
    assert abs(order[-1] - ORDER[sampler]) < 0.03, order
    assert abs(order[-1] - ORDER[sampler]) <= abs(order[0] - ORDER[sampler]) + 1e-3, order


def test_accelerated_ddim_beats_ddim_on_the_same_schedule():
    """2403.03852: the correction turns DDIM's (ln T/T) error into (ln T/T)²; at T = 640 it is far smaller
    (measured ratio 63; the orders themselves are checked above)."""
    ddim, acc = (np.sqrt(gaussian_errors(TARGET, s, [640])) for s in ("li_ddim", "li_ddim_acc"))
    assert acc[0] < ddim[0] / 30, (ddim, acc)


def test_bad_input():
    with pytest.raises(ValueError, match="unknown sampler"):
        gaussian_error(TARGET, "rk4", 10, schedule=OU)
    with pytest.raises(ValueError, match="schedule"):
        gaussian_error(TARGET, "ddim", 10)
    with pytest.raises(ValueError):
        gaussian_error(TARGET, "li_ode", 0)
    with pytest.raises(ValueError):
        gaussian_error(TARGET, "pf_euler", -3, schedule=OU)
    with pytest.raises(ValueError, match="init"):
        gaussian_error(TARGET, "pf_euler", 10, schedule=OU, init="uniform")


def test_curie_weiss_tv_reaches_the_floor_and_detects_coarse_steps():
    target = CurieWeiss(8, 1.2)
    batch = 4000
    law = target.magnetization_law()
    floor, floor_sd = tv_floor(law, batch)
    fine = curie_weiss_tv(jax.random.PRNGKey(0), target, "ddpm", 40, batch, schedule=OU)
    coarse = curie_weiss_tv(jax.random.PRNGKey(0), target, "pf_euler", 2, batch, schedule=OU)
    assert fine < floor + 4 * floor_sd
    assert coarse > floor + 10 * floor_sd


def test_prior_kl_closed_form_and_quadrature_agree():
    """A one-component mixture is a Gaussian: quadrature = closed form; for OU, KL falls like e^{−2T}."""
    from statphys.models.gaussian import GaussianMixture
    from statphys.physics.diffusion_time import best_time, prior_kl

    gauss = Gaussian(jnp.array([1.2]), jnp.array([[0.3]]))
    mix = GaussianMixture(jnp.array([1.0]), jnp.array([[1.2]]), jnp.array([0.3]))
    for T in (0.5, 1.0, 2.0):
        sched = make_schedule("ou", T=T)
        assert prior_kl(mix, sched) == pytest.approx(prior_kl(gauss, sched), rel=1e-8)
        v = float(sched.sigma2(T))  # the samplers' prior N(0, σ_T²)
        assert prior_kl(mix, sched, prior_variance=v) == pytest.approx(prior_kl(gauss, sched, prior_variance=v), rel=1e-8)
    kl = [prior_kl(gauss, make_schedule("ou", T=T)) for T in (3.0, 4.0)]
    assert kl[0] / kl[1] == pytest.approx(math.exp(2.0), rel=0.05)
    assert best_time([1.0, 2.0, 3.0], [0.3, 0.1, 0.2]) == 2.0


def test_franzese_vp_truncates_a_fixed_beta_and_matches_ou_through_abar():
    """Franzese et al.'s β(t) = β₀ + (β₁ − β₀)t does not depend on T (make_schedule("vp_linear", T) rescales it);
    ᾱ(T) = exp(−β₀T − ½(β₁ − β₀)T²); at equal ᾱ(T) OU and VP have the same prior KL."""
    from statphys.physics.diffusion_time import franzese_vp, prior_kl, time_for_abar, vp_schedule_for_abar

    short, long = franzese_vp(0.5), franzese_vp(1.0)
    for t in (0.1, 0.3, 0.45):
        assert float(short.alpha(t)) == pytest.approx(float(long.alpha(t)), rel=1e-12)
        assert float(short.diffusion2(t)) == pytest.approx(0.1 + 19.9 * t, rel=1e-10)
    assert abs(float(make_schedule("vp_linear", T=0.5).alpha(0.3)) - float(long.alpha(0.3))) > 0.1
    assert float(franzese_vp(0.7).alpha(0.7)) ** 2 == pytest.approx(math.exp(-0.07 - 0.5 * 19.9 * 0.49), rel=1e-12)
    gauss = Gaussian(jnp.array([1.2]), jnp.array([[0.3]]))
    for abar in (0.5, 0.02, 1e-4):
        assert float(franzese_vp(time_for_abar("vp_linear", abar)).alpha(time_for_abar("vp_linear", abar))) ** 2 == \
            pytest.approx(abar, rel=1e-10)
        ou, vp = (vp_schedule_for_abar(name, abar, math.exp(-0.02)) for name in ("ou", "vp_linear"))
        assert float(ou.alpha(ou.t_min)) == pytest.approx(float(vp.alpha(vp.t_min)), rel=1e-12)
        # OU as the VP schedule with β ≡ 2: the OU schedule's coefficients bit for bit, the pytree class of vp
        plain, grid = make_schedule("ou", T=ou.T, t_min=ou.t_min), jnp.geomspace(1e-4, ou.T, 301)
        coefficients = jax.jit(lambda s, t: (s.alpha(t), s.sigma(t), s.sigma2(t), s.drift(t), s.diffusion2(t)))
        for built, closed in zip(coefficients(ou, grid), coefficients(plain, grid)):
            np.testing.assert_array_equal(np.asarray(built), np.asarray(closed))
        assert jax.tree_util.tree_structure(ou) == jax.tree_util.tree_structure(vp)
        kl = [prior_kl(gauss, s, prior_variance=float(s.sigma2(s.T))) for s in (ou, vp)]
        assert kl[0] == pytest.approx(kl[1], rel=1e-10)
    with pytest.raises(ValueError, match="schedule"):
        time_for_abar("cosine", 0.5)


def test_score_term_against_closed_form_and_equal_at_equal_abar():
    """G = ½∫g² E_{p_t}|s' − ∇ln p_t|² dt for Gaussian data N(1, 0.3) and the score s' of N(0.6, 0.8), closed form
    E = a²(c + α²) + 2abα + b² (a = 1/c − 1/c', b = α(0.6/c' − 1/c), c = 0.3α² + σ², c' = 0.8α² + σ²):
    Monte Carlo within 4 standard errors of the trapezoid rule on its own grid, that grid within 0.5 % of a
    20001-point quadrature, and the quadrature the same for OU and linear VP at equal ᾱ(T), ᾱ(t_min)
    (g² dt = −d ln ᾱ)."""
    from statphys.physics.diffusion_time import score_term, vp_schedule_for_abar

    target, wrong = Gaussian(jnp.array([1.0]), jnp.array([[0.3]])), Gaussian(jnp.array([0.6]), jnp.array([[0.8]]))

    def integrand(s, t):
        alpha, sig2 = s.alpha(t), s.sigma2(t)
        c, cw = 0.3 * alpha**2 + sig2, 0.8 * alpha**2 + sig2
        a, b = 1 / c - 1 / cw, alpha * (0.6 / cw - 1.0 / c)
        return 0.5 * s.diffusion2(t) * (a**2 * (c + alpha**2) + 2 * a * b * alpha + b**2)

    quads = []
    for name in ("ou", "vp_linear"):
        s = vp_schedule_for_abar(name, math.exp(-3.0), math.exp(-0.02))
        G, err = score_term(jax.random.PRNGKey(0), ExactScore(wrong, s), target, s, num_times=48, num=4096)
        grid, fine = jnp.geomspace(s.t_min, s.T, 48), jnp.geomspace(s.t_min, s.T, 20001)
        trap = np.trapezoid(np.asarray(integrand(s, grid)), np.asarray(grid))
        quads.append(np.trapezoid(np.asarray(integrand(s, fine)), np.asarray(fine)))
        assert abs(G - trap) < 4 * err, (name, G, trap, err)
        assert abs(trap - quads[-1]) < 0.005 * quads[-1]
    assert quads[0] == pytest.approx(quads[1], rel=1e-8)
    G0, err0 = score_term(jax.random.PRNGKey(0), ExactScore(target, s), target, s, num_times=8, num=256)
    assert G0 == pytest.approx(0.0, abs=1e-12) and err0 == pytest.approx(0.0, abs=1e-12)


@pytest.mark.slow
def test_diffusion_time_kind_runs_on_tiny_params(tmp_path):
    """The study kind on a tiny grid for both schedules: a network per T, finite values, equal prior KL at equal
    ᾱ(T), the figure drawn from the combined dataset."""
    from statphys.paper import plots
    from statphys.studies.kinds import diffusion_time

    base = {name: default for name, (_, default) in diffusion_time.PARAMS.items()}
    tiny = {"diffusion_time": [0.25, 1.0, 4.0], "train_steps": 30, "hidden": 8, "seeds": 2, "num_times": 6,
            "score_samples": 128}
    ds = xr.combine_by_coords([diffusion_time.run({**base, **tiny, "schedule": name}, jax.random.PRNGKey(0))
                               .expand_dims(schedule=[name]) for name in ("ou", "vp_linear")])
    assert not any(np.isnan(ds[v].values).any() for v in ds.data_vars)
    np.testing.assert_allclose(ds.prior_kl_gaussian.sel(schedule="ou"), ds.prior_kl_gaussian.sel(schedule="vp_linear"),
                               rtol=1e-8)
    prior = ds.prior_kl_gaussian.sel(schedule="ou").values
    assert prior[0] > prior[1] > prior[2]
    np.testing.assert_allclose(ds.diffusion_T.sel(schedule="ou"), [0.25, 1.0, 4.0])
    # T = 0.25: prior mismatch; T = 4 at 20 steps: discretisation
    assert float(ds.best_T_exact.sel(schedule="ou")) == 1.0
    ds.attrs["config"] = '{"mu": 1.5, "seeds": 2, "num_steps": 20}'
    written = plots.draw("diffusion_time", ds, tmp_path / "dt")
    assert all(path.exists() for path in written)


@pytest.mark.slow
def test_study_kinds_run_on_tiny_params(tmp_path):
    from statphys.studies.kinds import sampler_convergence

    base = {name: default for name, (_, default) in sampler_convergence.PARAMS.items()}
    ds_cw = sampler_convergence.run({**base, "sampler": "ddpm", "num_steps": [2, 4, 8], "target": "curie_weiss",
                                     "batch": 500, "seeds": 2}, jax.random.PRNGKey(0))
    assert np.all(np.isfinite(ds_cw.error.values)) and np.all(ds_cw.error_sd.values > 0)
    from statphys.paper import plots

    plots.draw("sampler_convergence", ds_cw, tmp_path / "conv_cw")
    with pytest.raises(ValueError, match="unknown sampler"):
        sampler_convergence.run({**base, "sampler": "rk4"}, jax.random.PRNGKey(0))
    assert (tmp_path / "conv_cw.png").exists()


@pytest.mark.slow
def test_sampler_convergence_study_and_figure(tmp_path):
    """The study kind on a short grid: exact errors, local exponents, no NaN; the figure is drawn from the dataset."""
    from statphys.paper import plots
    from statphys.studies.kinds import sampler_convergence

    base = {name: default for name, (_, default) in sampler_convergence.PARAMS.items()}
    parts = [sampler_convergence.run({**base, "sampler": s, "num_steps": [40, 80, 160]}, jax.random.PRNGKey(0))
             for s in ("pf_heun", "li_ddim_acc")]
    ds = xr.concat(parts, dim="sampler")
    assert not any(np.isnan(ds[v].values).any() for v in ("error", "decay_exponent", "order"))
    assert float(ds.bound_exponent.sel(sampler="li_ddim_acc")) == 2.0
    assert np.isnan(float(ds.bound_exponent.sel(sampler="pf_heun")))  # no published bound: not drawn as one
    h = step_size("pf_heun", [40, 80, 160], diffusion_time=base["diffusion_time"], t_min=base["t_min"])
    np.testing.assert_allclose(ds.order.sel(sampler="pf_heun"), local_slope(h, ds.error.sel(sampler="pf_heun"))[1])
    np.testing.assert_allclose(ds.num_steps_mid, [np.sqrt(40 * 80), np.sqrt(80 * 160)])
    written = plots.draw("sampler_convergence", ds, tmp_path / "conv")
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    with pytest.raises(ValueError, match="num_steps"):
        sampler_convergence.run({**base, "sampler": "pf_heun", "num_steps": [40, 80]}, jax.random.PRNGKey(0))
