"""Resume inside a chunk: a long study kind stores the result of each finished stage, so that a run stopped in
the middle of a chunk (a killed process, a device lease that ended) restarts from its last finished stage instead
of from the start of the chunk.

    from statphys.studies import checkpoints
    trajectory = checkpoints.stored(f"generation N={n} beta={beta} sample={d}", lambda: generate(...))

Under `statphys run` the runner gives each chunk it computes a directory ``chunks/<chunk id>.stages/`` next to the
chunk files (the chunk id hashes the kind, parameters, seed, precision and package version, so a changed
configuration never meets stages of another). A stage's result, a picklable pytree whose JAX arrays become NumPy
arrays, is pickled there atomically under the hash of its name, and loaded instead of computed when present; the
directory is removed once the chunk's netCDF file is written. A stage must be a deterministic function of the
chunk's keys, and state kept across stages outside them must be returned with the stage and restored (see
`franz_parisi_sk`), so that a resumed chunk is the uninterrupted one bit for bit. Outside `statphys run` (tests,
notebooks) `stored` calls the function and stores nothing.
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
from typing import Callable, TypeVar

_DIRECTORY = contextvars.ContextVar("statphys_chunk_stages", default=None)
Result = TypeVar("Result")


class StageCounts:
    """How many stages of a chunk were computed and how many loaded (a resumed chunk's wall time covers only the
    computed ones)."""

    def __init__(self, directory: pathlib.Path):
        self.directory, self.computed, self.reused = pathlib.Path(directory), 0, 0


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
    """``compute()`` with its JAX arrays as NumPy arrays, or the stored result of the stage ``name`` of this chunk."""
    counts = _DIRECTORY.get()
    if counts is None:
        return _to_numpy(compute())
    directory = counts.directory
    path = _stage_path(directory, name)
    if path.exists():
        with open(path, "rb") as f:
            stage_name, result = pickle.load(f)
        if stage_name != name:
            raise RuntimeError(f"stage file {path} holds {stage_name!r}, not {name!r}: remove {directory}")
        counts.reused += 1
        return result
    result = _to_numpy(compute())
    counts.computed += 1
    directory.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")
    with os.fdopen(handle, "wb") as f:
        pickle.dump((name, result), f)
    os.replace(temporary, path)
    return result


def remove(directory: pathlib.Path) -> None:
    """Delete a chunk's stage directory (after its netCDF file is written)."""
    shutil.rmtree(directory, ignore_errors=True)
