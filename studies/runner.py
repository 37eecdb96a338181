"""Run a study file: validate everything, split the sweep into chunks, compute what is missing, save.

A study file (TOML) names a *kind* (a module in `studies.kinds`) and its parameters:

    kind = "generation"          # studies/kinds/generation.py
    description = "..."
    seed = 0
    precision = "float64"        # or "float32" (the default: fast, GPU-friendly)
    [runtime]                    # measured run time per profile (shown by `statphys list`)
    small = "20 s on 2 CPU cores"
    [params]                     # the kind's PARAMS: name -> (type, default); unknown keys are errors
    beta = [1.0, 1.2]            # a list for a name in the kind's SWEEP: one chunk per combination
    [profiles.small]             # overrides of [params], chosen with --profile small
    n = 16

Results go to <out>/<study>/<profile>/: one netCDF file per finished chunk in chunks/, named by the hash of
everything that determines it (kind, parameters of the chunk, seed, package version), written atomically
(temporary file + rename), so an interrupted run resumes where it stopped and a changed configuration never
reuses old chunks; then the combined dataset <study>.nc (swept parameters as coordinates, provenance in its
attributes: config, package version, git commit, seed, device, wall time, finished flag) and its figure.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import hashlib
import importlib
import importlib.metadata
import itertools
import json
import os
import pathlib
import platform
import subprocess
import sys
import time
import tomllib
from typing import Any

from . import progress as progress_module

try:
    PACKAGE_VERSION = importlib.metadata.version("statphys-diffusion")
except importlib.metadata.PackageNotFoundError:  # running from a source tree that is not installed
    PACKAGE_VERSION = "unknown"
TOP_KEYS = {"kind": str, "description": str, "seed": int, "precision": str, "params": dict, "profiles": dict,
            "runtime": dict}
PRECISIONS = ("float32", "float64")
PROFILES = ("default", "small", "full")
STUDIES_DIR = pathlib.Path(__file__).resolve().parent


class StudyError(ValueError):
    """A study file that cannot run; the message names the key and what is allowed."""


@dataclasses.dataclass(frozen=True)
class Study:
    name: str
    path: pathlib.Path
    kind: str
    description: str
    seed: int
    precision: str
    profile: str
    params: dict  # validated, with defaults filled and the profile applied
    module: Any
    runtimes: dict = dataclasses.field(default_factory=dict)  # profile -> measured run time, as text

    def expected_runtime(self) -> str:
        """The run time measured for this profile (the study file's [runtime] table), or ""."""
        return self.runtimes.get(self.profile, "")

    def runtimes_text(self) -> str:
        return ", ".join(f"{p}: {self.runtimes[p]}" for p in PROFILES if p in self.runtimes)

    def points(self) -> list[dict]:
        """One dict of parameters per chunk: the Cartesian product of the swept lists."""
        swept = [name for name in self.module.SWEEP if isinstance(self.params[name], list)]
        values = [self.params[name] for name in swept]
        return [{**self.params, **dict(zip(swept, combo))} for combo in itertools.product(*values)]

    @property
    def swept(self) -> list[str]:
        return [name for name in self.module.SWEEP if isinstance(self.params[name], list)]


def kinds() -> dict[str, Any]:
    """All study kinds: modules in studies/kinds/ with DESCRIPTION, PARAMS, SWEEP, run, plot."""
    found = {}
    for file in sorted((STUDIES_DIR / "kinds").glob("*.py")):
        if file.stem.startswith("_"):
            continue
        found[file.stem] = importlib.import_module(f"statphys.studies.kinds.{file.stem}")
    return found


def resolve_path(study: str) -> pathlib.Path:
    """A study given as a path, or as a name of a file in the package's studies/ folder."""
    path = pathlib.Path(study)
    if path.suffix != ".toml":
        path = STUDIES_DIR / f"{study}.toml"
    if not path.exists():
        available = ", ".join(sorted(p.stem for p in STUDIES_DIR.glob("*.toml")))
        raise StudyError(f"no study file {study!r}; available studies: {available}")
    return path


def _type_name(kind: type) -> str:
    return {int: "an integer", float: "a number", str: "a string", bool: "true/false", list: "a list"}[kind]


def _check_value(where: str, name: str, value: Any, kind: type, sweepable: bool) -> Any:
    if sweepable and isinstance(value, list) and kind is not list:
        if not value:
            raise StudyError(f"{where}: {name} is an empty list; give one or more values")
        return [_check_value(where, name, v, kind, False) for v in value]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)
    if kind is int and isinstance(value, bool) or not isinstance(value, kind):
        hint = " (a list sweeps it)" if sweepable else ""
        raise StudyError(f"{where}: {name} must be {_type_name(kind)}{hint}, got {value!r} ({type(value).__name__})")
    return value


