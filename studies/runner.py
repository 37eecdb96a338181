"""Run a study: split its sweep into chunks, compute the missing ones, combine them, save.

Results go to <out>/<study>/<profile>/: one netCDF file per finished chunk in chunks/, named by the hash of
everything that determines it (kind, parameters of the chunk, seed, package version), written atomically
(temporary file + rename), so an interrupted run resumes where it stopped and a changed configuration never
reuses old chunks (a long kind also stores the finished stages of a chunk: studies.checkpoints); then the
combined dataset <study>.nc (swept parameters as coordinates, provenance in its attributes: config, package
version, git commit, seed, device, wall time, the time spent compiling by stage (studies.compilation), stages
loaded from an interrupted run, the wall time of each computed stage, finished flag). The study file is read by
studies.study_file (its load is also runner.load); the chunks are combined by studies.datasets.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import pathlib
import sys
import time

from . import checkpoints
from . import progress as progress_module
from .compilation import CompileTimes, compile_times, release_compiled_code
from .datasets import combine, describe_variables, unusable_directory, write_atomic
from .provenance import PACKAGE_VERSION, provenance, source_revision
from .study_file import Study, StudyError, load

__all__ = ["CHUNK_ATTRS", "Study", "StudyError", "chunk_id", "load", "output_dir", "process_split", "run", "status",
           "unfinished_stages"]

CHUNK_ATTRS = ("chunk_id", "chunk_params", "chunk_git_commit", "chunk_wall_time_s", "chunk_stages_reused",
               "chunk_stage_wall_times_s", "chunk_reused_stage_wall_times_s", "chunk_stage_devices",
               *CompileTimes().attrs("chunk_"))


def chunk_id(study: Study, point: dict) -> str:
    """Hash of everything that determines a chunk's result."""
    blob = json.dumps(
        {"kind": study.kind, "params": point, "seed": study.seed, "precision": study.precision, "version": PACKAGE_VERSION},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _stage_wall_times(chunks, attr: str = "chunk_stage_wall_times_s") -> dict:
    """chunk id -> {stage name: seconds} over the chunks that computed (or, with attr
    "chunk_reused_stage_wall_times_s", loaded) stages (`studies.checkpoints`)."""
    times = {str(c.attrs.get("chunk_id")): json.loads(c.attrs.get(attr, "{}")) for c in chunks}
    return {chunk: stages for chunk, stages in times.items() if stages}


def _stage_devices(chunks) -> dict:
    """device -> number of stages it computed, over all chunks (`checkpoints.StageCounts.devices`)."""
    devices: dict[str, int] = {}
    for chunk in chunks:
        for device, count in json.loads(chunk.attrs.get("chunk_stage_devices", "{}")).items():
            devices[device] = devices.get(device, 0) + count
    return devices


def output_dir(study: Study, out: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(out) / study.name / study.profile


def _chunk_path(study: Study, out: pathlib.Path, point: dict) -> pathlib.Path:
    return output_dir(study, out) / "chunks" / f"{chunk_id(study, point)}.nc"


def _stages_path(study: Study, out: pathlib.Path, point: dict) -> pathlib.Path:
    """Where an unfinished chunk keeps its finished stages (`studies.checkpoints`)."""
    return output_dir(study, out) / "chunks" / f"{chunk_id(study, point)}.stages"


def status(study: Study, out: pathlib.Path) -> tuple[int, int]:
    """(finished chunks, total chunks)."""
    points = study.points()
    return sum(_chunk_path(study, out, p).exists() for p in points), len(points)


def unfinished_stages(study: Study, out: pathlib.Path) -> dict[int, list[tuple[str, float]]]:
    """Chunk index -> (stage name, wall seconds) of the stages stored by each unfinished chunk, in the order they
    finished (`studies.checkpoints`); chunks without stored stages are left out."""
    stages = {}
    for index, point in enumerate(study.points()):
        directory = _stages_path(study, out, point)
        if not _chunk_path(study, out, point).exists() and directory.is_dir():
            stages[index] = checkpoints.finished_stages(directory)
    return {index: finished for index, finished in stages.items() if finished}


def process_split(process_index: int | None = None, num_processes: int | None = None) -> tuple[int, int]:
    """(index, count) of this process among those sharing a sweep: the arguments, else the environment
    variables JAX_PROCESS_INDEX and JAX_NUM_PROCESSES, else (0, 1). Raises StudyError if inconsistent."""
    def from_env(name):
        value = os.environ.get(name)
        if value is None or value == "":
            return None
        try:
            return int(value)
        except ValueError:
            raise StudyError(f"environment variable {name} must be an integer, got {value!r}") from None

    index = process_index if process_index is not None else from_env("JAX_PROCESS_INDEX")
    count = num_processes if num_processes is not None else from_env("JAX_NUM_PROCESSES")
    index, count = (0 if index is None else index), (1 if count is None else count)
    for name, value in (("process index", index), ("number of processes", count)):
        if isinstance(value, bool) or not isinstance(value, int):
            raise StudyError(f"{name} must be an integer, got {value!r}")
    if count < 1 or not 0 <= index < count:
        raise StudyError(f"process index must satisfy 0 <= index < number of processes, got {index} of {count}")
    return index, count


def run(
    study: Study,
    out: pathlib.Path,
    progress: bool = True,
    *,
    process_index: int | None = None,
    num_processes: int | None = None,
    combine_wait_s: float = 0.0,
):
    """Compute the missing chunks, combine them, save the dataset; returns it (the figure is the CLI's job).

    Several processes can share a sweep (e.g. one per SLURM task, docs/cluster.md): process p of P
    (`process_split`: arguments, else JAX_PROCESS_INDEX / JAX_NUM_PROCESSES, else 0 of 1) computes only the
    chunks whose index i in `Study.points()` has i % P == p; chunk i uses fold_in(key, i) whatever the
    split, so the results do not depend on P. Only process 0 combines: it waits up to ``combine_wait_s``
    seconds for the other processes' chunks; if some are still missing it returns None (a later run, e.g.
    plain `statphys run` with one process, finds every chunk done and combines). Processes p > 0 return None.

    JAX runs in the study's precision for the duration of the call (restored afterwards)."""
    import jax

    split = process_split(process_index, num_processes)
    previous = jax.config.jax_enable_x64
    jax.config.update("jax_enable_x64", study.precision == "float64")
    try:
        return _run(study, out, progress, split, combine_wait_s)
    finally:
        jax.config.update("jax_enable_x64", previous)


@functools.cache
def _chunk_key_function():
    import jax

    return jax.jit(lambda seed, index: jax.random.fold_in(jax.random.PRNGKey(seed), index), static_argnums=0)


def _chunk_key(seed: int, index: int):
    """fold_in(PRNGKey(seed), index): the key of a chunk, one compiled function (four eager operations otherwise)."""
    return _chunk_key_function()(seed, index)


def _run(study: Study, out: pathlib.Path, progress: bool, split: tuple[int, int] = (0, 1), combine_wait_s: float = 0.0):
    import jax
    import xarray as xr
    from tqdm import tqdm

    points = study.points()
    process, processes = split
    mine = [index for index in range(len(points)) if index % processes == process]
    revision = source_revision()
    chunks_dir = output_dir(study, out) / "chunks"
    problem = unusable_directory(chunks_dir)  # before any compute, not as an OSError after the first chunk
    if problem is not None:
        raise StudyError(f"cannot use the results folder {chunks_dir} ({problem}); choose another with --out")
    if processes == 1:  # with several writers, a .tmp file may belong to a live process
        for stale in chunks_dir.glob("*.tmp*"):  # left by a killed writer
            stale.unlink(missing_ok=True)
    reused = 0
    desc = study.name if processes == 1 else f"{study.name} [{process}/{processes}]"
    with tqdm(total=len(mine), desc=desc, unit="chunk", disable=not progress, file=sys.stderr) as bar:
        for index in mine:
            point = points[index]
            path = _chunk_path(study, out, point)
            if path.exists():
                reused += 1
            else:
                release_compiled_code()
                chunk_started, compile_started = time.time(), compile_times()
                label = f"chunk {index + 1}/{len(points)}"
                stages = _stages_path(study, out, point)
                with progress_module.enabled(label) if progress else contextlib.nullcontext(), \
                        checkpoints.enabled(stages) as stage_counts:
                    ds = study.module.run(dict(point), _chunk_key(study.seed, index))
                ds = ds.expand_dims({name: [point[name]] for name in study.swept if name not in ds.dims})
                ds.attrs.update({"chunk_id": chunk_id(study, point), "chunk_params": json.dumps(point, sort_keys=True),
                                 "chunk_git_commit": revision,
                                 "chunk_wall_time_s": round(time.time() - chunk_started, 3),
                                 "chunk_stages_reused": stage_counts.reused,
                                 "chunk_stage_wall_times_s": json.dumps(stage_counts.wall_times),
                                 "chunk_reused_stage_wall_times_s": json.dumps(stage_counts.reused_wall_times),
                                 "chunk_stage_devices": json.dumps(stage_counts.devices),
                                 **(compile_times() - compile_started).attrs("chunk_")})
                write_atomic(ds, path)
                checkpoints.remove(stages)
            bar.update(1)
    if reused:
        print(f"{study.name}: reused {reused} of {len(mine)} finished chunks", file=sys.stderr)
    if process != 0:
        return None
    deadline = time.time() + combine_wait_s
    while not all(_chunk_path(study, out, p).exists() for p in points):
        if time.time() >= deadline:
            done, total = status(study, out)
            print(f"{study.name}: {done}/{total} chunks done; not combined yet (run again when the other "
                  "processes have finished)", file=sys.stderr)
            return None
        time.sleep(min(5.0, max(deadline - time.time(), 0.0)))
    chunks = [xr.load_dataset(_chunk_path(study, out, p), engine="h5netcdf") for p in points]
    combined = combine(chunks, study.swept)
    revisions = [str(c.attrs.get("chunk_git_commit", "unknown")) for c in chunks]
    compute_times = [float(c.attrs.get("chunk_wall_time_s", float("nan"))) for c in chunks]
    for name in CHUNK_ATTRS:
        combined.attrs.pop(name, None)
    combined.attrs.update(provenance(study, sum(compute_times), revisions))
    combined.attrs.update(sum((CompileTimes.from_attrs(c.attrs, "chunk_") for c in chunks), CompileTimes()).attrs())
    combined.attrs["chunks_reused"] = reused
    combined.attrs["chunks_computed"] = len(mine) - reused
    combined.attrs["stages_reused"] = sum(int(c.attrs.get("chunk_stages_reused", 0)) for c in chunks)
    combined.attrs["stage_wall_times_s"] = json.dumps(_stage_wall_times(chunks))
    combined.attrs["reused_stage_wall_times_s"] = json.dumps(_stage_wall_times(chunks,
                                                                               "chunk_reused_stage_wall_times_s"))
    combined.attrs["stage_devices"] = json.dumps(_stage_devices(chunks))
    describe_variables(combined, getattr(study.module, "VARIABLES", {}))
    directory = output_dir(study, out)
    write_atomic(combined, directory / f"{study.name}.nc")
    return combined
