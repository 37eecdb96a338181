"""JAX compilation of a study's functions: the persistent compilation cache, so that a second run loads what the
first compiled, and a measurement of where the time before each function's first call goes.

A jit-compiled function (and every primitive run eagerly, which JAX compiles on its own) goes through three
stages on its first call with new shapes or static arguments in a process, each reported by jax.monitoring:

    trace     Python → jaxpr                         /jax/core/compile/jaxpr_trace_duration
    lower     jaxpr → MLIR module                    /jax/core/compile/jaxpr_to_mlir_module_duration
    compile   MLIR → executable: XLA compiles it,    /jax/core/compile/backend_compile_duration
              or it is loaded from the persistent    (a load also reports
              cache                                   /jax/compilation_cache/cache_retrieval_time_sec)

The persistent cache saves only the last stage: every process traces and lowers again.

A long process also has to give compiled programs back (`release_compiled_code`): XLA's CPU backend maps the
machine code of every executable it compiles or loads into memory mappings of its own, and keeps them while JAX
caches the program; the kernel's limit on a process's mappings (vm.max_map_count, 65530 by default on Linux) then
caps how many programs one process can hold, and the next one fails to map (a segmentation fault in XLA).
"""

from __future__ import annotations

import os
import pathlib
import sys
import threading
import time
from typing import NamedTuple

TRACE_EVENT = "/jax/core/compile/jaxpr_trace_duration"
LOWER_EVENT = "/jax/core/compile/jaxpr_to_mlir_module_duration"
BACKEND_EVENT = "/jax/core/compile/backend_compile_duration"
CACHE_LOAD_EVENT = "/jax/compilation_cache/cache_retrieval_time_sec"


class CompileTimes(NamedTuple):
    """Seconds (and counts) spent making JAX functions callable, by stage."""

    trace_s: float = 0.0  # tracing Python functions to jaxprs
    lower_s: float = 0.0  # lowering jaxprs to MLIR modules
    compile_s: float = 0.0  # XLA compiling modules that were not in the persistent cache (and storing them)
    cache_load_s: float = 0.0  # loading compiled modules from the persistent cache
    compiles: int = 0  # modules compiled by XLA
    cache_hits: int = 0  # modules loaded from the persistent cache

    @property
    def total_s(self) -> float:
        """trace + lower + compile + cache load: the time before the first calls."""
        return self.trace_s + self.lower_s + self.compile_s + self.cache_load_s

    def __add__(self, other: "CompileTimes") -> "CompileTimes":
        return CompileTimes(*(a + b for a, b in zip(self, other)))

    def __sub__(self, other: "CompileTimes") -> "CompileTimes":
        return CompileTimes(*(a - b for a, b in zip(self, other)))

    def attrs(self, prefix: str = "") -> dict[str, float | int]:
        """As dataset attributes: <prefix>compile_time_s (the total), <prefix>trace_time_s,
        <prefix>lower_time_s, <prefix>xla_compile_time_s, <prefix>cache_load_time_s, <prefix>xla_compiles,
        <prefix>cache_hits; seconds rounded to ms."""
        seconds = {"compile_time_s": self.total_s, "trace_time_s": self.trace_s, "lower_time_s": self.lower_s,
                   "xla_compile_time_s": self.compile_s, "cache_load_time_s": self.cache_load_s}
        return {**{prefix + name: round(value, 3) for name, value in seconds.items()},
                prefix + "xla_compiles": int(self.compiles), prefix + "cache_hits": int(self.cache_hits)}

    @classmethod
    def from_attrs(cls, attrs, prefix: str = "") -> "CompileTimes":
        """The inverse of attrs (NaN seconds and 0 counts for what attrs lacks, e.g. files written before)."""
        nan = float("nan")
        return cls(float(attrs.get(f"{prefix}trace_time_s", nan)), float(attrs.get(f"{prefix}lower_time_s", nan)),
                   float(attrs.get(f"{prefix}xla_compile_time_s", nan)),
                   float(attrs.get(f"{prefix}cache_load_time_s", nan)),
                   int(attrs.get(f"{prefix}xla_compiles", 0)), int(attrs.get(f"{prefix}cache_hits", 0)))


_TOTALS = {"trace_s": 0.0, "lower_s": 0.0, "compile_s": 0.0, "cache_load_s": 0.0, "compiles": 0, "cache_hits": 0}
_LOADED = threading.local()  # set by a cache load, read by the backend-compile event that encloses it
_REGISTERED = []


def _record(event: str, duration: float, **_) -> None:
    if event == TRACE_EVENT:
        _TOTALS["trace_s"] += duration
    elif event == LOWER_EVENT:
        _TOTALS["lower_s"] += duration
    elif event == CACHE_LOAD_EVENT:
        _LOADED.hit = True
    elif event == BACKEND_EVENT:
        if getattr(_LOADED, "hit", False):
            _TOTALS["cache_load_s"] += duration
            _TOTALS["cache_hits"] += 1
            _LOADED.hit = False
        else:
            _TOTALS["compile_s"] += duration
            _TOTALS["compiles"] += 1


