"""Monte Carlo against exact enumeration: every tolerance is a z-score with the autocorrelation-corrected error."""

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest
import scipy.stats

from statphys.models.base import spin_states
from statphys.models.edwards_anderson import EdwardsAnderson
from statphys.models.equilibrium import equilibrium
from statphys.models.hopfield import Hopfield
from statphys.models.sk import SherringtonKirkpatrick
from statphys.physics import ExactScore, make_schedule, reverse_sample
from statphys.physics import chain_statistics as cs
from statphys.physics import montecarlo as mc
from statphys.physics.mc_posterior import posterior_mean
from statphys.physics.mc_score import autocorrelation_sweeps, mc_reverse_sample, tempering_ladder
from statphys.physics.tempering import init_tempering, run_tempering
from statphys.physics.total_variation import total_variation

Z = 4.5  # z-score bound for single comparisons
Z_MANY = 5.0  # for the bins of a law (a handful of comparisons)


def pair_observables(state):
    """Energy −E_J/N, m² per chain and the overlap q of chains (2k, 2k+1)."""
    s = state.spins
    n = s.shape[-1]
    pairs = s.reshape(-1, 2, n)
    return {
        "energy": -mc.coupling_energy(state) / n,
        "m2": jnp.mean(s, axis=-1) ** 2,
        "q": jnp.sum(pairs[:, 0] * pairs[:, 1], axis=-1) / n,
    }


def assert_matches(records, th, energy_shift=0.0):
    """Energy, ⟨m²⟩ and every bin of P(q) with P > 1e-3 within the error bar (records: (steps, chains))."""
    n = th.m_values.size - 1
    for name, exact in (("energy", th.energy + energy_shift), ("m2", th.m2)):
        mean, err = cs.mean_and_stderr(records[name])
        assert abs(mean - exact) < Z * err, (name, mean, exact, err)
    q = np.asarray(records["q"])
    for k in np.flatnonzero(th.q_law > 1e-3):
        indicator = np.isclose(q, 2 * k / n - 1).astype(float)
        mean, err = cs.mean_and_stderr(indicator)
        assert abs(mean - th.q_law[k]) < Z_MANY * err, (k, mean, th.q_law[k], err)


def test_sk_high_temperature_metropolis():
    sk = SherringtonKirkpatrick.random(12, 0.5, seed=1)
    _, records, acc = mc.sample_chains(jax.random.key(0), sk.couplings, sk.field, sk.beta, num_chains=512,
                                       num_sweeps=300, burn_in=50, observables=pair_observables)
    assert 0.3 < float(acc.mean()) < 1.0
    assert_matches(records, equilibrium(sk))


def test_sk_low_temperature_parallel_tempering():
    sk = SherringtonKirkpatrick.random(12, 2.0, seed=2)
    betas = jnp.linspace(0.4, 2.0, 6)
    key_init, key_burn, key_run = jax.random.split(jax.random.key(1), 3)
    state = init_tempering(key_init, sk.couplings, 6, 256)
    state, _, _, _ = run_tempering(key_burn, sk.couplings, sk.field, betas, state, num_sweeps=100,
                                   rule="heat_bath", observables=pair_observables)
    _, records, acc, swaps = run_tempering(key_run, sk.couplings, sk.field, betas, state, num_sweeps=300,
                                           rule="heat_bath", observables=pair_observables)
    assert np.all(np.asarray(swaps) > 0.2), swaps
    cold = {name: np.asarray(value)[:, -1] for name, value in records.items()}
    assert_matches(cold, equilibrium(sk))
    warm = {name: np.asarray(value)[:, 0] for name, value in records.items()}
    assert_matches(warm, equilibrium(SherringtonKirkpatrick(sk.couplings, 0.4)))


def test_edwards_anderson_square_heat_bath():
    ea = EdwardsAnderson.from_graph(nk.graph.Square(4, pbc=True), 0.7, bonds="pm", seed=3)
    _, records, _ = mc.sample_chains(jax.random.key(2), ea.couplings, ea.field, ea.beta, num_chains=512,
                                     num_sweeps=300, burn_in=50, rule="heat_bath", observables=pair_observables)
    assert_matches(records, equilibrium(ea))


