"""Curie–Weiss model: exact law of the magnetisation, exact sampler, exact denoiser at any N.

P(s) = exp(β M²/(2N) + h M)/Z on s ∈ {±1}ᴺ, M = Σᵢ sᵢ, m = M/N.

Denoiser through the Hubbard–Stratonovich identity exp(β M²/(2N)) ∝ ∫ dz exp(−N z²/(2β) + z M): with
uᵢ = h + α xᵢ/σ²,
    E[sᵢ | x] = ∫ dz w(z) tanh(z + uᵢ) / ∫ dz w(z),   ln w(z) = −N z²/(2β) + Σⱼ ln 2cosh(z + uⱼ).
The integral is one-dimensional and exact at every N: `models.hubbard_stratonovich` (quadrature).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import scipy.special

from .base import (
    Array,
    check_noise_level,
    check_positive_int,
    check_temperature,
    log_binomial,
    pytree_dataclass,
    set_fields,
)
from .hubbard_stratonovich import (GAP_POINTS, NEWTON_STEPS, QUADRATURE_POINTS, hubbard_stratonovich_field_sample,
                                   hubbard_stratonovich_mean)


#: Above this N, `CurieWeiss.posterior_sample` draws the Hubbard–Stratonovich field by rejection instead of through P(M | x).
FIELD_SAMPLER_MIN_N = 1024


@pytree_dataclass(static=("n", "quadrature_points", "gap_points", "newton_steps"))
class CurieWeiss:
    """Curie–Weiss target with n spins at inverse temperature beta in field h.

    Args:
        n: number of spins N (any size: nothing is enumerated).
        beta: inverse temperature β ≥ 0 (β_c = 1).
        h: uniform external field.
        quadrature_points: Gauss–Legendre nodes in each of the two saddle windows of the integral.
        gap_points: Gauss–Legendre nodes in each of the three gaps around the windows (the valley, tails).
        newton_steps: iterations of the saddle-point search.
    """

    n: int
    beta: Array
    h: Array = 0.0
    quadrature_points: int = QUADRATURE_POINTS
    gap_points: int = GAP_POINTS
    newton_steps: int = NEWTON_STEPS

    def _prepare(self):
        check_positive_int("n", self.n)
        check_positive_int("quadrature_points", self.quadrature_points)
        check_positive_int("gap_points", self.gap_points)
        beta, h = check_temperature(self.beta, self.h)
        set_fields(self, beta=beta, h=h)

    @property
    def couplings(self) -> Array:
        """Pairwise-Ising form: β M²/(2N) = β·½ sᵀJs + β/2 with J = (11ᵀ − I)/N (zero diagonal), shape (n, n)."""
        return (jnp.ones((self.n, self.n)) - jnp.eye(self.n)) / self.n

    @property
    def field(self) -> Array:
        """The field vector h·1 of the pairwise-Ising form, shape (n,)."""
        return jnp.full((self.n,), self.h)

    # ---- equilibrium law -------------------------------------------------------------------------------
    def log_weight(self, s: Array) -> Array:
        """β M²/(2N) + h M for configurations s of shape (..., n) → (...)."""
        M = jnp.sum(s, axis=-1)
        return self.beta * M**2 / (2 * self.n) + self.h * M

    def magnetization_log_probs(self) -> Array:
        """ln P(M) for M = −N, −N+2, …, N (index k = number of up spins): ln C(N,k) + βM²/(2N) + hM − ln Z, (n + 1,)."""
        logp = _up_count_log_weights(self.n, jnp.arange(self.n + 1, dtype=self.beta.dtype), self.beta, self.h)
        return logp - jax.nn.logsumexp(logp)

    def magnetization_law(self) -> tuple[np.ndarray, np.ndarray]:
        """Exact (m values, P(m)) in float64 NumPy, m = M/N on the N + 1 allowed values: two (n + 1,) arrays."""
        n, beta, h = self.n, float(self.beta), float(self.h)
        k = np.arange(n + 1)
        M = 2 * k - n
        logp = (
            scipy.special.gammaln(n + 1) - scipy.special.gammaln(k + 1) - scipy.special.gammaln(n - k + 1)
        ) + beta * M**2 / (2 * n) + h * M
        p = np.exp(logp - scipy.special.logsumexp(logp))
        return M / n, p

    def sample(self, key: Array, num: int) -> Array:
        """Exact samples, (num, n): M from P(M), then a uniformly random configuration with (N+M)/2 up spins."""
        return masked_sample(key, num, self.beta, self.h, np.ones(self.n, self.beta.dtype))

    # ---- denoiser ----------------------------------------------------------------------------------------
    def posterior_mean(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """E[s | x_t = x], shape of x, for x (batch, n) or (n,): the Hubbard–Stratonovich integral (module docstring,
        `models.hubbard_stratonovich`)."""
        check_noise_level(alpha, sigma)
        x = jnp.asarray(x)
        flat = x.reshape(-1, self.n)
        u = self.h + alpha * flat / sigma**2
        out = hubbard_stratonovich_mean(u, self.beta, self.n, self.quadrature_points, self.gap_points, self.newton_steps)
        return jnp.where(self.beta > 0, out, jnp.tanh(u)).reshape(x.shape)

    # ---- exact laws given x_t: sums over up-spin counts ----------------------------------------------------
    def magnetization_posterior(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """ln P(M | x_t = x) for M = −N, −N+2, …, N (index k = number of up spins), normalised over k:
            ln P(M | x) = ln e_k(u) + β M²/(2N) − ln Z(x),   uᵢ = h + α xᵢ/σ²,
        with e_k the elementary symmetric sums of `log_elementary_symmetric` (the posterior is the model in the
        extra field α x/σ²). Exact at any N, O(N²) per row. x (batch, n) -> (batch, n + 1)."""
        check_noise_level(alpha, sigma)
        u = self.h + alpha * jnp.asarray(x) / sigma**2
        M = 2 * jnp.arange(self.n + 1) - self.n
        logp = log_elementary_symmetric(u) + self.beta * M**2 / (2 * self.n)
        return logp - jax.nn.logsumexp(logp, axis=-1, keepdims=True)

    def posterior_sample(self, key: Array, x: Array, alpha: Array, sigma: Array) -> Array:
        """One exact draw s ~ P(s | x_t = x) ∝ exp(β M²/(2N) + Σᵢ uᵢsᵢ), uᵢ = h + α xᵢ/σ², per row of x (batch, n),
        through the Hubbard–Stratonovich field: the joint law ∝ exp(−N z²/(2β) + Σᵢ (z + uᵢ) sᵢ) has the posterior
        as its marginal in s, and given z the spins are independent, P(sᵢ = +1 | z, x) = 1/(1 + e^{−2(z + uᵢ)}).
        z ~ P(z | x) is drawn
          * for N ≤ FIELD_SAMPLER_MIN_N, as M from `magnetization_posterior` (O(N²) per row) and then
            z | M ~ N(βM/N, β/N) (the density ∝ exp(−N z²/(2β) + zM), which does not depend on x);
          * above, by rejection (`models.hubbard_stratonovich.hubbard_stratonovich_field_sample`, O(N^{3/2}) per
            row but 0.6 s more XLA compile; `benchmarks/RESULTS.md`, 2026-12-05, eighth session)."""
        check_noise_level(alpha, sigma)
        x = jnp.asarray(x)
        k_z, k_s = jax.random.split(key)
        u = (self.h + alpha * x / sigma**2).reshape(-1, self.n)
        if self.n > FIELD_SAMPLER_MIN_N:
            z = hubbard_stratonovich_field_sample(k_z, u, self.beta)
        else:
            k_m, k_z = jax.random.split(k_z)
            up = jax.random.categorical(k_m, self.magnetization_posterior(x.reshape(-1, self.n), alpha, sigma), axis=-1)
            beta = jnp.asarray(self.beta, u.dtype)
            z = beta * (2 * up - self.n) / self.n + jnp.sqrt(beta / self.n) * jax.random.normal(k_z, up.shape, u.dtype)
        p_up = jax.nn.sigmoid(2 * (z[:, None] + u)).reshape(x.shape)
        return jnp.where(jax.random.uniform(k_s, x.shape, p_up.dtype) < p_up, 1.0, -1.0).astype(p_up.dtype)

    def committor(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """Exact two-class committor φ(x) = p² + (1 − p)², p = P(M > 0 | x_t = x) from `magnetization_posterior`
        (the probability that two independent continuations of the generative run from x end in the same class;
        Biroli, Bonnaire, de Bortoli & Mézard, arXiv 2402.18491, cloning). N must be odd (M ≠ 0).
        x (batch, n) -> (batch,)."""
        if self.n % 2 == 0:
            raise ValueError(f"n must be odd for a two-class committor (M = 0 is a third class), got {self.n}")
        logp = self.magnetization_posterior(x, alpha, sigma)
        p = jnp.sum(jnp.exp(logp[..., (self.n + 1) // 2:]), axis=-1)
        return p**2 + (1 - p) ** 2

    def overlap_log_probs(self, references: Array, x: Array, alpha: Array, sigma: Array) -> Array:
        """Exact ln P(q | x_t = x, s′) over K = #(sᵢ = s′ᵢ) = N(1 + q)/2, K = 0..N, at any N (two-group sum).

        With τᵢ = sᵢs′ᵢ (gauge), vᵢ = s′ᵢuᵢ, uᵢ = h + αxᵢ/σ², and the groups A = {s′ᵢ = +1}, B = {s′ᵢ = −1} with
        k_A, k_B their numbers of τ = +1,
            P(K | x, s′) ∝ Σ_{k_A + k_B = K} e_{k_A}(v_A) e_{k_B}(v_B) exp(β M²/(2N)),
            M = (2k_A − N_A) − (2k_B − N_B),
        e_k over a group from `log_elementary_symmetric` with a mask: the Franz–Parisi constrained partition
        function (Franz & Parisi, J. Phys. I 5, 1401 (1995)) of the posterior, O(N³) per row.
        references (±1), x: (batch, n) -> (batch, n + 1), normalised over K."""
        check_noise_level(alpha, sigma)
        return _overlap_log_probs(self, references, x, alpha, sigma)

    # ---- speciation ------------------------------------------------------------------------------------------
    def top_eigenvalue(self) -> float:
        """Λ = N⟨m²⟩, the largest eigenvalue of the covariance ⟨s sᵀ⟩ = (1 − q)I + q11ᵀ at h = 0 (q = ⟨sᵢsⱼ⟩,
        i ≠ j), exact from `magnetization_law`."""
        m, p = self.magnetization_law()
        return float(self.n * np.sum(p * m**2))

    def speciation_time(self) -> float:
        """t_S = ½ ln Λ, Λ = N⟨m²⟩ exact (Biroli, Bonnaire, de Bortoli & Mézard, arXiv 2402.18491, eq. 6 with the
        top covariance eigenvalue Λ; OU schedule)."""
        return 0.5 * math.log(self.top_eigenvalue())


def _up_count_log_weights(n, k: Array, beta: Array, h: Array) -> Array:
    """ln C(n, k) + β M²/(2n) + h M with M = 2k − n: the unnormalised log-probability of k up spins."""
    M = 2 * k - n
    return log_binomial(n, k) + beta * M**2 / (2 * n) + h * M


@functools.partial(jax.jit, static_argnums=(1,))
def masked_sample(key: Array, num: int, beta: Array, h: Array, mask: Array) -> Array:
    """Exact Curie–Weiss samples on the n = Σ mask spins a 0/1 mask (length L) selects, at (β, h) for that n:
    the number of up spins k from P(k) ∝ C(n, k) exp(β M²/(2n) + h M), M = 2k − n, then k up spins at uniformly
    random places among the selected ones. Shape (num, L); entries outside the mask are −1. One compilation
    serves every subset of a given length."""
    dtype = jnp.result_type(beta, float)
    mask = jnp.asarray(mask, dtype)
    n = jnp.sum(mask)
    k = jnp.arange(mask.shape[-1] + 1, dtype=dtype)
    log_p = jnp.where(k <= n, _up_count_log_weights(jnp.maximum(n, 1), k, beta, h), -jnp.inf)
    k_m, k_perm = jax.random.split(key)
    ups = jax.random.categorical(k_m, log_p, shape=(num,))
    keys = jnp.where(mask > 0, jax.random.uniform(k_perm, (num, mask.shape[-1]), dtype), 2.0)
    rank = jnp.argsort(jnp.argsort(keys, axis=-1), axis=-1)
    return jnp.where(rank < ups[:, None], 1.0, -1.0).astype(dtype)


def log_elementary_symmetric(u: Array, mask: Array | None = None) -> Array:
    """ln e_k(u) = ln Σ_{s ∈ {±1}ⁿ, #(sᵢ=+1) = k} exp(Σᵢ uᵢ sᵢ) for k = 0..n, by the recursion over spins
        e_k ← e_{k−1} e^{uᵢ} + e_k e^{−uᵢ}   (e_0 = 1, e_{k>0} = 0 before the first spin)
    in log space (the elementary symmetric polynomials of the e^{2uᵢ}, times e^{−Σu}). With a boolean mask of the
    shape of u, only the spins where it is True enter (the others contribute a factor 1 and k counts the selected
    ones). u (..., n) -> (..., n + 1)."""
    u = jnp.asarray(u)
    n = u.shape[-1]
    init = jnp.full(u.shape[:-1] + (n + 1,), -jnp.inf, u.dtype).at[..., 0].set(0.0)

    def body(c, inputs):
        ui, mi = inputs
        shifted = jnp.concatenate([jnp.full(c.shape[:-1] + (1,), -jnp.inf, c.dtype), c[..., :-1]], axis=-1)
        new = jnp.logaddexp(shifted + ui[..., None], c - ui[..., None])
        return (new if mi is None else jnp.where(mi[..., None], new, c)), None

    masks = None if mask is None else jnp.moveaxis(jnp.asarray(mask, bool), -1, 0)
    c, _ = jax.lax.scan(body, init, (jnp.moveaxis(u, -1, 0), masks))
    return c


@jax.jit
def _overlap_log_probs(target: CurieWeiss, references: Array, x: Array, alpha: Array, sigma: Array) -> Array:
    """`CurieWeiss.overlap_log_probs` (its docstring gives the sum)."""
    n = target.n
    ref = jnp.asarray(references, dtype=jnp.asarray(x).dtype)
    v = ref * (target.h + alpha * jnp.asarray(x) / sigma**2)
    in_a = ref > 0
    log_a = log_elementary_symmetric(v, in_a)  # (batch, N+1) over k_A
    log_b = log_elementary_symmetric(v, ~in_a)
    n_a = jnp.sum(in_a, axis=-1)[:, None, None]
    n_b = n - n_a
    k_a = jnp.arange(n + 1)[None, :, None]
    k_b = jnp.arange(n + 1)[None, None, :]
    M = (2 * k_a - n_a) - (2 * k_b - n_b)
    joint = log_a[:, :, None] + log_b[:, None, :] + target.beta * M**2 / (2 * n)  # (batch, k_A, k_B)
    flat_k = jnp.broadcast_to(k_a + k_b, joint.shape).reshape(joint.shape[0], -1)  # K = k_A + k_B
    flat = joint.reshape(joint.shape[0], -1)
    log_pk = jax.vmap(lambda f, k: _segment_logsumexp(f, k, n + 1))(flat, flat_k)
    return log_pk - jax.nn.logsumexp(log_pk, axis=-1, keepdims=True)


def _segment_logsumexp(values: Array, segments: Array, num: int) -> Array:
    """ln Σ_{j: segments_j = k} e^{values_j} for k = 0..num − 1 (−inf for an empty segment)."""
    peak = jax.ops.segment_max(values, segments, num_segments=num)
    shift = jnp.where(jnp.isfinite(peak), peak, 0.0)
    return shift + jnp.log(jax.ops.segment_sum(jnp.exp(values - shift[segments]), segments, num_segments=num))


def mean_field_magnetization(beta: float, h: float = 0.0) -> float:
    """Largest solution of m = tanh(β m + h) (thermodynamic limit), by scipy's brentq."""
    import scipy.optimize

    if beta <= 1.0 and h == 0.0:
        return 0.0
    f = lambda m: m - math.tanh(beta * m + h)  # noqa: E731
    return float(scipy.optimize.brentq(f, 1e-12 if h == 0 else -1.0, 1.0))


def speciation_time_limit(n: int, beta: float) -> float:
    """Large-N form of the speciation time t_S = ½ ln N⟨m²⟩ (Biroli et al., arXiv 2402.18491): ½ ln(1/(1−β))
    (β < 1), ¼ ln N + ½ ln 1.170829 (β = 1), ½ ln N + ln m* (β > 1)."""
    check_positive_int("n", n)
    if beta < 1:
        return -0.5 * math.log1p(-beta)
    if beta == 1:
        return 0.25 * math.log(n) + 0.5 * math.log(1.170829)
    return 0.5 * math.log(n) + math.log(mean_field_magnetization(beta))
