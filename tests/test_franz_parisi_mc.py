"""Franz–Parisi potential by umbrella sampling over q + WHAM (`umbrella_overlap_potential`) against exact values:
enumeration for SK at N = 12, the two-group sum for Curie–Weiss beyond enumeration; WHAM's exactness on exact
histograms; and a comparison that must fail (a wrong β)."""

import jax
import numpy as np
import pytest
import scipy.stats

from statphys.models.curie_weiss import CurieWeiss
from statphys.models.sk import SherringtonKirkpatrick
from statphys.physics.franz_parisi_spins import enumerated_overlap_log_probs
from statphys.physics.quenched import quenched_average, quenched_umbrella_potential, sample_disorder
from statphys.physics.umbrella import umbrella_overlap_potential, wham_log_probs

ALPHA, SIGMA = 0.6, 0.8  # intermediate noise: α²/σ² ≈ 0.56 per spin


def _problem(n=12, beta=1.5):
    target = SherringtonKirkpatrick.random(n, beta, seed=1)
    key = jax.random.PRNGKey(0)
    s_ref = target.sample(key, 1)[0]  # (s′, x_t) drawn jointly: s′ is a posterior sample given x_t
    x = ALPHA * s_ref + SIGMA * jax.random.normal(jax.random.fold_in(key, 1), (n,))
    return target, s_ref, x


def _z(estimate, exact_log_probs, n):
    return (estimate.value + np.asarray(exact_log_probs) / n) / estimate.error


@pytest.fixture(scope="module")
def sk_umbrella():
    target, s_ref, x = _problem()
    res = umbrella_overlap_potential(jax.random.PRNGKey(7), target, s_ref, x, ALPHA, SIGMA,
                                     chains_per_window=32, num_groups=16, num_sweeps=200, burn_in=200)
    return target, s_ref, x, res


def test_umbrella_matches_enumeration_sk(sk_umbrella):
    """Every one of the 13 levels (P(q) spans e^{−15}..e^{−1}) within 4.5 standard errors; errors from 16
    independent chain groups (2 chains per window each)."""
    target, s_ref, x, res = sk_umbrella
    n = target.n
    exact = enumerated_overlap_log_probs(target, s_ref[None], x[None], ALPHA, SIGMA)[0]
    assert np.asarray(exact).min() < -10  # the windows reach levels that plain sampling would not
    assert res.q.shape == (n + 1,) and np.all(res.counts.sum(0) > 0)
    assert np.all(np.isfinite(res.potential.error)) and np.all(res.potential.error > 0)
    z = _z(res.potential, exact, n)
    assert np.max(np.abs(z)) < 4.5, z
    np.testing.assert_allclose(np.exp(res.log_probs).sum(), 1.0, atol=1e-12)


def test_comparison_can_fail(sk_umbrella):
    """The same estimate against the enumeration of a different β (1.0 instead of 1.5) is rejected."""
    target, s_ref, x, res = sk_umbrella
    wrong = SherringtonKirkpatrick(target.couplings, 1.0)
    exact = enumerated_overlap_log_probs(wrong, s_ref[None], x[None], ALPHA, SIGMA)[0]
    assert np.max(np.abs(_z(res.potential, exact, target.n))) > 10


@pytest.mark.slow  # the SK N = 12 enumeration checks the same sampler in the default run
def test_umbrella_curie_weiss_beyond_enumeration():
    """N = 40 (2⁴⁰ states) against the exact two-group sum on all 41 levels (ln P from −61 to −1.2)."""
    n = 40
    target = CurieWeiss(n, 1.2, 0.05)
    key = jax.random.PRNGKey(2)
    s_ref = target.sample(key, 1)[0]
    x = ALPHA * s_ref + SIGMA * jax.random.normal(jax.random.fold_in(key, 1), (n,))
    exact = np.asarray(target.overlap_log_probs(s_ref[None], x[None], ALPHA, SIGMA)[0])
    res = umbrella_overlap_potential(jax.random.PRNGKey(3), target, s_ref, x, ALPHA, SIGMA, num_windows=21,
                                     chains_per_window=16, num_groups=8, num_sweeps=100, burn_in=50)
    assert exact.min() < -50
    z = _z(res.potential, exact, n)
    assert np.all(np.isfinite(z)) and np.max(np.abs(z)) < 4.5, z