def load(study: str, profile: str = "default") -> Study:
    """Parse and validate a study file completely; raise StudyError before any compute."""
    path = resolve_path(study)
    try:
        config = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise StudyError(f"{path}: not valid TOML: {err}") from None
    for key in config:
        if key not in TOP_KEYS:
            raise StudyError(f"{path}: unknown top-level key {key!r}; allowed: {sorted(TOP_KEYS)}")
    for key, kind in TOP_KEYS.items():
        if key in config and not isinstance(config[key], kind):
            raise StudyError(f"{path}: {key} must be {_type_name(kind) if kind in (int, str) else 'a table'}")
    if "kind" not in config:
        raise StudyError(f"{path}: missing key 'kind'; allowed kinds: {sorted(kinds())}")
    available = kinds()
    if config["kind"] not in available:
        raise StudyError(f"{path}: unknown kind {config['kind']!r}; allowed kinds: {sorted(available)}")
    module = available[config["kind"]]
    profiles = config.get("profiles", {})
    for name in profiles:
        if name not in PROFILES[1:]:
            raise StudyError(f"{path}: unknown profile [profiles.{name}]; allowed: {list(PROFILES[1:])}")
    for name, value in config.get("runtime", {}).items():
        if name not in PROFILES or not isinstance(value, str):
            raise StudyError(f"{path}: [runtime] maps a profile ({list(PROFILES)}) to a measured run time as text "
                             f"(e.g. small = \"20 s on 2 CPU cores\"), got {name} = {value!r}")
    if config.get("precision", "float32") not in PRECISIONS:
        raise StudyError(f"{path}: precision must be one of {list(PRECISIONS)}, got {config['precision']!r}")
    if profile not in PROFILES:
        raise StudyError(f"unknown profile {profile!r}; allowed: {list(PROFILES)}")
    params = {name: copy.deepcopy(default) for name, (_, default) in module.PARAMS.items()}
    tables = [("params", config.get("params", {}))]
    if profile != "default":
        tables.append((f"profiles.{profile}", profiles.get(profile, {})))
    for where, table in tables:
        for name, value in table.items():
            if name not in module.PARAMS:
                raise StudyError(
                    f"{path}: [{where}] has unknown key {name!r} for kind {config['kind']!r}; allowed: {sorted(module.PARAMS)}"
                )
            params[name] = _check_value(f"{path} [{where}]", name, value, module.PARAMS[name][0], name in module.SWEEP)
    validate = getattr(module, "validate", None)
    if validate is not None:
        try:
            validate(params)
        except ValueError as err:
            raise StudyError(f"{path}: {err}") from None
    return Study(
        path.stem, path, config["kind"], config.get("description", ""), config.get("seed", 0),
        config.get("precision", "float32"), profile, params, module, dict(config.get("runtime", {})),
    )


def chunk_id(study: Study, point: dict) -> str:
    """Hash of everything that determines a chunk's result."""
    blob = json.dumps(
        {"kind": study.kind, "params": point, "seed": study.seed, "precision": study.precision, "version": PACKAGE_VERSION},
        sort_keys=True,
    )
    return hashlib.sha256(blob.encode()).hexdigest()[:16]


def output_dir(study: Study, out: pathlib.Path) -> pathlib.Path:
    return pathlib.Path(out) / study.name / study.profile


def _chunk_path(study: Study, out: pathlib.Path, point: dict) -> pathlib.Path:
    return output_dir(study, out) / "chunks" / f"{chunk_id(study, point)}.nc"


