"""Equal-weight empirical law of P spin configurations (the memorisation regime of a trained model).

P(s) = (1/P) Σ_a δ(s − s^a). Its exact denoiser is softmax attention over the data
(`models.finite_support.FiniteSupport`): E[s | x] = Σ_a s^a softmax_a(α x·s^a/σ²). Repeated rows count
with their multiplicity.
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from .base import Array, check_positive_int, is_concrete, pytree_dataclass, set_fields
from .finite_support import FiniteSupport


@pytree_dataclass(static=("chunk_size",))
class DataSet:
    """Empirical target on the rows of ``patterns`` (P, n), entries ±1."""

    patterns: Array
    chunk_size: int = 4096

    def _prepare(self):
        check_positive_int("chunk_size", self.chunk_size)
        data = jnp.asarray(self.patterns, dtype=float)
        if data.ndim != 2 or data.shape[0] == 0 or data.shape[1] == 0:
            raise ValueError(f"patterns must have shape (P, n) with P, n >= 1, got {data.shape}")
        if is_concrete(data) and not np.all(np.abs(np.asarray(data)) == 1):
            raise ValueError("patterns must have entries +1 or -1 (use FiniteSupport for points of R^n)")
        set_fields(self, patterns=data)

    @classmethod
    def from_target(cls, target, key, num: int, **kwargs) -> "DataSet":
        """A data set of ``num`` exact samples of another target."""
        check_positive_int("num", num)
        return cls(target.sample(key, num), **kwargs)

    @property
    def n(self) -> int:
        return self.patterns.shape[-1]

    @property
    def support(self) -> FiniteSupport:
        return FiniteSupport(self.patterns, None, self.chunk_size)

    def log_weight(self, s: Array) -> Array:
        """ln(multiplicity of s among the rows), −inf off the data; s of shape (batch, n)."""
        return self.support.log_weight(s)

    def sample(self, key: Array, num: int) -> Array:
        """Rows drawn uniformly with replacement, shape (num, n)."""
        return self.support.sample(key, num)

    def posterior_sample(self, key: Array, x: Array, alpha: Array, sigma: Array) -> Array:
        """One exact draw of a data row from P(a | x_t = x) per row of x (`FiniteSupport.posterior_sample`)."""
        return self.support.posterior_sample(key, x, alpha, sigma)

    def posterior_mean(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """E[s | x_t = x] by streamed attention over the data (`FiniteSupport.posterior_mean`)."""
        x = jnp.asarray(x)
        return self.support.posterior_mean(x.reshape(-1, self.n), alpha, sigma).reshape(x.shape)