@pytest.mark.parametrize("rule", ["metropolis", "heat_bath"])
def test_level_bias_sweep_samples_the_biased_law(rule):
    """montecarlo.sweep with a LevelBias samples P(s | x) e^{b[K(s)]} for a random table b (not a quadratic in K):
    K of 512 chains, read every 50 sweeps from 100 to 350 (3072 independent draws: the autocorrelation time of K is
    a few sweeps here), against the enumerated biased law by a χ² test at false-alarm rate 10⁻⁴; the unbiased
    law is rejected by the same data."""
    import jax.numpy as jnp

    from statphys.physics import montecarlo as mc

    target, s_ref, x = _problem(n=8, beta=1.0)
    n, chains = 8, 512
    table = np.random.default_rng(1).normal(scale=1.5, size=n + 1)
    log_pk = np.asarray(enumerated_overlap_log_probs(target, s_ref[None], x[None], ALPHA, SIGMA)[0])
    bias = mc.LevelBias(s_ref, jnp.broadcast_to(jnp.asarray(table), (chains, n + 1)))
    field = target.field + ALPHA * x / SIGMA**2

    @jax.jit
    def histogram(state):
        def one(carry, k):
            state, counts = carry
            state, _ = mc.sweep(jax.random.PRNGKey(k), state, target.couplings, field, target.beta, rule, bias)
            read = (k >= 100) & (k % 50 == 0)
            counts = counts + jnp.where(read, jnp.bincount(mc.overlap_level(state.spins, s_ref), length=n + 1), 0)
            return (state, counts), None

        return jax.lax.scan(one, (state, jnp.zeros(n + 1, int)), jnp.arange(1, 351))[0][1]

    counts = np.asarray(histogram(mc.init(target.couplings, jax.random.rademacher(jax.random.PRNGKey(5), (chains, n),
                                                                                   dtype=float))))
    assert counts.sum() == 6 * chains

    def p_value(log_law):
        law = np.exp(log_law - np.logaddexp.reduce(log_law)) * counts.sum()
        keep = law > 5
        return scipy.stats.chisquare(np.append(counts[keep], counts[~keep].sum()),
                                     np.append(law[keep], law[~keep].sum())).pvalue

    assert p_value(log_pk + table) > 1e-4, counts
    assert p_value(log_pk) < 1e-10


def test_wham_exact_on_exact_histograms():
    """Histograms equal to their expectations n_w P(K) e^{b_w(K)}/Z_w give back P exactly."""
    rng = np.random.default_rng(0)
    log_p = rng.normal(size=9) * 3
    log_p -= np.logaddexp.reduce(log_p)
    bias = -0.5 * ((np.arange(9)[None, :] - np.array([0, 3, 5, 8])[:, None]) / 1.5) ** 2 - log_p[None, :] * 0.7
    w = np.exp(log_p[None, :] + bias)
    counts = np.array([1e4, 2e4, 5e3, 1e4])[:, None] * w / w.sum(1, keepdims=True)
    np.testing.assert_allclose(wham_log_probs(counts, bias), log_p, atol=1e-9)


def test_umbrella_rejects_bad_input():
    target, s_ref, x = _problem(n=6)
    with pytest.raises(ValueError, match="multiple"):
        umbrella_overlap_potential(jax.random.PRNGKey(0), target, s_ref, x, ALPHA, SIGMA, chains_per_window=5,
                                   num_groups=2)
    with pytest.raises(ValueError, match="±1"):
        umbrella_overlap_potential(jax.random.PRNGKey(0), target, 0.5 * s_ref, x, ALPHA, SIGMA)


NUM_LEVELS, NUM_GROUPS = 13, 16


@pytest.fixture(scope="module")
def sk_quenched():
    """Five disorder draws (s′_d, x_d) at one noise level, SK N = 12, β = 1.5; the same draws enumerated."""
    target = SherringtonKirkpatrick.random(12, 1.5, seed=1)
    res = quenched_umbrella_potential(jax.random.PRNGKey(0), target, ALPHA, SIGMA, 5, chains_per_window=32,
                                      num_groups=NUM_GROUPS, num_sweeps=200, burn_in=200)
    return target, res


def _enumerated_quenched(target, res):
    return quenched_average(-np.asarray(enumerated_overlap_log_probs(target, res.references, res.x, ALPHA,
                                                                     SIGMA)) / target.n)


@pytest.mark.slow  # test_study_kind_sk compares the quenched potential with enumeration on the same draws
def test_quenched_umbrella_matches_enumeration_on_the_same_disorder(sk_quenched):
    """Quenched mean over 5 draws against the enumeration of the same draws, at each of the 13 levels, in units of
    mc_error (Monte-Carlo errors only: the disorder is common). Each ε_d comes from 16 chain groups (15 degrees
    of freedom), so z is Student-t with the Welch–Satterthwaite ν = (Σε²)²/Σ(ε⁴/15); the threshold is its
    two-sided quantile at a family-wise false-alarm rate 10⁻³, Bonferroni over the 13 levels, at the smallest ν
    over levels (ν ≈ 28, threshold ≈ 4.6 here)."""
    target, res = sk_quenched
    exact = _enumerated_quenched(target, res)
    assert res.potentials.shape == (5, NUM_LEVELS) and np.all(res.mean.count == 5)
    assert np.all(np.isfinite(res.mean.mc_error)) and np.all(res.mean.mc_error > 0)
    nu = np.sum(res.errors**2, 0) ** 2 / np.sum(res.errors**4 / (NUM_GROUPS - 1), 0)
    threshold = scipy.stats.t.ppf(1 - 1e-3 / (2 * NUM_LEVELS), nu.min())
    z = (res.mean.value - exact.value) / res.mean.mc_error
    assert np.max(np.abs(z)) < threshold, (z, threshold)
    # the disorder spread dominates the total error of the quenched mean: ≫ the Monte-Carlo part
    assert np.all(res.mean.error > 5 * res.mean.mc_error)


