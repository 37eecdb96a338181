"""Replica order parameters along Monte-Carlo-score generation of SK (physics.sk_generation): against the exact
score run and enumeration at N = 10 (β = 0.5), against parallel tempering at N = 32, the replica-symmetric theory in its
closed-form limits, and the coverage of the error bars. Tolerances are z-scores of paired differences."""

import jax
import numpy as np
import pytest

from statphys.models.base import spin_states
from statphys.models.equilibrium import equilibrium
from statphys.models.sk import SherringtonKirkpatrick
from statphys.physics import disorder as dis
from statphys.physics import replica_symmetric as rs
from statphys.physics import sk_generation as skg
from statphys.physics import tempering_equilibrium as pte
from statphys.physics.mc_score import mc_reverse_sample, tempering_ladder
from statphys.physics.schedules import make_schedule
from statphys.physics.scores import ExactScore
from statphys.physics.trajectory import reverse_sample

SCHEDULE = make_schedule("ou", T=3.0, t_min=0.01)


def _z(diff: np.ndarray) -> float:
    """[Δ]/jackknife error over the leading (disorder) axis."""
    est = dis.disorder_average({"d": diff})["d"]
    return float(est.value / est.error)


@pytest.mark.slow
def test_records_ride_on_the_same_run_as_mc_reverse_sample():
    J = SherringtonKirkpatrick.random(8, 1.0, seed=0).couplings
    kw = {"num_steps": 6, "batch": 4, "chains_per_x": 4, "sweeps_per_step": 2, "burn_in": 3}
    plain = mc_reverse_sample(jax.random.key(5), J, 0.0, 1.0, SCHEDULE, **kw)
    rec = skg.mc_replica_generation(jax.random.key(5), J, 0.0, 1.0, SCHEDULE, **kw)
    np.testing.assert_array_equal(np.asarray(plain.x), np.asarray(rec.x))
    assert rec.q12.shape == (7, 4) and rec.q_pairs.shape == (7, 4, 6) and rec.chi_sg.shape == (7, 4)
    # at t_min the posterior is frozen on one configuration: every replica overlap is 1, chi_SG = 0
    np.testing.assert_allclose(np.asarray(rec.q_pairs[-1]), 1.0, atol=1e-12)


def test_bad_input_is_named():
    J = SherringtonKirkpatrick.random(8, 1.0, seed=0).couplings
    with pytest.raises(ValueError, match="chains_per_x"):
        skg.mc_replica_generation(jax.random.key(0), J, 0.0, 1.0, SCHEDULE, num_steps=4, batch=2, chains_per_x=2)
    with pytest.raises(ValueError, match="num_chains"):
        pte.tempering_equilibrium(jax.random.key(0), J[None], [0.5, 1.0], num_chains=5)
    with pytest.raises(ValueError, match="0 <= beta < 1"):
        rs.rs_overlap(1.5, [0.1])
    with pytest.raises(ValueError, match="ladder"):
        skg.mc_replica_generation(jax.random.key(0), J, 0.0, 1.0, SCHEDULE, num_steps=4, batch=2, ladder=[0.9, 0.5])
    with pytest.raises(ValueError, match="beta_min"):
        tempering_ladder(1.5, 2.0, 4)