def test_hopfield_three_patterns():
    hop = Hopfield.random(12, 3, 1.3, seed=4)
    _, records, _ = mc.sample_chains(jax.random.key(3), hop.couplings, hop.field, hop.beta, num_chains=512,
                                     num_sweeps=300, burn_in=50, observables=pair_observables)
    # H = −(1/2N) Σ_μ (ξ^μ·s)² = −½ sᵀJs − K/2: the kernel records −½ sᵀJs / N
    assert_matches(records, equilibrium(hop), energy_shift=3 / (2 * 12))


def test_monte_carlo_denoiser_matches_enumeration_and_warm_starts():
    sk = SherringtonKirkpatrick.random(14, 1.2, h=0.1, seed=5)
    x = np.random.default_rng(0).normal(size=(4, 14))
    alpha, sigma = 0.6, 0.8
    exact = np.asarray(sk.posterior_mean(x, alpha, sigma))
    est = posterior_mean(jax.random.key(4), sk.couplings, sk.field, sk.beta, x, alpha, sigma,
                         chains_per_x=32, num_sweeps=200, burn_in=50)
    z = (np.asarray(est.mean) - exact) / np.asarray(est.stderr)
    assert np.max(np.abs(z)) < Z_MANY and np.all(np.asarray(est.stderr) < 0.05)
    again = posterior_mean(jax.random.key(5), sk.couplings, sk.field, sk.beta, x, alpha, sigma,
                           chains_per_x=32, num_sweeps=200, burn_in=0, init_state=est.state)
    assert np.max(np.abs((np.asarray(again.mean) - exact) / np.asarray(again.stderr))) < Z_MANY


def denoiser_z_scores(draws, beta, times, seeds, rows, chains, sweeps, burn_in, n=12):
    """z = (MC − exact)/stderr of the Monte-Carlo denoiser over couplings × times × rows of x_t × sites.

    x_t = α s + σ ξ with s drawn exactly from the SK target (OU schedule; `draws`: the sk_posterior_draws
    fixture). Returns z (groups, rows, n) and the naive error that ignores autocorrelation and chains,
    √(var/draws), for the same estimates.
    """
    zs, naive = [], []
    for seed, k, sk, alpha, sigma, x, exact in draws(n, beta, times, seeds, rows, stride=100):
        est = posterior_mean(jax.random.key(7 + 100 * seed + k), sk.couplings, sk.field, sk.beta, x, alpha,
                             sigma, chains_per_x=chains, num_sweeps=sweeps, burn_in=burn_in)
        assert np.all(np.asarray(est.stderr) > 0)
        zs.append((np.asarray(est.mean) - exact) / np.asarray(est.stderr))
        naive.append((np.asarray(est.mean) - exact) / np.asarray(est.stderr * np.sqrt(est.ess / (chains * sweeps))))
    return np.stack(zs), np.stack(naive)


def assert_calibrated(z, chains, family_alpha=0.01):
    """mean z² = 1 within 3 of its standard errors (rows of x are the independent units: the sites of a row
    share chains), and no |z| beyond the Bonferroni bound at family-wise level ``family_alpha``. The error bar
    is estimated from ``chains`` chains, so z is Student-t with at most chains − 1 degrees of freedom, and the
    bound is that t quantile (with 32 chains × 400 sweeps, 14 of 2304 |z| exceed 3, where a normal law
    gives 6 and t₃₁ 12)."""
    per_row = np.mean(z**2, axis=-1).ravel()
    mean, se = per_row.mean(), per_row.std(ddof=1) / np.sqrt(per_row.size)
    bound = scipy.stats.t.isf(family_alpha / (2 * z.size), chains - 1)
    assert abs(mean - 1.0) < 3 * se, (mean, se)
    assert np.max(np.abs(z)) < bound, (np.max(np.abs(z)), bound)
    return mean, se


def test_monte_carlo_denoiser_error_bar_is_calibrated(sk_posterior_draws):
    """Coverage against enumeration over 2 couplings × 2 times × 8 rows × 12 sites (384 z-scores); the same
    estimates with the error that ignores autocorrelation fail the check."""
    z, naive = denoiser_z_scores(sk_posterior_draws, 1.0, (0.5, 1.2), (0, 1), rows=8, chains=32, sweeps=400, burn_in=100)
    assert_calibrated(z, 32)
    assert np.mean(naive**2) > 2.0


