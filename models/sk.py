"""Sherrington–Kirkpatrick spin glass, and the dense pairwise-Ising form shared by the spin-glass targets.

P(s) ∝ exp(β Σ_{i<j} J_ij s_i s_j + h Σ_i s_i) = exp(−β H(s) + h Σ_i s_i),  H(s) = −½ sᵀJs,
with J symmetric, zero diagonal, J_ij ~ N(0, 1/N) for i < j (Sherrington & Kirkpatrick, PRL 35, 1792 (1975)). β_c = 1; paramagnetic f = −T ln 2 − 1/(4T) for T > 1 (annealed, N → ∞).

The field h multiplies Σs without β (as in `CurieWeiss`). The denoiser, exact sampler and thermodynamics
enumerate all 2ᴺ states (`models.enumeration`, N ≤ 20); beyond, use `physics.montecarlo` with
(couplings, field, beta).
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp
import numpy as np

from . import enumeration
from .base import (
    Array,
    check_finite,
    enumerated_posterior_sample,
    check_positive_int,
    check_temperature,
    is_concrete,
    pytree_dataclass,
    set_fields,
)


def pairwise_energy(couplings: Array, s: Array) -> Array:
    """H(s) = −½ sᵀJs for configurations s of shape (..., n), J of shape (n, n)."""
    return -0.5 * jnp.sum((s @ couplings) * s, axis=-1)


def check_couplings(name: str, couplings: Array) -> Array:
    """Convert and validate a coupling matrix: square, finite, symmetric, zero diagonal."""
    J = jnp.asarray(couplings, dtype=float)
    if J.ndim != 2 or J.shape[0] != J.shape[1] or J.shape[0] == 0:
        raise ValueError(f"{name} must be a square (n, n) matrix with n >= 1, got shape {J.shape}")
    if is_concrete(J):
        check_finite(name, J)
        a = np.asarray(J)
        if not np.allclose(a, a.T, rtol=0, atol=1e-12):
            raise ValueError(f"{name} must be symmetric (J_ij = J_ji); symmetrise with (J + J.T)/2")
        if np.any(np.diag(a) != 0):
            raise ValueError(f"{name} must have a zero diagonal (s_i² = 1 only shifts the log-weight)")
    return J


@dataclasses.dataclass(frozen=True)
class PairwiseIsing:
    """Fields, validation and methods shared by targets with ln w(s) = −β H(s) + h Σs, H = −½ sᵀJs.

    Subclasses are registered with ``pytree_dataclass(static=("chunk_size",))`` and add how J is drawn.
    """

    couplings: Array
    beta: Array
    h: Array = 0.0
    chunk_size: int = enumeration.CHUNK_SIZE

    def _prepare(self):
        check_positive_int("chunk_size", self.chunk_size)
        beta, h = check_temperature(self.beta, self.h)
        set_fields(self, couplings=check_couplings("couplings", self.couplings), beta=beta, h=h)

    @property
    def n(self) -> int:
        return self.couplings.shape[-1]

    @property
    def field(self) -> Array:
        """The field vector of the Ising form, h·1, shape (n,)."""
        return jnp.full((self.n,), self.h, dtype=self.couplings.dtype)

    def energy(self, s: Array) -> Array:
        """H(s) = −½ sᵀJs, s of shape (..., n)."""
        return pairwise_energy(self.couplings, s)

    def log_weight(self, s: Array) -> Array:
        """ln w(s) = −β H(s) + h Σᵢ sᵢ, s of shape (..., n)."""
        return -self.beta * self.energy(s) + self.h * jnp.sum(s, axis=-1)

    def sample(self, key: Array, num: int) -> Array:
        """Exact samples by enumeration (n ≤ 20; larger n: Monte Carlo), shape (num, n)."""
        return enumeration.sample(self, key, num, self.chunk_size)

    def posterior_sample(self, key: Array, x: Array, alpha: Array, sigma: Array) -> Array:
        """One exact draw s ~ P(s | x_t = x) per row of x (batch, n), by enumeration (`models.base.enumerated_posterior_sample`)."""
        return enumerated_posterior_sample(self.log_weight, self.n, key, x, alpha, sigma)[:, 0]

    def posterior_mean(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """E[s | x_t = x] by enumeration of the 2ⁿ states, with the pairwise log-weight ½ sᵀ(βJ)s + h1·s in the
        matmul form of `models.enumeration.quadratic_posterior_mean`."""
        quadratic = enumeration.Quadratic(self.beta * self.couplings, self.field)
        return enumeration.quadratic_posterior_mean(quadratic, x, alpha, sigma, self.chunk_size)


@pytree_dataclass(static=("chunk_size",))
class SherringtonKirkpatrick(PairwiseIsing):
    """SK model with coupling matrix ``couplings`` (n, n); draw one with `SherringtonKirkpatrick.random`.

    Args:
        couplings: J, symmetric with zero diagonal (a field: saved with results, vmapped over disorder).
        beta: inverse temperature β ≥ 0.
        h: uniform field (log-weight units).
        chunk_size: states per step of the enumeration.
    """

    @classmethod
    def random(cls, n: int, beta: float, h: float = 0.0, seed: int = 0, **kwargs) -> "SherringtonKirkpatrick":
        """J_ij = J_ji ~ N(0, 1/N) for i < j from numpy's default_rng(seed), zero diagonal."""
        return cls(sk_couplings(n, seed), beta, h, **kwargs)


@pytree_dataclass(static=("chunk_size",))
class IsingForm(PairwiseIsing):
    """The pairwise form ln w(s) = −β H(s) + h Σs, H = −½ sᵀJs, of any target with ``couplings``, ``beta`` and
    ``h`` (SK, EA, Hopfield with its zero-diagonal J = ξᵀξ/N: the same law, ln w up to a constant), as one pytree
    class: scores built on it (`physics.scores.ExactScore`) share one compiled function across those targets of
    one size. Build it with `ising_form`."""


def ising_form(target) -> IsingForm:
    """The `IsingForm` of a target with couplings, beta, h and chunk_size (SK, EA, Hopfield)."""
    return IsingForm(target.couplings, target.beta, target.h, target.chunk_size)


def sk_couplings(n: int, seed: int = 0) -> np.ndarray:
    """Symmetric Gaussian couplings with variance 1/N off the diagonal and a zero diagonal, shape (n, n)."""
    check_positive_int("n", n)
    rng = np.random.default_rng(seed)
    upper = np.triu(rng.normal(0.0, 1.0 / np.sqrt(n), size=(n, n)), k=1)
    return upper + upper.T
