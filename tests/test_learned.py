"""Learned score: training against the exact score, Fokker–Planck residual, checkpoints, W₂ and the ODE–SDE gap."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
import xarray as xr

from models.gaussian import Gaussian, GaussianMixture
from physics.learned import (
    LearnedScore,
    fp_residual,
    init_mlp,
    load_params,
    ode_sde_gap,
    save_params,
    score_error,
    train,
    wasserstein2_1d,
)
from physics.schedules import make_schedule
from physics.scores import ExactScore

OU = make_schedule("ou", T=4.0, t_min=1e-2)
MIXTURE = GaussianMixture.symmetric(1.5, 0.4)
TIMES = jnp.array([0.02, 0.1, 0.3, 1.0, 3.0])


@pytest.fixture(scope="module")
def trained():
    return train(jax.random.PRNGKey(0), MIXTURE, OU, steps=1500)


def test_trained_score_beats_tolerance_and_the_best_gaussian(trained):
    """σ²-weighted L² score error, averaged over t: < 0.03 and < 1/5 of the best Gaussian (moment-matched) fit."""
    learned = score_error(jax.random.PRNGKey(1), LearnedScore(trained.params, OU), MIXTURE, OU, TIMES)
    gauss = Gaussian(jnp.zeros(1), jnp.array([[1.5**2 + 0.4**2]]))
    baseline = score_error(jax.random.PRNGKey(1), ExactScore(gauss, OU), MIXTURE, OU, TIMES)
    assert float(jnp.mean(learned)) < 0.03, learned
    assert float(jnp.mean(learned)) < 0.2 * float(jnp.mean(baseline)), (learned, baseline)
    assert float(jnp.mean(trained.loss[-100:])) < float(jnp.mean(trained.loss[:100]))


@pytest.mark.parametrize("target", [MIXTURE, Gaussian(jnp.array([0.5, -1.0]), jnp.array([[0.5, 0.2], [0.2, 1.5]]))])
def test_fp_residual_of_exact_score_vanishes(target):
    x = jax.random.normal(jax.random.PRNGKey(0), (16, target.n)) * 1.5
    for t in (0.05, 0.5, 2.0):
        r = fp_residual(ExactScore(target, OU), OU, x, t)
        assert float(jnp.max(jnp.abs(r))) < 1e-10
    # a score of the wrong time (p at 1.3 t) violates the PDE by O(1)
    wrong = jax.tree_util.Partial(lambda y, t: ExactScore(target, OU)(y, 1.3 * t))
    assert float(jnp.max(jnp.abs(fp_residual(wrong, OU, x, 0.5)))) > 1e-2


def test_checkpoint_round_trip(tmp_path, trained):
    path = tmp_path / "score.npz"
    save_params(path, trained.params)
    loaded = load_params(path)
    assert set(loaded) == set(trained.params)
    for k in loaded:
        np.testing.assert_array_equal(np.asarray(loaded[k]), np.asarray(trained.params[k]))
    x = jnp.linspace(-2, 2, 7)[:, None]
    np.testing.assert_array_equal(LearnedScore(loaded, OU)(x, 0.3), LearnedScore(trained.params, OU)(x, 0.3))
    np.savez(tmp_path / "bad.npz", w0=np.zeros((2, 2)))
    with pytest.raises(ValueError, match="expected"):
        load_params(tmp_path / "bad.npz")


def test_bad_input():
    with pytest.raises(ValueError, match="steps"):
        train(jax.random.PRNGKey(0), MIXTURE, OU, steps=0)
    with pytest.raises(ValueError, match="fp_weight"):
        train(jax.random.PRNGKey(0), MIXTURE, OU, fp_weight=-1.0)
    with pytest.raises(ValueError, match="hidden"):
        init_mlp(jax.random.PRNGKey(0), 1, hidden=0)
    with pytest.raises(ValueError, match="equal sizes"):
        wasserstein2_1d(np.zeros(3), np.zeros(4))


def test_wasserstein2_1d_against_closed_form_and_scipy():
    """W₂(N(0,1), N(1,4)) = √((0−1)² + (1−2)²) = √2; W₁ of the same samples agrees with scipy."""
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(200_000), 1 + 2 * rng.standard_normal(200_000)
    assert wasserstein2_1d(a, b) == pytest.approx(math.sqrt(2), abs=0.02)
    w1 = np.mean(np.abs(np.sort(a) - np.sort(b)))
    assert w1 == pytest.approx(scipy.stats.wasserstein_distance(a, b), rel=1e-10)


def test_ode_sde_gap_vanishes_with_exact_score():
    gap = ode_sde_gap(jax.random.PRNGKey(0), ExactScore(MIXTURE, OU), MIXTURE, OU, num_steps=200, batch=4000)
    assert gap.w2_ode_sde < 3 * gap.w2_floor
    assert gap.w2_ode_data < 3 * gap.w2_floor and gap.w2_sde_data < 3 * gap.w2_floor


def test_fp_regulariser_lowers_the_residual():
    x = jnp.linspace(-2.5, 2.5, 11)[:, None]

    def residual(params):
        return float(np.mean([jnp.mean((OU.sigma(t) ** 4 * fp_residual(LearnedScore(params, OU), OU, x, t)) ** 2)
                              for t in (0.05, 0.3, 1.0)]))

    plain = train(jax.random.PRNGKey(0), MIXTURE, OU, steps=300)
    regular = train(jax.random.PRNGKey(0), MIXTURE, OU, steps=300, fp_weight=10.0)
    assert residual(regular.params) < 0.5 * residual(plain.params)


@pytest.mark.slow
def test_ode_sde_gap_kind_runs_on_tiny_params(tmp_path):
    from studies.kinds import ode_sde_gap as kind

    base = {name: default for name, (_, default) in kind.PARAMS.items()}
    chunks = [kind.run({**base, "fp_weight": lam, "train_steps": 30, "num_steps": 20, "batch": 500},
                       jax.random.PRNGKey(0)) for lam in (0.0, 1.0)]
    ds = xr.concat(chunks, dim="fp_weight")
    assert np.all(np.isfinite(ds.w2_ode_sde.values)) and np.all(ds.w2_floor.values > 0)
    kind.plot(ds, tmp_path / "gap.png")
    assert (tmp_path / "gap.png").exists()
