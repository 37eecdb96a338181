"""TAP/AMP denoiser for SK against exact enumeration (N ≤ 20)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from statphys.models.equilibrium import equilibrium
from statphys.models.sk import SherringtonKirkpatrick
from statphys.physics import ExactScore, make_schedule, reverse_sample
from statphys.physics.amp import AMPDenoiser


def mean_errors(draws, n, beta, times, seeds, rows, variants=({},)):
    """mean |AMP − exact| for each AMPDenoiser option set in ``variants``, and mean |naive mean field − exact|,
    over couplings × OU times × draws x_t = α s + σ ξ (s drawn exactly; `draws`: the sk_posterior_draws fixture)."""
    amp_err, nmf_err = [[] for _ in variants], []
    for _, _, sk, alpha, sigma, x, exact in draws(n, beta, times, seeds, rows, stride=10):
        for errors, options in zip(amp_err, variants):
            estimate = AMPDenoiser.from_target(sk, **options).posterior_mean(x, alpha, sigma)
            errors.append(np.abs(np.asarray(estimate) - exact).mean())
        h, m = alpha * x / sigma**2, np.tanh(alpha * x / sigma**2)
        for _ in range(200):  # m = tanh(h + βJm): no Onsager reaction term
            m = 0.5 * m + 0.5 * np.tanh(h + beta * m @ np.asarray(sk.couplings))
        nmf_err.append(np.abs(m - exact).mean())
    return [float(np.mean(e)) for e in amp_err], float(np.mean(nmf_err))


def test_tap_denoiser_matches_enumeration_at_high_temperature(sk_posterior_draws):
    """N = 12, 3 couplings × t ∈ {0.5, 1, 2} × 16 draws. Measured (8 couplings × 32 draws): mean |error|
    3.1e-4 at β = 0.2 and 2.5e-3 at β = 0.4 (∝ β³); naive mean field 5.6e-3 and 2.9e-2."""
    times, seeds = (0.5, 1.0, 2.0), (0, 1, 2)
    (low,), low_nmf = mean_errors(sk_posterior_draws, 12, 0.2, times, seeds, 16)
    (high, averaged), high_nmf = mean_errors(sk_posterior_draws, 12, 0.4, times, seeds, 16, ({}, {"onsager": "amp", "damping": 1.0}))
    assert low < 6e-4 and high < 5e-3, (low, high)
    assert high / low > 4.0  # the error grows faster than β² (measured ≈ 8 = 2³)
    assert high_nmf > 4 * high and low_nmf > 4 * low  # the Onsager term is what makes it accurate
    assert high < averaged  # TAP's site-dependent reaction term beats AMP's averaged β²(1 − q)


@pytest.mark.slow
def test_tap_error_decreases_with_n(sk_posterior_draws):
    """β = 0.4, 8 couplings × 3 times × 32 draws: measured 2.9e-3 (N = 8) → 2.0e-3 (N = 20), about N^-0.4."""
    times, seeds = (0.5, 1.0, 2.0), tuple(range(8))
    (small,), _ = mean_errors(sk_posterior_draws, 8, 0.4, times, seeds, 32)
    (large,), _ = mean_errors(sk_posterior_draws, 20, 0.4, times, seeds, 32)
    assert large < 0.85 * small, (small, large)


def test_fixed_point_limits_and_vmap():
    sk = SherringtonKirkpatrick.random(10, 0.4, h=0.1, seed=3)
    amp = AMPDenoiser.from_target(sk)
    x = np.random.default_rng(0).normal(size=(5, 10))
    # β = 0: independent spins in the field h + αx/σ²
    free = AMPDenoiser(sk.couplings, 0.0, sk.h)
    np.testing.assert_allclose(free.posterior_mean(x, 0.6, 0.8), np.tanh(sk.h + 0.6 * x / 0.64), rtol=0, atol=1e-14)
    # a TAP fixed point: m = tanh(h + βJm − β² m ⊙ (J² (1 − m²)))
    result = amp.solve(0.6 * x / 0.64)
    m, J = np.asarray(result.mean), np.asarray(sk.couplings)
    tap = np.tanh(sk.h + 0.6 * x / 0.64 + 0.4 * m @ J - 0.16 * m * ((1 - m**2) @ J**2))
    np.testing.assert_allclose(m, tap, rtol=0, atol=1e-9)
    assert np.all(np.asarray(result.residual) < 1e-9)
    # jit + vmap over particles and over disorder samples agree with the batched call
    batched = amp.posterior_mean(x, 0.6, 0.8)
    one_by_one = jax.jit(jax.vmap(lambda xi: amp.posterior_mean(xi, 0.6, 0.8)))(jnp.asarray(x))
    np.testing.assert_allclose(one_by_one, batched, rtol=0, atol=1e-9)
    other = SherringtonKirkpatrick.random(10, 0.4, h=0.1, seed=4)
    couplings = jnp.stack([sk.couplings, other.couplings])
    both = jax.vmap(lambda J: AMPDenoiser(J, 0.4, 0.1).posterior_mean(x, 0.6, 0.8))(couplings)
    np.testing.assert_allclose(both[1], AMPDenoiser.from_target(other).posterior_mean(x, 0.6, 0.8), rtol=0, atol=1e-9)


def test_amp_score_generates_sk_at_high_temperature():
    """ExactScore(AMPDenoiser) in reverse_sample, SK N = 12, β = 0.4, 2000 particles: the generated energy and
    ⟨m²⟩ match enumeration within 4 standard errors, and driven by the same noise as the exact-score run the
    final spins differ on a fraction 8e-4 of the sites (El Alaoui et al.'s coupling distance n⁻¹E|s − s_alg|²/4).
    Measured fraction at β = 0.2, 0.4, 0.8, 1.2, 1.5: 0, 8e-4, 0.011, 0.039, 0.060."""
    sk = SherringtonKirkpatrick.random(12, 0.4, seed=5)
    schedule = make_schedule("ou", T=6.0, t_min=1e-3)
    spins = [np.sign(np.asarray(reverse_sample(jax.random.key(1), ExactScore(target, schedule), schedule,
                                               num_steps=100, batch=2000, n=12, sampler="ddpm", spacing="log").x))
             for target in (AMPDenoiser.from_target(sk), sk)]
    th = equilibrium(sk)
    energy = np.asarray(sk.energy(jnp.asarray(spins[0]))) / 12
    m2 = spins[0].mean(1) ** 2
    for values, exact in ((energy, th.energy), (m2, th.m2)):
        assert abs(values.mean() - exact) < 4 * values.std(ddof=1) / np.sqrt(values.size), (values.mean(), exact)
    assert np.mean(spins[0] != spins[1]) < 3e-3


def test_bad_input():
    sk = SherringtonKirkpatrick.random(6, 0.4)
    with pytest.raises(ValueError, match="onsager"):
        AMPDenoiser.from_target(sk, onsager="bethe")
    with pytest.raises(ValueError, match="damping"):
        AMPDenoiser.from_target(sk, damping=0.0)
    with pytest.raises(ValueError, match="symmetric"):
        AMPDenoiser(jnp.triu(jnp.ones((4, 4)), 1), 0.4)
    with pytest.raises(ValueError, match="beta"):
        AMPDenoiser(sk.couplings, -1.0)
    with pytest.raises(ValueError, match="max_iters"):
        AMPDenoiser.from_target(sk, max_iters=0)
    with pytest.raises(ValueError, match="h must"):
        AMPDenoiser(sk.couplings, 0.4, jnp.zeros(5))
    with pytest.raises(ValueError, match="sigma"):
        AMPDenoiser.from_target(sk).posterior_mean(np.zeros((1, 6)), 1.0, 0.0)
