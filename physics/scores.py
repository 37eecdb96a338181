"""Score functions score_fn(x, t) ≈ ∇ ln p_t(x) that the samplers consume.

A score function is a pytree-callable: its arrays (a target's couplings, a network's weights) are leaves,
so one compiled run serves every disorder sample or parameter value of the same shapes.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax

from statphys.models.base import pytree_dataclass, tweedie_score

from .schedules import Schedule

Array = Any


@pytree_dataclass(static=("schedule",))
class ExactScore:
    """∇ ln p_t(x) = (α_t E[s | x_t = x] − x)/σ_t² from a target's exact denoiser (Tweedie)."""

    target: Any
    schedule: Schedule

    def __call__(self, x: Array, t: Array) -> Array:
        alpha, sigma = self.schedule.alpha(t), self.schedule.sigma(t)
        return tweedie_score(self.target.posterior_mean(x, alpha, sigma), x, alpha, sigma)


def as_pytree_callable(fn: Any) -> Any:
    """Wrap a plain Python function as a pytree (`jax.tree_util.Partial`) so it can enter a jitted run."""
    if dataclasses.is_dataclass(fn) or isinstance(fn, jax.tree_util.Partial):
        return fn
    return jax.tree_util.Partial(fn)
