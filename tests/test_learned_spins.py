"""Learned scores on spin targets (physics.networks, physics.dsm_training, physics.learned_vs_exact, study
learned_spin_scores): DSM on a Gaussian where the optimal network is known, the exact score in place of the
network, equivariance, checkpoints, early stopping, the Girsanov path KL against a closed form, and a tiny run of
the study."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.special

from statphys.models.curie_weiss import CurieWeiss
from statphys.models.gaussian import Gaussian
from statphys.physics import dsm_training as dsm
from statphys.physics import learned_vs_exact as lve
from statphys.physics.networks import NetworkScore, apply_network, init_network
from statphys.physics.schedules import make_schedule
from statphys.physics.scores import ExactScore

SCHEDULE = make_schedule("ou", T=3.0, t_min=1e-2)


def _randomised(key, kind, n, **kw):
    """Parameters with a non-zero last layer (init_network starts it at zero)."""
    params = init_network(key, kind, n, **kw)
    leaves, tree = jax.tree_util.tree_flatten(params)
    keys = jax.random.split(jax.random.fold_in(key, 1), len(leaves))
    return jax.tree_util.tree_unflatten(tree, [v + 0.3 * jax.random.normal(k, v.shape) for v, k in zip(leaves, keys)])


def test_dsm_with_a_linear_network_recovers_the_gaussian_score():
    """N(0, c I): the exact denoiser α c x/(α² c + σ²) is linear in x, so the "linear" network with the identity
    head can represent it. ε(t) = σ²E|s_θ − s|²/n weighs an error δa in the slope of D by α²/σ², so the
    tolerance is relative to the error ε₀(t) of the untrained network (D = 0) at the same t: ε ≤ 2e-3 ε₀ + 1e-4
    (the additive part: the training set's covariance error |ĉ − c|/c ≈ √(2/(P n)) = 0.016 gives ε ≲ 4e-4·ε₀ at
    small t and ≲ 1e-5 at large t, where ε₀ itself → 0). Measured: ε/ε₀ ≈ 4e-4 for t ≤ 0.1."""
    c, n = 2.0, 4
    target = Gaussian(jnp.zeros(n), c)
    key = jax.random.PRNGKey(0)
    data, validation = target.sample(jax.random.fold_in(key, 1), 2048), target.sample(jax.random.fold_in(key, 2), 512)
    res = dsm.train_dsm(jax.random.fold_in(key, 3), data, validation, SCHEDULE, kind="linear", head="identity",
                       steps=1000, batch=128, lr=1e-2, hidden=16, eval_every=100, patience=100)
    learned, exact = NetworkScore(res.params, SCHEDULE, "linear", "identity"), ExactScore(target, SCHEDULE)
    zero = NetworkScore(init_network(key, "linear", n), SCHEDULE, "linear", "identity")
    times = np.geomspace(SCHEDULE.t_min, SCHEDULE.T, 8)
    eps, _ = lve.relative_score_distance(jax.random.fold_in(key, 4), [(learned, exact), (zero, exact)], target,
                                        SCHEDULE, times, 4096)
    assert np.all(eps[0] <= 2e-3 * eps[1] + 1e-4), eps
    assert eps[1, 0] > 10  # the untrained network is far off at small t
    # The held-out loss of the kept parameters against that of the exact score on the same frozen draws: the
    # DSM loss is the exact score's loss plus E σ²|s_θ − s|², so the excess is ≥ 0 up to the noise of the
    # cross term, and small.
    frozen = dsm.frozen_validation(jax.random.split(jax.random.fold_in(key, 3), 3)[1], validation, SCHEDULE)
    best = float(dsm.dsm_loss(learned, SCHEDULE, *frozen))
    floor = float(dsm.dsm_loss(exact, SCHEDULE, *frozen))
    assert best == pytest.approx(float(res.val_loss.min()), rel=1e-10)
    assert -0.02 * floor < best - floor < 0.02 * floor, (best, floor)


def test_exact_score_in_place_of_the_network_gives_zero_error_and_zero_path_kl():
    target = CurieWeiss(6, 1.3)
    exact = ExactScore(target, SCHEDULE)
    key = jax.random.PRNGKey(1)
    eps, err = lve.relative_score_distance(key, [(exact, exact)], target, SCHEDULE, [0.05, 0.5, 2.0], 64)
    assert np.all(eps < 1e-25) and np.all(err < 1e-25)  # zero up to float64 rounding (squared)
    kl, kl_err = lve.forward_path_kl(key, exact, exact, target, SCHEDULE, num_samples=64, num_nodes=4)
    assert abs(kl) < 1e-20 and kl_err < 1e-20
    gen = lve.generate(key, exact, SCHEDULE, target.n, batch=64, num_steps=20, record_every=5, exact_fn=exact)
    assert abs(gen.path_kl) < 1e-20 and gen.path_kl_err < 1e-20
    assert gen.m_denoiser.shape == (5, 64) and gen.times[0] == SCHEDULE.T
    # the score part of the generated-law error: a run with the exact score against the exact-score run with the
    # same key (same start and step noise) is zero, paths and all
    again = lve.generate(key, exact, SCHEDULE, target.n, batch=64, num_steps=20, record_every=5, exact_fn=exact)
    score_part = lve.paired_difference(again.x, gen.x)
    assert score_part.value == 0.0 and score_part.error == 0.0


def test_forward_path_kl_matches_the_closed_form_for_a_wrong_gaussian_score():
    """Data N(0, c I), score of N(0, c' I): Δs = −x (1/v' − 1/v), v = α²c + σ², so
    ∫ ½ g² E|Δs|² dt = ∫ n g² v (1/v' − 1/v)²/2 dt (OU: g² = 2); the estimate within 4 standard errors + 1% (the
    Gauss–Legendre rule)."""
    c, c_wrong, n = 1.5, 0.8, 3
    target, wrong = Gaussian(jnp.zeros(n), c), Gaussian(jnp.zeros(n), c_wrong)
    value, err = lve.forward_path_kl(jax.random.PRNGKey(2), ExactScore(wrong, SCHEDULE), ExactScore(target, SCHEDULE),
                                    target, SCHEDULE, num_samples=4000, num_nodes=24)

    def integrand(t):
        a2, s2 = math.exp(-2 * t), -math.expm1(-2 * t)
        v, vw = a2 * c + s2, a2 * c_wrong + s2
        return n * v * (1 / vw - 1 / v) ** 2

    exact, _ = scipy.integrate.quad(integrand, SCHEDULE.t_min, SCHEDULE.T)
    assert abs(value - exact) < 4 * err + 0.01 * exact, (value, err, exact)


@pytest.mark.parametrize("kind", ["equivariant", "linear"])
def test_equivariant_networks_commute_with_permutations(kind):
    n = 7
    params = _randomised(jax.random.PRNGKey(3), kind, n, hidden=8, depth=3)
    x = jax.random.normal(jax.random.PRNGKey(4), (5, n))
    perm = np.array([3, 0, 6, 1, 5, 2, 4])
    out = apply_network(params, kind, x, 0.7, SCHEDULE)
    np.testing.assert_allclose(apply_network(params, kind, x[:, perm], 0.7, SCHEDULE), out[:, perm], rtol=1e-12,
                               atol=1e-12)
    score = NetworkScore(params, SCHEDULE, kind, "spin")
    np.testing.assert_allclose(score(x[:, perm], 0.7), score(x, 0.7)[:, perm], rtol=1e-12, atol=1e-12)


def test_the_mlp_is_not_equivariant():
    n = 7
    params = _randomised(jax.random.PRNGKey(3), "mlp", n, hidden=8)
    x = jax.random.normal(jax.random.PRNGKey(4), (5, n))
    perm = np.roll(np.arange(n), 1)
    out = apply_network(params, "mlp", x, 0.7, SCHEDULE)
    assert np.abs(apply_network(params, "mlp", x[:, perm], 0.7, SCHEDULE) - out[:, perm]).max() > 1e-3


def test_checkpoint_round_trip(tmp_path):
    params = _randomised(jax.random.PRNGKey(5), "equivariant", 6, hidden=4)
    path = tmp_path / "net.npz"
    dsm.save_checkpoint(path, params, kind="equivariant", head="spin", steps=100)
    loaded, meta = dsm.load_checkpoint(path)
    assert meta == {"kind": "equivariant", "head": "spin", "steps": 100}
    assert set(loaded) == set(params)
    for k in params:
        np.testing.assert_array_equal(np.asarray(loaded[k]), np.asarray(params[k]))
    x = jax.random.normal(jax.random.PRNGKey(6), (3, 6))
    np.testing.assert_array_equal(NetworkScore(loaded, SCHEDULE)(x, 0.3), NetworkScore(params, SCHEDULE)(x, 0.3))
    broken = dict(params)
    broken.pop("b1")
    np.savez(tmp_path / "broken.npz", **{k: np.asarray(v) for k, v in broken.items()})
    with pytest.raises(ValueError, match="expected"):
        dsm.load_checkpoint(tmp_path / "broken.npz")
    # one vector per network, as a result dataset stores them: the layout follows from the architecture
    for kind in ("mlp", "equivariant", "linear"):
        params = _randomised(jax.random.PRNGKey(7), kind, 6, hidden=4, depth=2, num_freq=3)
        flat = dsm.flatten_params(params)
        back = dsm.unflatten_params(flat, kind, 6, hidden=4, depth=2, num_freq=3)
        assert set(back) == set(params) and flat.ndim == 1
        for k in params:
            np.testing.assert_array_equal(np.asarray(back[k]), np.asarray(params[k]))
    with pytest.raises(ValueError, match="parameters"):
        dsm.unflatten_params(flat, "linear", 6, hidden=5, depth=2, num_freq=3)


@pytest.mark.slow
def test_early_stopping_stops_and_keeps_the_best_parameters():
    """Four training points and a large learning rate: the network overfits them and the held-out loss stops
    improving; training stops `patience` evaluations after the best one and returns that one's parameters."""
    target = CurieWeiss(8, 1.5)
    key = jax.random.PRNGKey(7)
    data, validation = target.sample(jax.random.fold_in(key, 1), 4), target.sample(jax.random.fold_in(key, 2), 256)
    patience, steps, every = 3, 4000, 20
    res = dsm.train_dsm(jax.random.fold_in(key, 3), data, validation, SCHEDULE, kind="mlp", head="tanh", steps=steps,
                       batch=32, lr=3e-2, hidden=32, eval_every=every, patience=patience)
    assert res.stopped_early and res.steps[-1] < steps
    best = int(np.argmin(res.val_loss))
    assert res.best_step == res.steps[best] and len(res.steps) == best + 1 + patience
    frozen = dsm.frozen_validation(jax.random.split(jax.random.fold_in(key, 3), 3)[1], validation, SCHEDULE)
    kept = float(dsm.dsm_loss(NetworkScore(res.params, SCHEDULE, "mlp", "tanh"), SCHEDULE, *frozen))
    assert kept == pytest.approx(float(res.val_loss[best]), rel=1e-10)


