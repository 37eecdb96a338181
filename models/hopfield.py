"""Hopfield model with K stored patterns ξ^μ ∈ {±1}ᴺ.

P(s) ∝ exp(β/(2N) Σ_μ (ξ^μ·s)² + h Σ_i s_i) (Amit, Gutfreund & Sompolinsky, PRA 32, 1007 (1985)). Pairwise form: (β/(2N)) Σ_μ (ξ^μ·s)² = −β H(s) + βK/2 with H = −½ sᵀJs,
J = ξᵀξ/N with its diagonal removed (s_i² = 1), so `physics.montecarlo` runs it with `couplings`.

Denoiser. K = 1 (Mattis) is Curie–Weiss in the gauge τ_i = ξ_i s_i: with u_i = h + α x_i/σ²,
P(s | x) ∝ exp(β(Σ τ)²/(2N) + Σ_i τ_i ξ_i u_i), so E[s_i | x] = ξ_i E_CW[τ_i | x'] with x' = ξ ⊙ (x + hσ²/α)
and the Curie–Weiss Hubbard–Stratonovich denoiser (exact at every N).

K = 2 splits exactly into two independent Curie–Weiss models. With A = {i : ξ¹_i = ξ²_i}, B its complement,
a = Σ_A ξ¹_i s_i and b = Σ_B ξ¹_i s_i, the overlaps are ξ¹·s = a + b and ξ²·s = a − b, so
    (β/2N)[(ξ¹·s)² + (ξ²·s)²] = (β/N)(a² + b²) = β_A a²/(2N_A) + β_B b²/(2N_B),   β_G = 2β N_G/N:
in the gauge τ = ξ¹ ⊙ s, group A is a Curie–Weiss model of N_A spins at β_A and group B one of N_B spins at
β_B, uncoupled. Both the denoiser (two Hubbard–Stratonovich integrals, in the field ξ¹ ⊙ u) and, at h = 0,
exact sampling (two Curie–Weiss samplers) then work at every N. For random patterns N_A ~ Binomial(N, ½),
so β_A − β = O(β N^{−½}): the disorder shifts each group by an O(1) amount in the critical scaling variable
(β_G − 1)N_G^{½}. K ≥ 3: enumeration (N ≤ 20); the equilibrium averages ⟨Σ m²⟩, E/N and the weights of the
retrieval states at any N: `models.hopfield_equilibrium` (a K-dimensional Hubbard–Stratonovich integral).
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np

from . import enumeration
from .base import (Array, check_noise_level, check_positive_int, check_temperature, enumerated_posterior_sample, is_concrete,
                   pytree_dataclass, set_fields)
from .curie_weiss import CurieWeiss, masked_sample
from .hubbard_stratonovich import hubbard_stratonovich_mean


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

    @property
    def group_sizes(self) -> tuple[int, int]:
        """K = 2: (N_A, N_B) with N_A = #{i : ξ¹_i = ξ²_i}, the sizes of the two Curie–Weiss groups (module doc)."""
        if self.num_patterns != 2 or not is_concrete(self.patterns):
            raise ValueError(f"group_sizes needs K = 2 concrete patterns, got K = {self.num_patterns}")
        patterns = np.asarray(self.patterns)
        size_a = int(np.sum(patterns[0] == patterns[1]))
        return size_a, self.n - size_a

    def overlap_moments(self) -> tuple[float, float]:
        """Exact ⟨|m|²⟩, ⟨|m|⁴⟩ of the overlap vector m_μ = ξ^μ·s/N for K ≤ 2 at h = 0 (`pair_overlap_moments`)."""
        if self.num_patterns > 2 or not is_concrete(self.beta, self.h) or float(self.h) != 0.0:
            raise ValueError(f"overlap_moments needs K <= 2 and h = 0, got K = {self.num_patterns}, h = {self.h}")
        if self.num_patterns == 1:
            return _magnetization_moments(self.n, float(self.beta))
        return pair_overlap_moments(*self.group_sizes, float(self.beta))

    def sample(self, key: Array, num: int) -> Array:
        """Exact samples, shape (num, n): two Curie–Weiss samplers for K ≤ 2 at h = 0 (any n), else enumeration
        (n ≤ 20)."""
        if self.num_patterns > 2 or not is_concrete(self.patterns, self.beta, self.h) or float(self.h) != 0.0:
            return enumeration.sample(self, key, num, self.chunk_size)
        return group_sample(key, num, self.patterns, self.beta)

    def posterior_sample(self, key: Array, x: Array, alpha: Array, sigma: Array) -> Array:
        """One exact draw s ~ P(s | x_t = x) per row of x (batch, n), by enumeration (n ≤ 20, any K;
        `models.base.enumerated_posterior_sample`)."""
        return enumerated_posterior_sample(self.log_weight, self.n, key, x, alpha, sigma)[:, 0]

    def posterior_mean(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """E[s | x_t = x]: Curie–Weiss through the gauge map for K = 1, two masked Curie–Weiss
        Hubbard–Stratonovich integrals for K = 2 (any n, also under vmap over patterns), enumeration for K ≥ 3
        (module doc). Each masked integral runs over all n entries, twice the work of splitting the spins, so
        that one compilation serves every pattern pair."""
        if self.num_patterns > 2:
            return enumeration.posterior_mean(self.log_weight, self.n, x, alpha, sigma, self.chunk_size)
        check_noise_level(alpha, sigma)
        xi = self.patterns[0]
        x = jnp.asarray(x)
        tau_field = (xi * (self.h + alpha * x / sigma**2)).reshape(-1, self.n)
        if self.num_patterns == 1:
            tau_mean = CurieWeiss(self.n, self.beta).posterior_mean(tau_field, 1.0, 1.0)
        else:
            same = (self.patterns[1] == xi).astype(tau_field.dtype)
            tau_mean = jnp.zeros_like(tau_field)
            for mask in (same, 1 - same):
                size = jnp.sum(mask)
                beta_group = group_beta(self.beta, size, self.n)
                group_mean = hubbard_stratonovich_mean(tau_field, beta_group, jnp.maximum(size, 1), mask=mask)
                group_mean = jnp.where(beta_group > 0, group_mean, jnp.tanh(tau_field))
                tau_mean = jnp.where(mask > 0, group_mean, tau_mean)
        return (xi * tau_mean).reshape(x.shape)


def group_beta(beta, size, n, num_patterns: int = 2):
    """β_G = Kβ N_G/N: the Curie–Weiss coupling of a group of N_G spins (module doc; K = 1: one group, β_G = β)."""
    return num_patterns * beta * size / n


def _magnetization_moments(n: int, beta: float) -> tuple[float, float]:
    """⟨m²⟩, ⟨m⁴⟩ of Curie–Weiss(n, β) from its exact law; (0, 0) for n = 0."""
    if n == 0:
        return 0.0, 0.0
    m, p = CurieWeiss(n, beta).magnetization_law()
    return float(np.sum(p * m**2)), float(np.sum(p * m**4))


def pair_overlap_moments(size_a: int, size_b: int, beta: float) -> tuple[float, float]:
    """Exact ⟨|m|²⟩ and ⟨|m|⁴⟩ for K = 2 patterns at h = 0 whose groups (module doc) have N_A = size_a and
    N_B = size_b spins: with X = N_A² m_A², Y = N_B² m_B² (independent Curie–Weiss magnetisations at
    β_G = 2βN_G/N), |m|² = 2(X + Y)/N², so ⟨|m|²⟩ = 2(⟨X⟩ + ⟨Y⟩)/N², ⟨|m|⁴⟩ = 4(⟨X²⟩ + ⟨Y²⟩ + 2⟨X⟩⟨Y⟩)/N⁴."""
    n = size_a + size_b
    check_positive_int("size_a + size_b", n)
    moments = []
    for size in (size_a, size_b):
        m2, m4 = _magnetization_moments(size, group_beta(beta, size, n))
        moments.append((size**2 * m2, size**4 * m4))
    (xa, xa2), (xb, xb2) = moments
    return 2 * (xa + xb) / n**2, 4 * (xa2 + xb2 + 2 * xa * xb) / n**4


@functools.partial(jax.jit, static_argnums=1)
def group_sample(key: Array, num: int, patterns: Array, beta: Array) -> Array:
    """K ≤ 2, h = 0: s = ξ¹ ⊙ τ with τ two masked Curie–Weiss samples on the groups ξ^K_i = ξ¹_i and ≠ (module doc),
    shape (num, n). What `Hopfield.sample` calls for concrete patterns; patterns and β may also be traced (inside
    another jitted function), where `sample` would fall back to enumeration."""
    num_patterns, n = patterns.shape
    if num_patterns > 2:
        raise ValueError(f"group_sample needs K <= 2 patterns (two Curie–Weiss groups), got K = {num_patterns}")
    same = (patterns[-1] == patterns[0]).astype(patterns.dtype)
    tau = jnp.zeros((num, n), patterns.dtype)
    for i, mask in enumerate((same, 1 - same)):
        beta_group = group_beta(beta, jnp.sum(mask), n, num_patterns)
        group = masked_sample(jax.random.fold_in(key, i), num, beta_group, 0.0, mask).astype(tau.dtype)
        tau = jnp.where(mask > 0, group, tau)
    return patterns[0] * tau
