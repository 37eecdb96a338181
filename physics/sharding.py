"""Spread a batch of trajectories (or disorder samples) over every device, and start multi-host runs.

    from statphys.physics.sharding import sharded_reverse_sample
    result = sharded_reverse_sample(key, score, schedule, num_steps=200, batch=8192, n=1024)

The batch axis (the leading axis) is split over a 1-D `jax.sharding.Mesh` of all devices (axis name
``"batch"``) with a `NamedSharding`; everything else is replicated. The result is bit-for-bit the one of
`physics.trajectory.reverse_sample` with the same key, for this reason: the prior sample and the noise of
step k are drawn *inside* the compiled program for the *whole* (batch, n) array from the same keys
(fold_in(key, 2**31 − 1) and fold_in(key, k)); JAX's random bits are a function of the key, the shape and the
element index only, never of the sharding (with ``jax_threefry_partitionable``, the default since JAX 0.5,
each device computes just its own slice of them). The samplers, the exact denoisers and the observables act
row by row (a reduction over the n spins of one trajectory stays on one device, with the same length and
order), so no floating-point reduction is split or reordered across devices. Any score that mixes rows (a
batch-norm network, say) would break this, and would also be a bug in a sampler.

Multi-host: call `initialize_distributed()` first in every process (docs/cluster.md has the SLURM command
lines); `jax.devices()` then lists the devices of all hosts and the same code shards over all of them. The
result arrays are then global: gather them with `jax.experimental.multihost_utils.process_allgather`.

Disorder samples: `shard_leading_axis` puts any pytree of arrays with a leading disorder axis on the mesh;
a `jax.vmap` over that axis inside `jax.jit` then runs each disorder sample on the device that holds it.
"""

from __future__ import annotations

import os
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

from .schedules import Schedule
from .trajectory import Trajectory, reverse_sample

Array = Any
AXIS = "batch"


def batch_mesh(devices: list | None = None, batch: int | None = None) -> Mesh:
    """A 1-D mesh named "batch" over ``devices`` (default: all devices of all processes).

    With ``batch`` given, the mesh uses the largest number of devices that divides it (an even split keeps
    every device's program the same and the random draws unchanged); on one host, a batch that is a
    multiple of the device count uses them all.
    """
    devices = list(jax.devices() if devices is None else devices)
    if not devices:
        raise ValueError("no devices to build a mesh on")
    count = len(devices)
    if batch is not None:
        if not isinstance(batch, (int, np.integer)) or batch <= 0:
            raise ValueError(f"batch must be a positive integer, got {batch!r}")
        while batch % count:
            count -= 1
        if jax.process_count() > 1 and count < len(devices):
            raise ValueError(
                f"batch {batch} is not a multiple of the {len(devices)} devices of this multi-host run; "
                "choose a batch divisible by jax.device_count()"
            )
    return Mesh(np.array(devices[:count]), (AXIS,))


def batch_sharding(mesh: Mesh, ndim: int) -> NamedSharding:
    """Leading axis split over the mesh, the other ``ndim − 1`` axes replicated."""
    return NamedSharding(mesh, PartitionSpec(AXIS, *([None] * (ndim - 1))))


def shard_leading_axis(tree: Any, mesh: Mesh | None = None) -> Any:
    """Put every array of a pytree on the mesh, split along its leading axis (disorder samples, a batch).

    Works in multi-host runs when every process holds the same full arrays (e.g. drawn from the same key):
    each process places only the slices its devices own."""
    leaves = jax.tree_util.tree_leaves(tree)
    if not leaves:
        return tree
    if mesh is None:
        mesh = batch_mesh(batch=int(np.shape(leaves[0])[0]))

    def put(a):
        a = np.asarray(a) if jax.process_count() > 1 else a
        if np.ndim(a) == 0 or np.shape(a)[0] % mesh.size:
            raise ValueError(f"leading axis of shape {np.shape(a)} is not a multiple of the {mesh.size} devices")
        sharding = batch_sharding(mesh, np.ndim(a))
        if jax.process_count() > 1:
            return jax.make_array_from_callback(np.shape(a), sharding, lambda index: a[index])
        return jax.device_put(a, sharding)

    return jax.tree_util.tree_map(put, tree)


