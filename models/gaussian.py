"""Gaussian and Gaussian-mixture targets: every quantity of the noised law in closed form.

Noised variable x_t = α x₀ + σ ξ with ξ ~ N(0, I).

Gaussian N(μ, Σ):  p_t = N(α μ, C), C = α² Σ + σ² I;
    E[x₀ | x] = μ + α Σ C⁻¹ (x − α μ),   ∇ ln p_t(x) = −C⁻¹ (x − α μ).
Mixture Σ_k w_k N(μ_k, v_k I) (one variance per component):  p_t = Σ_k w_k N(α μ_k, c_k I), c_k = α² v_k + σ²;
    responsibilities r_k(x) ∝ w_k N(x; α μ_k, c_k I),
    E[x₀ | x] = Σ_k r_k [μ_k + (α v_k / c_k)(x − α μ_k)],   ∇ ln p_t = Σ_k r_k (α μ_k − x)/c_k.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .base import Array, check_finite, check_noise_level, check_nonnegative, is_concrete, pytree_dataclass, set_fields


@pytree_dataclass
class Gaussian:
    """N(mean, cov) on ℝⁿ; a scalar cov means cov·I. Linear algebra through cov = U diag(λ) Uᵀ."""

    mean: Array
    cov: Array

    def _prepare(self):
        mean = jnp.atleast_1d(jnp.asarray(self.mean))
        cov = jnp.asarray(self.cov)
        if cov.ndim == 0:
            cov = cov * jnp.eye(mean.shape[0], dtype=mean.dtype)
        if cov.shape != (mean.shape[0], mean.shape[0]):
            raise ValueError(f"cov must have shape {(mean.shape[0],) * 2} to match mean, got {cov.shape}")
        if is_concrete(mean, cov):
            check_finite("mean", mean)
            check_finite("cov", cov)
            c = np.asarray(cov)
            if not np.allclose(c, c.T):
                raise ValueError("cov must be symmetric")
            if np.linalg.eigvalsh(c).min() <= 0:
                raise ValueError(f"cov must be positive definite, smallest eigenvalue {np.linalg.eigvalsh(c).min():.3g}")
        set_fields(self, mean=mean, cov=cov)

    @property
    def n(self) -> int:
        return self.mean.shape[-1]

    def _apply(self, fn_of_eigvals, v: Array) -> Array:
        """Apply the matrix U diag(fn(λ)) Uᵀ to the rows of v."""
        eigvals, eigvecs = jnp.linalg.eigh(self.cov)
        return ((v @ eigvecs) * fn_of_eigvals(eigvals)) @ eigvecs.T

    def log_weight(self, s: Array) -> Array:
        """−½ (s − μ)ᵀ Σ⁻¹ (s − μ)."""
        d = s - self.mean
        return -0.5 * jnp.sum(d * self._apply(lambda lam: 1.0 / lam, d), axis=-1)

    def sample(self, key: Array, num: int) -> Array:
        xi = jax.random.normal(key, (num, self.n), dtype=self.mean.dtype)
        return self.mean + self._apply(jnp.sqrt, xi)

    def posterior_mean(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """E[x₀ | x] = μ + α Σ (α² Σ + σ² I)⁻¹ (x − α μ)."""
        check_noise_level(alpha, sigma)
        return self.mean + self._apply(lambda lam: alpha * lam / (alpha**2 * lam + sigma**2), x - alpha * self.mean)

    def marginal_score(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """∇ ln p_t(x) = −(α² Σ + σ² I)⁻¹ (x − α μ)."""
        return -self._apply(lambda lam: 1.0 / (alpha**2 * lam + sigma**2), x - alpha * self.mean)

    def marginal_log_prob(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """ln N(x; α μ, α² Σ + σ² I), normalised."""
        eigvals, eigvecs = jnp.linalg.eigh(self.cov)
        c = alpha**2 * eigvals + sigma**2
        d = x - alpha * self.mean
        quad = jnp.sum((d @ eigvecs) ** 2 / c, axis=-1)
        return -0.5 * (quad + jnp.sum(jnp.log(2 * jnp.pi * c)))

    def marginal(self, alpha: Array, sigma: Array) -> "Gaussian":
        """The noised law p_t itself, N(α μ, α² Σ + σ² I)."""
        return Gaussian(alpha * self.mean, alpha**2 * self.cov + sigma**2 * jnp.eye(self.n, dtype=self.cov.dtype))


@pytree_dataclass
class GaussianMixture:
    """Σ_k w_k N(μ_k, v_k I) on ℝᵈ: weights (K,), means (K, d), variances (K,)."""

    weights: Array
    means: Array
    variances: Array

    def _prepare(self):
        weights = jnp.atleast_1d(jnp.asarray(self.weights))
        means = jnp.asarray(self.means)
        if means.ndim == 1:
            means = means[:, None]
        variances = jnp.broadcast_to(jnp.asarray(self.variances, dtype=means.dtype), weights.shape)
        if means.shape[0] != weights.shape[0]:
            raise ValueError(f"means must have one row per weight: {means.shape[0]} rows, {weights.shape[0]} weights")
        if is_concrete(weights, means, variances):
            if np.any(np.asarray(weights) < 0) or not np.isclose(float(np.sum(weights)), 1.0):
                raise ValueError(f"weights must be >= 0 and sum to 1, got {np.asarray(weights)}")
            check_nonnegative("variances", variances)
            check_finite("means", means)
        set_fields(self, weights=weights, means=means, variances=variances)

    @classmethod
    def symmetric(cls, mu: float = 1.0, sigma: float = 1.0, dim: int = 1) -> "GaussianMixture":
        """½N(μ, σ²) + ½N(−μ, σ²) along the first axis (Yu & Huang, arXiv 2405.11932)."""
        mean = np.zeros(dim)
        mean[0] = mu
        return cls(jnp.array([0.5, 0.5]), jnp.stack([jnp.asarray(mean), -jnp.asarray(mean)]), sigma**2)

    @property
    def n(self) -> int:
        return self.means.shape[-1]

    def _log_components(self, x: Array, alpha: Array, sigma: Array) -> tuple[Array, Array]:
        """ln w_k N(x; α μ_k, c_k I) of shape (batch, K), and c_k."""
        c = alpha**2 * self.variances + sigma**2
        sq = jnp.sum((x[..., None, :] - alpha * self.means) ** 2, axis=-1)
        logn = -0.5 * sq / c - 0.5 * self.n * jnp.log(2 * jnp.pi * c)
        return jnp.log(self.weights) + logn, c

    def marginal_log_prob(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """ln p_t(x) = ln Σ_k w_k N(x; α μ_k, (α² v_k + σ²) I)."""
        return jax.nn.logsumexp(self._log_components(x, alpha, sigma)[0], axis=-1)

    def log_weight(self, s: Array) -> Array:
        return self.marginal_log_prob(s, 1.0, 0.0)

    def marginal_score(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """∇ ln p_t(x) = Σ_k r_k (α μ_k − x)/c_k."""
        logc, c = self._log_components(x, alpha, sigma)
        r = jax.nn.softmax(logc, axis=-1)
        return jnp.einsum("...k,...kd->...d", r / c, alpha * self.means - x[..., None, :])

    def posterior_mean(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """E[x₀ | x] = Σ_k r_k [μ_k + (α v_k / c_k)(x − α μ_k)]."""
        check_noise_level(alpha, sigma)
        logc, c = self._log_components(x, alpha, sigma)
        r = jax.nn.softmax(logc, axis=-1)
        gain = alpha * self.variances / c
        return jnp.einsum("...k,...kd->...d", r, self.means + gain[:, None] * (x[..., None, :] - alpha * self.means))

    def sample(self, key: Array, num: int) -> Array:
        k_comp, k_noise = jax.random.split(key)
        comp = jax.random.categorical(k_comp, jnp.log(self.weights), shape=(num,))
        xi = jax.random.normal(k_noise, (num, self.n), dtype=self.means.dtype)
        return self.means[comp] + jnp.sqrt(self.variances[comp])[:, None] * xi
