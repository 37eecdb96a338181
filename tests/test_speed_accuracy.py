"""Speed–accuracy relations (Ikeda et al., arXiv 2407.04495): temperatures, actions, the bound, the maps."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from statphys.models.gaussian import Gaussian, GaussianMixture
from statphys.physics import speed_accuracy as sa
from statphys.physics import speed_accuracy_spins as sas
from statphys.physics.schedules import make_schedule


def test_temperatures_closed_form_and_package_schedules():
    tau, t = 2.0, np.array([0.1, 0.7, 1.5])
    np.testing.assert_allclose(sa.temperature("cosine", t, tau), np.pi / (2 * tau) * np.tan(np.pi * t / (2 * tau)), rtol=1e-12)
    np.testing.assert_allclose(sa.temperature("cond_ot", t, tau), t / (tau * (tau - t)), rtol=1e-12)
    # T_t = g²/2 of the package's forward SDE (cosine with offset s = 0 is Ikeda's cosine).
    for name, sched in (("cosine", make_schedule("cosine", T=tau, s=0.0)), ("cond_ot", make_schedule("cond_ot", T=tau))):
        np.testing.assert_allclose(sa.temperature(name, t, tau), 0.5 * np.asarray(sched.diffusion2(jnp.asarray(t))), rtol=1e-9)


@pytest.mark.parametrize("name", sa.INTERPOLATIONS)
def test_action_gaussian_closed_form(name):
    """∫ v₂² dt from the grid quadrature of E|ν|² equals the closed form for data N(1.5, 0.5²)."""
    target = Gaussian(jnp.array([1.5]), 0.25)
    costs = sa.schedule_costs(target, name, 2.0)
    assert costs.c2 == pytest.approx(sa.gaussian_action(name, 1.5, 0.5, 2.0), rel=1e-8)


def test_geodesic_has_least_entropy_production():
    """For fixed τ the W₂ geodesic minimises ∫ T Ṡ dt = ∫ v₂² dt; cosine/cond-OT mean parts are π²/8 : 1."""
    for mean, sd in ((1.5, 0.5), (0.0, 2.0), (-1.0, 1.3)):
        ot = sa.gaussian_action("ot", mean, sd, 1.0)
        for name in ("cosine", "cond_ot"):
            assert sa.gaussian_action(name, mean, sd, 1.0) > ot
    assert sa.gaussian_action("cosine", 1.0, 1.0, 1.0) == pytest.approx(np.pi**2 / 8, rel=1e-10)
    mean_part = sa.gaussian_action("cond_ot", 1.0, 1.0, 1.0) - sa.gaussian_action("cond_ot", 0.0, 1.0, 1.0)
    assert mean_part == pytest.approx(1.0, rel=1e-10)
    target = GaussianMixture.symmetric(1.0, 1.0, 1)
    ot = sa.schedule_costs(target, "ot", 1.0)
    for name in ("cosine", "cond_ot"):
        c = sa.schedule_costs(target, name, 1.0)
        assert c.c2 > ot.c2 and c.length > ot.length


def test_generation_map_matches_probability_flow_ode():
    target = GaussianMixture(jnp.array([0.3, 0.7]), jnp.array([[2.0], [-1.0]]), jnp.array([0.25, 0.5]))
    z = np.linspace(-3, 3, 13)
    np.testing.assert_allclose(sa.generate_pf_ode(target, z), sa.generate(target, z), atol=1e-4)
    u = np.array([1e-6, 0.2, 0.5, 0.9, 1 - 1e-6])
    w, mu, sd = np.array([0.3, 0.7]), np.array([2.0, -1.0]), np.sqrt([0.25, 0.5])
    from scipy.special import ndtr

    np.testing.assert_allclose(np.sum(w * ndtr((sa.data_quantile(target, u)[:, None] - mu) / sd), axis=-1), u, rtol=1e-10)


def test_gaussian_w1_growth_closed_form():
    """Data N(μ, s²): q̃ = N(μ + s a, s²), so W₁(q̃, data) = s|a| and ΔW₁ = (s − 1)|a|; W₂ = √(μ² + (s−1)²)."""
    target = Gaussian(jnp.array([0.7]), 2.25)
    dw1, end, start = sa.w1_error_growth(target, 1.0)
    assert end == pytest.approx(1.5, rel=1e-7) and start == pytest.approx(1.0, rel=1e-7)
    assert dw1 == pytest.approx(0.5, rel=1e-6)
    assert sa.wasserstein2_to_normal(target) == pytest.approx(np.hypot(0.7, 0.5), rel=1e-7)
    assert sa.pearson_divergence(1.0) == pytest.approx(np.e - 1)


@pytest.mark.parametrize("target", [GaussianMixture.symmetric(1.0, 1.0, 1),
                                    GaussianMixture(jnp.array([0.5, 0.5]), jnp.array([[2.0], [-2.0]]), 0.25)],
                         ids=["mu1_sigma1", "mu2_sigma0.5"])
def test_speed_accuracy_bound_holds_on_mixture(target):
    for name in sa.INTERPOLATIONS:
        for shift, scale in ((1.0, 1.0), (0.5, 1.2)):
            r = sa.speed_accuracy(target, name, 1.0, shift, scale, num_nodes=32)
            # η = c₁ on the geodesic: 1e-7 relative is the agreement of the two W₁ quadratures there
            assert 0 <= r.eta <= r.c1 * (1 + 1e-7) and r.c1 <= r.c2 * (1 + 1e-9)
            assert r.eta <= r.path_length_bound * (1 + 1e-9) and r.path_length_bound <= r.c2 * (1 + 1e-9)


@pytest.mark.parametrize("shift, scale", [(1.0, 1.0), (0.5, 1.2)])
def test_hierarchy_eta_same_for_every_schedule_and_equal_to_c1_on_geodesic(shift, scale):
    """Eqs. 81/83 with c₁ = ∫ v_loss² dt. (i) η from each schedule's own flow, ΔW₁ = −∫ ∂_t W₁ dt, equals η of
    the monotone map: every 1-D flow generates with the same map (tolerance 2e-5 relative: the W₁ grid
    quadratures agree to 5e-6 at 24 and 48 nodes). (ii) On the W₂ geodesic ∂_t W₁ is constant, so η = c₁
    (Cauchy–Schwarz equality; 1e-7 relative), while the path-length bound (∫ v₂ dt)²/τ = W₂²/τ is ≥ 3η here.
    (iii) Cosine and cond-OT: η < c₁ < c₂ by margins far above the quadrature error."""
    target = GaussianMixture(jnp.array([0.3, 0.7]), jnp.array([[2.0], [-1.0]]), jnp.array([0.25, 0.5]))
    rows = {name: sa.speed_accuracy(target, name, 1.0, shift, scale, num_nodes=24) for name in sa.INTERPOLATIONS}
    eta = rows["ot"].eta
    for name, r in rows.items():
        assert r.eta == pytest.approx(eta, rel=1e-12)
        assert r.eta_flow == pytest.approx(eta, rel=2e-5)
    assert rows["ot"].c1 == pytest.approx(eta, rel=1e-7)
    assert rows["ot"].path_length_bound > 3 * eta
    for name in ("cosine", "cond_ot"):
        r = rows[name]
        assert 1.2 * r.eta < r.c1 < 0.5 * r.c2


@pytest.mark.parametrize("name", ["cosine", "cond_ot"])
def test_c1_is_time_integral_of_squared_w1_rate(name):
    """c₁ = ∫ (∂_t W₁)²/D₀ dt against an independent estimate: W₁(t) = ∫ |F̃_t − F_t| dx on a t grid, centred
    differences, Simpson, at 41 and 81 points, Richardson-extrapolated (O(h²) error: the two differ by 2e-4,
    the extrapolation agrees to 1e-5; tolerance 1e-4 relative). Fails for the path-length bound (∫ v₂ dt)²/τ."""
    import scipy.integrate

    target = GaussianMixture.symmetric(1.0, 1.0, 1)
    c1 = sa.loss_integrals(target, name, 1.0, 1.0, 1.0, num_nodes=32).c1
    estimates = []
    for k in (41, 81):
        ts = np.linspace(0.0, 1.0, k)
        ts[0], ts[-1] = 1e-9, 1 - 1e-9
        w1 = np.array([sa.instantaneous_rates(target, name, float(t), 1.0, 1.0, 1.0).w1 for t in ts])
        rate = np.gradient(w1, ts, edge_order=2)
        estimates.append(scipy.integrate.simpson(rate**2, x=ts) / sa.pearson_divergence(1.0))
    assert (4 * estimates[1] - estimates[0]) / 3 == pytest.approx(c1, rel=1e-4)
    assert abs(sa.schedule_costs(target, name, 1.0, num_nodes=32).path_length_bound - c1) > 0.05 * c1


def test_w1_empirical_to_normal_mixture_is_exact():
    """Against ∫ |F_n − F| dz on a grid of step 2e-5 (error ≲ step × number of jumps of F_n ≈ 1e-5 at n = 500)."""
    import scipy.special

    rng = np.random.default_rng(0)
    mu, w = np.array([-3.0, 0.0, 2.5]), np.array([0.2, 0.5, 0.3])
    zs = np.linspace(-20, 20, 2_000_001)
    f = np.sum(w * scipy.special.ndtr(zs[:, None] - mu), axis=-1)
    for n in (1, 7, 500):
        x = rng.normal(0.7, 1.3, n)
        ref = np.trapezoid(np.abs(np.searchsorted(np.sort(x), zs, side="right") / n - f), zs)
        assert sas.w1_empirical_to_normal_mixture(x, mu, w) == pytest.approx(ref, abs=2e-5)


def test_sample_w1_growth_matches_quadrature():
    target = GaussianMixture(jnp.array([0.5, 0.5]), jnp.array([[2.0], [-2.0]]), 0.25)
    dw1, err = sa.w1_error_growth_samples(jax.random.PRNGKey(0), target, 1.0, 1.0, 20000)
    assert abs(dw1 - sa.w1_error_growth(target, 1.0)[0]) < err


def test_bad_input():
    target = GaussianMixture.symmetric(1.0, 1.0, 1)
    with pytest.raises(ValueError, match="schedule"):
        sa.schedule_costs(target, "linear", 1.0)
    with pytest.raises(ValueError, match="tau"):
        sa.schedule_costs(target, "cosine", -1.0)
    with pytest.raises(ValueError, match="scale"):
        sa.pearson_divergence(1.0, 1.5)
    with pytest.raises(ValueError, match="1-D"):
        sa.schedule_costs(GaussianMixture.symmetric(1.0, 1.0, 2), "ot", 1.0)


@pytest.mark.slow  # `statphys reproduce` in CI runs every kind; the Curie–Weiss kind test stays
def test_speed_accuracy_study_kind_runs(tmp_path):
    from statphys.studies.kinds import speed_accuracy as kind

    params = {name: default for name, (_, default) in kind.PARAMS.items()}
    params.update(num_samples=2000, num_nodes=16, num_times=8)
    kind.validate(params)
    ds = kind.run(params, jax.random.PRNGKey(0))
    assert np.all(ds.eta <= ds.c1 * (1 + 1e-9)) and np.all(ds.c1 <= ds.c2 * (1 + 1e-9))
    assert ds.v_loss_sq.dims == ("schedule", "time") and np.all(ds.v_loss_sq <= ds.v2_sq * (1 + 1e-6))
    assert abs(float(ds.delta_w1_samples) - float(ds.delta_w1)) < float(ds.delta_w1_samples_err)
    np.testing.assert_allclose(ds.eta_flow, ds.eta, rtol=2e-5)
    from statphys.paper import plots

    assert all(path.stat().st_size > 1000 for path in plots.draw("speed_accuracy", ds, tmp_path / "mixture"))
    with pytest.raises(ValueError, match="schedules"):
        kind.validate({**params, "schedules": ["linear"]})


@pytest.mark.parametrize("name", sa.INTERPOLATIONS)
def test_instantaneous_form_holds_pointwise(name):
    """Eq. 80 (our form): v_loss(t)² = (dW₁(P̃_t, P_t)/dt)²/D₀ ≤ v₂(t)² at every t; χ²(P̃_t ‖ P_t) = D₀."""
    target = GaussianMixture(jnp.array([0.5, 0.5]), jnp.array([[2.0], [-2.0]]), 0.25)
    for shift, scale in ((1.0, 1.0), (0.5, 1.2)):
        c = sa.instantaneous_curves(target, name, 1.0, shift, scale, num_times=12)
        d0 = sa.pearson_divergence(shift, scale)
        np.testing.assert_allclose(c["chi2"], d0, rtol=1e-5)
        assert np.all(c["v_loss_sq"] <= c["v2_sq"] * (1 + 1e-6))
        assert np.max(c["v_loss_sq"]) > 0


@pytest.mark.parametrize("name", sa.INTERPOLATIONS)
def test_instantaneous_rate_is_derivative_of_w1(name):
    """dW₁/dt from the continuity equation equals the finite difference of W₁(t) = ∫ |F̃_t − F_t| dx, and the
    end points of W₁(t) give ΔW₁ (generation runs t = τ → 0)."""
    target = GaussianMixture.symmetric(1.0, 1.0, 1)
    for t in (0.25, 0.7):
        h = 1e-4
        up, dn = (sa.instantaneous_rates(target, name, t + e, 1.0, 1.0) for e in (h, -h))
        assert sa.instantaneous_rates(target, name, t, 1.0, 1.0).rate == pytest.approx((up.w1 - dn.w1) / (2 * h), abs=1e-5)
    ends = [sa.instantaneous_rates(target, name, t, 1.0, 1.0).w1 for t in (1e-6, 1 - 1e-6)]
    assert ends[0] - ends[1] == pytest.approx(sa.w1_error_growth(target, 1.0)[0], abs=2e-3)


def test_curie_weiss_speed_accuracy_small_n():
    """N = 8, β = 1.2: exact-score PF ODE; η ≤ c₁ ≤ c₂ and v_loss(t)² ≤ v₂(t)² within 3 standard errors; the true
    start reproduces the data law; the W₁^π(t) curve ends at W₁(π#q̃, π#p_data)."""
    from statphys.models.curie_weiss import CurieWeiss

    r = sas.curie_weiss_speed_accuracy(jax.random.PRNGKey(0), CurieWeiss(8, 1.2), 1.0, 1.0,
                                      num_traj=800, num_steps=60)
    assert r.d0 == pytest.approx(np.e - 1)
    assert r.w1_true_start < 2 * r.delta_w1_err  # generation from the true start matches P(√N m)
    end = r.delta_w1 + sas.normal_w1(1.0)
    for k in range(2):
        assert r.eta - 3 * r.eta_err < r.c1[k] and r.c1[k] + 3 * r.c1_err[k] < r.c2[k] - 3 * r.c2_err[k]
        assert 0 < r.c1_err[k] < 0.2 * r.c1[k]
        assert np.all(r.v_loss_sq[k] <= r.v2_sq[k] + 3 * (r.v_loss_sq_err[k] + r.v2_sq_err[k]))
        assert r.w1[k, -1] == pytest.approx(end, abs=0.01)


@pytest.mark.slow
def test_curie_weiss_c1_matches_one_spin_quadrature():
    """N = 1, β = 0: one ±1 spin is the 1-D mixture ½N(1, s²) + ½N(−1, s²) with s → 0, where c₁ is exact quadrature.
    Monte Carlo c₁ within 3 standard errors plus 0.01 (the change of the quadrature between s = 10⁻² and 10⁻³)."""
    from statphys.models.curie_weiss import CurieWeiss

    r = sas.curie_weiss_speed_accuracy(jax.random.PRNGKey(2), CurieWeiss(1, 0.0), 1.0, 1.0,
                                      num_traj=1000, num_steps=40)
    target = GaussianMixture.symmetric(1.0, 1e-3, 1)
    for k, name in enumerate(sas.CW_INTERPOLATIONS):
        exact = sa.loss_integrals(target, name, 1.0, 1.0, 1.0, num_nodes=48, num_points=40001).c1
        assert abs(r.c1[k] - exact) < 3 * r.c1_err[k] + 0.01


def test_curie_weiss_action_matches_independent_spins():
    """β = 0: N independent ±1 spins, ∫ v₂² dt = N × the 1-D two-point value (mixture with variance → 0)."""
    from statphys.models.curie_weiss import CurieWeiss

    r = sas.curie_weiss_speed_accuracy(jax.random.PRNGKey(1), CurieWeiss(4, 0.0), 1.0, 1.0,
                                      num_traj=800, num_steps=60)
    target = GaussianMixture.symmetric(1.0, 1e-4, 1)
    nodes, weights = np.polynomial.legendre.leggauss(48)
    for k, name in enumerate(sas.CW_INTERPOLATIONS):
        ref = 4 * np.dot(0.5 * weights, [sa.speed_squared(target, name, 0.5 * (x + 1), 1.0, num_points=40001)
                                         for x in nodes])
        assert abs(r.c2[k] - ref) < 3 * r.c2_err[k] + 0.01 * ref


def test_speed_accuracy_study_kind_curie_weiss(tmp_path):
    from statphys.studies.kinds import speed_accuracy as kind

    params = {name: default for name, (_, default) in kind.PARAMS.items()}
    params.update(target="curie_weiss", num_traj=400, num_steps=40)
    kind.validate(params)
    ds = kind.run(params, jax.random.PRNGKey(0))
    assert list(ds.schedule.values) == ["cosine", "cond_ot"]
    from statphys.paper import plots

    assert np.all(ds.eta < ds.c2) and "±" in plots.summary("speed_accuracy", ds)
    assert ds.v_loss_sq.dims == ("schedule", "step") and np.all(np.isfinite(ds.v_loss_sq)) and np.all(ds.c1_err > 0)
    assert all(path.stat().st_size > 1000 for path in plots.draw("speed_accuracy", ds, tmp_path / "curie_weiss"))
    with pytest.raises(ValueError, match="target"):
        kind.validate({**params, "target": "sk"})