@pytest.mark.slow
def test_quenched_comparison_can_fail(sk_quenched):
    """The same quenched mean against the enumeration of β = 1.0 on the same draws is rejected (|z| ≫ 10)."""
    target, res = sk_quenched
    wrong = _enumerated_quenched(SherringtonKirkpatrick(target.couplings, 1.0), res)
    assert np.max(np.abs((res.mean.value - wrong.value) / res.mean.mc_error)) > 10


def test_quenched_average_formulas_and_missing_levels():
    """Hand-computed mean, s/√D, √(Σε²)/D; a NaN (unvisited) level is counted out, not averaged as +inf."""
    v = np.array([[1.0, 2.0, np.nan], [3.0, np.inf, np.nan], [5.0, 4.0, 7.0]])
    e = np.array([[0.1, 0.2, np.nan], [0.2, np.nan, np.nan], [0.2, 0.3, 0.4]])
    out = quenched_average(v, e)
    np.testing.assert_array_equal(out.count, [3, 2, 1])
    np.testing.assert_allclose(out.value, [3.0, 3.0, 7.0])
    np.testing.assert_allclose(out.error[:2], [2 / np.sqrt(3), 1.0])  # s² = 4, 2
    assert np.isnan(out.error[2])  # one sample: no spread
    np.testing.assert_allclose(out.mc_error, [0.3 / 3, np.sqrt(0.13) / 2, 0.4])
    assert np.all(np.isnan(quenched_average(np.full((2, 1), np.nan)).value))


def test_quenched_umbrella_rejects_bad_input():
    target, s_ref, x = _problem(n=6)
    key = jax.random.PRNGKey(0)
    with pytest.raises(ValueError, match="together"):
        quenched_umbrella_potential(key, target, ALPHA, SIGMA, references=s_ref[None])
    with pytest.raises(ValueError, match="num_disorder is required"):
        quenched_umbrella_potential(key, target, ALPHA, SIGMA)
    with pytest.raises(ValueError, match="shape"):
        quenched_umbrella_potential(key, target, ALPHA, SIGMA, references=s_ref, x=x)
    with pytest.raises(ValueError, match="num_disorder"):
        quenched_umbrella_potential(key, target, ALPHA, SIGMA, 3, references=s_ref[None], x=x[None])
    with pytest.raises(ValueError, match="reference_sampler"):
        sample_disorder(key, target, ALPHA, SIGMA, 2, reference_sampler=lambda k, m: s_ref)


def test_study_kind_sk(tmp_path, run_tiny_study, assert_no_padding):
    """The franz_parisi_sk study at N = 10 (parallel-tempering references), through the runner: the quenched
    potential agrees with the enumeration of the same draws, every level is visited by every draw, no NaN except
    where a variable says when it is undefined, the figure is drawn, and impossible values are refused."""
    from statphys.paper import plots
    from statphys.studies.kinds import franz_parisi_sk as kind

    params = dict(n=10, times=[0.5], num_disorder=3, chains=8, groups=4, sweeps=100, pt_sweeps=300)
    ds = run_tiny_study("franz_parisi_sk", params)
    assert_no_padding(ds, may_be_nan=("q_secondary",))  # NaN: no secondary minimum at that time
    assert ds.v.dims == ("time", "q") and ds.sizes["q"] == 11
    assert np.all(ds.num_draws == 3) and 0 < float(ds.pt_swap_min) <= 1
    assert float(ds.enum_max_z[0]) < 5.0, ds.enum_max_z.values
    assert -1 <= float(ds.q_global[0]) <= 1
    written = plots.draw("franz_parisi_sk", ds, tmp_path / "franz_parisi_sk")
    assert all(p.exists() and p.stat().st_size > 0 for p in written)
    defaults = {name: default for name, (_, default) in kind.PARAMS.items()}
    kind.validate(defaults)
    with pytest.raises(ValueError, match="multiple of groups"):
        kind.validate({**defaults, "chains": 10, "groups": 4})
    with pytest.raises(ValueError, match="n must be >= 4"):
        kind.validate({**defaults, "n": 3})
