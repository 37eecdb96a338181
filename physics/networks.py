"""Score networks for spin targets: an MLP baseline, a permutation-equivariant (DeepSets) network for
mean-field targets, a convolutional network on a periodic square lattice that reads the bonds of a disordered
(Edwards–Anderson) sample, and a linear one; and the heads that turn a network output into a denoiser and a score.

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
  "conv"         for n = L² spins on the periodic L × L square lattice (site i = (r, c), index rL + c, NetKet's
                 `Square(L, pbc=True)` order, L ≥ 3) with bonds J_{i,i+d} on the four nearest-neighbour
                 directions d, layers of the message-passing convolution
                     φ_i ← tanh(W_s φ_i + W_J Σ_d J_{i,i+d} φ_{i+d} + W_n Σ_d φ_{i+d} + b)
                 from φ_i = [x_i, e(t)], and h_i = the same convolution with one output channel. The weights are
                 shared over sites and directions; the couplings enter as fixed inputs (`lattice_bonds`, stored
                 as the parameter "bonds" and never trained). The network is therefore equivariant under the
                 lattice's translations and point group acting jointly on (x, J): translating the spins and the
                 bonds translates h. One disorder sample of a spin glass is not translation invariant, so a
                 plain convolution (bonds zero) cannot represent its score; with the bonds as inputs the
                 symmetry of the disordered model (the statistical invariance of the bond distribution) is
                 built in, and one set of weights applies to every disorder sample (graph networks with bonds
                 as edge features: the message function of Gilmer et al., ICML 2017, eqs. 1–2; convolutional
                 networks on lattice spin models: Wu, Wang & Zhang, PRL 122, 080602 (2019); on the 2-D EA
                 model: McNaughton, Milošević, Perali & Pilati, PRE 101, 053312 (2020)). The first layer's
                 coupling message Σ_d J_{i,i+d} x_{i+d} is the local field of the noisy state, what the exact
                 denoiser needs at high noise: to first order in β, E[s_i | x] = tanh(αx_i/σ² + β Σ_d J_{i,i+d}
                 tanh(αx_{i+d}/σ²)). The gauge symmetry s_i → ε_i s_i, J_ij → ε_i ε_j J_ij is not imposed.

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

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from statphys.models.base import check_positive_int, pytree_dataclass

from .schedules import Schedule

Array = Any
ARCHITECTURES = ("mlp", "equivariant", "linear", "conv")
#: architectures that need a square lattice (and its couplings)
LATTICE_ARCHITECTURES = ("conv",)
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
    """N(0, 1/a) weights (a, b) and zero biases (b,); the barrier keeps the draw's rounding that of
    jax.random.normal on its own (fused with the division it would round differently in float32)."""
    return jax.lax.optimization_barrier(jax.random.normal(key, (a, b))) / math.sqrt(a), jnp.zeros(b)


def lattice_side(n: int) -> int:
    """L for n = L² spins on a periodic square lattice with L ≥ 3 (four distinct neighbours per site)."""
    side = math.isqrt(n) if isinstance(n, int) and n > 0 else 0
    if side * side != n or side < 3:
        raise ValueError(f"a lattice network needs n = L^2 spins with L >= 3 (a periodic L x L square lattice), "
                         f"got n = {n!r}")
    return side


def lattice_bonds(couplings: Array, side: int) -> Array:
    """The bonds of a coupling matrix on the periodic side × side square lattice (module docstring), shape
    (side, side, 2): [..., 0] = J_{(r,c),(r,c+1)}, [..., 1] = J_{(r,c),(r+1,c)} (indices mod side, site (r, c) at
    index r·side + c). Refuses a matrix with any coupling off the lattice's bonds."""
    return jnp.asarray(_lattice_bonds(couplings, side))


def _lattice_bonds(couplings: Array, side: int) -> np.ndarray:
    """`lattice_bonds` in NumPy (float64)."""
    J = np.asarray(couplings, np.float64)
    n = side * side
    if J.shape != (n, n):
        raise ValueError(f"couplings must have shape ({n}, {n}) for a {side} x {side} lattice, got {J.shape}")
    r, c = np.divmod(np.arange(n), side)
    right, down = r * side + (c + 1) % side, ((r + 1) % side) * side + c
    bonds = np.stack([J[np.arange(n), right], J[np.arange(n), down]], axis=-1)
    rebuilt = np.zeros((n, n))
    for k, nb in enumerate((right, down)):
        rebuilt[np.arange(n), nb] = bonds[:, k]
        rebuilt[nb, np.arange(n)] = bonds[:, k]
    if not np.allclose(rebuilt, J, rtol=0, atol=1e-12):
        raise ValueError(f"couplings are not those of a periodic {side} x {side} square lattice in row-major site "
                         "order (NetKet's Square(L, pbc=True)): some non-zero J_ij joins sites that are not nearest "
                         "neighbours, or J is not symmetric")
    return bonds.reshape(side, side, 2)