@pytest.mark.slow
def test_monte_carlo_denoiser_error_bar_is_calibrated_in_the_glassy_regime(sk_posterior_draws):
    """The issue's setting, SK N = 12, β = 1.5, OU t = 1.5, 64 chains × 1000 sweeps, plus t = 0.3 where spins
    freeze: 4 couplings × 2 times × 16 rows × 12 sites = 1536 z-scores."""
    z, _ = denoiser_z_scores(sk_posterior_draws, 1.5, (0.3, 1.5), (0, 1, 2, 3), rows=16, chains=64, sweeps=1000, burn_in=100)
    assert_calibrated(z, 64)


def test_chain_summary_autocorrelation_and_frozen_chains():
    rho, steps, chains = 0.9, 2000, 32
    rng = np.random.default_rng(1)
    x = np.zeros((steps, chains))
    x[0] = rng.normal(size=chains) / np.sqrt(1 - rho**2)
    for t in range(1, steps):
        x[t] = rho * x[t - 1] + rng.normal(size=chains)
    lags = np.arange(1, steps)
    factor = 1 + 2 * np.sum((1 - lags / steps) * rho**lags)  # Var(chain mean) = var · factor / steps
    summary = cs.chain_summary(jnp.asarray(x)[:, :, None])
    assert steps * chains / float(summary.ess[0]) == pytest.approx(factor, rel=0.15)
    assert float(summary.rhat[0]) < 1.05
    # every chain frozen on its own value: the error is the spread of the chains, one draw per chain
    frozen = np.broadcast_to(rng.normal(size=chains), (50, chains))[:, :, None]
    summary = cs.chain_summary(jnp.asarray(frozen))
    assert float(summary.stderr[0]) == pytest.approx(frozen[0, :, 0].std(ddof=1) / np.sqrt(chains), rel=1e-10)
    assert float(summary.ess[0]) == pytest.approx(chains, rel=0.01)
    assert np.isinf(float(summary.rhat[0]))
    # one chain stuck away from the others: R̂ flags it and the error grows beyond the chains' own noise
    stuck = np.sign(x[:400]).copy()
    mixed = cs.chain_summary(jnp.asarray(stuck)[:, :, None])
    stuck[:, 0] = 1.0
    stuck[:, 1] = -1.0
    summary = cs.chain_summary(jnp.asarray(stuck)[:, :, None])
    assert float(summary.stderr[0]) > float(mixed.stderr[0])
    assert float(summary.rhat[0]) > float(mixed.rhat[0])
    # all draws equal: no scale in the data
    summary = cs.chain_summary(jnp.ones((20, 4)))
    assert np.all(np.asarray(summary.stderr) == 0) and np.all(np.asarray(summary.ess) == 4)
    # bounded binary draws: rank normalisation changes nothing for the bulk R̂
    np.testing.assert_allclose(cs.rank_normalized_rhat(np.sign(x[:, :, None]))[0], float(cs.chain_summary(
        jnp.asarray(np.sign(x))[:, :, None]).rhat[0]), rtol=1e-6)


def test_monte_carlo_denoiser_frozen_spin_has_an_error_bar():
    """A spin pinned by a huge field is equal in every draw of every chain: the error bar is the Laplace
    floor √((1 − μ̃²)/M) for recorded spins, and positive for the Rao–Blackwellised estimate."""
    sk = SherringtonKirkpatrick.random(8, 1.0, seed=3)
    x = np.zeros((2, 8))
    x[:, 0] = 40.0
    exact = np.asarray(sk.posterior_mean(x, 1.0, 1.0))
    for estimator in ("spins", "rao_blackwell"):
        est = posterior_mean(jax.random.key(0), sk.couplings, sk.field, sk.beta, x, 1.0, 1.0, chains_per_x=8,
                             num_sweeps=50, burn_in=10, estimator=estimator)
        stderr = np.asarray(est.stderr)
        assert np.all(stderr > 0), (estimator, stderr)
        assert np.all(np.abs(np.asarray(est.mean) - exact) < 5 * stderr)
        if estimator == "spins":
            np.testing.assert_allclose(stderr[:, 0], np.sqrt((1 - (8 / 10) ** 2) / 8), rtol=1e-12)


