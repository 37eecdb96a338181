"""The target protocol, Tweedie's score and the validation every target shares.

A *target* is the law of the clean data s (spins s ∈ {±1}ⁿ or points of ℝⁿ). It is a small immutable
pytree with

    n                                 number of degrees of freedom (spins or coordinates)
    log_weight(s) -> (batch,)         unnormalised log-probability of configurations s of shape (batch, n)
    sample(key, num) -> (num, n)      exact samples, where they can be drawn
    posterior_mean(x, alpha, sigma)   the Bayes-optimal denoiser E[s | x_t = x] for x_t = α s + σ ξ

Everything a diffusion sampler needs follows from the denoiser by Tweedie's formula,
∇ log p_t(x) = (α E[s | x] − x) / σ² (Tweedie's formula: Robbins 1956; Efron, JASA 106, 1602 (2011)), written once here.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, Protocol, runtime_checkable

import jax
import jax.numpy as jnp
import numpy as np

Array = Any

#: Largest n for which the package enumerates all 2ⁿ spin configurations.
MAX_ENUMERATION_N = 20


@runtime_checkable
class Target(Protocol):
    """What every target implements (see the module docstring)."""

    n: int

    def log_weight(self, s: Array) -> Array: ...

    def sample(self, key: Array, num: int) -> Array: ...

    def posterior_mean(self, x: Array, alpha: Array, sigma: Array) -> Array: ...


@runtime_checkable
class IsotropicMixture(Protocol):
    """Capability: the target is (or is exactly written as) Σ_k w_k N(μ_k, v_k I); its noised law is then
    Σ_k w_k N(α μ_k, (α² v_k + σ²) I) in closed form (Gaussian targets with an isotropic or 1-D covariance)."""

    def mixture_components(self) -> tuple[Array, Array, Array]:
        """(weights (K,), means (K, n), variances (K,)) as NumPy arrays."""
        ...


@runtime_checkable
class MagnetizationLaw(Protocol):
    """Capability: P(s) ∝ exp(β M²/(2N) + h M) depends on s only through M = Σᵢ sᵢ (Curie–Weiss), so the law of
    M is exact at any N and the posterior given x_t is a sum over M."""

    n: int
    beta: Any
    h: Any

    def magnetization_law(self) -> tuple[Any, Any]:
        """(m values (N+1,), exact probabilities (N+1,))."""
        ...


@runtime_checkable
class OverlapLaw(Protocol):
    """Capability: the law of the overlap K = #(sᵢ = s′ᵢ) with a reference s′ under the posterior P(s | x_t) is
    exact at any N (Curie–Weiss: a two-group sum), the input of the Franz–Parisi potential."""

    n: int

    def overlap_log_probs(self, references: Any, x: Any, alpha: Any, sigma: Any) -> Any:
        """ln P(K | x_t = x, s′) for K = 0..N; references, x (batch, N) -> (batch, N+1), normalised over K."""
        ...


@runtime_checkable
class PosteriorSampler(Protocol):
    """Capability: exact draws of the data given its noised version, x₀ ~ P(x₀ | x_t = x) (Gaussians and
    mixtures in closed form, Curie–Weiss through the magnetisation, spin targets with N ≤ 20 and data sets by
    Gumbel-max): the input of `physics.exact_paths`."""

    def posterior_sample(self, key: Array, x: Array, alpha: Array, sigma: Array) -> Array:
        """One draw per row of x (batch, n) -> (batch, n)."""
        ...


@runtime_checkable
class GaussianMarginal(Protocol):
    """Capability: the noised law p_t = N(α μ, α² Σ + σ² I) is returned in closed form (a Gaussian target)."""

    def marginal(self, alpha: Array, sigma: Array) -> Any:
        """The law of x_t = α s + σ ξ, an object with `mean` (n,) and `cov` (n, n)."""
        ...


def mixture_components(target: Any, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A target's (weights, means, variances) when it has the IsotropicMixture capability, else a ValueError
    naming `what` needs it."""
    if not isinstance(target, IsotropicMixture):
        raise ValueError(f"{what} needs a Gaussian or Gaussian-mixture target with isotropic components "
                         f"(mixture_components()), got {type(target).__name__}")
    return target.mixture_components()