def test_disorder_samples_in_one_program_are_the_per_sample_runs():
    """The *_samples functions (D disorder samples vmapped in one program) against the per-sample functions with the
    same keys, SK N = 8, D = 3, tempered posterior chains: equal up to rounding (1e-10; a heat-bath decision or a
    tempering swap flipped, or a key taken from the wrong sample, would show as an O(1) difference)."""
    num, n = 3, 8
    couplings = np.stack([np.asarray(SherringtonKirkpatrick.random(n, 1.0, seed=d).couplings) for d in range(num)])
    keys = jax.vmap(lambda d: jax.random.fold_in(jax.random.key(2), d))(np.arange(num))
    kw = {"num_steps": 4, "chains_per_x": 4, "sweeps_per_step": 2, "burn_in": 3,
          "ladder": tempering_ladder(1.5, 0.3, 3)}
    spins, swaps = skg.tempering_references_samples(keys, couplings, [0.5, 1.5], num_chains=4, num_sweeps=10)
    assert spins.shape == (num, 2, 4, n) and swaps.shape == (num, 1)
    references = np.asarray(spins[:, -1])
    stacked = {"generation": skg.mc_replica_generation_samples(keys, couplings, 0.0, 1.5, SCHEDULE, batch=4, **kw),
               "forward": skg.forward_replica_posterior_samples(keys, couplings, 0.0, 1.5, SCHEDULE, references, **kw)}
    for d in range(num):
        one_spins, _ = skg.tempering_references(keys[d], couplings[d], [0.5, 1.5], num_chains=4, num_sweeps=10)
        np.testing.assert_array_equal(np.asarray(one_spins), np.asarray(spins[d]))
        single = {"generation": skg.mc_replica_generation(keys[d], couplings[d], 0.0, 1.5, SCHEDULE, batch=4, **kw),
                  "forward": skg.forward_replica_posterior(keys[d], couplings[d], 0.0, 1.5, SCHEDULE, references[d],
                                                           **kw)}
        for name, run in single.items():
            for field, value in run._asdict().items():
                np.testing.assert_allclose(np.asarray(getattr(stacked[name][d], field)), np.asarray(value),
                                           rtol=0, atol=1e-10, err_msg=f"{name} {field} sample {d}")
    with pytest.raises(ValueError, match="one key per sample"):
        skg.mc_replica_generation_samples(keys[:2], couplings, 0.0, 1.5, SCHEDULE, batch=4, **kw)


def test_replica_symmetric_theory_limits():
    lam = np.array([0.0, 0.3, 2.0])
    # β = 0: independent spins, q = E tanh(λ + √λ G) = E tanh²(λ + √λ G) (Nishimori), χ_SG = E sech⁴
    np.testing.assert_allclose(rs.rs_overlap(0.0, lam), dis.paramagnet_overlap(lam), atol=1e-10)
    # λ = 0: the SK paramagnet, q = 0 and χ_SG = 1/(1 − β²)
    np.testing.assert_allclose(rs.rs_spin_glass_susceptibility(0.6, [0.0]), 1 / (1 - 0.36), rtol=1e-10)
    assert abs(float(rs.rs_overlap(0.6, [0.0])[0])) < 1e-10


def test_replica_observables_of_independent_spins():
    # product measure with E s_i = m_i: chi_SG = (1/N) Σ_i (1 − m_i²)², q12 = |m|²/N, all unbiased
    rng = np.random.default_rng(0)
    n, batch, m = 6, 40000, 4
    mean = np.linspace(-0.8, 0.8, n)
    spins = np.where(rng.random((batch, m, n)) < (1 + mean) / 2, 1.0, -1.0)
    q12, pairs, chi = (np.asarray(a) for a in skg.replica_observables(spins, spins))
    for value, exact in ((q12, np.sum(mean**2) / n), (chi, np.mean((1 - mean**2) ** 2)),
                         (pairs.mean(-1), np.sum(mean**2) / n)):
        assert abs(value.mean() - exact) < 4 * value.std() / np.sqrt(batch), (value.mean(), exact)


