"""Stochastic thermodynamics of the forward (noising) and reverse (generative) diffusions: one namespace over

    physics.path_entropy          stochastic entropies along simulated paths (Seifert; Yu & Huang, Sec. III)
    physics.fluctuation_theorems  integral and detailed fluctuation theorems (IFT, Crooks)
    physics.entropy_rates         ensemble rates π, φ, dS/dt from the probability current (Yu & Huang, Sec. III B)
    physics.mixture_flux          closed forms of ½N(±μ, σ²) under OU (Yu & Huang, Secs. II–IV)
    physics.path_kl               Girsanov path KL between forward and generative path laws (Franzese et al.)

(each module states its equations).
"""

from .entropy_rates import (
    EnsembleRates,
    RateEstimate,
    ensemble_rates_1d,
    entropy_production_rate,
    gaussian_entropy_production_rate,
    reverse_flux_zero,
    total_entropy_production,
)
from .fluctuation_theorems import CrooksFit, ExpAverage, crooks_fit, exponential_average
from .mixture_flux import gmm_fisher_information, gmm_reverse_flux, gmm_reverse_flux_zeros, speciation_time_yu_huang
from .path_entropy import (
    PathEntropy,
    PathIncrements,
    forward_entropy,
    forward_process,
    path_entropy,
    reverse_entropy,
    reverse_run_path_ratio,
)
from .path_kl import PathKL, path_kl

__all__ = [
    "CrooksFit",
    "EnsembleRates",
    "ExpAverage",
    "PathEntropy",
    "PathIncrements",
    "PathKL",
    "RateEstimate",
    "crooks_fit",
    "ensemble_rates_1d",
    "entropy_production_rate",
    "exponential_average",
    "forward_entropy",
    "forward_process",
    "gaussian_entropy_production_rate",
    "gmm_fisher_information",
    "gmm_reverse_flux",
    "gmm_reverse_flux_zeros",
    "path_entropy",
    "path_kl",
    "reverse_entropy",
    "reverse_flux_zero",
    "reverse_run_path_ratio",
    "speciation_time_yu_huang",
    "total_entropy_production",
]
