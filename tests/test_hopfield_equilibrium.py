"""The exact Hopfield equilibrium of `models.hopfield_equilibrium` (K-dimensional Hubbard–Stratonovich integral)
against enumeration of all 2ᴺ states and against the exact two-group law of K = 2 at N = 512; its independent
samples against enumeration and against the quadrature's own averages."""

import itertools

import numpy as np
import pytest

from statphys.models.hopfield import Hopfield
from statphys.models.hopfield_equilibrium import (REFERENCE_GRID_SPINS, equilibrium_moments, equilibrium_samples,
                                                  exact_observables, hopfield_equilibrium, state_of)


def _enumerated(patterns, beta, h):
    """⟨Σ m²⟩, ⟨max |m|⟩, and ⟨q²⟩, ⟨q⁴⟩, U₄ of two independent configurations, by summing
    P(s) ∝ exp(βN|m|²/2 + hΣs) over all 2ᴺ states (and over all pairs of states for q)."""
    xi = np.asarray(patterns, float)
    n = xi.shape[1]
    s = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    m = s @ xi.T / n
    log_w = 0.5 * beta * n * np.sum(m**2, 1) + h * s.sum(1)
    p = np.exp(log_w - log_w.max())
    p /= np.sum(p)
    q = s @ s.T / n
    q2, q4 = p @ q**2 @ p, p @ q**4 @ p
    return {"mattis2": float(p @ np.sum(m**2, 1)), "mattis_max": float(p @ np.max(np.abs(m), 1)), "q2": float(q2),
            "q4": float(q4), "binder": float(1 - q4 / (3 * q2**2))}


@pytest.mark.parametrize("beta, h", [(1.5, 0.0), (0.6, 0.1), (1.0, -0.2)])
def test_grid_quadrature_equals_enumeration(beta, h):
    """K = 3, N = 12: ⟨Σ m²⟩ by both expressions of the grid quadrature, and ⟨q²⟩ by the sum over pattern columns,
    equal enumeration to 1e-12; the energy is the pairwise form −½⟨Σ m²⟩ + K/(2N); the state weights and the node
    probabilities sum to one; the reported quadrature errors (from the grid with every other point, half as fine) are
    below 1e-8 (measured 3e-11 … 1.3e-9)."""
    patterns = Hopfield.random(12, 3, 1.0, seed=3).patterns
    law = hopfield_equilibrium(patterns, beta, h, method="grid")
    exact = _enumerated(patterns, beta, h)
    assert law.mattis2 == pytest.approx(exact["mattis2"], abs=1e-12)
    assert law.mattis2_conditional == pytest.approx(exact["mattis2"], abs=1e-12)
    assert law.overlap2 == pytest.approx(exact["q2"], abs=1e-12)
    assert law.energy == pytest.approx(-0.5 * exact["mattis2"] + 3 / 24, abs=1e-12)
    assert np.sum(law.weights) == pytest.approx(1.0, abs=1e-12) and law.quadrature_error < 1e-8
    assert np.sum(law.node_probabilities) == pytest.approx(1.0, abs=1e-12) and law.overlap2_error < 1e-8


@pytest.mark.parametrize("beta, h", [(1.5, 0.0), (0.6, 0.1), (1.0, -0.2)])
def test_independent_samples_reproduce_enumeration(beta, h):
    """K = 3, N = 12: ⟨q²⟩, ⟨q⁴⟩, U₄(q), ⟨Σ m²⟩ and ⟨max |m|⟩ of 2 × 20000 independent configurations drawn from the
    grid's mixture are within 4 of their standard errors of enumeration (a coverage check over 40 seeds at β = 1.5,
    5000 pairs: mean z −0.17 … +0.13, mean z² 0.68 … 1.23); the configurations are ±1 and independent draws differ."""
    patterns = Hopfield.random(12, 3, 1.0, seed=3).patterns
    law = hopfield_equilibrium(patterns, beta, h, method="grid")
    exact = _enumerated(patterns, beta, h)
    moments = equilibrium_moments(patterns, law, num_pairs=20_000, seed=1)
    assert sorted(moments) == sorted(exact)
    for name, (value, error) in moments.items():
        assert 0 < error and abs(value - exact[name]) < 4 * error, name
    spins = equilibrium_samples(patterns, law, 8, seed=2)
    assert spins.shape == (8, 12) and set(np.unique(spins)) == {-1, 1} and len(np.unique(spins, axis=0)) > 1


