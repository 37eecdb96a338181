"""Exact equilibrium of the Hopfield model with K patterns at any N, by its K-dimensional Hubbard–Stratonovich integral.

For P(s) ∝ exp(β/(2N) Σ_μ (ξ^μ·s)² + h Σ_i s_i), the Gaussian identity exp(βN|m|²/2) ∝ ∫ d^K u exp(−βN|u|²/2 + βN u·m)
with m_μ = ξ^μ·s/N makes (s, u) a joint law
    P(s, u) ∝ exp(−βN|u|²/2 + Σ_i (β u·ξ_i + h) s_i),
in which, given u, the spins are independent with means t_i(u) = tanh(β u·ξ_i + h), and, given s, u ~ N(m, I/(βN)).
The marginal of u is P(u) ∝ exp(−N φ(u)), φ(u) = β|u|²/2 − (1/N) Σ_i log 2cosh(β u·ξ_i + h) (Amit, Gutfreund &
Sompolinsky, Phys. Rev. A 32, 1007 (1985), here without the N → ∞ limit). Hence, exactly at every N,
    ⟨Σ_μ m_μ²⟩ = ⟨|u|²⟩ − K/(βN) = ⟨|m̄(u)|² + (K/N²) Σ_i (1 − t_i²)⟩,   m̄_μ(u) = (1/N) Σ_i ξ^μ_i t_i(u),
and the pairwise energy per spin (H = −½ sᵀJs, J = ξᵀξ/N with zero diagonal) is E/N = −½⟨Σ m²⟩ + K/(2N).
The two expressions of ⟨Σ m²⟩ are reported apart, as a check of the quadrature.

The K-dimensional integral is done by quadrature, in one of two ways:
* ``"grid"``: the trapezoid rule on a cube around the origin (exponentially accurate for this smooth integrand
  that vanishes on the cube's faces); its points grow as (points per axis)^K, so K ≤ 3.
* ``"states"``: the minima u* of φ (retrieval states ±ξ^μ, mixture states where they are minima, u = 0 in the
  paramagnet) found by Newton's method (`scipy.optimize.minimize`, trust-exact), the integrand split among them by
  the smooth partition of unity of their Laplace approximations, and each part integrated by a Gauss–Hermite rule
  centred on its minimum, in coordinates that whiten the part's covariance (measured by a first rule on the
  Laplace widths): the method for large N and any K (its error falls fast once the states are narrow, width
  1/√N, and apart).
Each state's weight is the mass of its part (grid: of the points nearest to its centre; the two agree once the
states are apart), and its ⟨Σ m²⟩ and ⟨m̄⟩ the averages over that part.

Spins enter only through their pattern column ξ_i ∈ {±1}^K, so every sum over i is a sum over the G ≤ 2^K distinct
columns g with their counts n_g. Two more exact averages follow from the conditional independence:
* the overlap of two independent configurations, ⟨q²⟩ = (1/N²) Σ_ij ⟨s_i s_j⟩², with ⟨s_i s_j⟩ = ⟨t_i t_j⟩ (i ≠ j):
  ⟨q²⟩ = (1/N²)[N + Σ_gg' n_g n_g' ⟨t_g t_g'⟩² − Σ_g n_g ⟨t_g²⟩²];
* independent equilibrium configurations (`equilibrium_samples`): a point u_a of the rule drawn with its weight, then
  spins s_i = ±1 with means t_i(u_a). Their law is Σ_a w_a Π_i (1 + t_i(u_a) s_i)/2, so the average of any f(s)
  is the rule applied to the smooth u ↦ E[f(s) | u]: exact up to the quadrature error and the sampling error. They
  give U₄(q) and ⟨max_μ |m_μ|⟩, for which no closed sum is written (`equilibrium_moments`).
"""

from __future__ import annotations

import itertools
from typing import NamedTuple

import numpy as np
from scipy import optimize

#: Largest K for the ``"grid"`` quadrature ((points per axis)^K points).
MAX_GRID_PATTERNS = 3

#: Largest N at which `exact_observables` takes the grid (K ≤ 3): 1.7·10⁶ points and 2 s at β = 1.5, quadrature
#: error < 1e-12; above it the states rule with 10 points per axis agrees with the grid to 1e-7 (K = 3, N = 512).
REFERENCE_GRID_SPINS = 256