@pytest.mark.parametrize("bad, match", [
    (dict(kind="cnn"), "architecture"), (dict(head="softmax"), "head"), (dict(eval_every=7), "divide"),
    (dict(lr=-1.0), "lr"), (dict(batch=0), "batch"), (dict(size=5), "exceeds"),
])
def test_bad_training_settings_are_refused(bad, match):
    data = jnp.ones((4, 3))
    kwargs = dict(steps=100, eval_every=10) | bad
    with pytest.raises(ValueError, match=match):
        dsm.train_dsm(jax.random.PRNGKey(0), data, data, SCHEDULE, **kwargs)
    with pytest.raises(ValueError, match="shapes"):
        dsm.train_dsm(jax.random.PRNGKey(0), data, jnp.ones((4, 2)), SCHEDULE, steps=100, eval_every=10)


def test_magnetization_histogram_and_total_variation():
    x = np.array([[1.0, 2.0, -1.0], [0.5, 0.1, 0.2], [-1.0, -2.0, -0.1]])
    np.testing.assert_allclose(lve.magnetization_histogram(x, 3), [1 / 3, 0, 1 / 3, 1 / 3])
    from statphys.physics.total_variation import histogram_tv

    assert histogram_tv(lve.magnetization_histogram(x, 3), np.array([0.0, 0.0, 0.5, 0.5])) == pytest.approx(1 / 3)


