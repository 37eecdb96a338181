"""Franz–Parisi potentials of the posterior P(x₀ | x_t): free energy at fixed distance from a reference.

Franz & Parisi, J. Phys. I 5, 1401 (1995); for generative diffusion Yu & Huang, arXiv 2405.11932, Sec. V. The
reference x₀′ is drawn from the posterior P(x₀′ | x_t) and x_t from p_t; the pair (x₀′, x_t) then has the joint
law of a data point and its noised version, which is how it is sampled. The reference is a posterior draw, not a
configuration produced by the generative dynamics. One name space for the concept modules:

  * `physics.franz_parisi_mixture`: the 1-D Gaussian mixture, V(q, t) = −E ln Z(q) in the squared distance q by
    quadrature, its inflection points (scan, merges, the t → 0 law) and a Monte-Carlo check;
  * `physics.franz_parisi_spins`: spin targets, V(q; t) = −(1/N) E ln P(q | x_t, s′) in the overlap q = s·s′/N, by
    enumeration (N ≤ 20) or the target's exact overlap law (OverlapLaw, e.g. Curie–Weiss at any N), and the
    appearance and degeneracy of its secondary minimum;
  * `physics.umbrella`: P(q | x_t, s′) of any pairwise target by umbrella Monte Carlo over q and WHAM;
  * `physics.quenched`: disorder draws (s′, x_t), parallel-tempering references, the quenched average.
"""

from .franz_parisi_mixture import (
    Merge,
    gmm_franz_parisi,
    gmm_franz_parisi_derivatives,
    gmm_franz_parisi_monte_carlo,
    gmm_inflection_merges,
    gmm_inflection_points,
    gmm_inflection_scan,
    gmm_small_t_inflection,
    inflection_points,
)
from .franz_parisi_spins import (
    MinimumTimes,
    enumerated_overlap_log_probs,
    local_minima,
    ou_noise,
    overlap_grid,
    secondary_minimum_times,
    spin_franz_parisi,
)
from .quenched import (
    QuenchedAverage,
    QuenchedPotential,
    quenched_average,
    quenched_umbrella_potential,
    sample_disorder,
    tempering_reference_sampler,
)
from .umbrella import UmbrellaPotential, umbrella_overlap_potential, wham_log_probs

__all__ = [
    "Merge",
    "MinimumTimes",
    "QuenchedAverage",
    "QuenchedPotential",
    "UmbrellaPotential",
    "enumerated_overlap_log_probs",
    "gmm_franz_parisi",
    "gmm_franz_parisi_derivatives",
    "gmm_franz_parisi_monte_carlo",
    "gmm_inflection_merges",
    "gmm_inflection_points",
    "gmm_inflection_scan",
    "gmm_small_t_inflection",
    "inflection_points",
    "local_minima",
    "ou_noise",
    "overlap_grid",
    "quenched_average",
    "quenched_umbrella_potential",
    "sample_disorder",
    "secondary_minimum_times",
    "spin_franz_parisi",
    "tempering_reference_sampler",
    "umbrella_overlap_potential",
    "wham_log_probs",
]
