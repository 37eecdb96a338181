"""Monte Carlo against exact enumeration: every tolerance is a z-score with the autocorrelation-corrected error."""

import jax
import jax.numpy as jnp
import netket as nk
import numpy as np
import pytest

from models import enumeration
from models.base import spin_states
from models.edwards_anderson import EdwardsAnderson
from models.hopfield import Hopfield
from models.sk import SherringtonKirkpatrick
from physics import montecarlo as mc

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
        mean, err = mc.mean_and_stderr(records[name])
        assert abs(mean - exact) < Z * err, (name, mean, exact, err)
    q = np.asarray(records["q"])
    for k in np.flatnonzero(th.q_law > 1e-3):
        indicator = np.isclose(q, 2 * k / n - 1).astype(float)
        mean, err = mc.mean_and_stderr(indicator)
        assert abs(mean - th.q_law[k]) < Z_MANY * err, (k, mean, th.q_law[k], err)


def test_sk_high_temperature_metropolis():
    sk = SherringtonKirkpatrick.random(12, 0.5, seed=1)
    _, records, acc = mc.sample_chains(jax.random.key(0), sk.couplings, sk.field, sk.beta, num_chains=512,
                                       num_sweeps=300, burn_in=50, observables=pair_observables)
    assert 0.3 < float(acc.mean()) < 1.0
    assert_matches(records, enumeration.thermodynamics(sk))


def test_sk_low_temperature_parallel_tempering():
    sk = SherringtonKirkpatrick.random(12, 2.0, seed=2)
    betas = jnp.linspace(0.4, 2.0, 6)
    key_init, key_burn, key_run = jax.random.split(jax.random.key(1), 3)
    state = mc.init_tempering(key_init, sk.couplings, 6, 256)
    state, _, _, _ = mc.run_tempering(key_burn, sk.couplings, sk.field, betas, state, num_sweeps=100,
                                      rule="heat_bath", observables=pair_observables)
    _, records, acc, swaps = mc.run_tempering(key_run, sk.couplings, sk.field, betas, state, num_sweeps=300,
                                              rule="heat_bath", observables=pair_observables)
    assert np.all(np.asarray(swaps) > 0.2), swaps
    cold = {name: np.asarray(value)[:, -1] for name, value in records.items()}
    assert_matches(cold, enumeration.thermodynamics(sk))
    warm = {name: np.asarray(value)[:, 0] for name, value in records.items()}
    assert_matches(warm, enumeration.thermodynamics(SherringtonKirkpatrick(sk.couplings, 0.4)))


def test_edwards_anderson_square_heat_bath():
    ea = EdwardsAnderson.from_graph(nk.graph.Square(4, pbc=True), 0.7, bonds="pm", seed=3)
    _, records, _ = mc.sample_chains(jax.random.key(2), ea.couplings, ea.field, ea.beta, num_chains=512,
                                     num_sweeps=300, burn_in=50, rule="heat_bath", observables=pair_observables)
    assert_matches(records, enumeration.thermodynamics(ea))


def test_hopfield_three_patterns():
    hop = Hopfield.random(12, 3, 1.3, seed=4)
    _, records, _ = mc.sample_chains(jax.random.key(3), hop.couplings, hop.field, hop.beta, num_chains=512,
                                     num_sweeps=300, burn_in=50, observables=pair_observables)
    # H = −(1/2N) Σ_μ (ξ^μ·s)² = −½ sᵀJs − K/2: the kernel records −½ sᵀJs / N
    assert_matches(records, enumeration.thermodynamics(hop), energy_shift=3 / (2 * 12))


def test_monte_carlo_denoiser_matches_enumeration_and_warm_starts():
    sk = SherringtonKirkpatrick.random(14, 1.2, h=0.1, seed=5)
    x = np.random.default_rng(0).normal(size=(4, 14))
    alpha, sigma = 0.6, 0.8
    exact = np.asarray(sk.posterior_mean(x, alpha, sigma))
    est = mc.posterior_mean(jax.random.key(4), sk.couplings, sk.field, sk.beta, x, alpha, sigma,
                            chains_per_x=32, num_sweeps=200, burn_in=50)
    z = (np.asarray(est.mean) - exact) / np.asarray(est.stderr)
    assert np.max(np.abs(z)) < Z_MANY and np.all(np.asarray(est.stderr) < 0.05)
    again = mc.posterior_mean(jax.random.key(5), sk.couplings, sk.field, sk.beta, x, alpha, sigma,
                              chains_per_x=32, num_sweeps=200, burn_in=0, init_state=est.state)
    assert np.max(np.abs((np.asarray(again.mean) - exact) / np.asarray(again.stderr))) < Z_MANY


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
    mean, err = mc.mean_and_stderr(energy)
    assert abs(mean - enumeration.thermodynamics(sk).energy) < Z * err


def test_integrated_time_of_ar1_process():
    """AR(1) x_t = ρ x_{t−1} + ε_t has τ = (1 + ρ)/(1 − ρ)."""
    rho, steps, chains = 0.8, 4000, 32
    rng = np.random.default_rng(0)
    x = np.zeros((steps, chains))
    x[0] = rng.normal(size=chains) / np.sqrt(1 - rho**2)
    for t in range(1, steps):
        x[t] = rho * x[t - 1] + rng.normal(size=chains)
    assert mc.integrated_time(x) == pytest.approx((1 + rho) / (1 - rho), rel=0.1)
    assert mc.effective_sample_size(x) == pytest.approx(steps * chains * (1 - rho) / (1 + rho), rel=0.1)


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
        mc.posterior_mean(jax.random.key(0), sk.couplings, sk.field, 1.0, np.zeros((1, 6)), 1.0, 1.0, chains_per_x=1)
    with pytest.raises(ValueError, match="sigma"):
        mc.posterior_mean(jax.random.key(0), sk.couplings, sk.field, 1.0, np.zeros((1, 6)), 1.0, 0.0)
    with pytest.raises(ValueError, match="series"):
        mc.integrated_time(np.zeros((1, 3)))
