"""The exact Hopfield equilibrium of `models.hopfield_equilibrium` (K-dimensional Hubbard–Stratonovich integral)
against enumeration of all 2ᴺ states and against the exact two-group law of K = 2 at N = 512."""

import itertools

import numpy as np
import pytest

from statphys.models.hopfield import Hopfield
from statphys.models.hopfield_equilibrium import hopfield_equilibrium, state_of


def _enumerated(patterns, beta, h):
    """⟨Σ m²⟩ by summing P(s) ∝ exp(βN|m|²/2 + hΣs) over all 2ᴺ states."""
    xi = np.asarray(patterns, float)
    n = xi.shape[1]
    s = np.array(list(itertools.product([-1.0, 1.0], repeat=n)))
    m = s @ xi.T / n
    log_w = 0.5 * beta * n * np.sum(m**2, 1) + h * s.sum(1)
    w = np.exp(log_w - log_w.max())
    return float(np.sum(w * np.sum(m**2, 1)) / np.sum(w))


@pytest.mark.parametrize("beta, h", [(1.5, 0.0), (0.6, 0.1), (1.0, -0.2)])
def test_grid_quadrature_equals_enumeration(beta, h):
    """K = 3, N = 12: ⟨Σ m²⟩ by both expressions of the grid quadrature equals enumeration to 1e-12; the energy is
    the pairwise form −½⟨Σ m²⟩ + K/(2N); the state weights sum to one; the reported quadrature error (from the
    grid with every other point, half as fine) is below 1e-8 (measured 3e-11 … 1.3e-9)."""
    patterns = Hopfield.random(12, 3, 1.0, seed=3).patterns
    law = hopfield_equilibrium(patterns, beta, h, method="grid")
    exact = _enumerated(patterns, beta, h)
    assert law.mattis2 == pytest.approx(exact, abs=1e-12)
    assert law.mattis2_conditional == pytest.approx(exact, abs=1e-12)
    assert law.energy == pytest.approx(-0.5 * exact + 3 / 24, abs=1e-12)
    assert np.sum(law.weights) == pytest.approx(1.0, abs=1e-12) and law.quadrature_error < 1e-8


def test_states_quadrature_equals_the_two_group_law_at_large_n():
    """K = 2, N = 512, β = 1.5: the Gauss–Hermite quadrature around the four retrieval states gives ⟨Σ m²⟩ of the
    exact two-group Curie–Weiss law (`Hopfield.overlap_moments`) within its reported quadrature error (measured:
    5e-9 off, error 8e-7), and so does the grid (1e-14); at h = 0 the states ±u* have equal weights and their centres
    are the retrieved patterns (|u*| on one axis, the Curie–Weiss magnetisation m = tanh(βm) ± O(N^-½))."""
    target = Hopfield.random(512, 2, 1.5, seed=1)
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
    2.4e-4 off with error 4.2e-4 at β = 1.5; 1e-9 off at β = 0.8), and within 1e-3."""
    patterns = Hopfield.random(64, 3, 1.0, seed=0).patterns
    grid = hopfield_equilibrium(patterns, beta, method="grid").mattis2
    states = hopfield_equilibrium(patterns, beta, points_per_axis=12)
    assert abs(states.mattis2 - grid) <= states.quadrature_error < 1e-3


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