_CHUNK_POINTS = 4096


class HopfieldEquilibrium(NamedTuple):
    """Exact equilibrium averages of a Hopfield model (module docstring).

    mattis2: ⟨Σ_μ m_μ²⟩ from ⟨|u|²⟩ − K/(βN); mattis2_conditional: the same from the conditional means of the spins
    (a check of the quadrature); energy: ⟨−½ sᵀJs⟩/N with J = ξᵀξ/N, zero diagonal;
    quadrature_error: the largest |⟨Σ m²⟩ of this rule − ⟨Σ m²⟩ of a coarser one| (grid: every other point; states:
    two and four Gauss–Hermite points fewer per axis; measured against the grid at K = 3, N = 64 and 128, β = 1.5:
    the error itself is 0.02–0.6 of it); states (S, K): the centres u* (= m̄(u*)) of the states; weights (S,): their
    equilibrium probabilities; state_mattis2 (S,), state_overlaps (S, K): ⟨Σ m²⟩ and ⟨m⟩ within each state;
    overlap2, overlap2_error: ⟨q²⟩ of two independent configurations and its quadrature error (as for ⟨Σ m²⟩);
    beta, h: the parameters; nodes (P, K), node_probabilities (P,): the points of the rule and their normalised
    weights, the mixture that `equilibrium_samples` draws from.
    """

    mattis2: float
    mattis2_conditional: float
    energy: float
    quadrature_error: float
    states: np.ndarray
    weights: np.ndarray
    state_mattis2: np.ndarray
    state_overlaps: np.ndarray
    overlap2: float
    overlap2_error: float
    beta: float
    h: float
    nodes: np.ndarray
    node_probabilities: np.ndarray


class _Columns(NamedTuple):
    """The distinct pattern columns ξ_i (G, K) and how many spins n_g have each (G,)."""

    columns: np.ndarray
    counts: np.ndarray


def _columns(xi):
    columns, counts = np.unique(xi.T, axis=0, return_counts=True)
    return _Columns(columns, counts.astype(float))


