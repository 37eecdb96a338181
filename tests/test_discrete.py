"""Discrete-time samplers of Li et al.: schedule, runner against exact moment propagation, bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from models.gaussian import Gaussian
from physics.convergence import gaussian_kl, propagate_discrete
from physics.discrete import DISCRETE_SAMPLERS, TargetScore, discrete_sample, li_schedule


def test_schedule_matches_definition():
    T, c0, c1 = 50, 2.0, 4.0
    sched = li_schedule(T, c0, c1)
    rate = c1 * math.log(T) / T
    beta = [T**-c0]
    for t in range(1, T):
        beta.append(rate * min(beta[0] * (1 + rate) ** t, 1.0))
    np.testing.assert_allclose(1 - np.asarray(sched.alpha), beta, rtol=1e-12)
    np.testing.assert_allclose(np.asarray(sched.alpha_bar), np.cumprod(1 - np.asarray(beta)), rtol=1e-12)
    assert float(sched.alpha_bar[-1]) < 0.05  # ᾱ_T ≈ T^{−(c1−c0)} up to the ramp: the prior is N(0, I)


@pytest.mark.parametrize("bad", [dict(T=1), dict(T=0), dict(T=-5), dict(T=10.0), dict(T=100, c0=0.0),
                                 dict(T=100, c0=-1.0), dict(T=100, c0=2.0, c1=1.5), dict(T=3, c1=4.0)])
def test_schedule_rejects_bad_input(bad):
    with pytest.raises(ValueError):
        li_schedule(**bad)


def test_unknown_sampler_rejected():
    sched = li_schedule(20)
    with pytest.raises(ValueError, match="unknown discrete sampler"):
        discrete_sample(jax.random.PRNGKey(0), TargetScore(Gaussian(0.0, 1.0)), sched, jnp.zeros((4, 1)), "euler")


@pytest.mark.parametrize("sampler", sorted(DISCRETE_SAMPLERS))
def test_samples_match_exact_moment_propagation(sampler):
    """Two independent computations of the law of Y₁: Monte-Carlo runs vs exact affine propagation (z-tests)."""
    target = Gaussian(jnp.array([1.5]), jnp.array([[0.2]]))
    sched = li_schedule(12)
    num = 40_000
    x0 = jax.random.normal(jax.random.PRNGKey(1), (num, 1))
    y = np.asarray(discrete_sample(jax.random.PRNGKey(2), TargetScore(target), sched, x0, sampler))[:, 0]
    (m, c), _ = propagate_discrete(target, sched, sampler, init="prior")
    m, v = float(m[0]), float(c[0, 0])
    assert abs(y.mean() - m) < 4 * math.sqrt(v / num)
    assert abs(y.var() - v) < 4 * v * math.sqrt(2 / num)


@pytest.mark.parametrize("sampler", sorted(DISCRETE_SAMPLERS))
def test_error_vanishes_as_T_grows(sampler):
    """KL(Y₁ ‖ q₁) falls by more than 4 for each 4× in T (√KL faster than T^{-1/2}, the weakest bound)."""
    target = Gaussian(jnp.array([1.0]), jnp.array([[0.5]]))
    laws = [propagate_discrete(target, li_schedule(T), sampler) for T in (100, 400, 1600)]
    kl = [gaussian_kl(*generated, *exact) for generated, exact in laws]
    assert kl[0] / kl[1] > 4 and kl[1] / kl[2] > 4, kl