def test_netket_metropolis_local_agrees():
    """Independent sampler: NetKet's MetropolisLocal on Spin(1/2, N) with log ψ = ½ ln w (|ψ|² = w)."""
    sk = SherringtonKirkpatrick.random(10, 1.0, h=0.2, seed=6)
    hilbert = nk.hilbert.Spin(0.5, 10)
    np.testing.assert_array_equal(np.asarray(hilbert.all_states()), np.asarray(spin_states(10)))
    sampler = nk.sampler.MetropolisLocal(hilbert, n_chains=256, dtype=jnp.float64)
    log_psi = lambda couplings, s: 0.5 * SherringtonKirkpatrick(couplings, sk.beta, sk.h).log_weight(s)  # noqa: E731
    _, state = sampler.sample(log_psi, sk.couplings, chain_length=100)
    samples, _ = sampler.sample(log_psi, sk.couplings, state=state, chain_length=300)
    energy = np.asarray(sk.energy(jnp.asarray(samples, float))).T / 10  # (steps, chains)
    mean, err = cs.mean_and_stderr(energy)
    assert abs(mean - equilibrium(sk).energy) < Z * err


def test_integrated_time_of_ar1_process():
    """AR(1) x_t = ρ x_{t−1} + ε_t has τ = (1 + ρ)/(1 − ρ)."""
    rho, steps, chains = 0.8, 4000, 32
    rng = np.random.default_rng(0)
    x = np.zeros((steps, chains))
    x[0] = rng.normal(size=chains) / np.sqrt(1 - rho**2)
    for t in range(1, steps):
        x[t] = rho * x[t - 1] + rng.normal(size=chains)
    assert cs.integrated_time(x) == pytest.approx((1 + rho) / (1 - rho), rel=0.1)
    assert cs.effective_sample_size(x) == pytest.approx(steps * chains * (1 - rho) / (1 + rho), rel=0.1)


def test_bad_input():
    sk = SherringtonKirkpatrick.random(6, 1.0)
    with pytest.raises(ValueError, match="rule"):
        mc.sample_chains(jax.random.key(0), sk.couplings, sk.field, 1.0, num_chains=2, num_sweeps=2, rule="glauber")
    with pytest.raises(ValueError, match="beta"):
        mc.sample_chains(jax.random.key(0), sk.couplings, sk.field, -1.0, num_chains=2, num_sweeps=2)
    with pytest.raises(ValueError, match="symmetric"):
        mc.sample_chains(jax.random.key(0), jnp.triu(jnp.ones((4, 4)), 1), 0.0, 1.0, num_chains=2, num_sweeps=2)
    with pytest.raises(ValueError, match="num_chains"):
        mc.sample_chains(jax.random.key(0), sk.couplings, sk.field, 1.0, num_chains=0, num_sweeps=2)
    with pytest.raises(ValueError, match="chains_per_x"):
        posterior_mean(jax.random.key(0), sk.couplings, sk.field, 1.0, np.zeros((1, 6)), 1.0, 1.0, chains_per_x=1)
    with pytest.raises(ValueError, match="sigma"):
        posterior_mean(jax.random.key(0), sk.couplings, sk.field, 1.0, np.zeros((1, 6)), 1.0, 0.0)
    with pytest.raises(ValueError, match="series"):
        cs.integrated_time(np.zeros((1, 3)))
    with pytest.raises(ValueError, match="estimator"):
        posterior_mean(jax.random.key(0), sk.couplings, sk.field, 1.0, np.zeros((1, 6)), 1.0, 1.0, estimator="mean")
    with pytest.raises(ValueError, match="num_sweeps"):
        posterior_mean(jax.random.key(0), sk.couplings, sk.field, 1.0, np.zeros((1, 6)), 1.0, 1.0, num_sweeps=3)
    with pytest.raises(ValueError, match="draws"):
        cs.chain_summary(np.zeros((3, 4)))
    schedule = make_schedule("ou", T=5.0)
    with pytest.raises(ValueError, match="sampler"):
        mc_reverse_sample(jax.random.key(0), sk.couplings, sk.field, 1.0, schedule, num_steps=2, batch=2,
                          sampler="pf_heun")
    with pytest.raises(ValueError, match="chains_per_x"):
        mc_reverse_sample(jax.random.key(0), sk.couplings, sk.field, 1.0, schedule, num_steps=2, batch=2,
                          chains_per_x=1)
    with pytest.raises(ValueError, match="x_init"):
        mc_reverse_sample(jax.random.key(0), sk.couplings, sk.field, 1.0, schedule, num_steps=2, batch=2,
                          x_init=np.zeros((2, 5)))
    with pytest.raises(ValueError, match="ladder"):
        mc_reverse_sample(jax.random.key(0), sk.couplings, sk.field, 1.0, schedule, num_steps=2, batch=2,
                          ladder=[0.5, 1.0])


