"""Targets of the package: the data laws whose generation is studied (see `models.base.Target`)."""

from .base import MAX_ENUMERATION_N, Target, denoiser_from_score, score, spin_states, tweedie_score
from .curie_weiss import CurieWeiss
from .finite_support import FiniteSupport
from .gaussian import Gaussian, GaussianMixture

__all__ = [
    "MAX_ENUMERATION_N",
    "Target",
    "CurieWeiss",
    "FiniteSupport",
    "Gaussian",
    "GaussianMixture",
    "denoiser_from_score",
    "score",
    "spin_states",
    "tweedie_score",
]
