"""Speed–accuracy relations (Ikeda et al., arXiv 2407.04495): temperatures, actions, the bound, the maps."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models.gaussian import Gaussian, GaussianMixture
from physics import speed_accuracy as sa
from physics.schedules import make_schedule


def test_temperatures_closed_form_and_package_schedules():
    tau, t = 2.0, np.array([0.1, 0.7, 1.5])
    np.testing.assert_allclose(sa.temperature("cosine", t, tau), np.pi / (2 * tau) * np.tan(np.pi * t / (2 * tau)), rtol=1e-12)
    np.testing.assert_allclose(sa.temperature("cond_ot", t, tau), t / (tau * (tau - t)), rtol=1e-12)
    # T_t = g²/2 of the package's forward SDE (cosine with offset s = 0 is Ikeda's cosine).
    for name, sched in (("cosine", make_schedule("cosine", T=tau, s=0.0)), ("cond_ot", make_schedule("cond_ot", T=tau))):
        np.testing.assert_allclose(sa.temperature(name, t, tau), 0.5 * np.asarray(sched.diffusion2(jnp.asarray(t))), rtol=1e-9)


@pytest.mark.parametrize("name", sa.SCHEDULES)
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
    for name in sa.SCHEDULES:
        for shift, scale in ((1.0, 1.0), (0.5, 1.2)):
            r = sa.speed_accuracy(target, name, 1.0, shift, scale, num_nodes=32)
            assert 0 <= r.eta <= r.c1 * (1 + 1e-9) and r.c1 <= r.c2 * (1 + 1e-9)


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


def test_speed_accuracy_study_kind_runs():
    from studies.kinds import speed_accuracy as kind

    params = {name: default for name, (_, default) in kind.PARAMS.items()}
    params.update(num_samples=2000, num_nodes=16)
    kind.validate(params)
    ds = kind.run(params, jax.random.PRNGKey(0))
    assert np.all(ds.eta <= ds.c1 * (1 + 1e-9)) and np.all(ds.c1 <= ds.c2 * (1 + 1e-9))
    assert abs(float(ds.delta_w1_samples) - float(ds.delta_w1)) < float(ds.delta_w1_samples_err)
    with pytest.raises(ValueError, match="schedules"):
        kind.validate({**params, "schedules": ["linear"]})
