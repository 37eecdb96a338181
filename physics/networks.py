"""Score networks for spin targets: an MLP baseline, a permutation-equivariant (DeepSets) network for
mean-field targets, and a linear one; and the heads that turn a network output into a denoiser and a score.

Every network is a pure function h_θ(x, t) of x (batch, n) and a scalar time t, returning (batch, n), with
parameters a flat dict of arrays (a pytree; a checkpoint is that dict in a NumPy .npz). The time enters
through e(t) = (ln σ_t, cos(πk t/T), sin(πk t/T))_{k=1…K} (K = num_freq).

  "mlp"          h = MLP([x, e(t)]) (tanh hidden layers): no symmetry.
  "equivariant"  DeepSets (Zaheer et al., NeurIPS 2017, eq. 4 and Thm 2): per spin the features
                 φ_i = tanh(W₁ [x_i, x̄, x̄₂, e(t)] + b₁) with the pooled statistics x̄ = mean_j x_j,
                 x̄₂ = mean_j x_j²; then `depth − 1` equivariant layers
                 φ_i ← tanh(W [φ_i, mean_j φ_j] + b), and h_i = w·φ_i + c. Permuting the spins of x permutes
                 h in the same way, exactly (the weights are shared over spins, the pooling is a mean).
  "linear"       h_i = a(t) x_i + b(t) x̄ with (a, b) = a small MLP of e(t): equivariant and linear in x.

Heads (the denoiser D_θ ≈ E[s | x_t = x]; the score follows by Tweedie, s_θ = (α_t D_θ − x)/σ_t²):
  "spin"      D_θ = tanh(α_t x/σ_t² + h): h = 0 is the exact denoiser of independent unbiased spins, and the
              network learns the coupling field on top of it (for Curie–Weiss the exact denoiser is
              ⟨tanh(z + α x_i/σ²)⟩ over a Hubbard–Stratonovich field z, models/curie_weiss.py). As
              t → 0 it tends to sign(x) whatever h: the head itself generalises off the training set.
  "tanh"      D_θ = tanh(h): bounded like a spin's mean, but the network must learn x ↦ sign(x) itself, so it
              can also learn the nearest-training-point denoiser of the data set (memorisation).
  "identity"  D_θ = h (for Gaussian data, where the exact denoiser is linear in x).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from statphys.models.base import check_positive_int, pytree_dataclass

from .schedules import Schedule

Array = Any
ARCHITECTURES = ("mlp", "equivariant", "linear")
HEADS = ("spin", "tanh", "identity")


def check_architecture(kind: str, head: str) -> None:
    if kind not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {kind!r}; choose one of {list(ARCHITECTURES)}")
    if head not in HEADS:
        raise ValueError(f"unknown head {head!r}; choose one of {list(HEADS)}")


def time_embedding(t: Array, schedule: Schedule, num_freq: int) -> Array:
    """e(t) = (ln σ_t, cos(πk t/T), sin(πk t/T))_{k=1…num_freq} for a scalar t: shape (1 + 2 num_freq,)."""
    k = jnp.arange(1, num_freq + 1)
    phase = jnp.pi * k * t / schedule.T
    return jnp.concatenate([jnp.log(schedule.sigma(t))[None], jnp.cos(phase), jnp.sin(phase)])


def _dense(key: Array, a: int, b: int) -> tuple[Array, Array]:
    return jax.random.normal(key, (a, b)) / math.sqrt(a), jnp.zeros(b)


def init_network(key: Array, kind: str, n: int, *, hidden: int = 32, depth: int = 2, num_freq: int = 4) -> dict:
    """Parameters of a network (module docstring) for n spins: hidden width, depth ≥ 1 hidden layers (for
    "linear": of the time MLP), num_freq Fourier time features. Weights N(0, 1/fan_in), biases 0; the last
    layer starts at zero, so every network starts at h = 0."""
    check_architecture(kind, "spin")
    for name, value in (("n", n), ("hidden", hidden), ("depth", depth), ("num_freq", num_freq)):
        check_positive_int(name, value)
    e = 1 + 2 * num_freq
    keys = iter(jax.random.split(key, depth + 1))
    params = {}
    if kind == "mlp":
        sizes = [n + e] + [hidden] * depth
    elif kind == "equivariant":
        sizes = [3 + e] + [hidden] * depth
    else:
        sizes = [e] + [hidden] * depth
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        fan_in = a if (kind != "equivariant" or i == 0) else 2 * a
        params[f"w{i}"], params[f"b{i}"] = _dense(next(keys), fan_in, b)
    out = {"mlp": n, "equivariant": 1, "linear": 2}[kind]
    params[f"w{depth}"], params[f"b{depth}"] = jnp.zeros((hidden, out)), jnp.zeros(out)
    return params


def _depth(params: dict) -> int:
    return len(params) // 2 - 1


def _num_freq(params: dict, kind: str, n: int) -> int:
    inputs = params["w0"].shape[0] - {"mlp": n, "equivariant": 3, "linear": 0}[kind]
    return (inputs - 1) // 2


def apply_network(params: dict, kind: str, x: Array, t: Array, schedule: Schedule) -> Array:
    """h_θ(x, t) for x of shape (batch, n) and a scalar t: shape (batch, n) (module docstring)."""
    batch, n = x.shape
    depth = _depth(params)
    e = time_embedding(t, schedule, _num_freq(params, kind, n)).astype(x.dtype)
    if kind == "mlp":
        h = jnp.concatenate([x, jnp.broadcast_to(e, (batch, e.size))], axis=-1)
        for i in range(depth):
            h = jnp.tanh(h @ params[f"w{i}"] + params[f"b{i}"])
        return h @ params[f"w{depth}"] + params[f"b{depth}"]
    if kind == "equivariant":
        m1 = jnp.mean(x, axis=-1, keepdims=True)
        m2 = jnp.mean(x**2, axis=-1, keepdims=True)
        pooled = jnp.concatenate([m1, m2], axis=-1)[:, None, :]
        h = jnp.concatenate([x[..., None], jnp.broadcast_to(pooled, (batch, n, 2)),
                             jnp.broadcast_to(e, (batch, n, e.size))], axis=-1)
        h = jnp.tanh(h @ params["w0"] + params["b0"])
        for i in range(1, depth):
            mean = jnp.broadcast_to(jnp.mean(h, axis=1, keepdims=True), h.shape)
            h = jnp.tanh(jnp.concatenate([h, mean], axis=-1) @ params[f"w{i}"] + params[f"b{i}"])
        return (h @ params[f"w{depth}"] + params[f"b{depth}"])[..., 0]
    h = e
    for i in range(depth):
        h = jnp.tanh(h @ params[f"w{i}"] + params[f"b{i}"])
    a, b = h @ params[f"w{depth}"] + params[f"b{depth}"]
    return a * x + b * jnp.mean(x, axis=-1, keepdims=True)


def head_denoiser(h: Array, x: Array, alpha: Array, sigma: Array, head: str) -> Array:
    """D_θ from the network output h (module docstring): tanh(α x/σ² + h) ("spin"), tanh(h) ("tanh") or h
    ("identity")."""
    if head == "spin":
        return jnp.tanh(alpha * x / sigma**2 + h)
    if head == "tanh":
        return jnp.tanh(h)
    return h


@pytree_dataclass(static=("schedule", "kind", "head"))
class NetworkScore:
    """s_θ(x, t) = (α_t D_θ(x, t) − x)/σ_t² with D_θ the head applied to the network; a pytree-callable
    for `physics.trajectory.reverse_sample`. `denoiser(x, t)` gives D_θ itself. x: (batch, n), t scalar."""

    params: dict
    schedule: Schedule
    kind: str = "equivariant"
    head: str = "spin"

    def denoiser(self, x: Array, t: Array) -> Array:
        alpha, sigma = self.schedule.alpha(t), self.schedule.sigma(t)
        return head_denoiser(apply_network(self.params, self.kind, x, t, self.schedule), x, alpha, sigma, self.head)

    def __call__(self, x: Array, t: Array) -> Array:
        alpha, sigma = self.schedule.alpha(t), self.schedule.sigma(t)
        return (alpha * self.denoiser(x, t) - x) / sigma**2