def compare_mc_score_run(n, particles, chains, sweeps, steps, ladder=None):
    """Generated spins of `mc_reverse_sample` and of the exact-score run with the same keys (SK β = 1.0)."""
    sk = SherringtonKirkpatrick.random(n, 1.0, seed=5)
    schedule = make_schedule("ou", T=5.0, t_min=1e-3)
    out = mc_reverse_sample(jax.random.key(1), sk.couplings, sk.field, sk.beta, schedule, num_steps=steps,
                            batch=particles, chains_per_x=chains, sweeps_per_step=sweeps, ladder=ladder)
    if ladder is not None:
        swaps = np.asarray(out.swap_acceptance)
        assert swaps.shape == (steps + 1, len(ladder) - 1) and np.all(np.nanmean(swaps, 0) > 0.3), swaps
        assert out.chains.spins.shape == (particles * chains, n)
    exact = reverse_sample(jax.random.key(1), ExactScore(sk, schedule), schedule, num_steps=steps, batch=particles,
                           n=n, sampler="ddpm", spacing="log")
    assert np.all(np.isfinite(np.asarray(out.denoised))) and out.acceptance.shape == (steps + 1,)
    return sk, np.sign(np.asarray(out.x)), np.sign(np.asarray(exact.x))


def assert_generated_law(sk, spins, paired):
    """Energy and ⟨m²⟩ within Z standard errors of enumeration and of the paired exact-score run; P(m) by TV."""
    th = equilibrium(sk)
    for observable, reference in ((lambda s: np.asarray(sk.energy(jnp.asarray(s))) / sk.n, th.energy),
                                  (lambda s: np.mean(s, axis=1) ** 2, th.m2)):
        values, difference = observable(spins), observable(spins) - observable(paired)
        assert abs(values.mean() - reference) < Z * values.std(ddof=1) / np.sqrt(values.size)
        assert abs(difference.mean()) < Z * difference.std(ddof=1) / np.sqrt(difference.size)
    _, _, _, p_value = total_variation(spins.mean(1), th.m_values, th.m_law)
    assert p_value > 1e-3


@pytest.mark.slow  # test_sk_generation and test_spin_glasses_at_scale run the MC score along generation
def test_monte_carlo_score_along_the_reverse_trajectory():
    """Persistent warm-started chains (8 per particle, 8 sweeps per step), SK N = 8, β = 1, 400 particles,
    50 ddpm steps, against enumeration and the exact-score run driven by the same noise (final spins differ
    on 4.6% of the sites)."""
    sk, spins, paired = compare_mc_score_run(8, 400, 8, 8, 50)
    assert_generated_law(sk, spins, paired)
    assert np.mean(spins != paired) < 0.1


@pytest.mark.slow  # test_sk_generation runs the tempered score along generation
def test_tempered_monte_carlo_score_along_the_reverse_trajectory():
    """The chains parallel-tempered over 4 rungs β = 1 … 0.3 (8 chains × 4 sweeps per rung per step), same run
    otherwise: the law of enumeration and of the paired exact-score run, exchanges accepted at every pair."""
    sk, spins, paired = compare_mc_score_run(8, 400, 8, 4, 50, ladder=tempering_ladder(1.0, 0.3, 4))
    assert_generated_law(sk, spins, paired)
    assert np.mean(spins != paired) < 0.1


