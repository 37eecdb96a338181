"""Targets of the package: the data laws whose generation is studied (see `models.base.Target`)."""

from .base import MAX_ENUMERATION_N, Target, denoiser_from_score, score, spin_states, tweedie_score
from . import enumeration
from .curie_weiss import CurieWeiss
from .dataset import DataSet
from .edwards_anderson import EdwardsAnderson
from .finite_support import FiniteSupport
from .gaussian import Gaussian, GaussianMixture
from .hopfield import Hopfield
from .sk import SherringtonKirkpatrick

__all__ = [
    "MAX_ENUMERATION_N",
    "Target",
    "CurieWeiss",
    "DataSet",
    "EdwardsAnderson",
    "FiniteSupport",
    "Hopfield",
    "SherringtonKirkpatrick",
    "enumeration",
    "Gaussian",
    "GaussianMixture",
    "denoiser_from_score",
    "score",
    "spin_states",
    "tweedie_score",
]
