"""Disorder averages with errors, and spin-glass order parameters along the exact generative trajectory.

Checks: error bars of the disorder average have unit z-score spread on synthetic hierarchical Gaussian data
(and the thermal-only error, which ignores the disorder variance, is rejected by the same test); exact
posterior replicas against the enumerated denoiser; the Nishimori identities E q₀ = E q₁₂ and law(q₀ₐ) =
law(q_ab) for SK at β = 1.5; the β = 0 closed form E q₁₂ = E q₀ = N Var m_D = E tanh²(λ + √λ ξ); at t → ∞ the
replica overlap moments equal the enumerated P(q) per disorder sample, at t → 0 the replicas coincide with the
end point and the end points have the equilibrium laws of m and q. Tolerances are z-scores.
"""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from statphys.models.equilibrium import equilibrium
from statphys.models.sk import SherringtonKirkpatrick
from statphys.physics import disorder as dis
from statphys.physics import scaling as sc
from statphys.physics.schedules import make_schedule

OU = make_schedule("ou")
Z_MAX = 4.0


def _sk_disorder(n, beta, num_disorder):
    return np.stack([SherringtonKirkpatrick.random(n, beta, seed=d).couplings for d in range(num_disorder)])


def _run(n, beta, num_disorder, times, num_samples, seed=0):
    couplings = _sk_disorder(n, beta, num_disorder)
    op = dis.disorder_order_parameters(jax.random.PRNGKey(seed), lambda J: SherringtonKirkpatrick(J, beta),
                                       couplings, OU, times, num_samples)
    return couplings, jax.tree_util.tree_map(np.asarray, op)


def _mean_z(samples, truth=0.0):
    """z-score of the mean over the last axis against truth (iid samples)."""
    s = np.asarray(samples)
    return (s.mean(-1) - truth) / (s.std(-1, ddof=1) / math.sqrt(s.shape[-1]))


# ---- hierarchical error bars ---------------------------------------------------------------------------------
@pytest.mark.parametrize("method", dis.METHODS)
def test_disorder_error_bars_have_unit_z_spread(method):
    """x_{J,s} = a_J + e_{J,s}, a ~ N(0, τ²), e ~ N(0, σ²): [⟨x²⟩] → τ² + σ², [χ] = [Var_s x] → σ²(1 − 1/S),
    U₄ of averages → 0 (x Gaussian marginally). Over R repeats the z-scores have rms
    √((D−1)/(D−3)) (Student t, D−1 dof) within 4/√(2R) plus the O(1/√D) bias of the ratio; the thermal-only
    error √(Σ_J err_J²)/D misses the disorder variance 2τ⁴ of ⟨x²⟩_J and must fail the same test."""
    tau, sigma, num_disorder, num_samples, repeats = 0.7, 1.0, 40, 50, 300
    truth = {"m2": tau**2 + sigma**2, "chi": sigma**2 * (1 - 1 / num_samples), "binder_of_averages": 0.0}
    rng = np.random.default_rng(1)
    z = {k: [] for k in truth}
    z_thermal = []
    for r in range(repeats):
        x = tau * rng.standard_normal((num_disorder, 1)) + sigma * rng.standard_normal((num_disorder, num_samples))
        est = dis.hierarchical(x, lambda s: sc.magnetization_statistics(s, 1), dis.binder_of_averages("m"),
                               method=method, seed=r, num_resamples=100)
        for k in truth:
            z[k].append((est.average[k].value - truth[k]) / est.average[k].error)
        thermal = np.sqrt(np.sum(est.per_sample["m2"].error ** 2)) / num_disorder
        z_thermal.append((est.average["m2"].value - truth["m2"]) / thermal)
    expected = math.sqrt((num_disorder - 1) / (num_disorder - 3))
    tol = 4 / math.sqrt(2 * repeats)
    for k, values in z.items():
        rms = float(np.sqrt(np.mean(np.square(values))))
        bias = 1 / math.sqrt(num_disorder) if k == "binder_of_averages" else 0.0
        assert abs(rms - expected) < tol + bias, (k, rms)
        assert abs(np.mean(values)) < 4 / math.sqrt(repeats) + bias, (k, np.mean(values))
    assert np.sqrt(np.mean(np.square(z_thermal))) > expected + 3 * tol