@pytest.mark.slow
def test_law_error_split_isolates_prior_and_discretisation():
    """Curie–Weiss N = 6, β = 1.5 with a short horizon T = 0.7 (α_T = 0.5: N(0, σ_T² I) is a poor start) and
    Euler–Maruyama with the exact score. Changing one ingredient at a time: coarse (8) → fine (64) steps
    removes a discretisation error, prior → exact p_T start removes a prior error; each is significant (more
    than 4 standard errors; measured −0.064 ± 0.008 and −0.046 ± 0.008 at 4000 paths), and what is left with
    fine steps and the exact start is the sampling error of the paths: within 4 standard errors of zero
    (measured −0.008 ± 0.006)."""
    target = CurieWeiss(6, 1.5)
    schedule = make_schedule("ou", T=0.7, t_min=1e-3)
    exact = ExactScore(target, schedule)
    m, p = target.magnetization_law()
    m2 = float(np.sum(p * m**2))
    key, batch = jax.random.PRNGKey(9), 4000
    start = lve.exact_start(jax.random.fold_in(key, 1), target, schedule, batch)
    assert start.shape == (batch, target.n)

    def run(steps, x_init=None):
        return lve.generate(key, exact, schedule, target.n, batch=batch, num_steps=steps, record_every=steps,
                           x_init=x_init).x

    coarse, fine, fine_start = run(8), run(64), run(64, start)
    e_coarse, e_fine, e_start = (lve.second_moment_error(x, m2) for x in (coarse, fine, fine_start))
    discretisation = e_coarse.value - e_fine.value
    assert abs(discretisation) > 4 * math.hypot(e_coarse.error, e_fine.error), (e_coarse, e_fine)
    prior = lve.paired_difference(fine, fine_start)
    assert prior.value == pytest.approx(e_fine.value - e_start.value, abs=1e-12)
    assert abs(prior.value) > 4 * prior.error, prior
    assert abs(e_start.value) < 4 * e_start.error, e_start
    floor = lve.second_moment_error(target.sample(jax.random.fold_in(key, 2), batch), m2)
    assert abs(floor.value) < 4 * floor.error, floor


def test_final_states_are_those_of_generate_from_the_prior_and_from_a_start():
    """`final_states` gives generate's x bit for bit (prior start drawn by `prior_start` as reverse_sample draws
    it, and a given start), and its runs from the prior and from a start share one compilation."""
    target = CurieWeiss(5, 1.2)
    exact = ExactScore(target, SCHEDULE)
    key, batch, steps = jax.random.PRNGKey(4), 16, 12
    start = lve.exact_start(jax.random.fold_in(key, 1), target, SCHEDULE, batch)
    for x_init in (None, start):
        expected = lve.generate(key, exact, SCHEDULE, target.n, batch=batch, num_steps=steps, record_every=steps,
                                x_init=x_init).x
        got = lve.final_states(key, exact, SCHEDULE, target.n, batch=batch, num_steps=steps, x_init=x_init)
        np.testing.assert_array_equal(got, expected)
    prior = lve.prior_start(key, SCHEDULE, batch, target.n)
    assert prior.shape == (batch, target.n)
    with pytest.raises(ValueError, match="x_init must have shape"):
        lve.final_states(key, exact, SCHEDULE, target.n, batch=batch + 1, num_steps=steps, x_init=start)