def test_exact_observables_of_the_validations():
    """`exact_observables`, the validations' one reference: at K = 3, N = 12 every value equals enumeration (the
    quadrature's to 1e-12, the sampled ones within 4 standard errors) and E/N is the pairwise form; above
    `REFERENCE_GRID_SPINS` (K = 3) and at K = 4 it takes the states rule, whose ⟨q²⟩ at K = 3, N = 512 is the grid's
    within its quadrature error (measured 1e-7 off, error 3e-6)."""
    patterns = Hopfield.random(12, 3, 1.0, seed=3).patterns
    law, values = exact_observables(patterns, 1.5, num_pairs=20_000, seed=1)
    exact = _enumerated(patterns, 1.5, 0.0)
    assert len(law.node_probabilities) > 1000 and values["energy"][0] == pytest.approx(
        -0.5 * exact["mattis2"] + 3 / 24, abs=1e-12)
    for name in ("mattis2", "q2"):
        assert values[name][0] == pytest.approx(exact[name], abs=1e-12) and values[name][1] < 1e-8
    for name, reference in (("binder", "binder"), ("mattis_max", "mattis_max"), ("sampled_mattis2", "mattis2")):
        value, error = values[name]
        assert 0 < error and abs(value - exact[reference]) < 4 * error, name
    patterns = Hopfield.random(2 * REFERENCE_GRID_SPINS, 3, 1.0, seed=0).patterns
    law, values = exact_observables(patterns, 1.5, num_pairs=100, seed=0)
    assert len(law.node_probabilities) == len(law.weights) * 10**3
    assert abs(values["q2"][0] - hopfield_equilibrium(patterns, 1.5, method="grid").overlap2) <= values["q2"][1]
    law, _ = exact_observables(Hopfield.random(32, 4, 1.0, seed=0).patterns, 0.5, num_pairs=100, seed=0)
    assert len(law.node_probabilities) == len(law.weights) * 10**4


@pytest.mark.parametrize("n", [512, 4096])
def test_states_quadrature_equals_the_two_group_law_at_large_n(n):
    """K = 2, N = 512 and 4096, β = 1.5: the Gauss–Hermite quadrature around the four retrieval states gives ⟨Σ m²⟩
    of the exact two-group Curie–Weiss law (`Hopfield.overlap_moments`) within its reported quadrature error
    (measured at N = 512: 5e-9 off, error 8e-7), and so does the grid (1e-14); at h = 0 the states ±u* have equal
    weights and their centres are the retrieved patterns (|u*| on one axis, the Curie–Weiss magnetisation
    m = tanh(βm) ± O(N^-½)). At N = 4096, −Nφ ≈ 3400 > log(max float) ≈ 709: weights must be exponentiated relative to
    their largest (they once were not, and the states rule gave NaN from N ≈ 1024 at β = 1.5)."""
    target = Hopfield.random(n, 2, 1.5, seed=1)
    exact = target.overlap_moments()[0]
    states = hopfield_equilibrium(target.patterns, 1.5)
    assert abs(states.mattis2 - exact) <= states.quadrature_error < 1e-6
    assert hopfield_equilibrium(target.patterns, 1.5, method="grid").mattis2 == pytest.approx(exact, abs=1e-12)
    assert len(states.weights) == 4
    for k, centre in enumerate(states.states):
        partner = int(np.argmin(np.sum((states.states + centre) ** 2, 1)))
        assert states.weights[k] == pytest.approx(states.weights[partner], abs=1e-12)
        assert np.sort(np.abs(centre)) == pytest.approx([0.0, 0.8586], abs=0.05)