def _check(patterns, beta, h):
    xi = np.asarray(patterns, dtype=float)
    if xi.ndim != 2 or xi.size == 0 or not np.all(np.abs(xi) == 1):
        raise ValueError(f"patterns must be a (K, N) array of +-1 entries, got shape {xi.shape}")
    if not (np.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be finite and > 0 (the Gaussian integral over u needs beta > 0), got {beta}")
    if not np.isfinite(h):
        raise ValueError(f"h must be finite, got {h}")
    return xi, float(beta), float(h)


def _point_terms(cols, beta, h, u):
    """For points u (P, K): N φ(u), |m̄(u)|² + (K/N²) Σ(1 − t²), m̄(u) (P, K)."""
    n, k = np.sum(cols.counts), cols.columns.shape[1]
    out = [np.empty(len(u)), np.empty(len(u)), np.empty((len(u), k))]
    for start in range(0, len(u), _CHUNK_POINTS):
        part = u[start:start + _CHUNK_POINTS]
        field = beta * part @ cols.columns.T + h
        t = np.tanh(field)
        mean = (t * cols.counts) @ cols.columns / n
        out[0][start:start + len(part)] = (0.5 * beta * n * np.sum(part**2, 1)
                                           - np.logaddexp(field, -field) @ cols.counts)
        out[1][start:start + len(part)] = np.sum(mean**2, 1) + k * ((1.0 - t**2) @ cols.counts) / n**2
        out[2][start:start + len(part)] = mean
    return out


def _phi_derivatives(cols, beta, h, u):
    """N φ(u), its gradient and Hessian at one point u (K,)."""
    n = np.sum(cols.counts)
    field = beta * cols.columns @ u + h
    t = np.tanh(field)
    value = 0.5 * beta * n * u @ u - np.logaddexp(field, -field) @ cols.counts
    grad = beta * n * u - beta * cols.columns.T @ (cols.counts * t)
    hess = beta * n * np.eye(len(u)) - beta**2 * (cols.columns.T * (cols.counts * (1.0 - t**2))) @ cols.columns
    return value, grad, hess


def _overlap2(cols, beta, h, points, probabilities):
    """⟨q²⟩ = (1/N²)[N + Σ_gg' n_g n_g' ⟨t_g t_g'⟩² − Σ_g n_g ⟨t_g²⟩²] under the rule (module docstring)."""
    n = np.sum(cols.counts)
    second = np.zeros((len(cols.counts),) * 2)
    for start in range(0, len(points), _CHUNK_POINTS):
        t = np.tanh(beta * points[start:start + _CHUNK_POINTS] @ cols.columns.T + h)
        second += (t * probabilities[start:start + _CHUNK_POINTS, None]).T @ t
    pairs = cols.counts @ second**2 @ cols.counts - cols.counts @ np.diag(second) ** 2
    return float((n + pairs) / n**2)


def _minima(cols, beta, h):
    """Distinct local minima of φ from starts at 0, ±e_μ and the symmetric mixtures of 3 patterns (scaled by
    m₀ = tanh(β m₀), the Curie–Weiss magnetisation), each with a positive-definite Hessian."""
    k = cols.columns.shape[1]
    m0 = optimize.brentq(lambda m: m - np.tanh(beta * m), 1e-9, 1.0) if beta > 1 else 0.5
    starts = [np.zeros(k)]
    for size in (1, 3):
        for idx in itertools.combinations(range(k), size):
            for signs in itertools.product((-1.0, 1.0), repeat=size):
                start = np.zeros(k)
                start[list(idx)] = np.array(signs) * m0 / (1.0 if size == 1 else 2.0)
                starts.append(start)
    found = []
    for start in starts:
        res = optimize.minimize(lambda u: _phi_derivatives(cols, beta, h, u)[0], start, method="trust-exact",
                                jac=lambda u: _phi_derivatives(cols, beta, h, u)[1],
                                hess=lambda u: _phi_derivatives(cols, beta, h, u)[2], options={"gtol": 1e-10})
        value, _, hess = _phi_derivatives(cols, beta, h, res.x)
        if np.min(np.linalg.eigvalsh(hess)) <= 0:
            continue
        if all(np.max(np.abs(res.x - other)) > 1e-6 for other, _, _ in found):
            found.append((res.x, value, hess))
    return found


def _average(probabilities, values_by_state, assignment, num_states):
    """Averages of each array of values (P, ...) under the rule, the mass of each state, and per-state averages."""
    per_state = np.bincount(assignment, probabilities, minlength=num_states)
    averages = [probabilities @ v.reshape(len(probabilities), -1) for v in values_by_state]
    state_averages = [np.stack([np.bincount(assignment, probabilities * col, minlength=num_states) for col in
                                v.reshape(len(probabilities), -1).T], 1) / per_state[:, None] for v in values_by_state]
    return averages, per_state, state_averages


def hopfield_equilibrium(patterns, beta: float, h: float = 0.0, method: str = "states",
                         points_per_axis: int | None = None) -> HopfieldEquilibrium:
    """Exact ⟨Σ m²⟩, energy per spin and state weights of the Hopfield model (module docstring).

    Args:
        patterns: ξ, (K, N) of ±1.
        beta: β > 0.
        h: uniform field.
        method: ``"states"`` (Gauss–Hermite around each minimum of φ; large N, any K) or ``"grid"`` (trapezoid on
            a cube; K ≤ 3, any N).
        points_per_axis: Gauss–Hermite points per axis and state (default 10), or grid points per axis (default:
            spacing half of 1/√(βN), the narrowest width a state can have: trapezoid error ~exp(−8π²)).
    """
    xi, beta, h = _check(patterns, beta, h)
    k, n = xi.shape
    if method not in ("states", "grid"):
        raise ValueError(f"method must be 'states' or 'grid', got {method!r}")
    if method == "grid" and k > MAX_GRID_PATTERNS:
        raise ValueError(f"the grid quadrature has (points per axis)^K points: K = {k} > {MAX_GRID_PATTERNS}; use "
                         f"method='states'")
    cols = _columns(xi)
    minima = _minima(cols, beta, h)
    centres = np.stack([u for u, _, _ in minima])
    if method == "grid":
        num = points_per_axis or 2 * int(2 * _half_width(beta, n) * np.sqrt(beta * n)) + 1
        points, coarse = _grid(k, _half_width(beta, n), num)
        terms = _point_terms(cols, beta, h, points)
        _check_grid_faces(terms[0], points, beta, n)
        assignment = _nearest(points, centres)
        rules = [(points, np.zeros(len(points)), assignment, terms),
                 (points[coarse], np.zeros(coarse.sum()), assignment[coarse], [t[coarse] for t in terms])]
    else:
        num = points_per_axis or 10
        if num < 6:
            raise ValueError(f"points_per_axis must be >= 6 for the states quadrature, got {num}")
        covariances = _state_covariances(cols, beta, h, minima, num)
        rules = [(*rule, _point_terms(cols, beta, h, rule[0])) for rule in
                 (_states_rule(cols, minima, order, covariances) for order in (num, num - 2, num - 4))]
    results = []
    for points, log_weight, assignment, (n_phi, conditional, mean) in rules:
        probabilities = np.exp(log_weight - n_phi - np.max(log_weight - n_phi))
        probabilities /= np.sum(probabilities)
        (u2, cond, _), weights, (_, state_cond, state_mean) = _average(
            probabilities, [np.sum(points**2, 1), conditional, mean], assignment, len(centres))
        results.append((float(u2[0]) - k / (beta * n), float(cond[0]), weights, state_cond[:, 0], state_mean,
                        _overlap2(cols, beta, h, points, probabilities), probabilities))
    mattis2, conditional, weights, state_mattis2, state_overlaps, overlap2, probabilities = results[0]
    if not all(np.isfinite([mattis2, conditional, overlap2])):
        raise FloatingPointError(f"the {method} quadrature gave a non-finite average (<sum m^2> {mattis2}, <q^2> "
                                 f"{overlap2}) at K = {k}, N = {n}, beta = {beta}, h = {h}")
    return HopfieldEquilibrium(mattis2=mattis2, mattis2_conditional=conditional, energy=-0.5 * mattis2 + k / (2 * n),
                               quadrature_error=max(abs(mattis2 - other[0]) for other in results[1:]),
                               states=centres, weights=weights,
                               state_mattis2=state_mattis2, state_overlaps=state_overlaps, overlap2=overlap2,
                               overlap2_error=max(abs(overlap2 - other[5]) for other in results[1:]),
                               beta=beta, h=h, nodes=rules[0][0], node_probabilities=probabilities)


def _half_width(beta, n):
    return 1.0 + 10.0 / np.sqrt(beta * n)


def _grid(k, half_width, num):
    """Trapezoid points on the cube |u_μ| ≤ half_width (``num`` per axis, odd), and the mask of the coarser rule
    made of every other point per axis (the same points, so one evaluation of the integrand serves both)."""
    axis = np.linspace(-half_width, half_width, num)
    index = np.stack(np.meshgrid(*[np.arange(num)] * k, indexing="ij"), -1).reshape(-1, k)
    return axis[index], np.all(index % 2 == 0, 1)


def _check_grid_faces(n_phi, points, beta, n):
    """The integrand on the faces of the cube must be below e^(−40) of its largest value."""
    half_width = np.max(np.abs(points))
    face = np.any(np.isclose(np.abs(points), half_width), 1)
    if np.min(n_phi[face]) - np.min(n_phi) < 40:
        raise ValueError(f"the grid cube |u| <= {half_width:.3f} is too small for beta = {beta}, N = {n}")


def _nearest(points, centres):
    """Index of the centre nearest to each point (P, K)."""
    return np.argmin(np.sum((points[:, None, :] - centres[None]) ** 2, -1), 1)


def _state_covariances(cols, beta, h, minima, order):
    """Covariance of u within each state's part, from a first rule on the Laplace widths (Hessian⁻¹ of Nφ): the
    final rule is laid on these, which fit better where φ is far from quadratic (near β = 1 at small N)."""
    points, log_weight, origin = _states_rule(cols, minima, order, [np.linalg.inv(hess) for _, _, hess in minima])
    log_weight = log_weight - _point_terms(cols, beta, h, points)[0]
    weight = np.exp(log_weight - np.max(log_weight))  # −Nφ grows with N: exp overflows beyond N log 2 ≈ 709
    out = []
    for index, (centre, _, _) in enumerate(minima):
        part = origin == index
        delta = points[part] - centre
        out.append(np.einsum("p,pi,pj->ij", weight[part], delta, delta) / np.sum(weight[part]))
    return out


def _states_rule(cols, minima, order, covariances):
    """Gauss–Hermite points u = u* + L y (L Lᵀ = ``covariances`` of the state) of every minimum, with log weights
    log w(y) + |y|²/2 + log det L (the Gaussian factor of the integrand is in exp(−Nφ)) + log π_k(u), and the
    minimum k each point belongs to. π_k(u) = g_k(u)/Σ_j g_j(u), g_j(u) = exp(−Nφ(u_j) − ½(u − u_j)ᵀH_j(u − u_j))
    the Laplace approximation of state j, is a smooth partition of unity: Σ_k ∫ π_k f = ∫ f, and each state's
    integrand stays smooth where states overlap (a hard cut at the midplanes would spoil the rule's convergence)."""
    nodes, weights = np.polynomial.hermite_e.hermegauss(order)
    k = cols.columns.shape[1]
    grid = np.stack(np.meshgrid(*[nodes] * k, indexing="ij"), -1).reshape(-1, k)
    log_w = np.sum(np.log(np.stack(np.meshgrid(*[weights] * k, indexing="ij"), -1).reshape(-1, k)), 1)
    points, log_weight, origin = [], [], []
    for index, ((centre, _, _), covariance) in enumerate(zip(minima, covariances)):
        chol = np.linalg.cholesky(covariance)
        points.append(centre + grid @ chol.T)
        log_weight.append(log_w + 0.5 * np.sum(grid**2, 1) + np.sum(np.log(np.diag(chol))))
        origin.append(np.full(len(grid), index))
    points, origin = np.concatenate(points), np.concatenate(origin)
    log_laplace = np.stack([-value - 0.5 * np.einsum("pi,ij,pj->p", points - centre, hess, points - centre)
                            for centre, value, hess in minima], 1)
    log_partition = log_laplace[np.arange(len(points)), origin] - np.logaddexp.reduce(log_laplace, 1)
    return points, np.concatenate(log_weight) + log_partition, origin


def mattis_overlaps(spins, patterns) -> np.ndarray:
    """m_μ = ξ^μ·s/N (B, K) of configurations (B, N), in chunks of configurations (an int8 array of many
    configurations is never converted whole to floats)."""
    spins = np.asarray(spins)
    xi = np.asarray(patterns, dtype=float)
    return np.concatenate([spins[i:i + _CHUNK_POINTS] @ xi.T for i in range(0, len(spins), _CHUNK_POINTS)]
                          + [np.zeros((0, len(xi)))]) / xi.shape[1]


def state_of(spins, patterns, equilibrium: HopfieldEquilibrium) -> np.ndarray:
    """Index of the state of each configuration (B, N): the centre u* of ``equilibrium.states`` nearest to its
    Mattis overlaps m = ξ s/N (at large N the retrieval states are the 2K sign patterns ±ξ^μ)."""
    return _nearest(mattis_overlaps(spins, patterns), equilibrium.states)


def equilibrium_samples(patterns, equilibrium: HopfieldEquilibrium, num: int, seed: int = 0) -> np.ndarray:
    """``num`` independent configurations (num, N) of ±1 (int8) from the rule's mixture Σ_a w_a Π_i (1 + t_i(u_a) s_i)/2
    (module docstring): a point u_a of ``equilibrium.nodes`` drawn with its probability, then independent spins
    with means t_i = tanh(β u_a·ξ_i + h)."""
    xi = np.asarray(patterns, dtype=float)
    if xi.shape[0] != equilibrium.nodes.shape[1]:
        raise ValueError(f"patterns have K = {xi.shape[0]}, the equilibrium K = {equilibrium.nodes.shape[1]}")
    if num < 1:
        raise ValueError(f"num must be >= 1, got {num}")
    rng = np.random.default_rng(seed)
    index = rng.choice(len(equilibrium.node_probabilities), size=num, p=equilibrium.node_probabilities)
    out = np.empty((num, xi.shape[1]), dtype=np.int8)
    for start in range(0, num, _CHUNK_POINTS):
        t = np.tanh(equilibrium.beta * equilibrium.nodes[index[start:start + _CHUNK_POINTS]] @ xi + equilibrium.h)
        out[start:start + len(t)] = np.where(rng.random(t.shape) < 0.5 * (1.0 + t), 1, -1)
    return out


def equilibrium_moments(patterns, equilibrium: HopfieldEquilibrium, num_pairs: int = 20_000,
                        seed: int = 0) -> dict[str, tuple[float, float]]:
    """Averages with their sampling errors from 2 × ``num_pairs`` independent configurations (`equilibrium_samples`):
    "q2", "q4" (q = s·s'/N of the pairs), "binder" U₄(q) = 1 − ⟨q⁴⟩/(3⟨q²⟩²) (error by the delta method),
    "mattis2" ⟨Σ_μ m_μ²⟩ and "mattis_max" ⟨max_μ |m_μ|⟩ (m = ξ s/N). The errors are standard errors of independent
    draws; the quadrature error is apart (``equilibrium.quadrature_error``, ``overlap2_error``)."""
    xi = np.asarray(patterns, dtype=float)
    spins = equilibrium_samples(xi, equilibrium, 2 * num_pairs, seed)
    n = xi.shape[1]
    first, second = spins[:num_pairs], spins[num_pairs:]
    q = np.concatenate([np.sum(first[i:i + _CHUNK_POINTS] * second[i:i + _CHUNK_POINTS], 1, dtype=float)
                        for i in range(0, num_pairs, _CHUNK_POINTS)]) / n
    m = mattis_overlaps(spins, xi)

    def mean_err(values):
        return float(values.mean()), float(values.std(ddof=1) / np.sqrt(len(values)))

    q2, q4 = q**2, q**4
    a, b = q4.mean(), q2.mean()
    gradient = np.array([-1.0 / (3 * b**2), 2 * a / (3 * b**3)])
    binder_err = float(np.sqrt(gradient @ np.cov(np.stack([q4, q2])) @ gradient / num_pairs))
    return {"q2": mean_err(q2), "q4": mean_err(q4), "binder": (float(1 - a / (3 * b**2)), binder_err),
            "mattis2": mean_err(np.sum(m**2, 1)), "mattis_max": mean_err(np.max(np.abs(m), 1))}


def exact_observables(patterns, beta: float, h: float = 0.0, num_pairs: int = 20_000,
                      seed: int = 0) -> tuple[HopfieldEquilibrium, dict[str, tuple[float, float]]]:
    """The exact law of the patterns and its observables as (value, error), the reference of the spin-glass
    validations: `hopfield_equilibrium` by the grid for K ≤ 3 and N ≤ `REFERENCE_GRID_SPINS`, else by the states rule
    (10 points per axis); "energy" (E/N), "mattis2" (⟨Σ m²⟩) and "q2" (⟨q²⟩) from the quadrature, with its
    quadrature error (half of ⟨Σ m²⟩'s for E/N = −½⟨Σ m²⟩ + K/(2N)); "binder" (U₄(q)), "mattis_max" (⟨max |m|⟩) and
    "sampled_mattis2" (⟨Σ m²⟩ again, a check of the sampler) from 2 × ``num_pairs`` independent configurations
    (`equilibrium_moments`, ``seed``), with their standard errors."""
    k, n = np.shape(patterns)
    grid = k <= MAX_GRID_PATTERNS and n <= REFERENCE_GRID_SPINS
    law = hopfield_equilibrium(patterns, beta, h, method="grid" if grid else "states")
    sampled = equilibrium_moments(patterns, law, num_pairs=num_pairs, seed=seed)
    return law, {"energy": (law.energy, 0.5 * law.quadrature_error), "mattis2": (law.mattis2, law.quadrature_error),
                 "q2": (law.overlap2, law.overlap2_error), "binder": sampled["binder"],
                 "mattis_max": sampled["mattis_max"], "sampled_mattis2": sampled["mattis2"]}