def test_disorder_average_values_and_jackknife_of_a_mean():
    """[X] is the plain mean and, for a linear statistic, the jackknife error is exactly s/√D."""
    values = np.array([[1.0, 2.0], [3.0, 5.0], [2.0, 0.0], [6.0, 1.0]])
    est = dis.disorder_average({"x": values})
    np.testing.assert_allclose(est["x"].value, values.mean(0), rtol=0, atol=1e-14)
    np.testing.assert_allclose(est["x"].error, values.std(0, ddof=1) / 2.0, rtol=1e-13)


def test_hierarchical_bad_input_is_named():
    x = np.ones((3, 5))
    stat = lambda s: sc.magnetization_statistics(s, 1)  # noqa: E731
    with pytest.raises(ValueError, match="method must be one of"):
        dis.hierarchical(x, stat, method="two_level")
    with pytest.raises(ValueError, match="num_disorder >= 2"):
        dis.hierarchical(np.ones((1, 5)), stat)
    with pytest.raises(ValueError, match=r"samples must have shape \(num_disorder"):
        dis.hierarchical(np.ones(5), stat)
    with pytest.raises(ValueError, match="combine must return new names"):
        dis.hierarchical(x, stat, combine=lambda avg: {"m2": avg["m2"]})
    with pytest.raises(ValueError, match="same leading"):
        dis.disorder_average({"a": np.ones(3), "b": np.ones(4)})
    with pytest.raises(ValueError, match="num_resamples"):
        dis.disorder_average({"a": np.ones(3)}, num_resamples=0)
    with pytest.raises(ValueError, match="snr"):
        dis.paramagnet_overlap(-1.0)


def test_order_parameter_bad_input_is_named():
    target = SherringtonKirkpatrick.random(6, 1.0)
    key = jax.random.PRNGKey(0)
    for times, match in (([0.5, 0.2], "strictly increasing"), ([0.0, 1.0], "> 0"), ([[0.1]], "1-D")):
        with pytest.raises(ValueError, match=match):
            dis.trajectory_order_parameters(key, target, OU, times, 10)
    with pytest.raises(ValueError, match="num_samples"):
        dis.trajectory_order_parameters(key, target, OU, [0.1], 0)
    with pytest.raises(ValueError, match="num_replicas"):
        dis.posterior_sample(key, target, jnp.zeros((2, 6)), 0.5, 0.5, 0)
    with pytest.raises(ValueError, match="sigma must be > 0"):
        dis.posterior_sample(key, target, jnp.zeros((2, 6)), 1.0, 0.0, 2)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, n = 6\)"):
        dis.posterior_sample(key, target, jnp.zeros((2, 5)), 0.5, 0.5, 2)
    with pytest.raises(ValueError, match="too large"):
        dis.posterior_sample(key, SherringtonKirkpatrick.random(21, 1.0), jnp.zeros((1, 21)), 0.5, 0.5, 1)
    with pytest.raises(ValueError, match="leading disorder axis"):
        dis.disorder_order_parameters(key, lambda J: SherringtonKirkpatrick(J, 1.0), 1.0, OU, [0.1], 10)
    with pytest.raises(ValueError, match="end_points"):
        dis.end_point_pair_overlaps(np.ones((1, 6)))


# ---- exact replicas and order parameters ---------------------------------------------------------------------
def test_posterior_replicas_average_to_the_denoiser():
    """Mean of 4000 Gumbel-max replicas per x (several chunks: chunk_size 64 < 2⁸) = E[s|x] by enumeration."""
    target = SherringtonKirkpatrick.random(8, 1.5, seed=3)
    t = 0.4
    alpha, sigma = OU.alpha(t), OU.sigma(t)
    key = jax.random.PRNGKey(1)
    x = alpha * target.sample(key, 3) + sigma * jax.random.normal(jax.random.fold_in(key, 1), (3, 8))
    reps = np.asarray(dis.posterior_sample(jax.random.fold_in(key, 2), target, x, alpha, sigma, 4000, chunk_size=64))
    exact = np.asarray(target.posterior_mean(x, alpha, sigma))
    assert set(np.unique(reps)) <= {-1.0, 1.0}
    var = np.maximum(1 - exact**2, 1e-12)
    z = (reps.mean(1) - exact) / np.sqrt(var / reps.shape[1])
    assert np.max(np.abs(z)) < Z_MAX, z


