"""Denoising score matching of a score network on a finite training set, with early stopping on a frozen
held-out loss and checkpoints (`physics.networks` gives the networks; `physics.learned_vs_exact` measures what
they learned against an exact score).

Training (Vincent 2011; Song et al., ICLR 2021, eq. 7 with λ(t) = σ_t²): on training points x₀ (a fixed set of
P exact samples), times t ~ U(t_min, T) and ξ ~ N(0, I),
    L(θ) = E ‖σ_t s_θ(α_t x₀ + σ_t ξ, t) + ξ‖²,
minimised by Adam (cosine-decayed learning rate) on minibatches drawn with replacement from the set. The
held-out loss is the same expectation over a separate validation set, with frozen times (stratified over
(t_min, T)) and frozen noise, so that successive evaluations differ only through θ. Early stopping keeps the
parameters of the lowest held-out loss and stops after `patience` evaluations without improvement.
"""

from __future__ import annotations

import functools
import json
import math
import pathlib
from typing import Any, NamedTuple

import jax
import jax.flatten_util
import jax.numpy as jnp
import numpy as np
import optax

from statphys.models.base import check_positive_int

from .networks import NetworkScore, check_architecture, init_network
from .schedules import Schedule

Array = Any


# ---- training -----------------------------------------------------------------------------------------------
class DSMTrainResult(NamedTuple):
    """A training run: the kept (best held-out) parameters and the curves at each evaluation."""

    params: dict
    steps: np.ndarray  # (num_evals,) optimiser steps done at each evaluation
    train_loss: np.ndarray  # (num_evals,) mean training DSM loss over the block of steps before the evaluation
    val_loss: np.ndarray  # (num_evals,) held-out DSM loss (frozen times and noise)
    best_step: int  # steps done when the kept parameters were reached
    stopped_early: bool  # True when training stopped before `steps` for lack of held-out improvement


def dsm_loss(score_fn: Any, schedule: Schedule, x0: Array, t: Array, xi: Array) -> Array:
    """Mean over the batch of ‖σ_t s(α_t x₀ + σ_t ξ, t) + ξ‖² (one time per point): x0, xi (B, n), t (B,)."""
    alpha, sigma = schedule.alpha(t)[:, None], schedule.sigma(t)[:, None]
    x = alpha * x0 + sigma * xi
    s = jax.vmap(lambda xx, tt: score_fn(xx[None], tt)[0])(x, t)
    return jnp.mean(jnp.sum((sigma * s + xi) ** 2, axis=-1))


@functools.partial(jax.jit, static_argnames=("schedule", "kind", "head", "batch", "block", "steps", "lr"))
def _train_block(params, opt_state, key, start, data, size, *, schedule, kind, head, batch, block, steps, lr):
    opt = optax.adam(optax.cosine_decay_schedule(lr, steps))

    def loss(p, k):
        k_i, k_t, k_x = jax.random.split(k, 3)
        x0 = data[jax.random.randint(k_i, (batch,), 0, size)]
        t = jax.random.uniform(k_t, (batch,), data.dtype, schedule.t_min, schedule.T)
        xi = jax.random.normal(k_x, x0.shape, data.dtype)
        return dsm_loss(NetworkScore(p, schedule, kind, head), schedule, x0, t, xi)

    def body(carry, step):
        p, state = carry
        value, grads = jax.value_and_grad(loss)(p, jax.random.fold_in(key, step))
        updates, state = opt.update(grads, state, p)
        return (optax.apply_updates(p, updates), state), value

    (params, opt_state), values = jax.lax.scan(body, (params, opt_state), start + jnp.arange(block))
    return params, opt_state, jnp.mean(values)


@functools.partial(jax.jit, static_argnames=("dtype", "lr", "steps"))
def _start(params, *, dtype, lr, steps):
    """The parameters cast to dtype and the initial state of `_train_block`'s optimiser."""
    params = jax.tree_util.tree_map(lambda a: a.astype(dtype), params)
    return params, optax.adam(optax.cosine_decay_schedule(lr, steps)).init(params)


@functools.partial(jax.jit, static_argnames=("schedule", "kind", "head"))
def _held_out(params, x0, t, xi, *, schedule, kind, head):
    return dsm_loss(NetworkScore(params, schedule, kind, head), schedule, x0, t, xi)


def frozen_validation(key: Array, validation: Array, schedule: Schedule,
                      repeats: int = 4) -> tuple[Array, Array, Array]:
    """(x₀, t, ξ) of the held-out loss: each validation point `repeats` times, times stratified over
    (t_min, T) (one uniform draw per stratum, strata in random order), ξ ~ N(0, I). Shapes (V·r, n), (V·r,),
    (V·r, n)."""
    x0 = jnp.tile(jnp.asarray(validation), (repeats, 1))
    m = x0.shape[0]
    k_u, k_p, k_x = jax.random.split(key, 3)
    u = (jnp.arange(m) + jax.random.uniform(k_u, (m,), x0.dtype)) / m
    t = schedule.t_min + (schedule.T - schedule.t_min) * jax.random.permutation(k_p, u)
    return x0, t, jax.random.normal(k_x, x0.shape, x0.dtype)


