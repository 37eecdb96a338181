"""Learned score: training against the exact score, Fokker–Planck residual, checkpoints, W₂ and the ODE–SDE gap."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
import xarray as xr

from statphys.models.gaussian import Gaussian, GaussianMixture
from statphys.physics.fokker_planck import fp_residual, fp_residual_1d, fp_residual_log_density, fp_residual_norm_1d
from statphys.physics.learned import (
    LearnedScore,
    PotentialScore,
    init_mlp,
    learned_score,
    load_params,
    save_params,
    score_error,
    train,
)
from statphys.physics.ode_sde_gap import ode_sde_gap, wasserstein2_1d
from statphys.physics.schedules import make_schedule
from statphys.physics.scores import ExactScore

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
    with pytest.raises(ValueError, match="fp_form"):
        train(jax.random.PRNGKey(0), MIXTURE, OU, fp_form="density")
    with pytest.raises(ValueError, match="with_regulariser"):
        train(jax.random.PRNGKey(0), MIXTURE, OU, fp_weight=1.0, with_regulariser=False)
    with pytest.raises(ValueError, match="fp_form"):
        learned_score({}, OU, "eps")
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


@pytest.mark.slow
def test_fp_regulariser_lowers_the_residual():
    x = jnp.linspace(-2.5, 2.5, 11)[:, None]

    def residual(params):
        return float(np.mean([jnp.mean((OU.sigma(t) ** 4 * fp_residual(LearnedScore(params, OU), OU, x, t)) ** 2)
                              for t in (0.05, 0.3, 1.0)]))

    plain = train(jax.random.PRNGKey(0), MIXTURE, OU, steps=300)
    regular = train(jax.random.PRNGKey(0), MIXTURE, OU, steps=300, fp_weight=10.0)
    assert residual(regular.params) < 0.5 * residual(plain.params)


@pytest.mark.parametrize("form", ["score", "log_density"])
def test_the_loop_compiled_with_the_regulariser_trains_plainly_at_zero_weight(form):
    """with_regulariser=True at λ = 0 (one program for a sweep over λ, `lax.cond` on λ > 0): the plain score
    matching of the default loop to float rounding, no residual recorded; at λ > 0 the same loop as the default."""
    kwargs = dict(steps=40, batch=32, hidden=8, fp_batch=4, fp_form=form)
    plain = train(jax.random.PRNGKey(0), MIXTURE, OU, **kwargs)
    swept = train(jax.random.PRNGKey(0), MIXTURE, OU, with_regulariser=True, **kwargs)
    for name in plain.params:
        np.testing.assert_allclose(np.asarray(swept.params[name]), np.asarray(plain.params[name]), rtol=1e-10,
                                   atol=1e-12)
    np.testing.assert_allclose(np.asarray(swept.loss), np.asarray(plain.loss), rtol=1e-10)
    assert np.all(np.asarray(swept.residual) == 0)
    regular = train(jax.random.PRNGKey(0), MIXTURE, OU, fp_weight=1.0, **kwargs)
    assert np.all(np.asarray(regular.residual) > 0)
    assert not np.allclose(np.asarray(regular.params["w0"]), np.asarray(plain.params["w0"]))


def _log_p(target, schedule, time_factor=1.0):
    return lambda y, t: target.marginal_log_prob(y, schedule.alpha(time_factor * t), schedule.sigma(time_factor * t))


@pytest.mark.parametrize("target", [MIXTURE, Gaussian(jnp.array([0.5, -1.0]), jnp.array([[0.5, 0.2], [0.2, 1.5]]))])
def test_fp_residual_log_density_of_exact_log_density_vanishes(target):
    """R_u = ∂_t u + n f + f x·∇u − (g²/2)(Δu + |∇u|²) is zero for u = ln p_t (OU and linear VP) and O(1)
    for the log-density of the wrong time."""
    x = jax.random.normal(jax.random.PRNGKey(0), (16, target.n)) * 1.5
    for schedule in (OU, make_schedule("vp_linear", T=1.0, t_min=1e-3)):
        for t in (0.05 * schedule.T, 0.3 * schedule.T, 0.8 * schedule.T):
            r = fp_residual_log_density(_log_p(target, schedule), schedule, x, t)
            assert r.shape == (16,) and float(jnp.max(jnp.abs(r))) < 1e-10
    wrong = fp_residual_log_density(_log_p(target, OU, 1.3), OU, x, 0.5)
    assert float(jnp.max(jnp.abs(wrong))) > 1e-2


@pytest.mark.slow
def test_score_form_is_the_gradient_of_the_log_density_form():
    """R_s = ∇_x R_u for the score s = ∇u of a random (untrained) log-density network, 2-D, VP, one time per point."""
    vp = make_schedule("vp_linear", T=1.0, t_min=1e-2)
    score = PotentialScore(init_mlp(jax.random.PRNGKey(3), 2, 16, 2, 2, out=1), vp)
    x = jax.random.normal(jax.random.PRNGKey(1), (5, 2))
    t = jnp.array([0.1, 0.2, 0.5, 0.7, 0.9])
    h = 1e-4  # central differences: error O(h²) ≈ 1e-8 against residuals of O(1)

    def central(fn):
        return jnp.stack([(fn(x + h * e) - fn(x - h * e)) / (2 * h) for e in jnp.eye(2)], axis=-1)

    r_s = fp_residual(score, vp, x, t)
    grad_r_u = central(lambda y: fp_residual_log_density(score.log_density, vp, y, t))
    assert float(jnp.max(jnp.abs(r_s))) > 0.1  # a random network violates the equation
    np.testing.assert_allclose(np.asarray(r_s), np.asarray(grad_r_u), atol=1e-6)
    np.testing.assert_allclose(np.asarray(score(x, 0.4)), np.asarray(central(lambda y: score.log_density(y, 0.4))),
                               atol=1e-6)


def test_the_two_forms_are_different_pytrees_and_run_their_own_programs():
    """LearnedScore and PotentialScore have the same fields; their tree structures must differ, or a jit cache can
    run one form's program on the other's parameters (seen in ode_sde_gap runs with jax's register_dataclass:
    the log-density network read as a score network). Through one jitted function each form gives its own
    eager values (to rounding: the compiled program fuses), and the two differ by more than 0.1."""
    vp = make_schedule("vp_linear", T=1.0, t_min=1e-2)
    params = init_mlp(jax.random.PRNGKey(3), 1, 8, 2, 2, out=1)
    forms = [LearnedScore(params, vp), PotentialScore(params, vp)]
    assert jax.tree.structure(forms[0]) != jax.tree.structure(forms[1])
    x = jnp.linspace(-2.0, 2.0, 7)[:, None]
    evaluate = jax.jit(lambda score, y: score(y, 0.3))
    eager = [np.asarray(score(x, 0.3)) for score in forms]
    for score, expected in zip(forms, eager):
        np.testing.assert_allclose(np.asarray(evaluate(score, x)), expected, rtol=1e-12, atol=1e-12)
    assert np.max(np.abs(eager[0] - eager[1])) > 0.1


@pytest.mark.slow
def test_fp_residual_1d_matches_the_closed_form():
    """The log-density implied by a 1-D score (cumulative trapezoid, normalised): for the exact score the
    residual vanishes; for the score of the wrong time 1.3 t it equals R_u of the normalised ln p_{1.3t}
    computed by autodiff of the closed form. Grid step h = 0.01: trapezoid error O(h²) ≈ 1e-4 relative to the
    largest term (g²/2) s² of R_u where p_t > 1e-4."""
    grid = jnp.linspace(-7.0, 7.0, 1401)
    wrong = jax.tree_util.Partial(lambda y, tau: ExactScore(MIXTURE, OU)(y, 1.3 * tau))
    for t in (0.05, 0.5):
        mask = jnp.exp(_log_p(MIXTURE, OU)(grid[:, None], t)) > 1e-4
        tol = 1e-4 * float(jnp.max(mask * OU.diffusion2(t) / 2 * ExactScore(MIXTURE, OU)(grid[:, None], t)[:, 0] ** 2))
        r = fp_residual_1d(ExactScore(MIXTURE, OU), OU, jnp.asarray(t), grid)
        assert float(jnp.max(jnp.abs(r) * mask)) < tol
        quad = fp_residual_1d(wrong, OU, jnp.asarray(t), grid)
        closed = fp_residual_log_density(_log_p(MIXTURE, OU, 1.3), OU, grid[:, None], t)
        assert float(jnp.max(jnp.abs(closed) * mask)) > 20 * tol
        assert float(jnp.max(jnp.abs(quad - closed) * mask)) < tol
    norms = fp_residual_norm_1d(ExactScore(MIXTURE, OU), MIXTURE, OU, [0.05, 0.5, 2.0], grid)
    assert norms.shape == (3,) and np.all(norms < 1e-6)


@pytest.mark.slow
def test_log_density_regulariser_lowers_its_residual():
    """Network for u (Deveney et al.): λ = 10 lowers ∫ E_{p_t}[R_u²] dt at least tenfold against λ = 0."""
    times = np.array([0.05, 0.3, 1.0, 3.0])
    grid = jnp.linspace(-6.0, 6.0, 241)

    def residual(result):
        score = learned_score(result.params, OU, result.form)
        assert isinstance(score, PotentialScore)
        return np.trapezoid(fp_residual_norm_1d(score, MIXTURE, OU, times, grid), times)

    kwargs = dict(steps=200, hidden=16, fp_form="log_density")
    plain = train(jax.random.PRNGKey(0), MIXTURE, OU, **kwargs)
    regular = train(jax.random.PRNGKey(0), MIXTURE, OU, fp_weight=10.0, **kwargs)
    assert np.all(np.isfinite(regular.residual)) and float(regular.residual[-1]) > 0
    assert residual(regular) < 0.1 * residual(plain), (residual(regular), residual(plain))


@pytest.mark.slow
def test_ode_sde_gap_kind_runs_on_tiny_params(tmp_path):
    from statphys.paper import plots
    from statphys.studies.kinds import ode_sde_gap as kind

    base = {name: default for name, (_, default) in kind.PARAMS.items()}
    tiny = {"train_steps": 30, "hidden": 8, "num_steps": 20, "batch": 500, "bootstrap": 10, "seeds": 2,
            "num_times": 4, "grid": 201}
    chunks = [kind.run({**base, **tiny, "fp_form": form, "fp_weight": lam}, jax.random.PRNGKey(0))
              .expand_dims(fp_form=[form], fp_weight=[lam])
              for form in ("score", "log_density") for lam in (0.0, 1.0)]
    ds = xr.combine_by_coords(chunks)
    for name in ("w2_ode_sde", "w2_ode_sde_err", "fp_residual", "score_error"):
        assert ds[name].dims == ("fp_form", "fp_weight") and np.all(np.isfinite(ds[name].values))
    assert np.all(ds.w2_floor.values > 0) and np.all(ds.w2_ode_sde_err.values > 0)
    ds.attrs["config"] = '{"mu": 1.5, "seeds": 2}'
    written = plots.draw("ode_sde_gap", ds, tmp_path / "gap")
    assert all(path.exists() for path in written)


TRACE_EVENT = "/jax/core/compile/jaxpr_trace_duration"
_TRACES = {"on": False, "count": 0}


def _count_trace(event, duration, **_):
    if _TRACES["on"] and event == TRACE_EVENT:
        _TRACES["count"] += 1


jax.monitoring.register_event_duration_secs_listener(_count_trace)


def _traces(fn):
    """How many jaxprs JAX traces while fn() runs (jax.monitoring's trace-duration event, one per trace)."""
    _TRACES.update(on=True, count=0)
    try:
        fn()
    finally:
        _TRACES["on"] = False
    return _TRACES["count"]


@pytest.mark.slow
def test_training_compiles_once_for_every_ou_schedule():
    """A sweep over the diffusion time (as in the diffusion_time study): the OU schedule and the target are
    traced values, so a second network, with another T and another mixture, is trained by the loop
    compiled for the first, and the exact-score sampler error of the new schedule propagated by the function
    compiled for the first, with no new trace (before, every call of `train` traced its loop again); the score
    term G of the new network (its schedule a pytree child of `LearnedScore`) reuses the first one's function."""
    from statphys.physics.convergence import gaussian_error
    from statphys.physics.diffusion_time import score_term

    tiny = {"steps": 5, "batch": 16, "hidden": 8}
    gauss = Gaussian(jnp.array([1.0]), jnp.array([[0.3]]))

    def sweep_point(T, mu):
        schedule = make_schedule("ou", T=T, t_min=1e-2)
        target = GaussianMixture.symmetric(mu, 0.4)
        params = train(jax.random.PRNGKey(1), target, schedule, **tiny).params
        gaussian_error(gauss, "euler_maruyama", 4, schedule=schedule, init="prior")
        score_term(jax.random.PRNGKey(2), LearnedScore(params, schedule), target, schedule, num_times=3, num=16)

    assert _traces(lambda: sweep_point(1.0, 1.5)) > 0  # the counter sees traces
    assert _traces(lambda: sweep_point(2.5, 1.2)) == 0



def test_vp_linear_sweep_compiles_once():
    """The fields of a linear VP schedule (T, t_min, β_min, β_max) are traced values: after the first point of a
    sweep over them, a second point trains its network, evaluates the score term G and the score error with the
    functions compiled for the first, down to the last eager primitive: JAX traces nothing new. (Before, every
    linear VP schedule was a compile-time constant and every point of a sweep compiled its training loop and
    its score term again.)"""
    from statphys.physics.diffusion_time import score_term

    def sweep_point(T, beta_min, beta_max):
        schedule = make_schedule("vp_linear", T=T, t_min=1e-2, beta_min=beta_min, beta_max=beta_max)
        params = train(jax.random.PRNGKey(1), MIXTURE, schedule, steps=2, batch=8, hidden=4, depth=1).params
        score = LearnedScore(params, schedule)
        score_term(jax.random.PRNGKey(2), score, MIXTURE, schedule, num_times=3, num=8)
        score_error(jax.random.PRNGKey(3), score, MIXTURE, schedule, jnp.array([0.1, 0.5]), num=8)

    assert _traces(lambda: sweep_point(1.0, 0.1, 20.0)) > 0  # the counter sees traces
    assert _traces(lambda: sweep_point(0.6, 0.2, 12.0)) == 0


@pytest.mark.slow
def test_regularised_sweep_compiles_once():
    """As `test_vp_linear_sweep_compiles_once` for the Fokker–Planck parts: training with the log-density
    regulariser at another weight λ and another linear VP schedule, and the residual norm E_{p_t}[R_u²] of
    its score, reuse the functions compiled for the first point."""
    grid = jnp.linspace(-4.0, 4.0, 101)

    def sweep_point(T, lam):
        schedule = make_schedule("vp_linear", T=T, t_min=1e-2)
        result = train(jax.random.PRNGKey(1), MIXTURE, schedule, steps=2, batch=8, hidden=4, depth=1,
                       fp_weight=lam, fp_batch=4, fp_form="log_density")
        fp_residual_norm_1d(learned_score(result.params, schedule, result.form), MIXTURE, schedule, [0.1, 0.5], grid)

    assert _traces(lambda: sweep_point(1.0, 1.0)) > 0
    assert _traces(lambda: sweep_point(0.6, 10.0)) == 0