def write_atomic(ds, path: pathlib.Path) -> None:
    """Write a netCDF file so that a crash leaves either the old file or the complete new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    ds = ds.copy()
    for variable in ds.variables.values():  # encodings read from chunk files (e.g. a fixed string width)
        variable.encoding = {}  # would truncate or recast the combined data
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


CHUNK_ATTRS = ("chunk_id", "chunk_params", "chunk_git_commit", "chunk_wall_time_s", "chunk_compile_time_s")
COMPILE_EVENTS = ("/jax/core/compile/jaxpr_trace_duration", "/jax/core/compile/jaxpr_to_mlir_module_duration",
                  "/jax/core/compile/backend_compile_duration")
_COMPILE_SECONDS = [0.0]


def _count_compile_time(event: str, duration: float, **_) -> None:
    if event in COMPILE_EVENTS:
        _COMPILE_SECONDS[0] += duration


def compile_seconds() -> float:
    """Seconds this process has spent tracing, lowering and compiling (or loading from the persistent cache)
    JAX functions, from jax.monitoring's compile events."""
    import jax

    if not getattr(compile_seconds, "registered", False):
        jax.monitoring.register_event_duration_secs_listener(_count_compile_time)
        compile_seconds.registered = True
    return _COMPILE_SECONDS[0]


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> pathlib.Path:
    """JAX's persistent compilation cache, so that a second run of a study loads its compiled functions instead
    of compiling them again: `directory`, else $STATPHYS_JAX_CACHE, else ~/.cache/statphys/jax."""
    import jax

    path = pathlib.Path(directory or os.environ.get("STATPHYS_JAX_CACHE") or
                        pathlib.Path.home() / ".cache" / "statphys" / "jax")
    path.mkdir(parents=True, exist_ok=True)
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.05)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


class CombineError(StudyError):
    """Chunks that cannot be combined without inventing values (padding)."""


def combine(chunks: list, swept: list[str]):
    """One dataset from the chunks of a sweep, with an exact join: never a padded value.

    Each chunk carries the swept parameters as length-1 dimensions. A non-swept dimension whose coordinate
    differs between chunks (e.g. a time grid that depends on the schedule) is kept per chunk: the dimension
    becomes ``<dim>_index`` and the coordinate ``<dim>`` gets the swept dimensions too. Chunks whose such
    dimensions differ in length raise CombineError. After combining, every variable must hold exactly the
    values the chunks computed (same count of non-NaN entries), else CombineError.
    """
    import numpy as np
    import xarray as xr

    if not swept:
        return chunks[0].copy()
    first = chunks[0]
    for chunk in chunks[1:]:
        if set(chunk.data_vars) != set(first.data_vars):
            raise CombineError(f"chunks hold different variables ({sorted(set(chunk.data_vars) ^ set(first.data_vars))} "
                               "in some only); a combined file would pad them with NaN: write every variable in "
                               "every chunk (NaN where it is undefined, with a long_name saying why)")
    varying = [d for d in first.dims if d not in swept and d in first.coords
               and any(d not in c.coords or not np.array_equal(c[d].values, first[d].values) for c in chunks[1:])]
    if varying:
        for d in varying:
            lengths = sorted({c.sizes.get(d, 0) for c in chunks})
            if len(lengths) > 1:
                raise CombineError(f"chunks have different lengths along {d!r} ({lengths}); a combined file would "
                                   f"need padding: give every chunk the same number of {d} points")
        chunks = [c.assign_coords({f"{d}_index": (d, np.arange(c.sizes[d])) for d in varying})
                  .swap_dims({d: f"{d}_index" for d in varying}) for c in chunks]
    # attributes that every chunk shares (a kind's notes on its variables) are kept; chunk ids are not
    combined = xr.combine_by_coords(chunks, compat="no_conflicts", join="exact", combine_attrs="drop_conflicts",
                                    coords="different", data_vars="all")
    for name in combined.data_vars:
        computed = sum(int(c[name].count()) for c in chunks)
        if int(combined[name].count()) != computed or combined[name].size != sum(c[name].size for c in chunks):
            raise CombineError(f"combining the chunks changed {name!r}: {computed} values computed, "
                               f"{int(combined[name].count())} in the combined dataset")
    return combined