@pytest.fixture(scope="module")
def n10_runs():
    """N = 10, β = 0.5, six disorder samples: Monte-Carlo-score generation and the exact-score (enumeration) run on
    the same time grid with independent keys; at the recorded steps the exact run's q₁₂ = |E[s|x]|²/N and q_ab of
    two exact posterior draws. (At β = 1.5 warm-started heat-bath chains lag the posterior and the overlaps fall below
    the exact run's: at t = 0.96, [q_ab] = 0.08 against 0.31 with 2 sweeps per step; 0.16 tempered over 4 rungs × 2
    sweeps and 0.20 with 8 plain sweeps (the same cost); 0.31 tempered over 4 rungs × 8 sweeps and 0.30 with 32 plain
    sweeps: the lag along the trajectory is set by the sweeps per step; tempering fixes the generated law at equal
    cost, `test_tempered_posterior_chains_generate_the_glassy_law`.)"""
    n, beta, num, batch, steps = 10, 0.5, 6, 64, 40
    targets = [SherringtonKirkpatrick(SherringtonKirkpatrick.random(n, beta, seed=d).couplings, beta)
               for d in range(num)]
    runs = [skg.mc_replica_generation(jax.random.key(100 + d), t.couplings, 0.0, beta, SCHEDULE, num_steps=steps,
                                      batch=batch, chains_per_x=4, sweeps_per_step=2, burn_in=50) for d, t in
            enumerate(targets)]
    index = np.array([8, 16, 24, 32])  # λ from ≈ 0.1 to ≈ 10
    times = np.asarray(runs[0].times)[index]
    exact = []
    for d, t in enumerate(targets):
        path = reverse_sample(jax.random.key(200 + d), ExactScore(t, SCHEDULE), SCHEDULE, num_steps=steps,
                              batch=batch, n=n, sampler="ddpm", spacing="log", record_every=1, record_path=True).path
        # the posterior depends on x only through u = α x/σ²: all recorded times in one batch at α = σ = 1
        snr = np.asarray(SCHEDULE.alpha(times) / SCHEDULE.sigma(times) ** 2)
        u = (snr[:, None, None] * np.asarray(path)[index]).reshape(-1, n)
        mean = np.asarray(t.posterior_mean(u, 1.0, 1.0)).reshape(len(index), batch, n)
        rep = np.asarray(dis.posterior_sample(jax.random.key(300 + d), t, u, 1.0, 1.0, 2))
        rep = rep.reshape(len(index), batch, 2, n)
        exact.append((np.sum(mean**2, -1) / n, np.mean(rep[:, :, 0] * rep[:, :, 1], -1)))
    return targets, runs, exact, index


def _generated_law_z(targets, runs) -> np.ndarray:
    """Per sample, z of the generated energy per spin and of q² of independent generated pairs against enumeration."""
    z_scores = []
    for target, run in zip(targets, runs):
        eq = equilibrium(target)
        q2_exact = dis.exact_replica_overlap_statistics(eq.q_values, eq.q_law, target.n)["q2"]
        s = np.asarray(run.generated)
        energy = -0.5 * np.einsum("bi,ij,bj->b", s, np.asarray(target.couplings), s) / target.n
        half = s.shape[0] // 2
        q2 = np.mean(s[:half] * s[half:], -1) ** 2
        for values, truth in ((energy, eq.energy), (q2, q2_exact)):
            z_scores.append((values.mean() - truth) / (values.std(ddof=1) / np.sqrt(values.size)))
    return np.array(z_scores)


def test_tempered_posterior_chains_generate_the_glassy_law():
    """N = 10, β = 1.5 (glassy): generation with 2 heat-bath sweeps per step and no tempering lags the posterior
    (measured: 12 z of the generated energy and q² against enumeration, mean z² = 6.1, max |z| = 5.6); with the
    posterior chains tempered over 4 rungs β = 1.5 … 0.3 (same sweeps per rung) the law is exact within errors
    (measured mean z² = 1.07, max |z| = 2.6)."""
    n, beta, num, batch, steps = 10, 1.5, 6, 64, 40
    targets = [SherringtonKirkpatrick(SherringtonKirkpatrick.random(n, beta, seed=d).couplings, beta)
               for d in range(num)]
    z = {}
    for name, ladder in (("plain", None), ("tempered", tempering_ladder(beta, 0.3, 4))):
        runs = [skg.mc_replica_generation(jax.random.key(100 + d), t.couplings, 0.0, beta, SCHEDULE, num_steps=steps,
                                          batch=batch, chains_per_x=4, sweeps_per_step=2, burn_in=50, ladder=ladder)
                for d, t in enumerate(targets)]
        z[name] = _generated_law_z(targets, runs)
        if ladder is not None:
            swaps = np.asarray(runs[0].swap_acceptance)
            assert swaps.shape == (steps + 1, 3) and np.all(np.nanmean(swaps, 0) > 0.3), swaps
    # 12 independent z: mean z² is 1 ± 0.41 for an exact law
    assert np.all(np.abs(z["tempered"]) < 3.5) and np.mean(z["tempered"] ** 2) < 2.3, z["tempered"]
    assert np.mean(z["plain"] ** 2) > 3.0, z["plain"]