def train_dsm(key: Array, data: Array, validation: Array, schedule: Schedule, *, kind: str = "equivariant",
              head: str = "spin", steps: int = 2000, batch: int = 128, lr: float = 3e-3, hidden: int = 32,
              depth: int = 2, num_freq: int = 4, eval_every: int = 100, patience: int = 5,
              val_repeats: int = 4, size: int | None = None, couplings: Array | None = None) -> DSMTrainResult:
    """Denoising score matching on the training set `data` (P, n) with early stopping on `validation` (V, n)
    (module docstring). steps: the most optimiser steps (the cosine decay spans them); eval_every: steps
    between held-out evaluations (must divide steps); patience: evaluations without improvement before
    stopping; size: train on the first `size` rows of data only (default all; one compilation serves every
    size). couplings (n, n): the lattice couplings a "conv" network reads (`physics.networks.init_network`; they stay
    fixed: the network stops their gradient, so Adam leaves them exactly as given). The network is
    `physics.networks.NetworkScore(params, schedule, kind, head)`."""
    check_architecture(kind, head)
    data, validation = jnp.asarray(data), jnp.asarray(validation)
    if (data.ndim != 2 or validation.ndim != 2 or data.shape[1] != validation.shape[1]
            or 0 in data.shape + validation.shape):
        raise ValueError(f"data and validation must have shapes (P, n) and (V, n) with the same n >= 1, got "
                         f"{data.shape} and {validation.shape}")
    size = data.shape[0] if size is None else size
    for name, value in (("steps", steps), ("batch", batch), ("eval_every", eval_every), ("patience", patience),
                        ("val_repeats", val_repeats), ("size", size)):
        check_positive_int(name, value)
    if size > data.shape[0]:
        raise ValueError(f"size = {size} exceeds the {data.shape[0]} rows of data")
    if steps % eval_every:
        raise ValueError(f"eval_every = {eval_every} must divide steps = {steps}")
    if not (lr > 0 and math.isfinite(lr)):
        raise ValueError(f"lr must be a finite number > 0, got {lr!r}")
    k_init, k_val, k_run = jax.random.split(key, 3)
    params = init_network(k_init, kind, data.shape[1], hidden=hidden, depth=depth, num_freq=num_freq,
                          couplings=couplings)
    params, opt_state = _start(params, dtype=data.dtype, lr=lr, steps=steps)
    frozen = frozen_validation(k_val, validation, schedule, val_repeats)
    static = dict(schedule=schedule, kind=kind, head=head)
    best, best_loss, best_step, waited = params, float(_held_out(params, *frozen, **static)), 0, 0
    done, train_curve, val_curve = [], [], []
    for start in range(0, steps, eval_every):
        params, opt_state, train_loss = _train_block(params, opt_state, k_run, jnp.asarray(start), data,
                                                     jnp.asarray(size), batch=batch, block=eval_every, steps=steps,
                                                     lr=lr, **static)
        val = float(_held_out(params, *frozen, **static))
        done.append(start + eval_every)
        train_curve.append(float(train_loss))
        val_curve.append(val)
        if not math.isfinite(val):
            raise FloatingPointError(f"held-out DSM loss is {val} after {start + eval_every} steps; lower lr = {lr}")
        if val < best_loss:
            best, best_loss, best_step, waited = params, val, start + eval_every, 0
        else:
            waited += 1
            if waited >= patience:
                break
    return DSMTrainResult(best, np.array(done), np.array(train_curve), np.array(val_curve), best_step,
                          done[-1] < steps)


# ---- checkpoints ---------------------------------------------------------------------------------------------
def save_checkpoint(path: str | pathlib.Path, params: dict, **meta: Any) -> None:
    """The flat parameter dict and a JSON metadata record (kind, head, schedule, training settings…) in one .npz."""
    if any(k.startswith("__") for k in params):
        raise ValueError(f"parameter names must not start with '__', got {sorted(params)}")
    np.savez(path, __meta__=np.array(json.dumps(meta, sort_keys=True)), **{k: np.asarray(v) for k, v in params.items()})


def load_checkpoint(path: str | pathlib.Path) -> tuple[dict, dict]:
    """(params, meta) written by `save_checkpoint`; checks the layer keys w0, b0, … are complete (and at most the
    lattice bonds of a "conv" network besides)."""
    with np.load(path) as data:
        params = {k: jnp.asarray(data[k]) for k in data.files if k != "__meta__"}
        meta = json.loads(str(data["__meta__"])) if "__meta__" in data.files else {}
    depth = sum(1 for k in params if k.startswith("w"))
    expected = {f"{p}{i}" for i in range(depth) for p in ("w", "b")} | ({"bonds"} & set(params))
    if set(params) != expected:
        raise ValueError(f"checkpoint {path} has keys {sorted(params)}, expected {sorted(expected)}")
    return params, meta


# ---- parameters as one vector (a result dataset stores them so) ------------------------------------------------
def flatten_params(params: dict) -> np.ndarray:
    """The parameters of a network as one float vector (the layout of `jax.flatten_util.ravel_pytree`: keys in
    sorted order, each array row-major; assembled in NumPy), shape (num_params,)."""
    leaves = [np.asarray(leaf) for leaf in jax.tree_util.tree_leaves(params)]
    return np.concatenate([leaf.ravel() for leaf in leaves]) if leaves else np.zeros(0)


def unflatten_params(flat: Array, kind: str, n: int, *, hidden: int = 32, depth: int = 2, num_freq: int = 4,
                     dtype: Any = None) -> dict:
    """The parameter dict of `physics.networks.init_network(kind, n, hidden, depth, num_freq)` from the vector of
    `flatten_params` (the inverse; the layout follows from the architecture). flat: (num_params,)."""
    template = init_network(jax.random.PRNGKey(0), kind, n, hidden=hidden, depth=depth, num_freq=num_freq)
    template = jax.tree_util.tree_map(lambda a: a.astype(dtype or jnp.asarray(flat).dtype), template)
    vector, unravel = jax.flatten_util.ravel_pytree(template)
    flat = jnp.asarray(flat, vector.dtype)
    if flat.shape != vector.shape:
        raise ValueError(f"a {kind} network of n = {n}, hidden = {hidden}, depth = {depth}, num_freq = {num_freq} "
                         f"has {vector.size} parameters, got a vector of shape {flat.shape}")
    return unravel(flat)
