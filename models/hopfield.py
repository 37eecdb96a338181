"""Hopfield model with K stored patterns ξ^μ ∈ {±1}ᴺ.

P(s) ∝ exp(β/(2N) Σ_μ (ξ^μ·s)² + h Σ_i s_i) (Amit, Gutfreund & Sompolinsky, PRA 32, 1007 (1985);
PHYSICS.md, "Spin glasses"). Pairwise form: (β/(2N)) Σ_μ (ξ^μ·s)² = −β H(s) + βK/2 with H = −½ sᵀJs,
J = ξᵀξ/N with its diagonal removed (s_i² = 1), so `physics.montecarlo` runs it with `couplings`.

Denoiser. K = 1 (Mattis) is Curie–Weiss in the gauge τ_i = ξ_i s_i: with u_i = h + α x_i/σ²,
P(s | x) ∝ exp(β(Σ τ)²/(2N) + Σ_i τ_i ξ_i u_i), so E[s_i | x] = ξ_i E_CW[τ_i | x'] with x' = ξ ⊙ (x + hσ²/α)
and the Curie–Weiss Hubbard–Stratonovich denoiser (exact at every N). K ≥ 2: enumeration (N ≤ 20).
"""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from . import enumeration
from .base import Array, check_noise_level, check_positive_int, check_temperature, is_concrete, pytree_dataclass, set_fields
from .curie_weiss import CurieWeiss


@pytree_dataclass(static=("chunk_size",))
class Hopfield:
    """Hopfield target with ``patterns`` (K, n) of ±1; draw random ones with `Hopfield.random`.

    Args:
        patterns: ξ, shape (K, n), entries ±1, 1 ≤ K ≤ 2ⁿ.
        beta: inverse temperature β ≥ 0.
        h: uniform field (log-weight units).
        chunk_size: states per step of the enumeration.
    """

    patterns: Array
    beta: Array
    h: Array = 0.0
    chunk_size: int = enumeration.CHUNK_SIZE

    def _prepare(self):
        check_positive_int("chunk_size", self.chunk_size)
        xi = jnp.asarray(self.patterns, dtype=float)
        if xi.ndim != 2 or xi.shape[0] == 0 or xi.shape[1] == 0:
            raise ValueError(f"patterns must have shape (K, n) with K, n >= 1, got {xi.shape}")
        k, n = xi.shape
        if n < 64 and k > 2**n:
            raise ValueError(f"patterns: K = {k} exceeds the 2^n = {2**n} distinct configurations of n = {n} spins")
        if is_concrete(xi) and not np.all(np.abs(np.asarray(xi)) == 1):
            raise ValueError("patterns must have entries +1 or -1")
        beta, h = check_temperature(self.beta, self.h)
        set_fields(self, patterns=xi, beta=beta, h=h)

    @classmethod
    def random(cls, n: int, num_patterns: int, beta: float, h: float = 0.0, seed: int = 0, **kwargs) -> "Hopfield":
        """K = num_patterns independent uniform ±1 patterns from numpy's default_rng(seed)."""
        check_positive_int("n", n)
        check_positive_int("num_patterns", num_patterns)
        if n < 64 and num_patterns > 2**n:
            raise ValueError(f"num_patterns = {num_patterns} exceeds 2^n = {2**n} for n = {n}")
        rng = np.random.default_rng(seed)
        return cls(rng.choice([-1.0, 1.0], size=(num_patterns, n)), beta, h, **kwargs)

    @property
    def n(self) -> int:
        return self.patterns.shape[-1]

    @property
    def num_patterns(self) -> int:
        return self.patterns.shape[0]

    @property
    def couplings(self) -> Array:
        """J = ξᵀξ/N with zero diagonal, shape (n, n)."""
        J = self.patterns.T @ self.patterns / self.n
        return J - jnp.diag(jnp.diag(J))

    @property
    def field(self) -> Array:
        return jnp.full((self.n,), self.h, dtype=self.patterns.dtype)

    def energy(self, s: Array) -> Array:
        """H(s) = −(1/2N) Σ_μ (ξ^μ·s)² (= −½ sᵀJs − K/2), s of shape (..., n)."""
        return -0.5 * jnp.sum((s @ self.patterns.T) ** 2, axis=-1) / self.n

    def log_weight(self, s: Array) -> Array:
        """β/(2N) Σ_μ (ξ^μ·s)² + h Σ s."""
        return -self.beta * self.energy(s) + self.h * jnp.sum(s, axis=-1)

    def sample(self, key: Array, num: int) -> Array:
        """Exact samples by enumeration (n ≤ 20), shape (num, n)."""
        return enumeration.sample(self, key, num, self.chunk_size)

    def posterior_mean(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """E[s | x_t = x]: Curie–Weiss through the gauge map for K = 1, enumeration for K ≥ 2 (module doc)."""
        if self.num_patterns == 1:
            check_noise_level(alpha, sigma)
            xi = self.patterns[0]
            mattis = CurieWeiss(self.n, self.beta, 0.0)
            return xi * mattis.posterior_mean(xi * (x + self.h * sigma**2 / alpha), alpha, sigma)
        return enumeration.posterior_mean(self.log_weight, self.n, x, alpha, sigma, self.chunk_size)