def tweedie_score(denoised: Array, x: Array, alpha: Array, sigma: Array) -> Array:
    """Score of the noised law from its denoiser, ∇ log p_t(x) = (α E[s|x] − x) / σ² (Tweedie)."""
    return (alpha * denoised - x) / sigma**2


def denoiser_from_score(score: Array, x: Array, alpha: Array, sigma: Array) -> Array:
    """Inverse of Tweedie's formula: E[s|x] = (x + σ² ∇ log p_t(x)) / α."""
    return (x + sigma**2 * score) / alpha


def score(target: Target, x: Array, alpha: Array, sigma: Array) -> Array:
    """∇ log p_t(x) of a target noised to x_t = α s + σ ξ, from its denoiser."""
    return tweedie_score(target.posterior_mean(x, alpha, sigma), x, alpha, sigma)


def pytree_dataclass(cls=None, *, static: tuple[str, ...] = ()):
    """Frozen dataclass registered as a pytree; fields named in ``static`` are compile-time constants.

    If the class defines ``_prepare(self)``, it runs after construction to convert and validate fields
    (use ``object.__setattr__``). It is skipped when JAX rebuilds the object from non-array leaves
    (tree_map sentinels, vmap axis specs); ``None`` marks an optional field left out, and checks on values are skipped for tracers (`is_concrete`).

    Registered with `jax.tree_util.register_pytree_with_keys` (flatten and unflatten as
    `jax.tree_util.register_dataclass`'s, attribute key paths), not with ``register_dataclass``: in jax 0.10.2
    the tree structures of two classes registered that way with the same field names compare equal (their hashes
    differ), so a jit cache could hand a program traced for one class to the other on a hash-bucket collision.
    Seen here: now and then a study run evaluated the log-density network of `physics.learned.PotentialScore`
    with the program traced for `physics.learned.LearnedScore` (same fields), a W₂ five times too large.
    """

    def wrap(cls):
        prepare = getattr(cls, "_prepare", None)
        if prepare is not None:

            def __post_init__(self):
                leaves = [getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in static]
                arrays = [leaf for leaf in leaves if leaf is not None]
                if arrays and all(_is_array_like(leaf) for leaf in arrays):
                    prepare(self)

            cls.__post_init__ = __post_init__
        cls = dataclasses.dataclass(frozen=True)(cls)
        names = [f.name for f in dataclasses.fields(cls)]
        data = tuple(name for name in names if name not in static)
        meta = tuple(static)

        def flatten(obj):
            return tuple(getattr(obj, name) for name in data), tuple(getattr(obj, name) for name in meta)

        def flatten_with_keys(obj):
            return (tuple((jax.tree_util.GetAttrKey(name), getattr(obj, name)) for name in data),
                    tuple(getattr(obj, name) for name in meta))

        def unflatten(meta_values, children):
            return cls(**dict(zip(meta, meta_values)), **dict(zip(data, children)))

        jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
        return cls

    return wrap if cls is None else wrap(cls)


def _is_array_like(value: Any) -> bool:
    return isinstance(value, (jax.Array, np.ndarray, np.generic, int, float, list, tuple))


def set_fields(obj: Any, **values: Any) -> None:
    """Assign converted fields of a frozen dataclass inside ``_prepare``."""
    for name, value in values.items():
        object.__setattr__(obj, name, value)


def is_concrete(*values: Any) -> bool:
    """True when no value is a tracer, i.e. validation can look at the numbers."""
    return not any(isinstance(v, jax.core.Tracer) for v in jax.tree_util.tree_leaves(values))