def describe_variables(ds, descriptions: dict) -> None:
    """CF attributes on every variable and coordinate: ``long_name`` and ``units`` from the kind's VARIABLES
    (name -> (long_name, units)), else kept if the kind set them, else the name and "1" (dimensionless: the
    package's times are in units of the Ornstein–Uhlenbeck relaxation time, energies in units of k_B T)."""
    import numpy as np

    for name, variable in ds.variables.items():
        long_name, units = descriptions.get(name, (None, None))
        variable.attrs.setdefault("long_name", long_name or str(name).replace("_", " "))
        if np.issubdtype(variable.dtype, np.number):
            variable.attrs.setdefault("units", units or "1")


def status(study: Study, out: pathlib.Path) -> tuple[int, int]:
    """(finished chunks, total chunks)."""
    points = study.points()
    return sum(_chunk_path(study, out, p).exists() for p in points), len(points)


def source_revision() -> str:
    """The git commit of the package source, with "+dirty" when tracked files differ from it; "unknown"
    outside a git checkout. Taken when a chunk is computed, so that results name the code that made them."""
    def git(*args):
        return subprocess.run(["git", *args], cwd=STUDIES_DIR, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = bool(commit) and bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return (commit + ("+dirty" if dirty else "")) if commit else "unknown"


def provenance(study: Study, wall_time: float, revisions: list[str] | None = None) -> dict[str, Any]:
    """Attributes of a combined result. wall_time: the sum of the chunks' own compute times. revisions: the source revisions its chunks were computed with (more
    than one when a resumed run spans code changes; they are all listed)."""
    import jax

    commit = ",".join(sorted(set(revisions))) if revisions else source_revision()
    device = jax.devices()[0]
    return {
        "study": study.name,
        "kind": study.kind,
        "description": study.description,
        "profile": study.profile,
        "config": json.dumps(study.params, sort_keys=True),
        "seed": study.seed,
        "package_version": PACKAGE_VERSION,
        "git_commit": commit,
        "device": f"{device.platform}:{getattr(device, 'device_kind', '')}",
        "jax_version": jax.__version__,
        "python": platform.python_version(),
        "precision": study.precision,
        "wall_time_s": round(wall_time, 3),
        "finished": 1,
    }


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


def _run(study: Study, out: pathlib.Path, progress: bool, split: tuple[int, int] = (0, 1), combine_wait_s: float = 0.0):
    import jax
    import xarray as xr
    from tqdm import tqdm

    points = study.points()
    process, processes = split
    mine = [index for index in range(len(points)) if index % processes == process]
    revision = source_revision()
    key = jax.random.PRNGKey(study.seed)
    if processes == 1:  # with several writers, a .tmp file may belong to a live process
        for stale in (output_dir(study, out) / "chunks").glob("*.tmp*"):  # left by a killed writer
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
                chunk_started, compile_started = time.time(), compile_seconds()
                label = f"chunk {index + 1}/{len(points)}"
                with progress_module.enabled(label) if progress else contextlib.nullcontext():
                    ds = study.module.run(dict(point), jax.random.fold_in(key, index))
                ds = ds.expand_dims({name: [point[name]] for name in study.swept if name not in ds.dims})
                ds.attrs.update({"chunk_id": chunk_id(study, point), "chunk_params": json.dumps(point, sort_keys=True),
                                 "chunk_git_commit": revision,
                                 "chunk_wall_time_s": round(time.time() - chunk_started, 3),
                                 "chunk_compile_time_s": round(compile_seconds() - compile_started, 3)})
                write_atomic(ds, path)
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
    combined.attrs["compile_time_s"] = round(sum(float(c.attrs.get("chunk_compile_time_s", float("nan")))
                                                 for c in chunks), 3)
    combined.attrs["chunks_reused"] = reused
    combined.attrs["chunks_computed"] = len(mine) - reused
    describe_variables(combined, getattr(study.module, "VARIABLES", {}))
    directory = output_dir(study, out)
    write_atomic(combined, directory / f"{study.name}.nc")
    return combined