def test_empirical_collapse_matches_independent_spins():
    """A data set holding each of the 2ⁿ configurations equally often (here 64 times: repeated configurations
    are pooled) is the uniform law, independent spins: the posterior weight of the start s₀ factorises, q = Π_i (1 + s₀ᵢ tanh(α xᵢ/σ²))/2 with xᵢ = α s₀ᵢ + σξᵢ, so
    E q(t) = (E_ξ (1 + tanh(α²/σ² + αξ/σ))/2)ⁿ (Gauss–Hermite); within 4 standard errors."""
    n = 4
    data = jnp.asarray(np.array(np.meshgrid(*[[-1.0, 1.0]] * n)).reshape(n, -1).T)
    times = np.array([0.05, 0.3, 1.0, 2.5])
    mean, err = lve.empirical_collapse(jax.random.PRNGKey(10), jnp.tile(data, (64, 1)), SCHEDULE, times)
    z, w = np.polynomial.hermite_e.hermegauss(80)
    for t, value, e in zip(times, mean, err):
        a, s = math.exp(-t), math.sqrt(-math.expm1(-2 * t))
        exact = (np.sum(w * (1 + np.tanh(a**2 / s**2 + a * z / s)) / 2) / np.sum(w)) ** n
        assert abs(value - exact) < 4 * e + 1e-12, (t, value, e, exact)
    assert mean[0] > 0.95 and mean[-1] < 0.2


def test_collapse_crossing():
    t = np.geomspace(1e-3, 5.0, 9)
    curve = 0.5 - 0.2 * np.log(t / 0.07)  # linear in ln t: the interpolated crossing is exact
    assert lve.collapse_crossing(t, curve) == pytest.approx(0.07, rel=1e-12)
    assert math.isnan(lve.collapse_crossing(t, curve - 2.0))  # starts below ½: never follows the data set
    assert math.isnan(lve.collapse_crossing(t, curve + 5.0))  # never falls below ½ on the grid
    valid = t > 0.5  # only the tail, below ½ from its first point
    assert math.isnan(lve.collapse_crossing(t, curve, valid=valid))
    np.testing.assert_allclose(lve.memorisation_index([1.0, 0.0], [1.0, 2.0]), [0.5, 0.0])


def test_hopfield_target_law_and_speciation_direction_match_enumeration():
    """Hopfield K = 2, N = 9: the overlap law P(ξ¹·s) (convolution of the two Curie–Weiss groups), ⟨m²⟩, and the
    speciation direction and time (top eigenvector and eigenvalue of the covariance E[s sᵀ]) against exact
    enumeration of the 2⁹ states."""
    from statphys.studies.spin_targets import make_target

    n = 9
    spin = make_target("hopfield2", n, 1.5, disorder_seed=3)
    states = np.array(np.meshgrid(*[[-1.0, 1.0]] * n)).reshape(n, -1).T
    logw = np.asarray(spin.model.log_weight(jnp.asarray(states)))
    p = np.exp(logw - logw.max())
    p /= p.sum()
    overlap = states @ np.asarray(spin.model.patterns[0])
    p_m = np.bincount(((overlap + n) / 2).astype(int), weights=p, minlength=n + 1)
    np.testing.assert_allclose(spin.p_m, p_m, rtol=1e-10, atol=1e-14)
    assert spin.m2 == pytest.approx(float(np.sum(p * (overlap / n) ** 2)), rel=1e-10)
    eigenvalues, eigenvectors = np.linalg.eigh((states * p[:, None]).T @ states)
    assert spin.t_theory == pytest.approx(0.5 * math.log(eigenvalues[-1]), rel=1e-10)
    v = spin.direction / np.linalg.norm(spin.direction)
    assert abs(v @ eigenvectors[:, -1]) == pytest.approx(1.0, rel=1e-10)
    m_class = states @ spin.direction / np.sum(np.abs(spin.direction))
    assert spin.m2_class == pytest.approx(float(np.sum(p * m_class**2)), rel=1e-10)
    # ln p_t(x) of the Curie–Weiss groups (`SpinGroups`, used by the fluctuation theorem) against the 2⁹-state sum
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(12), (6, n))) + states[::97][:6]
    for t in (1e-3, 0.2, 3.0):
        a, s2 = math.exp(-t), -math.expm1(-2 * t)
        log_n = -np.sum((x[:, None] - a * states[None]) ** 2, axis=-1) / (2 * s2) - 0.5 * n * math.log(2 * math.pi * s2)
        enumerated = scipy.special.logsumexp(np.log(p)[None] + log_n, axis=-1)
        np.testing.assert_allclose(spin.density.marginal_log_prob(x, a, math.sqrt(s2)), enumerated, rtol=1e-10)
    cw = make_target("curie_weiss", 5, 1.5)
    assert np.all(cw.gauge == 1) and cw.m2 == cw.m2_class
    states5 = np.array(np.meshgrid(*[[-1.0, 1.0]] * 5)).reshape(5, -1).T
    logw5 = np.asarray(cw.model.log_weight(jnp.asarray(states5)))
    log_n = -np.sum((x[:, None, :5] - 0.5 * states5[None]) ** 2, axis=-1) / (2 * 0.75) - 2.5 * math.log(2 * math.pi * 0.75)
    enumerated = scipy.special.logsumexp(logw5 - scipy.special.logsumexp(logw5) + log_n, axis=-1)
    np.testing.assert_allclose(cw.density.marginal_log_prob(x[:, :5], 0.5, math.sqrt(0.75)), enumerated, rtol=1e-10)
    with pytest.raises(ValueError, match="target"):
        make_target("sk", 5, 1.5)


