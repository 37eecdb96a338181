"""Where a study's time before its first calls goes, by call site of the package: run `statphys` with its usual
arguments and print, at the end, every place in the package that made JAX lower a module (a jitted function met
with new shapes or static arguments, or one eager jax.numpy / jax.random operation outside jit) with the time
spent lowering it (jaxpr → MLIR) and compiling or loading it from the persistent cache.

    python scripts/compile_sites.py run <study> --profile small --out /tmp/x --quiet [--top 25]

Run it twice with a fresh --out (a reused chunk runs nothing) and read the second run: the first after a code
change compiles. Eager operations cost one module each (a few ms to lower, about 1 ms to load), and an eager
`lax.scan` / `lax.map` is lowered again on every call (its body is a new closure each time): a long list of small
sites is the sign of code to move inside one jitted function. Tracing (Python → jaxpr) is not attributed; the
study's provenance (`trace_time_s`) has its total. Wraps two JAX internals
(`jax._src.interpreters.mlir.lower_jaxpr_to_module`, `jax._src.compiler.compile_or_get_cached`); it refuses to run
where they are missing.
"""

from __future__ import annotations

import atexit
import collections
import pathlib
import sys
import time
import traceback

PACKAGE_ROOT = pathlib.Path(__file__).resolve().parents[1]


class Site:
    def __init__(self):
        self.modules = 0
        self.lower_s = 0.0
        self.compile_s = 0.0
        self.names: set[str] = set()


SITES: dict[str, Site] = collections.defaultdict(Site)


def _call_site() -> str:
    """The innermost frame in the package (not in a library): file:line function."""
    for frame in reversed(traceback.extract_stack()[:-3]):
        path = pathlib.Path(frame.filename)
        if PACKAGE_ROOT in path.parents and ".venv" not in path.parts and path.name != "compile_sites.py":
            return f"{path.relative_to(PACKAGE_ROOT)}:{frame.lineno} {frame.name}"
    return "(outside the package)"


def _timed(original, on_done):
    def wrapper(*args, **kwargs):
        started = time.perf_counter()
        result = original(*args, **kwargs)
        on_done(time.perf_counter() - started, args)
        return result

    return wrapper


def install():
    """Start attributing lowerings and compilations to call sites; returns a function that stops it."""
    try:
        from jax._src import compiler
        from jax._src.interpreters import mlir
        lower, compile_or_load = mlir.lower_jaxpr_to_module, compiler.compile_or_get_cached
    except (ImportError, AttributeError) as err:
        raise SystemExit(f"compile_sites: this JAX version lacks the internals it wraps ({err})") from None

    def on_lower(seconds, args):
        site = SITES[_call_site()]
        site.modules += 1
        site.lower_s += seconds
        site.names.add(str(args[0]) if args else "?")

    def on_compile(seconds, args):
        SITES[_call_site()].compile_s += seconds

    mlir.lower_jaxpr_to_module = _timed(lower, on_lower)
    compiler.compile_or_get_cached = _timed(compile_or_load, on_compile)

    def uninstall() -> None:
        mlir.lower_jaxpr_to_module, compiler.compile_or_get_cached = lower, compile_or_load

    return uninstall


def report(top: int) -> str:
    rows = sorted(SITES.items(), key=lambda item: -(item[1].lower_s + item[1].compile_s))
    total = sum(s.lower_s + s.compile_s for _, s in rows)
    lines = [f"lower + compile/load: {total:.3f} s over {sum(s.modules for _, s in rows)} modules",
             f"{'seconds':>8} {'modules':>7} {'lower':>7} {'compile':>7}  call site  [module names]"]
    for where, s in rows[:top]:
        names = ", ".join(sorted(s.names)[:4])
        lines.append(f"{s.lower_s + s.compile_s:8.3f} {s.modules:7d} {s.lower_s:7.3f} {s.compile_s:7.3f}  {where}  [{names}]")
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    top = 25
    if "--top" in argv:
        i = argv.index("--top")
        top = int(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    install()
    atexit.register(lambda: print(report(top), file=sys.stderr))
    from statphys.studies.cli import main as cli_main

    sys.exit(cli_main(argv))


if __name__ == "__main__":
    main(sys.argv[1:])