@pytest.mark.parametrize("beta", [0.8, 1.5])
def test_states_quadrature_error_bounds_its_distance_to_the_grid(beta):
    """K = 3, N = 64, where the six retrieval states still overlap at β = 1.5 and φ is far from quadratic at
    β = 0.8: the states quadrature (12 points per axis) is within its reported quadrature error of the grid (measured:
    2.4e-4 off with error 4.2e-4 at β = 1.5; 1e-9 off at β = 0.8), and within 1e-3; the same for ⟨q²⟩."""
    patterns = Hopfield.random(64, 3, 1.0, seed=0).patterns
    grid = hopfield_equilibrium(patterns, beta, method="grid")
    states = hopfield_equilibrium(patterns, beta, points_per_axis=12)
    assert abs(states.mattis2 - grid.mattis2) <= states.quadrature_error < 1e-3
    assert abs(states.overlap2 - grid.overlap2) <= states.overlap2_error < 1e-3


def test_independent_samples_of_the_states_rule_reproduce_its_averages():
    """K = 5, N = 256, β = 1.5 (twelve states, one a mixture with 75 % of the mass): ⟨Σ m²⟩ and ⟨q²⟩ of 2 × 20000
    configurations drawn from the states rule are within 4 standard errors (with the quadrature error added) of the
    rule's own ⟨Σ m²⟩ and ⟨q²⟩. Where the states are apart (K = 2, N = 512) the fraction of configurations nearest to
    each state is within 4 binomial standard deviations of its weight (at K = 5, N = 256 they are not apart: the
    fractions differ from the weights of the smooth partition by up to 0.02, e.g. 0.353 against 0.373)."""
    patterns = Hopfield.random(256, 5, 1.0, seed=0).patterns
    law = hopfield_equilibrium(patterns, 1.5, points_per_axis=8)
    moments = equilibrium_moments(patterns, law, num_pairs=20_000, seed=0)
    for name, value, quadrature in (("mattis2", law.mattis2, law.quadrature_error),
                                    ("q2", law.overlap2, law.overlap2_error)):
        sampled, error = moments[name]
        assert abs(sampled - value) < 4 * np.hypot(error, quadrature), name
    patterns = Hopfield.random(512, 2, 1.0, seed=1).patterns
    law = hopfield_equilibrium(patterns, 1.5)
    fractions = np.bincount(state_of(equilibrium_samples(patterns, law, 20_000, seed=3), patterns, law),
                            minlength=len(law.weights)) / 20_000
    assert np.all(np.abs(fractions - law.weights) < 4 * np.sqrt(law.weights * (1 - law.weights) / 20_000))


def test_states_of_configurations_and_bad_input():
    """Configurations equal to ±ξ^μ are assigned to the state centred on ±ξ^μ; bad input is refused before any
    quadrature."""
    target = Hopfield.random(256, 3, 1.5, seed=0)
    law = hopfield_equilibrium(target.patterns, 1.5, points_per_axis=6)
    assert len(law.weights) == 6
    xi = np.asarray(target.patterns)
    spins = np.concatenate([xi, -xi])
    centres = law.states[state_of(spins, xi, law)]
    retrieved = np.argmax(np.abs(centres), 1)
    assert np.array_equal(retrieved, [0, 1, 2, 0, 1, 2])
    assert np.array_equal(np.sign(centres[np.arange(6), retrieved]), [1, 1, 1, -1, -1, -1])
    with pytest.raises(ValueError, match="beta must be finite and > 0"):
        hopfield_equilibrium(xi, 0.0)
    with pytest.raises(ValueError, match="K = 4 > 3"):
        hopfield_equilibrium(Hopfield.random(8, 4, 1.0).patterns, 1.0, method="grid")
    with pytest.raises(ValueError, match=r"\+-1 entries"):
        hopfield_equilibrium(0.5 * xi, 1.0)
    with pytest.raises(ValueError, match="method must be"):
        hopfield_equilibrium(xi, 1.0, method="laplace")
    with pytest.raises(ValueError, match="K = 2, the equilibrium K = 3"):
        equilibrium_samples(xi[:2], law, 4)
    with pytest.raises(ValueError, match="num must be >= 1"):
        equilibrium_samples(xi, law, 0)
