"""Convergence rates of every sampler with the exact score (closed form on Gaussians), TV on Curie–Weiss."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import xarray as xr

from models.curie_weiss import CurieWeiss
from models.gaussian import Gaussian
from physics.convergence import (
    curie_weiss_tv,
    fit_rate,
    gaussian_error,
    gaussian_kl,
    propagate_continuous,
    tv_floor,
)
from physics.schedules import make_schedule
from physics.trajectory import reverse_sample
from physics.scores import ExactScore

TARGET = Gaussian(jnp.array([1.0, -0.5]), jnp.array([[0.3, 0.1], [0.1, 2.0]]))
OU = make_schedule("ou", T=5.0, t_min=1e-2)


def test_gaussian_kl_closed_form():
    assert gaussian_kl(np.zeros(2), np.eye(2), np.zeros(2), np.eye(2)) == pytest.approx(0.0, abs=1e-14)
    # 1-D: KL(N(0,1) ‖ N(1,4)) = ln 2 + (1 + 1)/8 − ½
    assert gaussian_kl([0.0], [[1.0]], [1.0], [[4.0]]) == pytest.approx(math.log(2) + 2 / 8 - 0.5, rel=1e-12)


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


def test_propagation_matches_monte_carlo_for_continuous_samplers():
    """The exact affine propagation agrees with sample moments of reverse_sample (independent route)."""
    target = Gaussian(jnp.array([1.5]), jnp.array([[0.2]]))
    num = 40_000
    for sampler in ("ddpm", "pf_heun"):
        x = np.asarray(reverse_sample(jax.random.PRNGKey(3), ExactScore(target, OU), OU, num_steps=8, batch=num, n=1,
                                      sampler=sampler).x)[:, 0]
        (m, c), _ = propagate_continuous(target, OU, sampler, 8, init="prior")
        m, v = float(m[0]), float(c[0, 0])
        assert abs(x.mean() - m) < 4 * math.sqrt(v / num)
        assert abs(x.var() - v) < 4 * v * math.sqrt(2 / num)


# √KL ∝ TV for nearby Gaussians: the exponents below are TV exponents. Discrete samplers run on the
# schedule of Li et al., whose step is ≈ c₁ ln T/T, so their error is a power of T/ln T.
@pytest.mark.parametrize(
    "sampler, steps, theory",
    [
        ("pf_euler", [20, 40, 80, 160], 1.0),
        ("euler_maruyama", [20, 40, 80, 160], 1.0),
        ("pf_heun", [20, 40, 80, 160], 2.0),
        ("li_ode", [80, 160, 320, 640], 1.0),
        ("li_ddpm_acc", [80, 160, 320, 640], 1.0),
        ("li_ddim_acc", [80, 160, 320, 640], 2.0),
    ],
)
def test_rate_within_0p3_of_theory(sampler, steps, theory):
    steps = np.array(steps)
    err = np.sqrt([gaussian_error(TARGET, sampler, int(N), schedule=OU) for N in steps])
    x = steps / np.log(steps) if sampler.startswith("li_") else steps
    fit = fit_rate(x, err)
    assert abs(fit.rate - theory) < 0.3, fit


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
    from models.gaussian import GaussianMixture
    from physics.diffusion_time import best_time, prior_kl

    gauss = Gaussian(jnp.array([1.2]), jnp.array([[0.3]]))
    mix = GaussianMixture(jnp.array([1.0]), jnp.array([[1.2]]), jnp.array([0.3]))
    for T in (0.5, 1.0, 2.0):
        sched = make_schedule("ou", T=T)
        assert prior_kl(mix, sched) == pytest.approx(prior_kl(gauss, sched), rel=1e-8)
    kl = [prior_kl(gauss, make_schedule("ou", T=T)) for T in (3.0, 4.0)]
    assert kl[0] / kl[1] == pytest.approx(math.exp(2.0), rel=0.05)
    assert best_time([1.0, 2.0, 3.0], [0.3, 0.1, 0.2]) == 2.0


@pytest.mark.slow
def test_study_kinds_run_on_tiny_params(tmp_path):
    from studies.kinds import diffusion_time, sampler_convergence

    base = {name: default for name, (_, default) in sampler_convergence.PARAMS.items()}
    ds = sampler_convergence.run({**base, "sampler": "pf_heun", "num_steps": [10, 20, 40]}, jax.random.PRNGKey(0))
    assert abs(float(ds.rate.sel(sampler="pf_heun")) - 2.0) < 0.3
    ds_cw = sampler_convergence.run({**base, "sampler": "ddpm", "num_steps": [2, 4, 8], "target": "curie_weiss",
                                     "batch": 500, "seeds": 2}, jax.random.PRNGKey(0))
    assert np.all(np.isfinite(ds_cw.error.values))
    sampler_convergence.plot(xr.concat([ds], dim="sampler"), tmp_path / "conv.png")
    with pytest.raises(ValueError, match="unknown sampler"):
        sampler_convergence.run({**base, "sampler": "rk4"}, jax.random.PRNGKey(0))

    base = {name: default for name, (_, default) in diffusion_time.PARAMS.items()}
    ds = diffusion_time.run({**base, "diffusion_time": [0.5, 2.0, 8.0], "train_steps": 50}, jax.random.PRNGKey(0))
    prior = ds.prior_kl_gaussian.values
    assert prior[0] > prior[1] > prior[2]
    assert float(ds["best_T_exact"]) == 2.0  # T = 0.5: prior mismatch; T = 8 at 20 steps: discretisation
    diffusion_time.plot(ds, tmp_path / "dt.png")
    assert (tmp_path / "dt.png").exists() and (tmp_path / "conv.png").exists()
