"""Resume inside a chunk: a long study kind stores the result of each finished stage, so that a run stopped in
the middle of a chunk (a killed process, a device lease that ended) restarts from its last finished stage instead
of from the start of the chunk.

    from statphys.studies import checkpoints
    trajectory = checkpoints.stored(f"generation N={n} beta={beta} sample={d}", lambda: generate(...))

Under `statphys run` the runner gives each chunk it computes a directory ``chunks/<chunk id>.stages/`` next to the
chunk files (the chunk id hashes the kind, parameters, seed, precision and package version, so a changed
configuration never meets stages of another). A stage's result, a picklable pytree whose JAX arrays become NumPy
arrays, is pickled there atomically under the hash of its name (after a header with the name, the stage's wall
time, the device and the JAX version that computed it, which `statphys status` reads to show an unfinished chunk's
progress), and loaded instead of computed when present; the directory is removed once the chunk's netCDF file is
written. The wall time of each computed stage goes into the chunk's provenance (`chunk_stage_wall_times_s`; the
combined file's `stage_wall_times_s`), that of each loaded stage from its header (`reused_stage_wall_times_s`), and
the devices of all of them are counted (`stage_devices`): stages computed on a lent GPU and finished elsewhere
(`scripts/run_study_on_gpu.sh`) say so. A stage
must be a deterministic function of the chunk's keys, and state kept across stages outside them must be returned
with the stage and restored (see `franz_parisi_sk`), so that a resumed chunk is the uninterrupted one bit for bit.
Outside `statphys run` (tests, notebooks) `stored` calls the function and stores nothing.
"""

from __future__ import annotations

import contextlib
import contextvars
import hashlib
import os
import pathlib
import pickle
import shutil
import tempfile
import time
from typing import Callable, TypeVar

from .compilation import release_compiled_code

_DIRECTORY = contextvars.ContextVar("statphys_chunk_stages", default=None)
Result = TypeVar("Result")


class StageCounts:
    """How many stages of a chunk were computed and how many loaded (a resumed chunk's wall time covers only the
    computed ones); the wall time in seconds of each computed stage by name (its compute and the copy of its result
    to the host, compilation included), in the order computed, and of each loaded one as its header recorded it;
    the number of stages by the device that computed them ("device (jax version)", "not recorded" for a file
    written before the header named it)."""

    def __init__(self, directory: pathlib.Path):
        self.directory, self.computed, self.reused = pathlib.Path(directory), 0, 0
        self.wall_times: dict[str, float] = {}
        self.reused_wall_times: dict[str, float] = {}
        self.devices: dict[str, int] = {}

    def count_device(self, device: str) -> None:
        self.devices[device] = self.devices.get(device, 0) + 1


@contextlib.contextmanager
def enabled(directory: pathlib.Path):
    """Within this block `stored` keeps stage results in ``directory`` (created on the first store); yields the
    `StageCounts` of the block."""
    counts = StageCounts(directory)
    token = _DIRECTORY.set(counts)
    try:
        yield counts
    finally:
        _DIRECTORY.reset(token)


def _stage_path(directory: pathlib.Path, name: str) -> pathlib.Path:
    return directory / f"{hashlib.sha256(name.encode()).hexdigest()[:16]}.pkl"


def _to_numpy(tree):
    import jax
    import numpy as np

    return jax.tree_util.tree_map(lambda leaf: np.asarray(leaf) if isinstance(leaf, jax.Array) else leaf, tree)


def stored(name: str, compute: Callable[[], Result]) -> Result:
    """``compute()`` with its JAX arrays as NumPy arrays, or the stored result of the stage ``name`` of this chunk.
    Before computing a stage the process gives its compiled programs back if it holds too many
    (`release_compiled_code`; not before a stored stage is loaded, which compiles nothing)."""
    counts = _DIRECTORY.get()
    if counts is None:
        release_compiled_code()
        return _to_numpy(compute())
    directory = counts.directory
    path = _stage_path(directory, name)
    if path.exists():
        with open(path, "rb") as f:
            header = pickle.load(f)
            if isinstance(header, tuple):  # written before the header: (name, result)
                (stage_name, result), header = header, {}
            else:
                stage_name, result = header["stage"], pickle.load(f)
        if stage_name != name:
            raise RuntimeError(f"stage file {path} holds {stage_name!r}, not {name!r}: remove {directory}")
        counts.reused += 1
        counts.reused_wall_times[name] = header.get("seconds", float("nan"))
        counts.count_device(header.get("device", "not recorded"))
        return result
    import jax

    from .provenance import device_label

    release_compiled_code()
    started = time.perf_counter()
    result = _to_numpy(compute())
    seconds = counts.wall_times[name] = round(time.perf_counter() - started, 3)
    counts.computed += 1
    device = f"{device_label()} (jax {jax.__version__})"
    counts.count_device(device)
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(handle, "wb") as f:
        pickle.dump({"stage": name, "seconds": seconds, "device": device}, f)  # readable without the result
        pickle.dump(result, f)
    os.replace(temporary, path)
    return result


def finished_stages(directory: pathlib.Path) -> list[tuple[str, float]]:
    """(name, wall seconds) of the stages stored in ``directory``, in the order they finished (the progress of an
    unfinished chunk: `statphys status`); only each file's header is read (nan seconds for a file written before
    the header)."""
    stages = []
    for path in sorted(pathlib.Path(directory).glob("*.pkl"), key=lambda p: p.stat().st_mtime_ns):
        with open(path, "rb") as f:
            header = pickle.load(f)
        stages.append((header[0], float("nan")) if isinstance(header, tuple) else (header["stage"], header["seconds"]))
    return stages


def remove(directory: pathlib.Path) -> None:
    """Delete a chunk's stage directory (after its netCDF file is written)."""
    shutil.rmtree(directory, ignore_errors=True)