def test_nishimori_identities_for_sk():
    """Given x_t, s₀ is a posterior draw: E q₀ = E q₁₂ and E q₀ₐᵏ = E q_abᵏ (k = 1, 2) per sample and time."""
    _, op = _run(8, 1.5, 3, [0.2, 0.5, 1.0], 2000, seed=1)
    zs = [_mean_z(op.q_end - op.q_posterior), _mean_z(op.q_end_replica - op.q_replicas),
          _mean_z(op.q_end_replica**2 - op.q_replicas**2)]
    assert np.max(np.abs(zs)) < Z_MAX, zs


def test_paramagnet_closed_form():
    """β = 0: [q₁₂](t) = [q₀](t) = E tanh²(λ + √λ ξ) and [χ_D] = N Var m_D = (1 − 1/B) of it, errors by jackknife."""
    times = np.array([0.05, 0.2, 0.5, 1.0, 2.0])
    num_samples = 2000
    _, op = _run(8, 0.0, 4, times, num_samples, seed=2)
    lam = np.exp(-2 * times) / -np.expm1(-2 * times)
    closed = dis.paramagnet_overlap(lam)
    assert dis.paramagnet_overlap(1.0) == pytest.approx(0.5504, abs=1e-4)  # binary channel at SNR 1
    means = dis.hierarchical(np.stack([op.q_posterior, op.q_end], 1), lambda s: {"mean": s.mean(-1)}).average["mean"]
    chi = dis.hierarchical(op.m_denoiser, lambda s: sc.magnetization_statistics(s, 8)).average["chi"]
    z = np.concatenate([((means.value - closed) / means.error).ravel(),
                        (chi.value - closed * (1 - 1 / num_samples)) / chi.error])
    assert np.max(np.abs(z)) < Z_MAX, z


def test_overlap_limits_and_equilibrium_per_disorder_sample():
    """t = 8 (λ ≈ 10⁻⁷): q_ab moments = enumerated P(q) moments per disorder sample and on average (error of
    the averaged difference by jackknife); t = 10⁻³ (λ ≈ 500): q₁₂ = q₀ = q_ab = 1; end points: moments of m
    and of the overlap of two trajectories' end points = the enumerated P(m), P(q)."""
    n, beta, num_disorder = 8, 1.5, 4
    couplings, op = _run(n, beta, num_disorder, [1e-3, 8.0], 4000, seed=3)
    exact_q, exact_m = [], []
    for J in couplings:
        th = equilibrium(SherringtonKirkpatrick(J, beta))
        exact_q.append(dis.exact_replica_overlap_statistics(th.q_values, th.q_law, n))
        exact_m.append(sc.exact_moments(th.m_values, th.m_law, n))
    checks = (
        (op.q_replicas[:, -1], dis.replica_overlap_statistics, exact_q, ("q2", "q4", "binder")),
        (dis.end_point_pair_overlaps(op.end_points), dis.replica_overlap_statistics, exact_q, ("q2", "q4", "binder")),
        (op.m_end, sc.magnetization_statistics, exact_m, ("m2", "m4", "binder")),
    )
    for samples, statistic, exact, names in checks:
        est = dis.hierarchical(samples, lambda s: statistic(s, n), num_resamples=300)
        for name in names:
            truth = np.array([e[name] for e in exact])
            z = (est.per_sample[name].value - truth) / est.per_sample[name].error
            assert np.max(np.abs(z)) < Z_MAX, (name, z)
            avg = dis.disorder_average({name: est.per_sample[name].value - truth})[name]
            assert abs(avg.value) < Z_MAX * avg.error, (name, avg)
    np.testing.assert_array_equal(op.q_replicas[:, 0], 1.0)
    np.testing.assert_allclose(op.q_posterior[:, 0], 1.0, rtol=0, atol=1e-10)
    np.testing.assert_allclose(op.q_end[:, 0], 1.0, rtol=0, atol=1e-10)
    np.testing.assert_allclose(op.m_denoiser[:, 0], op.m_end, rtol=0, atol=1e-10)
