"""Targets with finite support: all 2ᴺ states of a small spin model, or an empirical data set of P points.

P(s) = Σ_a w_a δ(s − s^a) with w_a ∝ exp(log_weights_a). The denoiser is softmax attention over the support
(the posterior over the support points, written as attention): with ℓ_a(x) = ln w_a + α x·s^a/σ² − α²|s^a|²/(2σ²),
    E[s | x_t = x] = Σ_a s^a softmax_a ℓ_a(x)
(queries αx/σ², keys = values = the support; the |s^a|² term is constant for spins and matters for points of
ℝⁿ). The sum runs over chunks of the support with an online log-sum-exp, so memory is O(batch × (n + chunk))
whatever P is: no (batch × P) array is ever formed.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from .base import (Array, check_finite, check_noise_level, check_positive_int, is_concrete, pytree_dataclass, set_fields,
                   streamed_gumbel_argmax)


@pytree_dataclass(static=("chunk_size",))
class FiniteSupport:
    """Law on the rows of ``states`` (P, n) with unnormalised ``log_weights`` (P,).

    Args:
        states: the support, shape (P, n) (spins or real vectors).
        log_weights: ln w_a up to a constant, shape (P,); ``None`` means equal weights (a data set).
        chunk_size: support points per step of the streamed softmax.
    """

    states: Array
    log_weights: Array = None
    chunk_size: int = 4096

    def _prepare(self):
        states = jnp.asarray(self.states)
        if states.ndim != 2 or states.shape[0] == 0:
            raise ValueError(f"states must have shape (P, n) with P >= 1, got {states.shape}")
        if not jnp.issubdtype(states.dtype, jnp.floating):
            states = states.astype(float)
        log_weights = jnp.zeros(states.shape[0], states.dtype) if self.log_weights is None else jnp.asarray(self.log_weights, states.dtype)
        if log_weights.shape != states.shape[:1]:
            raise ValueError(f"log_weights must have shape ({states.shape[0]},) to match states, got {log_weights.shape}")
        check_positive_int("chunk_size", self.chunk_size)
        if is_concrete(states, log_weights):
            check_finite("states", states)
            if np.any(np.isnan(np.asarray(log_weights))) or np.any(np.asarray(log_weights) == np.inf):
                raise ValueError("log_weights must not contain NaN or +inf")
        set_fields(self, states=states, log_weights=log_weights)

    @property
    def n(self) -> int:
        return self.states.shape[1]

    @property
    def num_states(self) -> int:
        return self.states.shape[0]

    def probabilities(self) -> Array:
        """Normalised weights w_a, shape (P,)."""
        return jax.nn.softmax(self.log_weights)

    def log_weight(self, s: Array) -> Array:
        """ln w_a for configurations equal to a support point s^a, −inf elsewhere; s of shape (batch, n)."""
        match = jnp.all(s[:, None, :] == self.states[None], axis=-1)
        return jax.nn.logsumexp(jnp.where(match, self.log_weights, -jnp.inf), axis=-1)

    def sample(self, key: Array, num: int) -> Array:
        """num support points drawn with the weights w_a, shape (num, n)."""
        return _draw_rows(key, self.states, self.log_weights, num)

    def _posterior_logits(self, alpha: Array, sigma: Array) -> tuple[Array, Array]:
        """(ln w_a − α²|s^a|²/(2σ²), α/σ²): the posterior logit of point a is the first plus the second × x·s^a."""
        return self.log_weights - 0.5 * alpha**2 * jnp.sum(self.states**2, axis=-1) / sigma**2, alpha / sigma**2

    def posterior_sample(self, key: Array, x: Array, alpha: Array, sigma: Array) -> Array:
        """One exact draw of a support point from P(a | x_t = x) ∝ w_a N(x; α s^a, σ² I) per row of x (batch, n):
        Gumbel-max over the support, streamed over chunks (chunk c draws its noise from fold_in(key, c))."""
        check_noise_level(alpha, sigma)
        log_prior, scale = self._posterior_logits(alpha, sigma)
        keys, log_prior = _padded_chunks(self.states, log_prior, self.chunk_size)
        query = scale * jnp.asarray(x)
        block, position = streamed_gumbel_argmax(key, lambda c: log_prior[c] + query @ keys[c].T, keys.shape[0],
                                                 query.shape[:1], query.dtype)
        return keys[block, position]

    def posterior_mean(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """E[s | x_t = x] by streamed attention over the support (module docstring); x of shape (batch, n)."""
        check_noise_level(alpha, sigma)
        log_prior, scale = self._posterior_logits(alpha, sigma)
        return streamed_attention(x, self.states, log_prior, scale, self.chunk_size)


def _padded_chunks(keys: Array, log_prior: Array, chunk_size: int) -> tuple[Array, Array]:
    """keys (P, n) and log_prior (P,) cut into chunks of min(chunk_size, P) rows, the last padded with zero keys of
    log-prior −inf (they never count): (chunks, chunk, n) and (chunks, chunk)."""
    num = keys.shape[0]
    chunk = min(chunk_size, num)
    pad = (-num) % chunk
    keys = jnp.concatenate([keys, jnp.zeros((pad, keys.shape[1]), keys.dtype)]).reshape(-1, chunk, keys.shape[1])
    return keys, jnp.concatenate([log_prior, jnp.full((pad,), -jnp.inf, log_prior.dtype)]).reshape(-1, chunk)


def streamed_attention(x: Array, keys: Array, log_prior: Array, scale: Array, chunk_size: int) -> Array:
    """Σ_a keys_a softmax_a(log_prior_a + scale · x·keys_a) for each row of x, streamed over chunks of a.

    Online log-sum-exp (Milakov & Gimelshein 2018): a running maximum M, normaliser Z and weighted sum S are
    rescaled by e^{M_old − M_new} at each chunk. Shapes: x (batch, n), keys (P, n), log_prior (P,).
    """
    batch = x.shape[0]
    keys, log_prior = _padded_chunks(keys, log_prior, chunk_size)
    query = scale * x

    def body(carry, chunk_data):
        running_max, normaliser, weighted = carry
        k, lp = chunk_data
        logits = lp + query @ k.T  # (batch, chunk)
        new_max = jnp.maximum(running_max, jnp.max(logits, axis=-1))
        rescale = jnp.exp(running_max - new_max)
        p = jnp.exp(logits - new_max[:, None])
        return (new_max, normaliser * rescale + p.sum(-1), weighted * rescale[:, None] + p @ k), None

    dtype = jnp.result_type(x.dtype, keys.dtype)
    init = (jnp.full((batch,), -jnp.inf, dtype), jnp.zeros((batch,), dtype), jnp.zeros((batch, keys.shape[-1]), dtype))
    (_, normaliser, weighted), _ = jax.lax.scan(body, init, (keys, log_prior))
    return weighted / normaliser[:, None]


@jax.jit(static_argnums=3)
def _draw_rows(key: Array, rows: Array, log_weights: Array, num: int) -> Array:
    return rows[jax.random.categorical(key, log_weights, shape=(num,))]