@pytest.mark.slow
def test_monte_carlo_score_along_the_reverse_trajectory_converges():
    """N = 10, 1000 particles, 100 steps: 16 chains × 16 sweeps per step (≈ the median τ, 12–14 sweeps at
    t ≥ 1, from `autocorrelation_sweeps`) generate the law and end on the exact-score run's spins at all but
    1.3% of the sites; 8 chains × 2 sweeps disagree on 5% and heat the samples (paired energy z = 3.1)."""
    sk, spins, paired = compare_mc_score_run(10, 1000, 16, 16, 100)
    assert_generated_law(sk, spins, paired)
    close = np.mean(spins != paired)
    _, rough, paired = compare_mc_score_run(10, 1000, 8, 2, 100)
    assert close < 0.03 and np.mean(rough != paired) > 2 * close


@pytest.mark.slow
def test_autocorrelation_sweeps_grow_with_beta():
    """τ of the posterior chains at t = 1 grows from β = 0.3 to β = 1.2 (SK N = 10)."""
    schedule = make_schedule("ou", T=5.0, t_min=1e-3)
    taus = []
    for beta in (0.3, 1.2):
        sk = SherringtonKirkpatrick.random(10, beta, seed=5)
        taus.append(autocorrelation_sweeps(jax.random.key(3), sk.couplings, sk.field, sk.beta, schedule, [1.0]))
    assert taus[0].tau_median[0] < 3 < taus[1].tau_median[0] and np.all(taus[1].tau_max >= taus[1].tau_median)