@pytest.mark.slow
def test_tiny_study_of_both_targets_runs(run_tiny_study, assert_no_padding):
    """Curie–Weiss and Hopfield K = 2 along ``target``: no padding; the flat records (training curves, network
    weights) carry their target, and each run's weights sit where its offset says."""
    ds = run_tiny_study("learned_spin_scores", {
        "targets": ["curie_weiss", "hopfield2"], "n": [6], "networks": ["equivariant:spin"], "train_sizes": [8], "seeds": 2,
        "train_steps": 40, "eval_every": 20, "validation_size": 32, "num_times": 4, "eval_samples": 64,
        "kl_nodes": 4, "kl_samples": 64, "num_steps": 20, "record_every": 2, "num_paths": 64, "fine_factor": 2,
        "bootstrap": 10, "ift_steps": 20})
    nan_ok = tuple(f"{v}{s}" for v in ("t_speciation_learned", "t_collapse_learned", "t_collapse_empirical",
                                       "memorisation_index") for s in ("", "_err", "_seed_mean", "_seed_sem"))
    assert_no_padding(ds, may_be_nan=nan_ok)
    assert (ds.tv_floor < 1).all() and (ds.t_speciation_theory > 0).all()
    assert list(ds.target.values) == ["curie_weiss", "hopfield2"]
    assert ds.curve_target.size == ds.curve_step.size and ds.weight_target.size == ds.network_weights.size
    for target in ds.target.values:
        row = ds.sel(target=target, n=6, network="equivariant:spin", train_size=8, seed=1)
        start, count = int(row.network_weight_offset), int(row.network_weight_count)
        assert np.all(ds.weight_target.values[start:start + count] == target)
    assert int(ds.network_weight_count.sum()) == ds.network_weights.size


@pytest.mark.slow
def test_tiny_study_runs_without_padding(run_tiny_study, assert_no_padding):
    """Two N, two networks, two training-set sizes: no NaN padding (NaN only where a long name says when), the
    ⟨m²⟩ split is additive, and every stored network of N = 6, P = 32 reloads (`trained_network`, the checkpoint
    round trip): its ε(t) recomputed on fresh samples agrees with the stored one within 5 combined standard
    errors (a wrong weight layout misses by orders of magnitude)."""
    from statphys.studies.kinds.learned_spin_scores import make_target, trained_network

    ds = run_tiny_study("learned_spin_scores", {
        "n": [4, 6], "networks": ["mlp:spin", "equivariant:spin"],
        "train_sizes": [8, 32], "seeds": 2, "train_steps": 40, "eval_every": 20, "validation_size": 32,
        "num_times": 4, "eval_samples": 64, "kl_nodes": 4, "kl_samples": 64, "num_steps": 20, "record_every": 2,
        "num_paths": 64, "bootstrap": 10, "ift_steps": 20})
    nan_ok = tuple(f"{v}{s}" for v in ("t_speciation_learned", "t_collapse_learned", "t_collapse_empirical",
                                       "memorisation_index") for s in ("", "_err", "_seed_mean", "_seed_sem"))
    assert_no_padding(ds, may_be_nan=nan_ok)
    # the split is additive: (a) − (d) = score + discretisation + prior, per run
    total = ds.m2_error_learned - ds.m2_error_exact_start
    parts = ds.m2_split_score + ds.m2_split_discretisation + ds.m2_split_prior
    np.testing.assert_allclose(total, parts, atol=1e-12)
    assert (ds.m2_split_score_err > 0).all() and (ds.m2_split_prior_err > 0).all()
    assert ds.score_error.dims == ("target", "n", "network", "train_size", "seed", "time")
    assert (ds.score_error >= 0).all() and (ds.path_kl_forward >= 0).all()
    assert ds.curve_val_loss.size == ds.curve_step.size > 0
    schedule = make_schedule("ou", T=5.0, t_min=1e-3)
    for target in ds.target.values:
        for net in ds.network.values:
            where = dict(target=str(target), n=6, network=str(net), train_size=32, seed=1)
            learned = trained_network(ds, **where)
            spin = make_target(str(target), 6, 1.5)
            assert learned.kind + ":" + learned.head == str(net)
            eps, err = lve.relative_score_distance(jax.random.PRNGKey(13), [(learned, ExactScore(spin.model, schedule))],
                                                   spin.model, schedule, ds.time.values, 256)
            row = ds.sel(**where)
            assert np.all(np.abs(eps[0] - row.score_error.values)
                          < 5 * np.hypot(err[0], row.score_error_err.values) + 1e-9), (where, eps, row.score_error.values)



def _gaussian_chain_kl(schedule, times, c, c_score, n, sampler):
    """Closed forms for data N(0, c I) and the linear score ŝ = −x/v'(t), v' = α²c' + σ² (c' = c_score): every
    kernel is K_k = N(b_k x_k, V_k I), so the generated variance is u_{k+1} = b_k² u_k + V_k from u_0 = σ_T², and
    the exact backward transition of the forward chain is N((a v_{k+1}/v_k) x_k, v_{k+1} − a² v_{k+1}²/v_k),
    a = α_{t_k}/α_{t_{k+1}}, v = α²c + σ². Returns (KL(Q ‖ P†) = ⟨Σ⟩, b, V, u) (the KL per step of two Gaussians,
    summed, plus KL(π ‖ p_T))."""
    t = np.asarray(times, float)
    alpha, var = np.exp(-t), -np.expm1(-2 * t)  # OU
    v, vs = alpha**2 * c + var, alpha**2 * c_score + var
    a_t, a_s, s_t, s_s = alpha[:-1], alpha[1:], var[:-1], var[1:]
    bridge = s_t - (a_t / a_s) ** 2 * s_s
    if sampler == "euler_maruyama":
        dt = t[:-1] - t[1:]
        b, V = 1 + dt * (1 - 2 / vs[:-1]), 2 * dt  # OU: f = −1, g² = 2
    else:
        denoise = (1 - s_t / vs[:-1]) / a_t  # D = denoise · x
        b, V = ((a_t / a_s) * s_s + a_s * bridge * denoise) / s_t, bridge * s_s / s_t
    u = np.empty(t.size)
    u[0] = var[0]
    for k in range(t.size - 1):
        u[k + 1] = b[k] ** 2 * u[k] + V[k]
    mean_back = (a_t / a_s) * v[1:] / v[:-1]
    r = v[1:] - (a_t / a_s) ** 2 * v[1:] ** 2 / v[:-1]
    steps = 0.5 * np.log(r / V) + (V + (b - mean_back) ** 2 * u[:-1]) / (2 * r) - 0.5
    prior = 0.5 * np.log(v[0] / var[0]) + var[0] / (2 * v[0]) - 0.5
    return n * (prior + steps.sum()), b, V, u


