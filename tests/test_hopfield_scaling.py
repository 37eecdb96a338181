"""Hopfield (K = 2) finite-size scaling: closed-form critical Binder cumulants against exact finite-N laws, and
the sampled disorder average against the exact one (studies/kinds/hopfield_scaling.py)."""

import math

import jax
import numpy as np
import pytest

from statphys.models.hopfield import Hopfield, group_sample, pair_overlap_moments
from statphys.physics import disorder
from statphys.physics import scaling as sc
from statphys.studies.kinds import hopfield_scaling as hs


def _extrapolate(sizes, values):
    """Straight line in N^{−½} through two sizes, evaluated at N = ∞ (leading correction to scaling)."""
    x = np.asarray(sizes, float) ** -0.5
    slope = (values[1] - values[0]) / (x[1] - x[0])
    return values[0] - slope * x[0]


def test_quartic_window_reproduces_the_curie_weiss_critical_binder():
    m2, m4 = sc.quartic_window_moments(0.0)
    assert m4 == pytest.approx(3.0, rel=1e-10)  # ⟨x⁴⟩ = 3 by parts for exp(−x⁴/12)
    assert 1 - m4 / (3 * m2**2) == pytest.approx(sc.CW_CRITICAL_BINDER, abs=1e-10)
    r = math.gamma(0.25) ** 4 / (8 * math.pi**2)
    assert sc.hopfield_pair_binder(0.0) == pytest.approx(1 - (r + 1) / 6, abs=1e-10)


def test_exact_finite_n_binder_converges_to_the_closed_forms():
    """At β = 1 the exact U₄ of orthogonal patterns (N_A = N/2) and the exact disorder average over
    N_A ~ Binomial(N, ½), extrapolated in N^{−½} from N = 4096 and 16384, equal the large-N closed forms; the
    residual O(1/N) term is below 1e-4 here (the N^{−½} slopes are ≈ 0.25 and 0.11)."""
    sizes = (4096, 16384)
    orthogonal = [1 - m4 / (3 * m2**2) for m2, m4 in (pair_overlap_moments(n // 2, n // 2, 1.0) for n in sizes)]
    averaged = [hs.exact_disorder_average(n, np.array([1.0])) for n in sizes]
    limits = sc.hopfield_pair_disorder_binder()
    assert _extrapolate(sizes, orthogonal) == pytest.approx(sc.hopfield_pair_binder(0.0), abs=1e-4)
    assert _extrapolate(sizes, [a["binder"][0] for a in averaged]) == pytest.approx(limits["sample_averaged"], abs=1e-4)
    assert _extrapolate(sizes, [a["binder_of_averages"][0] for a in averaged]) == pytest.approx(
        limits["moment_averaged"], abs=1e-4)
    assert limits["sample_averaged"] - sc.hopfield_pair_binder(0.0) > 0.015  # the disorder shift is resolved


def test_sampled_disorder_average_matches_the_exact_binomial_average():
    """Random pattern pairs (seeds 0..D−1) with exact thermal moments: [U₄], [⟨|m|²⟩] and U₄ of the averaged
    moments agree with Σ Binomial(N_A)·(exact) within 4 jackknife errors; orthogonal patterns alone are rejected."""
    n, num = 256, 300
    per_sample = {"m2": [], "m4": [], "binder": []}
    for seed in range(num):
        hop = Hopfield.random(n, 2, 1.0, seed=seed)
        m2, m4 = hop.overlap_moments()
        per_sample["m2"].append(m2)
        per_sample["m4"].append(m4)
        per_sample["binder"].append(1 - m4 / (3 * m2**2))
    avg = disorder.disorder_average(per_sample, disorder.binder_of_averages("m"))
    exact = hs.exact_disorder_average(n, np.array([1.0]))
    for name, reference in (("m2", exact["m2"][0]), ("binder", exact["binder"][0]),
                            ("binder_of_averages", exact["binder_of_averages"][0])):
        assert abs(avg[name].value - reference) < 4 * avg[name].error, name
    m2, m4 = pair_overlap_moments(n // 2, n // 2, 1.0)
    assert abs(avg["binder"].value - (1 - m4 / (3 * m2**2))) > 4 * avg["binder"].error


def test_overlap_moments_equal_enumeration():
    from statphys.models.base import spin_states
    import jax.numpy as jnp

    hop = Hopfield.random(10, 2, 1.2, seed=5)
    states = np.asarray(spin_states(10), float)
    log_w = np.asarray(hop.log_weight(jnp.asarray(states)))
    p = np.exp(log_w - np.logaddexp.reduce(log_w))
    q = np.sum((states @ np.asarray(hop.patterns).T / 10) ** 2, axis=1)
    np.testing.assert_allclose(hop.overlap_moments(), (np.sum(p * q), np.sum(p * q * q)), rtol=1e-12)
    with pytest.raises(ValueError, match="h = 0"):
        Hopfield.random(10, 2, 1.2, h=0.1).overlap_moments()
    with pytest.raises(ValueError, match="K <= 2"):
        Hopfield.random(10, 3, 1.2).overlap_moments()
    with pytest.raises(ValueError, match="K = 2"):
        Hopfield.random(10, 3, 1.2).group_sizes


def test_sampler_bias_script_has_the_exact_k2_overlap_law():
    """scripts/sampler_bias_hopfield2.py: its exact (⟨Σ m²⟩, ⟨max |m|⟩) of K = 2 patterns from the two groups'
    Curie–Weiss laws equals enumeration of the 2^12 states (β = 1.5, random patterns)."""
    import itertools
    import pathlib
    import runpy

    tool = runpy.run_path(str(pathlib.Path(__file__).resolve().parents[1] / "scripts" / "sampler_bias_hopfield2.py"))
    target = Hopfield.random(12, 2, 1.5, seed=3)
    xi = np.asarray(target.patterns, float)
    states = np.array(list(itertools.product([-1.0, 1.0], repeat=12)))
    m = states @ xi.T / 12
    log_w = 1.5 * 12 / 2 * np.sum(m**2, 1)
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    expected = [w @ np.sum(m**2, 1), w @ np.max(np.abs(m), 1)]
    np.testing.assert_allclose(tool["exact_overlaps"](target), expected, rtol=1e-10)


def test_group_sample_with_traced_patterns_is_the_hopfield_sampler():
    """`group_sample` called inside jit with the patterns and β as traced arguments (as `_trajectory_overlaps` calls it:
    one compilation per N for every disorder sample) draws the configurations `Hopfield.sample` draws from the same
    key, bit for bit, for two pattern pairs with different group sizes."""
    key = jax.random.PRNGKey(3)
    traced = jax.jit(lambda k, patterns, beta: group_sample(k, 64, patterns, beta))
    sizes = set()
    for seed in (0, 1):
        target = Hopfield.random(32, 2, 1.2, seed=seed)
        sizes.add(target.group_sizes)
        expected = np.asarray(target.sample(key, 64))
        assert set(np.unique(expected)) == {-1.0, 1.0}
        np.testing.assert_array_equal(np.asarray(traced(key, target.patterns, target.beta)), expected)
    assert len(sizes) == 2
    with pytest.raises(ValueError, match="K <= 2"):
        group_sample(key, 4, Hopfield.random(8, 3, 1.0).patterns, 1.0)