def _assert_trees_equal(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_neighbour_table_reproduces_the_dense_chains_bit_for_bit():
    """EA ±J: g = Js is an exact integer either way, the same sites and uniforms are drawn, so the neighbour table
    (O(z) per flip) gives the dense kernel's chains bit for bit: both rules with a per-chain field and β, a lattice
    with open boundaries (rows of degree 2–4, padded), tempering and the MC denoiser (the tempered MC score along
    generation: tests/test_spin_glasses_at_scale.py). Gaussian bonds: g = Js summed in another order, the same spins
    and g to 1e-12."""
    key = jax.random.key(7)
    for graph, bonds, rules in ((nk.graph.Square(5, pbc=True), "pm", mc.RULES),
                                (nk.graph.Square(4, pbc=False), "pm", ("heat_bath",)),
                                (nk.graph.Square(5, pbc=True), "gaussian", ("metropolis",))):
        J = EdwardsAnderson.from_graph(graph, 1.0, bonds=bonds, seed=3).couplings
        table = mc.NeighbourCouplings.from_dense(J)
        n = J.shape[0]
        assert table.shape == J.shape and table.neighbours.shape == (n, 4)
        np.testing.assert_array_equal(np.asarray(table.dense()), J)
        field = 0.3 * np.random.default_rng(0).normal(size=(6, n))
        beta = np.linspace(0.4, 1.2, 6)
        for rule in rules:
            dense, sparse = (mc.sample_chains(key, c, field, beta, num_chains=6, num_sweeps=12, rule=rule,
                                              observables=mc._spins) for c in (J, table))
            if bonds == "pm":
                _assert_trees_equal(dense, sparse)
            else:
                np.testing.assert_array_equal(dense[1], sparse[1])  # the recorded spins
                np.testing.assert_allclose(sparse[0].coupling_field, dense[0].coupling_field, rtol=0, atol=1e-12)
    betas = jnp.array([0.3, 0.7, 1.2])
    J = EdwardsAnderson.from_graph(nk.graph.Square(5, pbc=True), 1.0, seed=4).couplings
    table = mc.NeighbourCouplings.from_dense(J)
    runs = [run_tempering(key, c, 0.1, betas, init_tempering(key, c, 3, 4), num_sweeps=20) for c in (J, table)]
    _assert_trees_equal(*runs)
    x = np.random.default_rng(1).normal(size=(3, 25))
    _assert_trees_equal(*(posterior_mean(key, c, 0.0, 1.1, x, 0.7, 0.9, chains_per_x=4, num_sweeps=8, burn_in=0)
                          for c in (J, table)))


def test_pattern_couplings_reproduce_the_dense_chains():
    """Couplings of rank K (`PatternCouplings`, O(K) per flip through the carried overlaps Pᵀs): integer patterns
    (g = Js exact) give the dense kernel's chains bit for bit, both rules with a per-chain field and β, tempering
    and the MC denoiser; Hopfield's J = ξᵀξ/N (g summed in another order) the same spins and g to 1e-12."""
    key = jax.random.key(11)
    n, k = 24, 3
    xi = np.random.default_rng(5).choice([-1.0, 1.0], size=(k, n))
    patterns = mc.PatternCouplings(jnp.asarray(xi.T))
    J = xi.T @ xi - k * np.eye(n)
    assert patterns.shape == J.shape
    np.testing.assert_array_equal(np.asarray(patterns.dense()), J)
    field = 0.3 * np.random.default_rng(0).normal(size=(6, n))
    beta = np.linspace(0.02, 0.08, 6)
    for rule in mc.RULES:
        dense, low_rank = (mc.sample_chains(key, c, field, beta, num_chains=6, num_sweeps=12, rule=rule,
                                            observables=mc._spins) for c in (J, patterns))
        _assert_trees_equal(dense, low_rank)
    betas = jnp.array([0.01, 0.04, 0.08])
    runs = [run_tempering(key, c, 0.1, betas, init_tempering(key, c, 3, 4), num_sweeps=20) for c in (J, patterns)]
    _assert_trees_equal(*runs)
    x = np.random.default_rng(1).normal(size=(3, n))
    _assert_trees_equal(*(posterior_mean(key, c, 0.0, 0.05, x, 0.7, 0.9, chains_per_x=4, num_sweeps=8, burn_in=0)
                          for c in (J, patterns)))
    hopfield = Hopfield.random(n, k, 1.0, seed=2)
    J = np.asarray(hopfield.couplings)
    patterns = mc.PatternCouplings(jnp.asarray(np.asarray(hopfield.patterns).T / np.sqrt(n)))
    np.testing.assert_allclose(np.asarray(patterns.dense()), J, rtol=0, atol=1e-15)
    dense, low_rank = (mc.sample_chains(key, c, field, 1.5, num_chains=6, num_sweeps=12, rule="heat_bath",
                                        observables=mc._spins) for c in (J, patterns))
    np.testing.assert_array_equal(dense[1], low_rank[1])
    np.testing.assert_allclose(low_rank[0].coupling_field, dense[0].coupling_field, rtol=0, atol=1e-12)
    with pytest.raises(ValueError, match=r"patterns of shape \(n, K >= 1\)"):
        mc.sample_chains(key, mc.PatternCouplings(jnp.ones(n)), 0.0, 1.0, num_chains=2, num_sweeps=1)
    with pytest.raises(ValueError, match="finite"):
        mc.sample_chains(key, mc.PatternCouplings(jnp.full((n, 2), jnp.nan)), 0.0, 1.0, num_chains=2, num_sweeps=1)


def test_neighbour_table_bad_input():
    J = EdwardsAnderson.from_graph(nk.graph.Square(3, pbc=True), 1.0, seed=0).couplings
    nbr, val = (np.asarray(a) for a in mc.NeighbourCouplings.from_dense(J))

    def run(neighbours, values):
        return mc.sample_chains(jax.random.key(0), mc.NeighbourCouplings(neighbours, values), 0.0, 1.0,
                                num_chains=2, num_sweeps=2)

    asymmetric = val.copy()
    asymmetric[0, 0] = -asymmetric[0, 0]
    with pytest.raises(ValueError, match="symmetric"):
        run(nbr, asymmetric)
    wrong_neighbour = nbr.copy()
    wrong_neighbour[0, 0] = (nbr[0, 0] + 1) % 9 if (nbr[0, 0] + 1) % 9 not in nbr[0] else (nbr[0, 0] + 2) % 9
    with pytest.raises(ValueError, match="symmetric"):
        run(wrong_neighbour, val)
    out_of_range = nbr.copy()
    out_of_range[2, 1] = 9
    with pytest.raises(ValueError, match=r"\[0, 9\)"):
        run(out_of_range, val)
    with pytest.raises(ValueError, match=r"\[0, 9\)"):
        run(np.where(nbr == 0, -1, nbr), val)
    self_bond = nbr.copy()
    self_bond[4, 0] = 4
    with pytest.raises(ValueError, match="diagonal"):
        run(self_bond, val)
    with pytest.raises(ValueError, match="one shape"):
        run(nbr[:, :3], val)
    with pytest.raises(ValueError, match="integers"):
        run(nbr.astype(float), val)
    with pytest.raises(ValueError, match="finite"):
        run(nbr, np.where(val > 0, np.inf, val))