def test_mc_generation_overlaps_agree_with_the_exact_score_run(n10_runs):
    targets, runs, exact, index = n10_runs
    for name, mc_value, exact_value in (
        ("q12", lambda r: np.asarray(r.q12)[index].mean(-1), lambda e: e[0].mean(-1)),
        ("q_ab^2", lambda r: (np.asarray(r.q_pairs)[index] ** 2).mean((-2, -1)), lambda e: (e[1] ** 2).mean(-1)),
    ):
        diff = np.stack([mc_value(r) - exact_value(e) for r, e in zip(runs, exact)])  # (D, times)
        for j in range(len(index)):
            assert abs(_z(diff[:, j])) < 4, (name, j, diff[:, j])


def test_mc_generated_law_agrees_with_enumeration_and_error_bars_cover(n10_runs):
    targets, runs, exact, index = n10_runs
    z = _generated_law_z(targets, runs)
    # 12 independent z: mean z² is 1 ± 0.41 for honest errors; |z| < 3.5 for each
    assert np.all(np.abs(z) < 3.5), z
    assert 0.2 < np.mean(z**2) < 2.3, z


def test_tempering_errors_cover_enumeration():
    n, num = 8, 6
    couplings = np.stack([np.asarray(SherringtonKirkpatrick.random(n, 1.0, seed=d).couplings) for d in range(num)])
    betas = np.array([0.5, 1.0, 1.5])
    eq = pte.tempering_equilibrium(jax.random.key(1), couplings, betas, num_chains=8, num_sweeps=400, burn_in=200)
    z = []
    for d in range(num):
        for r, beta in enumerate(betas):
            exact = equilibrium(SherringtonKirkpatrick(couplings[d], beta))
            q2 = dis.exact_replica_overlap_statistics(exact.q_values, exact.q_law, n)["q2"]
            z += [(eq.energy[d, r] - exact.energy) / eq.energy_err[d, r], (eq.q2[d, r] - q2) / eq.q2_err[d, r]]
    z = np.array(z)
    assert np.all(np.abs(z) < 4), z
    assert 0.3 < np.mean(z**2) < 2.0, np.mean(z**2)


@pytest.mark.slow
def test_generated_law_agrees_with_tempering_at_n32_beta_half():
    n, beta, num = 32, 0.5, 8
    couplings = np.stack([np.asarray(SherringtonKirkpatrick.random(n, beta, seed=d).couplings) for d in range(num)])
    eq = pte.tempering_equilibrium(jax.random.key(3), couplings, np.array([0.5, 0.75]), num_chains=8,
                                   num_sweeps=500, burn_in=300)
    energy, q2 = [], []
    for d in range(num):
        run = skg.mc_replica_generation(jax.random.key(300 + d), couplings[d], 0.0, beta, SCHEDULE, num_steps=100,
                                        batch=64, chains_per_x=4, sweeps_per_step=2, burn_in=50)
        s = np.asarray(run.generated)
        energy.append(np.mean(-0.5 * np.einsum("bi,ij,bj->b", s, couplings[d], s) / n))
        q2.append(np.mean(np.mean(s[:32] * s[32:], -1) ** 2))
    assert abs(_z(np.array(energy) - eq.energy[:, 0])) < 3.5
    assert abs(_z(np.array(q2) - eq.q2[:, 0])) < 3.5


@pytest.mark.slow
def test_study_kind_runs_small_and_draws(tmp_path):
    from statphys.paper import plots
    from statphys.studies import runner

    text = ('kind = "spin_glass_scaling"\ndescription = "tiny"\nseed = 1\n[params]\nsizes = [8, 16]\nnum_disorder = 3\n'
            'batch = 8\nnum_steps = 10\nburn_in = 10\npt_num_betas = 5\npt_sweeps = 40\npt_burn_in = 40\n'
            'emcee_steps = 60\nposterior_replicas = 3\nposterior_sweeps = 3\n')
    path = tmp_path / "tiny.toml"
    path.write_text(text)
    ds = runner.run(runner.load(str(path)), tmp_path / "out", progress=False)
    assert not any(np.isnan(ds[v].values).any() for v in ds.data_vars)
    assert list(ds.tempered_beta.values) == [1.5]
    for v in ("gen_swap_min", "forward_swap_min"):
        assert ds[v].dims == ("n", "disorder", "tempered_beta") and (ds[v] > 0).all()
    assert ds.forward_chi_sg.dims == ds.gen_chi_sg.dims and (ds.forward_reference_swap_min > 0).all()
    assert ds.gen_q12.dims == ("n", "disorder", "beta", "time") and ds.amp_q12.sizes["amp_beta"] == 1
    assert all(ds[v].attrs.get("long_name") for v in ds.data_vars)
    plots.plot("spin_glass_scaling", ds)
    assert "beta_x" in plots.summary("spin_glass_scaling", ds)