def compile_times() -> CompileTimes:
    """What this process has spent so far making JAX functions callable (from the first call of this function
    on: it registers the jax.monitoring listener); differences of two calls measure a block of code."""
    import jax

    if not _REGISTERED:
        jax.monitoring.register_event_duration_secs_listener(_record)
        _REGISTERED.append(_record)
    return CompileTimes(**_TOTALS)


class CacheDirectoryError(ValueError):
    """The compilation cache directory that $STATPHYS_JAX_CACHE (or the caller) names cannot be created or written."""


def enable_compilation_cache(directory: str | os.PathLike | None = None) -> pathlib.Path | None:
    """JAX's persistent compilation cache, so that a second run of a study loads its compiled functions instead
    of compiling them again: `directory`, else $STATPHYS_JAX_CACHE, else ~/.cache/statphys/jax. With
    STATPHYS_JAX_CACHE=off (and no directory) the cache stays off and None is returned (the test suite sets it:
    its in-process `statphys run`s must not read or fill the user's cache).

    A directory that cannot be created or written: CacheDirectoryError when it was named (`directory` or
    $STATPHYS_JAX_CACHE); at the default location (a read-only home, as on some cluster nodes) a warning on
    stderr, the cache stays off and None is returned (it saves time, it changes no result).

    Every compiled module is stored, however small or quick to compile: the many primitives a study runs
    eagerly compile in milliseconds each (below JAX's default threshold of 1 s, and on a loaded machine
    on either side of any fixed threshold, so that a second run compiled some again) and add up to seconds
    per run."""
    import jax

    from .datasets import unusable_directory

    setting = os.environ.get("STATPHYS_JAX_CACHE")
    if directory is None and setting == "off":
        return None
    named = directory or setting
    path = pathlib.Path(named or pathlib.Path.home() / ".cache" / "statphys" / "jax")
    problem = unusable_directory(path)
    if problem is not None:
        message = f"the compilation cache directory {path} cannot be used ({problem})"
        if named:
            raise CacheDirectoryError(f"{message}; set STATPHYS_JAX_CACHE to a writable directory, or to off")
        print(f"statphys: {message}; running without the persistent compilation cache (set STATPHYS_JAX_CACHE to "
              f"a writable directory to keep compiled functions between runs)", file=sys.stderr)
        return None
    jax.config.update("jax_compilation_cache_dir", str(path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
    return path


def memory_mappings() -> tuple[int, int] | None:
    """(memory mappings this process holds, the kernel's limit on them, vm.max_map_count), read from /proc; None
    where /proc does not tell (not Linux)."""
    try:
        with open("/proc/self/maps", "rb") as maps:
            count = maps.read().count(b"\n")
        with open("/proc/sys/vm/max_map_count") as limit:
            return count, int(limit.read())
    except (OSError, ValueError):
        return None


#: Share of vm.max_map_count above which `release_compiled_code` drops the compiled programs.
MAPPING_SHARE = 0.5


def release_compiled_code(share: float = MAPPING_SHARE) -> bool:
    """Drop every program JAX holds compiled in this process (`jax.clear_caches`) once the process's memory
    mappings exceed ``share`` of the kernel's limit (`memory_mappings`); returns whether it did.

    Measured here (XLA CPU, jax 0.10): a small jitted function holds about 9 mappings, a reverse run with the
    Curie–Weiss score about 200, and `jax.clear_caches` gives them back (27 518 → 588 mappings after 3000 small
    programs, the functions still alive). The whole test suite in one process reached the limit and crashed
    (XLA's backend_compile_and_load or deserialize_executable) before this was called between test files. A
    program dropped is compiled again (or loaded from the persistent cache) at its next call, with the same result.
    Dropping costs time too (3.8 s for those 3000 programs: XLA unmaps their code), hence half the limit and not less:
    a small study stays below it, and the headroom is larger than what one chunk, stage or test file adds.
    Call it where no function is being traced: the runner does between chunks, `checkpoints.stored` before each
    stage, the test suite after each test file; it says so on stderr when it drops them."""
    mappings = memory_mappings()
    if mappings is None or mappings[0] <= share * mappings[1]:
        return False
    import jax

    started = time.perf_counter()
    jax.clear_caches()
    print(f"statphys: dropped the compiled JAX programs of this process in {time.perf_counter() - started:.1f} s "
          f"({mappings[0]} memory mappings of the kernel's limit {mappings[1]}); they compile again, or load from the "
          "persistent cache, at their next call", file=sys.stderr)
    return True
