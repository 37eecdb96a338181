"""The noised law p_t of a spin target in closed form by enumeration of its 2ᴺ states (N ≤ 20): `SpinMarginal`."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from .base import Array, check_enumerable, spins_from_index
from .enumeration import _chunking, log_weights


class SpinMarginal:
    """Closed-form access to p_t of a spin target (N ≤ 20) by enumeration of its 2ᴺ states.

    p_t(x) = Σ_s P(s) N(x; α s, σ² I). With |s|² = N and u = α x/σ²,
        ln p_t(x) = −|x|²/(2σ²) − α² N/(2σ²) − (N/2) ln(2πσ²) + ln Σ_s w(s) e^{u·s} − ln Σ_s w(s),
    the log-sum-exp streamed over chunks of states (nothing of size batch × 2ᴺ is formed). The score is
    Tweedie's (α E[s | x] − x)/σ² with the target's exact denoiser (for Curie–Weiss the Hubbard–Stratonovich
    integral, exact at any N). Gives spin targets the interface `marginal_log_prob` / `marginal_score` /
    `sample` / `n` that the path entropies and rates of `physics.path_entropy` and `physics.entropy_rates` use;
    only `marginal_log_prob` enumerates (the score and the samples work at any N where the target's denoiser
    does).
    """

    def __init__(self, target: Any, chunk_size: int = 1024):
        self.target = target
        self.n = target.n
        self.chunk_size = chunk_size
        self._log_z = None

    def sample(self, key: Array, num: int) -> Array:
        """Exact samples of the target, (num, n)."""
        return self.target.sample(key, num)

    def marginal_score(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """∇ ln p_t(x) = (α E[s | x] − x)/σ² (Tweedie's formula; Efron, JASA 106, 1602 (2011)): x (batch, n) →
        (batch, n)."""
        return (alpha * self.target.posterior_mean(x, alpha, sigma) - x) / sigma**2

    def marginal_log_prob(self, x: Array, alpha: Array, sigma: Array) -> Array:
        """ln p_t(x) (class docstring) by enumeration: x (batch, n) → (batch,)."""
        check_enumerable(self.n, "the system entropy -ln p_t by enumeration")
        chunk, num_chunks = _chunking(self.n, self.chunk_size)
        if self._log_z is None:
            self._log_z = float(jax.nn.logsumexp(log_weights(self.target)))
        x = jnp.asarray(x)
        n = self.n
        u = alpha * x / sigma**2

        def body(running, start):
            s = spins_from_index(start + jnp.arange(chunk, dtype=jnp.int32), n, x.dtype)
            logits = self.target.log_weight(s)[None, :] + u @ s.T
            return jnp.logaddexp(running, jax.nn.logsumexp(logits, axis=-1)), None

        starts = jnp.arange(num_chunks, dtype=jnp.int32) * chunk
        lse, _ = jax.lax.scan(body, jnp.full(x.shape[:1], -jnp.inf, x.dtype), starts)
        return (-0.5 * jnp.sum(x**2, axis=-1) / sigma**2 - 0.5 * alpha**2 * n / sigma**2
                - 0.5 * n * jnp.log(2 * jnp.pi * sigma**2) + lse - self._log_z)