@pytest.mark.parametrize("sampler", ["ddpm", pytest.param("euler_maruyama", marks=pytest.mark.slow)])
def test_generative_fluctuation_theorem_and_girsanov_on_a_gaussian(sampler):
    """Data N(0, ¼ I₂), OU to T = 1.5, 40 log-spaced steps, 20 000 paths, exact score and the score of N(0, I₂):
    ⟨e^{−Σ}⟩ = 1 (IFT) within 4 standard errors for both, carried by most paths; ⟨Σ⟩ equals the closed-form
    KL(Q ‖ P†) of the Gaussian chain (`_gaussian_chain_kl`) within 4 standard errors (ddpm: measured
    0.064 ± 0.002 vs 0.063 exact score, 1.29 ± 0.02 vs 1.27 wrong score); the wrong score's Girsanov column
    averages to the closed-form KL(Q_ŝ ‖ Q_s) = n Σ_k (b̂_k − b_k)² u_k/(2V_k) within 4 standard errors; the prior
    column averages to KL(π ‖ p_T) (9e-5 here)."""
    from statphys.physics import generative_fluctuations as gf

    c, c_wrong, n, batch, steps = 0.25, 1.0, 2, 20_000, 40
    schedule = make_schedule("ou", T=1.5, t_min=0.02)
    target = Gaussian(jnp.zeros(n), c)
    exact, wrong = ExactScore(target, schedule), ExactScore(Gaussian(jnp.zeros(n), c_wrong), schedule)
    times = np.asarray(schedule.time_grid(steps, "log"))
    key = jax.random.PRNGKey(11)
    runs = {name: gf.generative_entropy(key, fn, schedule, target.marginal_log_prob, batch=batch, n=n,
                                        num_steps=steps, sampler=sampler, exact_fn=exact)
            for name, fn in (("exact", exact), ("wrong", wrong))}
    kl = {name: _gaussian_chain_kl(schedule, times, c, cs, n, sampler) for name, cs in (("exact", c), ("wrong", c_wrong))}
    for name, run in runs.items():
        ift = run.ift
        assert abs(ift.mean - 1) < 4 * ift.stderr and ift.ess > 0.3 * batch, (name, ift)
        mean, err = gf.mean_and_error(run.sigma)
        assert abs(mean - kl[name][0]) < 4 * err, (name, mean, err, kl[name][0])
    s0 = -math.expm1(-2 * schedule.T)
    v0 = math.exp(-2 * schedule.T) * c + s0
    prior_kl = n * (0.5 * math.log(v0 / s0) + s0 / (2 * v0) - 0.5)
    prior, prior_err = gf.mean_and_error(runs["exact"].prior)
    assert abs(prior - prior_kl) < 4 * prior_err, (prior, prior_err, prior_kl)
    _, b_hat, V, u_hat = kl["wrong"]
    b = kl["exact"][1]
    girsanov = n * np.sum((b_hat - b) ** 2 * u_hat[:-1] / (2 * V))
    mean, err = gf.mean_and_error(runs["wrong"].girsanov)
    assert abs(mean - girsanov) < 4 * err, (mean, err, girsanov)
    assert np.all(runs["exact"].girsanov == 0)


def test_learned_score_excess_entropy_production_tends_to_the_girsanov_path_kl():
    """The continuous-time claim of `physics.generative_fluctuations`, on the closed-form Gaussian chains (no
    sampling): ⟨Σ⟩_{Q_ŝ} − ⟨Σ⟩_{Q_s} → E_{Q_ŝ} ∫ ½ g² |ŝ − s|² dt as the step vanishes, with ŝ the score of N(0, I₂) on
    data N(0, ¼ I₂) and the right side from the variance u(t) of the ŝ reverse SDE, du/dτ = 2(1 − 2/v')u + 2
    (OU, generative time τ = T − t, u(T) = σ_T²): ∫ ½ · 2 · n u (1/v' − 1/v)² dt. At 4000 log-spaced steps both
    samplers agree with it to 2e-3 relative (the O(Δ) rest; at 40 steps 7e-2 for ddpm, 5e-3 for Euler–Maruyama), and the exact score's ⟨Σ⟩ is down
    to 1e-3 (prior KL 9e-5 plus discretisation)."""
    c, c_wrong, n = 0.25, 1.0, 2
    schedule = make_schedule("ou", T=1.5, t_min=0.02)

    def rhs(tau, u):
        t = schedule.T - tau
        v_wrong = math.exp(-2 * t) * c_wrong - math.expm1(-2 * t)
        return 2 * (1 - 2 / v_wrong) * u + 2

    tau_end = schedule.T - schedule.t_min
    sol = scipy.integrate.solve_ivp(rhs, (0, tau_end), [-math.expm1(-2 * schedule.T)], rtol=1e-10, atol=1e-12,
                                    dense_output=True)

    def integrand(t):
        v, v_wrong = (math.exp(-2 * t) * cc - math.expm1(-2 * t) for cc in (c, c_wrong))
        return n * sol.sol(schedule.T - t)[0] * (1 / v_wrong - 1 / v) ** 2

    girsanov, _ = scipy.integrate.quad(integrand, schedule.t_min, schedule.T, epsabs=1e-12, epsrel=1e-10)
    times = np.asarray(schedule.time_grid(4000, "log"))
    for sampler in ("ddpm", "euler_maruyama"):
        exact_kl = _gaussian_chain_kl(schedule, times, c, c, n, sampler)[0]
        wrong_kl = _gaussian_chain_kl(schedule, times, c, c_wrong, n, sampler)[0]
        assert abs(wrong_kl - exact_kl - girsanov) < 2e-3 * girsanov, (sampler, wrong_kl - exact_kl, girsanov)
        assert 0 < exact_kl < 2e-3