def check_positive_int(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def check_finite(name: str, value: Any) -> None:
    if is_concrete(value) and not np.all(np.isfinite(np.asarray(value))):
        raise ValueError(f"{name} must be finite, got {value!r}")


def check_nonnegative(name: str, value: Any, hint: str = "") -> None:
    check_finite(name, value)
    if is_concrete(value) and np.any(np.asarray(value) < 0):
        raise ValueError(f"{name} must be >= 0, got {value!r}{'; ' + hint if hint else ''}")


def available_memory_bytes() -> int:
    """Physical memory of this machine (bytes); the ceiling for `check_memory`."""
    import os

    try:
        return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        return 2**63 - 1


def check_memory(needed_bytes: float, what: str, hint: str, fraction: float = 0.8) -> None:
    """Refuse a computation whose estimated memory exceeds `fraction` of the machine's, before it starts.

    Args:
        needed_bytes: the estimate; what: the parameters it comes from (named in the message);
        hint: how to split the work.
    """
    limit = fraction * available_memory_bytes()
    if needed_bytes > limit:
        raise MemoryError(f"{what} needs about {needed_bytes / 2**30:.3g} GiB, more than {limit / 2**30:.3g} GiB "
                          f"({fraction:.0%} of this machine's memory); {hint}")


def check_enumerable(n: int, what: str = "exact enumeration") -> None:
    """Refuse 2ⁿ enumeration beyond MAX_ENUMERATION_N before any compute."""
    if n > MAX_ENUMERATION_N:
        raise ValueError(
            f"n = {n} is too large for {what} of all 2^n states (limit n <= {MAX_ENUMERATION_N}, "
            f"2^{n} = {2.0**n:.3g} states); use a Monte-Carlo estimate or a model with a closed form"
        )


def check_noise_level(alpha: Any, sigma: Any) -> None:
    """Denoisers need σ > 0 (the posterior is a point mass at σ = 0)."""
    if is_concrete(sigma) and np.any(np.asarray(sigma) <= 0):
        raise ValueError(f"sigma must be > 0 for a denoiser, got {sigma!r}; stop the reverse run at t_min > 0")


def spin_states(n: int, dtype=jnp.int8) -> Array:
    """All 2ⁿ configurations of n Ising spins, shape (2ⁿ, n), state k = bits of k read as (bit=1 → −1).

    The order matches NetKet's ``Spin(0.5, n).all_states()`` (checked in tests); generated from the
    index so that streamed kernels can build any chunk of the state space without storing it.
    """
    check_enumerable(n)
    return spins_from_index(jnp.arange(2**n, dtype=jnp.int32), n, dtype)


@jax.jit(static_argnums=(1, 2))
def spins_from_index(index: Array, n: int, dtype=jnp.int8) -> Array:
    """Configurations for integer indices, shape index.shape + (n,); most significant bit is spin 0."""
    bits = (index[..., None] >> jnp.arange(n - 1, -1, -1, dtype=jnp.int32)) & 1
    return (1 - 2 * bits).astype(dtype)


def log_binomial(n: int, k: Array) -> Array:
    """ln C(n, k) via ln Γ (scipy-compatible, exact to rounding)."""
    return jax.scipy.special.gammaln(n + 1.0) - jax.scipy.special.gammaln(k + 1.0) - jax.scipy.special.gammaln(
        n - k + 1.0
    )


def log_two_cosh(z: Array) -> Array:
    """ln 2cosh z, stable for large |z|: |z| + ln(1 + e^{−2|z|})."""
    a = jnp.abs(z)
    return a + jnp.log1p(jnp.exp(-2.0 * a))


LN2 = math.log(2.0)


def import_netket():
    """Import NetKet without changing JAX's global state: the package's precision and the default mesh.

    NetKet sets JAX's x64 flag from NETKET_ENABLE_X64 at import time (default: on); match it to the current
    setting so that importing NetKet neither turns float64 on nor off. With NETKET_SHARDING on (its default)
    it also sets a global mesh over all devices (`jax.sharding.set_mesh`, axis "S"), which every later trace
    carries: a jitted function called before and after the import is traced and compiled twice. The package
    shards on its own (`physics.sharding`) and uses NetKet for graphs and Hilbert spaces, so NETKET_SHARDING
    defaults to off here (a value set in the environment is kept).
    """
    import os

    os.environ["NETKET_ENABLE_X64"] = "1" if jax.config.jax_enable_x64 else "0"
    os.environ.setdefault("NETKET_SHARDING", "0")
    import netket

    return netket


def check_temperature(beta: Any, h: Any) -> tuple[Array, Array]:
    """Validate an inverse temperature β ≥ 0 and a finite field h; return both as float arrays."""
    check_nonnegative("beta", beta, "beta is an inverse temperature; use h for an ordering field")
    check_finite("h", h)
    return as_float_array(beta), as_float_array(h)


def as_float_array(value: Any) -> Array:
    """jnp.asarray(value, dtype=float); a concrete value is converted on the host and transferred, which compiles
    nothing (an eager conversion is one more compiled module in every process)."""
    if not is_concrete(value):
        return jnp.asarray(value, dtype=float)
    return jax.device_put(np.asarray(value, dtype=jnp.result_type(float)))


#: States per step of the streamed posterior sampler (its Gumbel noise is batch × replicas × chunk).
SAMPLE_CHUNK_SIZE = 4096


def enumerated_posterior_sample(log_weight: Callable[[Array], Array], n: int, key: Array, x: Array, alpha: Array,
                                sigma: Array, num_replicas: int = 1, chunk_size: int = SAMPLE_CHUNK_SIZE) -> Array:
    """Independent exact draws from P(s | x_t = x) ∝ w(s) exp(α x·s/σ²) for every row of x (batch, n), shape
    (batch, num_replicas, n), by Gumbel-max: s = argmax_s [ln w(s) + α x·s/σ² + G_s], G_s iid standard Gumbel,
    streamed over chunks of the 2ⁿ states (the maximum over all states is the maximum of the chunk maxima); the
    Gumbel noise of chunk c is drawn from fold_in(key, c)."""
    check_enumerable(n, "posterior sampling")
    check_noise_level(alpha, sigma)
    x = jnp.asarray(x)
    dtype = jnp.result_type(x.dtype, float)
    u = (alpha / sigma**2 * x).astype(dtype)
    chunk = min(1 << (int(chunk_size).bit_length() - 1), 2**n)
    shape = (x.shape[0], num_replicas)

    def logits(c):
        s = spins_from_index(c * chunk + jnp.arange(chunk, dtype=jnp.int32), n, dtype)
        return (log_weight(s)[None, :] + u @ s.T)[:, None, :]

    block, position = streamed_gumbel_argmax(key, logits, 2**n // chunk, shape, dtype)
    index = block * chunk + position
    return spins_from_index(index, n, dtype)


def streamed_gumbel_argmax(key: Array, logits_of_chunk: Callable[[Array], Array], num_chunks: int,
                           shape: tuple[int, ...], dtype) -> tuple[Array, Array]:
    """Gumbel-max draws from softmax(ℓ) over entries streamed in chunks: argmax_a [ℓ_a + G_a], G_a iid standard
    Gumbel, where logits_of_chunk(c) gives ℓ of chunk c (broadcastable to shape + (chunk,)) and its noise comes from
    fold_in(key, c); the maximum over all entries is the maximum of the chunk maxima. Returns the chunk and the
    position in it of every draw, int32 arrays of ``shape``."""

    def body(carry, c):
        best, block, position = carry
        logits = logits_of_chunk(c)
        z = logits + jax.random.gumbel(jax.random.fold_in(key, c), shape + (logits.shape[-1],), dtype)
        top = jnp.max(z, axis=-1)
        better = top > best
        return (jnp.where(better, top, best), jnp.where(better, c, block),
                jnp.where(better, jnp.argmax(z, axis=-1).astype(jnp.int32), position)), None

    init = (jnp.full(shape, -jnp.inf, dtype), jnp.zeros(shape, jnp.int32), jnp.zeros(shape, jnp.int32))
    (_, block, position), _ = jax.lax.scan(body, init, jnp.arange(num_chunks, dtype=jnp.int32))
    return block, position