def init_network(key: Array, kind: str, n: int, *, hidden: int = 32, depth: int = 2, num_freq: int = 4,
                 couplings: Array | None = None) -> dict:
    """Parameters of a network (module docstring) for n spins: hidden width, depth ≥ 1 hidden layers (for
    "linear": of the time MLP), num_freq Fourier time features. Weights N(0, 1/fan_in), biases 0; the last
    layer starts at zero, so every network starts at h = 0. couplings (n, n): the lattice couplings a "conv"
    network reads (`lattice_bonds`; default zero bonds: a plain convolution); refused for the other kinds."""
    check_architecture(kind, "spin")
    for name, value in (("n", n), ("hidden", hidden), ("depth", depth), ("num_freq", num_freq)):
        check_positive_int(name, value)
    if couplings is not None and kind not in LATTICE_ARCHITECTURES:
        raise ValueError(f"couplings are read by the lattice networks {list(LATTICE_ARCHITECTURES)} only, not "
                         f"{kind!r}")
    bonds = None
    if kind == "conv":
        side = lattice_side(n)
        bonds = np.zeros((side, side, 2)) if couplings is None else _lattice_bonds(couplings, side)
    return _init_params(key, bonds, kind=kind, n=n, hidden=hidden, depth=depth, num_freq=num_freq)


@functools.partial(jax.jit, static_argnames=("kind", "n", "hidden", "depth", "num_freq"))
def _init_params(key, bonds, *, kind, n, hidden, depth, num_freq):
    """The parameters of `init_network` (arguments checked there; bonds (L, L, 2) for "conv", else None)."""
    e = 1 + 2 * num_freq
    keys = jax.random.split(key, depth + 1)
    params = {}
    if kind == "conv":
        params["bonds"] = bonds
        sizes = [1 + e] + [hidden] * depth
        for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
            params[f"w{i}"], params[f"b{i}"] = _dense(keys[i], 3 * a, b)
        params[f"w{depth}"], params[f"b{depth}"] = jnp.zeros((3 * hidden, 1)), jnp.zeros(1)
        return params
    if kind == "mlp":
        sizes = [n + e] + [hidden] * depth
    elif kind == "equivariant":
        sizes = [3 + e] + [hidden] * depth
    else:
        sizes = [e] + [hidden] * depth
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        fan_in = a if (kind != "equivariant" or i == 0) else 2 * a
        params[f"w{i}"], params[f"b{i}"] = _dense(keys[i], fan_in, b)
    out = {"mlp": n, "equivariant": 1, "linear": 2}[kind]
    params[f"w{depth}"], params[f"b{depth}"] = jnp.zeros((hidden, out)), jnp.zeros(out)
    return params


def _depth(params: dict) -> int:
    return sum(1 for k in params if k.startswith("w")) - 1


def _num_freq(params: dict, kind: str, n: int) -> int:
    if kind == "conv":
        return (params["w0"].shape[0] // 3 - 2) // 2
    inputs = params["w0"].shape[0] - {"mlp": n, "equivariant": 3, "linear": 0}[kind]
    return (inputs - 1) // 2


def _lattice_messages(phi: Array, bonds: Array) -> Array:
    """[φ_i, Σ_d J_{i,i+d} φ_{i+d}, Σ_d φ_{i+d}] on the periodic lattice: phi (batch, L, L, C), bonds (L, L, 2) →
    (batch, L, L, 3C)."""
    right, down = bonds[..., 0:1], bonds[..., 1:2]
    left, up = jnp.roll(right, 1, axis=1), jnp.roll(down, 1, axis=0)
    neighbours = ((jnp.roll(phi, -1, axis=2), right), (jnp.roll(phi, 1, axis=2), left),
                  (jnp.roll(phi, -1, axis=1), down), (jnp.roll(phi, 1, axis=1), up))
    coupled = sum(j * p for p, j in neighbours)
    plain = sum(p for p, _ in neighbours)
    return jnp.concatenate([phi, coupled, plain], axis=-1)


def apply_network(params: dict, kind: str, x: Array, t: Array, schedule: Schedule) -> Array:
    """h_θ(x, t) for x of shape (batch, n) and a scalar t: shape (batch, n) (module docstring)."""
    batch, n = x.shape
    depth = _depth(params)
    e = time_embedding(t, schedule, _num_freq(params, kind, n)).astype(x.dtype)
    if kind == "conv":
        side = params["bonds"].shape[0]
        bonds = jax.lax.stop_gradient(params["bonds"]).astype(x.dtype)
        h = jnp.concatenate([x.reshape(batch, side, side, 1), jnp.broadcast_to(e, (batch, side, side, e.size))],
                            axis=-1)
        for i in range(depth):
            h = jnp.tanh(_lattice_messages(h, bonds) @ params[f"w{i}"] + params[f"b{i}"])
        return (_lattice_messages(h, bonds) @ params[f"w{depth}"] + params[f"b{depth}"]).reshape(batch, n)
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