# ---- the 2-D ±J Edwards–Anderson target and the lattice-convolutional network ----------------------------------
def _ea_couplings(side, seed=0):
    import netket as nk

    from statphys.models.edwards_anderson import ea_couplings

    return ea_couplings(nk.graph.Square(side, pbc=True), "pm", seed)


def _lattice_permutation(side, shift=(0, 0), transpose=False):
    """perm with new site k holding old site perm[k]: a translation by `shift` (then a transposition r ↔ c)."""
    index = np.roll(np.arange(side * side).reshape(side, side), shift, axis=(0, 1))
    return (index.T if transpose else index).reshape(-1)


def test_conv_network_commutes_with_lattice_symmetries_of_spins_and_bonds():
    """Translating (and transposing) the lattice in the spins and the bonds together permutes the output the same
    way, to rounding; translating the spins alone does not (the bonds of one sample break the symmetry)."""
    from statphys.physics.networks import lattice_bonds

    side, n = 4, 16
    J = _ea_couplings(side, seed=3)
    params = dict(_randomised(jax.random.PRNGKey(5), "conv", n, hidden=6, depth=2), bonds=lattice_bonds(J, side))
    x = jax.random.normal(jax.random.PRNGKey(6), (5, n))
    apply = jax.jit(lambda p, xx: apply_network(p, "conv", xx, 0.4, SCHEDULE))
    out = apply(params, x)
    for perm in (_lattice_permutation(side, (1, 2)), _lattice_permutation(side, (3, 0), transpose=True)):
        moved = dict(params, bonds=lattice_bonds(J[np.ix_(perm, perm)], side))
        np.testing.assert_allclose(apply(moved, x[:, perm]), out[:, perm], rtol=1e-12, atol=1e-12)
    perm = _lattice_permutation(side, (1, 2))
    assert np.abs(apply(params, x[:, perm]) - out[:, perm]).max() > 1e-2
    # the bonds are read, not trained: DSM leaves them exactly as given
    data = jnp.sign(jax.random.normal(jax.random.PRNGKey(7), (16, n)))
    res = dsm.train_dsm(jax.random.PRNGKey(8), data, data, SCHEDULE, kind="conv", steps=20, eval_every=10, batch=8,
                       hidden=4, couplings=J)
    np.testing.assert_array_equal(res.params["bonds"], lattice_bonds(J, side))
    vector = dsm.flatten_params(res.params)
    back = dsm.unflatten_params(vector, "conv", n, hidden=4)
    np.testing.assert_array_equal(back["bonds"], res.params["bonds"])


@pytest.mark.parametrize("bad, match", [
    (dict(n=8), "L >= 3"), (dict(n=4), "L >= 3"), (dict(kind="mlp", couplings=np.zeros((9, 9))), "lattice"),
    (dict(couplings=np.ones((9, 9)) - np.eye(9)), "not those of a periodic"),
])
def test_bad_lattice_networks_are_refused(bad, match):
    kwargs = dict(kind="conv", n=9) | bad
    with pytest.raises(ValueError, match=match):
        init_network(jax.random.PRNGKey(0), kwargs.pop("kind"), kwargs.pop("n"), **kwargs)