def test_tempering_references_have_the_target_law():
    """s0 of the forward-law reference: the energy per spin and <q^2> of independent parallel-tempering chains at
    N = 10, beta = 1.5 against enumeration, z-scores over the chains."""
    target = SherringtonKirkpatrick.random(10, 1.5, seed=4)
    ladder = np.linspace(0.5, 1.5, 5)
    spins, swaps = skg.tempering_references(jax.random.key(0), target.couplings, ladder, num_chains=256,
                                            num_sweeps=200)
    assert spins.shape == (5, 256, 10) and swaps.shape == (4,) and np.all(np.asarray(swaps) > 0.2)
    s = np.asarray(spins[-1])
    exact = equilibrium(target)
    J = np.asarray(target.couplings)
    energy = -0.5 * np.einsum("bi,ij,bj->b", s, J, s) / 10
    q2 = np.mean(s[:128] * s[128:], -1) ** 2
    for values, value in ((energy, float(exact.energy)), (q2, float(exact.q2))):
        assert abs(values.mean() - value) < 4 * values.std(ddof=1) / np.sqrt(values.size)


def test_forward_law_posterior_agrees_with_enumeration():
    """The forward-law reference at N = 10, beta = 1.5 (tempered posterior chains, as in the study): chi_SG and q12
    of the posterior at x_t = alpha s0 + sigma xi (s0 drawn exactly) against the same posterior enumerated, paired
    per particle; z over the particles at every time where chi_SG is not frozen to 0. Their particle means
    estimate E_{s0, xi} of the posterior's chi_SG: what exact generation shows along t. (Measured: the same run
    with 8 sweeps per step lags the posterior, max |z| = 4.2; enumerating at beta = 1.3 gives max |z| = 4.3.)"""
    n, beta, batch = 10, 1.5, 64
    target = SherringtonKirkpatrick.random(n, beta, seed=3)
    J = np.asarray(target.couplings)
    states = np.asarray(spin_states(n, float))
    refs = states[np.asarray(jax.random.categorical(jax.random.key(1), target.log_weight(states), shape=(batch,)))]
    key = jax.random.key(2)
    run = skg.forward_replica_posterior(key, J, 0.0, beta, SCHEDULE, refs, num_steps=16, chains_per_x=8,
                                        sweeps_per_step=40, burn_in=40, ladder=tempering_ladder(beta, 0.3, 4))
    assert run.chi_sg.shape == (17, batch) and run.q_pairs.shape == (17, batch, 28)
    noise = np.asarray(jax.random.normal(jax.random.fold_in(key, 2**31 - 1), refs.shape, float))
    np.testing.assert_allclose(np.asarray(run.x), np.exp(-0.01) * refs + np.sqrt(-np.expm1(-0.02)) * noise,
                               rtol=1e-12)
    z = []
    for k, t in enumerate(np.asarray(run.times)):
        alpha, sigma = float(SCHEDULE.alpha(t)), float(SCHEDULE.sigma(t))
        q12, chi = (np.asarray(v) for v in skg.enumerated_replica_observables(J, 0.0, beta, alpha * refs
                                                                               + sigma * noise, alpha, sigma))
        if chi.mean() < 0.005:
            continue
        for mc_value, exact in ((np.asarray(run.chi_sg[k]), chi), (np.asarray(run.q12[k]), q12)):
            d = mc_value - exact
            z.append(d.mean() / d.std(ddof=1) * np.sqrt(batch))
    assert len(z) >= 20 and np.max(np.abs(z)) < 4, np.round(z, 2)