def sharded_reverse_sample(
    key: Array,
    score_fn: Any,
    schedule: Schedule,
    *,
    num_steps: int,
    batch: int | None = None,
    n: int | None = None,
    x_init: Array | None = None,
    mesh: Mesh | None = None,
    dtype=None,
    **kwargs,
) -> Trajectory:
    """`reverse_sample` with the batch of trajectories split over all devices; identical results.

    Args are those of `physics.trajectory.reverse_sample` (sampler, spacing, observables, record_every,
    record_path go through ``kwargs``), plus ``mesh`` (default `batch_mesh` of all devices for this batch).
    The prior x_T ~ N(0, σ_T² I) is drawn on the devices directly (already split), from the same key as in
    `reverse_sample`; a given ``x_init`` is split as it is. Returned arrays keep the batch sharding
    (x, denoised: (batch, n); observables and path: batch on their second axis).
    """
    if x_init is None:
        if batch is None or n is None:
            raise ValueError("give either x_init or both batch and n")
        mesh = mesh or batch_mesh(batch=batch)
        if batch % mesh.size:
            raise ValueError(f"batch {batch} is not a multiple of the mesh's {mesh.size} devices")
        dtype = dtype or jax.numpy.zeros(()).dtype
        # As `prior_sample` inside reverse_sample: σ_T evaluated eagerly, times the standard normal of the
        # whole (batch, n) array drawn from the same key, but generated already split over the devices.
        draw = jax.jit(lambda k: jax.random.normal(k, (batch, n), dtype), out_shardings=batch_sharding(mesh, 2))
        x_init = schedule.sigma(schedule.start_time) * draw(jax.random.fold_in(key, 2**31 - 1))
    else:
        mesh = mesh or batch_mesh(batch=int(np.shape(x_init)[0]))
        x_init = shard_leading_axis(x_init, mesh)
    # The jitted scan of reverse_sample follows the sharding of its input (GSPMD propagation): every step,
    # noise draw, score and observable runs on each device's rows only.
    return reverse_sample(key, score_fn, schedule, num_steps=num_steps, x_init=x_init, **kwargs)


# ---- multi-host ------------------------------------------------------------------------------------------
def initialize_distributed(timeout_s: int = 300) -> tuple[int, int]:
    """Start `jax.distributed` when the environment describes a multi-process job; return (index, count).

    Explicit: JAX_COORDINATOR_ADDRESS=host:port with JAX_NUM_PROCESSES and JAX_PROCESS_ID (or
    JAX_PROCESS_INDEX) → `jax.distributed.initialize(address, count, index)`.
    SLURM: inside `srun` with more than one task (SLURM_JOB_ID, SLURM_STEP_NODELIST, SLURM_NTASKS,
    SLURM_PROCID, SLURM_LOCALID set) → `jax.distributed.initialize()`, which derives the coordinator (first
    node of the step, port from the job id), the count and the index from those variables.
    Otherwise (a single process) nothing happens. Safe to call twice. Must run before any JAX computation.
    """
    from jax._src import distributed as _distributed  # the only way to ask whether it already ran

    if getattr(_distributed.global_state, "client", None) is not None:
        return jax.process_index(), jax.process_count()
    env = os.environ
    if env.get("JAX_COORDINATOR_ADDRESS"):
        index = env.get("JAX_PROCESS_ID", env.get("JAX_PROCESS_INDEX"))
        count = env.get("JAX_NUM_PROCESSES")
        if index is None or count is None:
            raise RuntimeError("JAX_COORDINATOR_ADDRESS is set: also set JAX_NUM_PROCESSES and JAX_PROCESS_ID")
        if int(count) > 1:
            jax.distributed.initialize(
                env["JAX_COORDINATOR_ADDRESS"], num_processes=int(count), process_id=int(index),
                initialization_timeout=timeout_s,
            )
    elif all(v in env for v in ("SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_NTASKS", "SLURM_PROCID", "SLURM_LOCALID")):
        if int(env["SLURM_NTASKS"]) > 1:
            jax.distributed.initialize(initialization_timeout=timeout_s)
    return jax.process_index(), jax.process_count()