def test_edwards_anderson_target_laws_and_exact_score_give_zero_error():
    """EA on the 3 × 3 torus: the state law, ⟨H⟩/N, P(q) and the speciation direction (top eigenvector of
    ⟨s_i s_j⟩) against a direct enumeration; the state, overlap and energy statistics of generated states on
    known inputs; and the exact score in place of the network gives zero ε."""
    from statphys.models.base import spins_from_index
    from statphys.studies.spin_targets import make_target

    n = 9
    spin = make_target("edwards_anderson", n, 1.0, disorder_seed=2)
    lat = spin.lattice
    states = np.asarray(spins_from_index(jnp.arange(2**n), n, jnp.float64))
    logw = 0.5 * np.sum((states @ lat.couplings) * states, axis=-1)
    p = np.exp(logw - scipy.special.logsumexp(logw))
    np.testing.assert_allclose(lat.state_law, p, rtol=1e-10)
    energy = -0.5 * np.sum((states @ lat.couplings) * states, axis=-1) / n
    assert lat.energy == pytest.approx(float(p @ energy), rel=1e-10)
    np.testing.assert_allclose(lve.energy_per_spin(states[:5] * 0.3, lat.couplings), energy[:5], rtol=1e-12)
    q = states @ states.T / n
    q_law = np.bincount(np.rint((q.reshape(-1) + 1) * n / 2).astype(int), weights=np.outer(p, p).reshape(-1),
                        minlength=n + 1)
    np.testing.assert_allclose(lat.q_law, q_law, atol=1e-12)
    corr = (states * p[:, None]).T @ states
    v = spin.direction
    np.testing.assert_allclose(corr @ v, np.exp(2 * spin.t_theory) * v, atol=1e-10)
    assert spin.m2_class == pytest.approx(float(v @ corr @ v) / np.sum(np.abs(v)) ** 2, rel=1e-10)
    # statistics of generated states on known inputs
    pick = np.array([5, 5, 300, 17])
    hist = lve.state_histogram(states[pick] * 0.7)
    assert hist[5] == 0.5 and hist[300] == 0.25 and hist[17] == 0.25 and hist.sum() == 1.0
    flipped = np.stack([states[5], states[5] * np.array([1.0] * 6 + [-1.0] * 3)])  # 6 equal spins
    np.testing.assert_allclose(lve.overlap_histogram(np.concatenate([states[[5, 300]], flipped])),
                               np.bincount([int(np.sum(states[5] == states[300])), 6], minlength=n + 1) / 2)
    # the exact score in place of the network
    exact = ExactScore(spin.model, SCHEDULE)
    key = jax.random.PRNGKey(11)
    eps, err = lve.relative_score_distance(key, [(exact, exact)], spin.model, SCHEDULE, [0.05, 0.5, 2.0], 64)
    assert np.all(eps < 1e-25) and np.all(err < 1e-25)
    with pytest.raises(ValueError, match="n must be one of"):
        make_target("edwards_anderson", 10, 1.0)


def test_the_lattice_study_refuses_bad_grids_before_compute():
    from statphys.studies.kinds.learned_spin_scores import PARAMS, validate

    base = {name: default for name, (_, default) in PARAMS.items()}
    ea = dict(base, targets=["edwards_anderson"], n=[9, 16], networks=["conv:spin", "mlp:spin"])
    validate(ea)
    with pytest.raises(ValueError, match="n must be one of"):
        validate(dict(ea, n=[9, 12]))
    with pytest.raises(ValueError, match="run alone"):
        validate(dict(ea, targets=["edwards_anderson", "curie_weiss"]))
    with pytest.raises(ValueError, match="lattice network"):
        validate(dict(base, networks=["conv:spin"]))


@pytest.mark.slow
def test_tiny_lattice_study_runs_without_padding(run_tiny_study, assert_no_padding):
    """EA at N = 9 with the conv network and the MLP: no NaN padding, the energy split is additive, every TV in
    [0, 1], and the stored conv network reloads with its bonds."""
    from statphys.studies.kinds.learned_spin_scores import trained_network

    ds = run_tiny_study("learned_spin_scores", {
        "targets": ["edwards_anderson"], "n": [9], "beta": 1.0, "networks": ["conv:spin", "mlp:spin"],
        "train_sizes": [8], "seeds": 2, "train_steps": 40, "eval_every": 20, "validation_size": 32, "num_times": 4,
        "eval_samples": 64, "kl_nodes": 4, "kl_samples": 64, "num_steps": 20, "record_every": 2, "num_paths": 64,
        "fine_factor": 2, "bootstrap": 10, "ift_steps": 20})
    nan_ok = tuple(f"{v}{s}" for v in ("t_speciation_learned", "t_speciation_exact", "t_collapse_learned",
                                       "t_collapse_empirical", "memorisation_index")
                   for s in ("", "_err", "_seed_mean", "_seed_sem"))
    assert_no_padding(ds, may_be_nan=nan_ok)
    total = ds.energy_error_learned - ds.energy_error_exact_start
    parts = ds.energy_split_score + ds.energy_split_discretisation + ds.energy_split_prior
    np.testing.assert_allclose(total, parts, atol=1e-12)
    for name in ("tv_states_learned", "tv_states_exact", "tv_states_floor", "tv_overlap_learned", "tv_overlap_floor"):
        assert ((ds[name] >= 0) & (ds[name] <= 1)).all(), name
    net = trained_network(ds, target="edwards_anderson", n=9, network="conv:spin", train_size=8, seed=1)
    from statphys.physics.networks import lattice_bonds
    from statphys.studies.spin_targets import make_target

    couplings = make_target("edwards_anderson", 9, 1.0).lattice.couplings
    np.testing.assert_array_equal(net.params["bonds"], lattice_bonds(couplings, 3))


def test_lattice_density_matches_spin_marginal():
    """ln p_t of the EA target (float64 NumPy over states) against `models.spin_marginal.SpinMarginal`, at a small
    noise level (σ = 0.3, where the O(n/σ²) terms cancel)."""
    from statphys.models.spin_marginal import SpinMarginal
    from statphys.studies.spin_targets import make_target

    spin = make_target("edwards_anderson", 9, 1.0, disorder_seed=1)
    x = np.asarray(jax.random.normal(jax.random.PRNGKey(12), (7, 9)))
    np.testing.assert_allclose(spin.density.marginal_log_prob(x, 0.9, 0.3),
                               SpinMarginal(spin.model).marginal_log_prob(x, 0.9, 0.3), rtol=1e-10)
