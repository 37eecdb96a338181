"""Gaussian and Gaussian-mixture targets: every quantity of the noised law in closed form.

Noised variable x_t = α x₀ + σ ξ with ξ ~ N(0, I).

Gaussian N(μ, Σ):  p_t = N(α μ, C), C = α² Σ + σ² I;
    E[x₀ | x] = μ + α Σ C⁻¹ (x − α μ),   ∇ ln p_t(x) = −C⁻¹ (x − α μ).
Mixture Σ_k w_k N(μ_k, v_k I) (one variance per component):  p_t = Σ_k w_k N(α μ_k, c_k I), c_k = α² v_k + σ²;
    responsibilities r_k(x) ∝ w_k N(x; α μ_k, c_k I),
    E[x₀ | x] = Σ_k r_k [μ_k + (α v_k / c_k)(x − α μ_k)],   ∇ ln p_t = Σ_k r_k (α μ_k − x)/c_k.
The responsibilities need only x·μ_k and |x|² (one (batch, d) × (d, K) matmul per call). With one shared
variance v they need only the projections Qᵀx on the span of the centres, and
    ∇ ln p_t(x) = Q ∇ ln p_{∥,t}(Qᵀx) − P⊥x / (α² v + σ²),   P⊥ = I − QQᵀ,
the exact reduction of `GaussianMixture.orthogonal_split` (run by `physics.reduced`).
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

    def posterior_sample(self, key: Array, x: Array, alpha: Array, sigma: Array) -> Array:
        """One draw x₀ ~ P(x₀ | x) = N(E[x₀ | x], Σ − α² Σ C⁻¹ Σ) per row of x, the covariance U diag(λσ²/(α²λ + σ²)) Uᵀ."""
        xi = jax.random.normal(key, jnp.shape(x), jnp.result_type(x, float))
        return self.posterior_mean(x, alpha, sigma) + self._apply(
            lambda lam: jnp.sqrt(lam * sigma**2 / (alpha**2 * lam + sigma**2)), xi)

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

    def mixture_components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(weights (1,), means (1, n), variances (1,)) when cov is isotropic (always so in 1-D)."""
        mean = np.atleast_1d(np.asarray(self.mean, float))
        cov = np.asarray(self.cov, float)
        variance = float(cov) if cov.ndim == 0 else float(cov[0, 0])
        if cov.ndim and not np.allclose(cov, variance * np.eye(mean.shape[0])):
            raise ValueError("mixture_components needs an isotropic covariance v·I")
        return np.ones(1), mean[None, :], np.array([variance])

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

    def mixture_components(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(weights (K,), means (K, n), variances (K,))."""
        return (np.asarray(self.weights, float), np.asarray(self.means, float),
                np.broadcast_to(np.asarray(self.variances, float), np.shape(self.weights)).copy())

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
        """ln w_k N(x; α μ_k, c_k I) of shape (batch, K), and c_k (direct form, for the normalised log-density)."""
        c = alpha**2 * self.variances + sigma**2
        sq = jnp.sum((x[..., None, :] - alpha * self.means) ** 2, axis=-1)
        logn = -0.5 * sq / c - 0.5 * self.n * jnp.log(2 * jnp.pi * c)
        return jnp.log(self.weights) + logn, c

    def _responsibility_logits(self, x: Array, alpha: Array, sigma: Array) -> tuple[Array, Array]:
        """Logits of r_k(x) up to a constant per row, shape (..., K), and c_k, by one matmul x·μ_k:
        ln w_k − (d/2) ln c_k + α x·μ_k/c_k − α²|μ_k|²/(2c_k) − (|x|²/2)(1/c_k − 1/min c).
        The |x|² term vanishes when the variances are shared, so nothing of size (batch, K, d) is formed and
        no large common term cancels in the softmax."""
        c = alpha**2 * self.variances + sigma**2
        inv_c = 1.0 / c
        logits = (jnp.log(self.weights) - 0.5 * self.n * jnp.log(c) + alpha * (x @ self.means.T) * inv_c
                  - 0.5 * alpha**2 * jnp.sum(self.means**2, axis=-1) * inv_c)
        return logits - 0.5 * jnp.sum(x * x, axis=-1, keepdims=True) * (inv_c - jnp.min(inv_c)), c

    def responsibilities(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """r_k(x) = P(component k | x_t = x) ∝ w_k N(x; α μ_k, c_k I); x (..., d) -> (..., K)."""
        return jax.nn.softmax(self._responsibility_logits(x, alpha, sigma)[0], axis=-1)

    def marginal_log_prob(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """ln p_t(x) = ln Σ_k w_k N(x; α μ_k, (α² v_k + σ²) I)."""
        return jax.nn.logsumexp(self._log_components(x, alpha, sigma)[0], axis=-1)

    def log_weight(self, s: Array) -> Array:
        return self.marginal_log_prob(s, 1.0, 0.0)

    def marginal_score(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """∇ ln p_t(x) = Σ_k r_k (α μ_k − x)/c_k = α (r/c)·μ − (Σ_k r_k/c_k) x (two matmuls)."""
        logits, c = self._responsibility_logits(x, alpha, sigma)
        r_over_c = jax.nn.softmax(logits, axis=-1) / c
        return alpha * (r_over_c @ self.means) - jnp.sum(r_over_c, axis=-1, keepdims=True) * x

    def posterior_mean(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """E[x₀ | x] = Σ_k r_k [μ_k + g_k (x − α μ_k)] = r·((1 − α g) μ) + (Σ_k r_k g_k) x, g_k = α v_k/c_k."""
        check_noise_level(alpha, sigma)
        logits, c = self._responsibility_logits(x, alpha, sigma)
        r = jax.nn.softmax(logits, axis=-1)
        gain = alpha * self.variances / c
        return r @ ((1 - alpha * gain)[:, None] * self.means) + (r @ gain)[..., None] * x

    def posterior_sample(self, key: Array, x: Array, alpha: Array, sigma: Array) -> Array:
        """One draw x₀ ~ P(x₀ | x) per row of x (..., d): the component k with probability r_k(x), then
        x₀ ~ N(μ_k + g_k (x − α μ_k), v_k σ²/c_k I), g_k = α v_k/c_k, c_k = α² v_k + σ²."""
        check_noise_level(alpha, sigma)
        k_comp, k_noise = jax.random.split(key)
        logits, c = self._responsibility_logits(x, alpha, sigma)
        comp = jax.random.categorical(k_comp, logits, axis=-1)
        v = self.variances[comp][..., None]
        c = c[comp][..., None]
        means = self.means[comp]
        xi = jax.random.normal(k_noise, jnp.shape(x), jnp.result_type(x, float))
        return means + alpha * v / c * (x - alpha * means) + jnp.sqrt(v * sigma**2 / c) * xi

    def orthogonal_split(self, rtol: float = 1e-10) -> tuple[np.ndarray, "GaussianMixture", float]:
        """Exact reduction of a mixture with one shared variance v: p₀(x) = p_∥(Qᵀx) N(P⊥x; 0, v P⊥).

        Q (d, r) is an orthonormal basis of the span of the centres (r = rank, at least 1; singular values
        below rtol × the largest are dropped), P⊥ = I − QQᵀ, and p_∥ = Σ_k w_k N(Qᵀμ_k, v I_r) is the mixture
        of the projected centres. Every noised law, score and responsibility factorises the same way, so
        the reverse dynamics of Qᵀx is that of p_∥ in r dimensions and P⊥x is an Ornstein–Uhlenbeck-like
        linear process (`physics.reduced`); classes depend on Qᵀx only. Biroli, Bonnaire, de Bortoli &
        Mézard, arXiv 2402.18491, Gaussian mixtures ±m with unit variance (r = 1 there).

        Returns:
            (Q as float64 NumPy (d, r), the r-dimensional mixture p_∥, v).
        """
        if not is_concrete(self.means, self.variances):
            raise ValueError("orthogonal_split needs concrete means and variances (call it outside jit)")
        v = np.asarray(self.variances, dtype=np.float64)
        if not np.allclose(v, v[0], rtol=1e-12, atol=0.0):
            raise ValueError(f"orthogonal_split needs one shared variance for all components, got {v}; with "
                             "different variances the class depends on |P⊥x|² as well and the reduction is not exact")
        means = np.asarray(self.means, dtype=np.float64)
        _, singular, vt = np.linalg.svd(means, full_matrices=False)
        rank = int(np.sum(singular > rtol * singular.max())) if singular.max() > 0 else 0
        basis = vt[:rank].T if rank else np.eye(self.n, 1)
        reduced = GaussianMixture(self.weights, jnp.asarray(means @ basis, self.means.dtype), self.variances)
        return basis, reduced, float(v[0])

    def sample(self, key: Array, num: int) -> Array:
        k_comp, k_noise = jax.random.split(key)
        comp = jax.random.categorical(k_comp, jnp.log(self.weights), shape=(num,))
        xi = jax.random.normal(k_noise, (num, self.n), dtype=self.means.dtype)
        return self.means[comp] + jnp.sqrt(self.variances[comp])[:, None] * xi
