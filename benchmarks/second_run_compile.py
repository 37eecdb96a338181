"""Second-run compile time of every small study, this checkout against another one, side by side.

    python benchmarks/second_run_compile.py --baseline /path/to/other/checkout [--studies a b ...] [--out DIR]

For each study, four `statphys run <study> --profile small` processes in the order baseline, this, baseline,
this (fresh results folders, the persistent compilation cache shared), so that a changing machine load hits both
alike; the second run of each is kept: by then the persistent cache holds every module, and what remains is the
cost of every process (trace, lower, cache load). From that run's dataset attributes (`studies.compilation`):
compile_time_s (trace + lower + XLA compile + cache load), its parts, the modules loaded from the cache
(cache_hits), and the process's wall time (imports, the study, its figure). The baseline checkout runs with this
venv's libraries (its package put first on PYTHONPATH). Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import pathlib
import shutil
import subprocess
import sys
import tempfile
import time

import xarray as xr

from baseline_checkout import baseline_environments

ROOT = pathlib.Path(__file__).resolve().parents[1]


def run_once(study: str, out: pathlib.Path, env: dict) -> tuple[dict, float]:
    """One `statphys run` in a fresh folder: (the dataset's attributes, process wall time in s)."""
    shutil.rmtree(out, ignore_errors=True)
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "statphys.studies.cli", "run", study, "--profile", "small", "--out",
                    str(out), "--quiet"], env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - started
    (path,) = out.glob(f"*/small/*.nc")
    with xr.open_dataset(path) as ds:
        return dict(ds.attrs), wall


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", type=pathlib.Path, required=True, help="another checkout of the repository")
    parser.add_argument("--studies", nargs="*", default=None, help="default: every study file of this checkout")
    parser.add_argument("--out", type=pathlib.Path, default=None, help="results folders (default: a temporary one)")
    args = parser.parse_args()
    studies = args.studies or sorted(p.stem for p in (ROOT / "studies").glob("*.toml"))
    out = args.out or pathlib.Path(tempfile.mkdtemp(prefix="second_run_compile_"))
    envs = baseline_environments(args.baseline, out)
    print("| study | compile s (baseline → this) | trace s | lower s | cache load s | modules loaded | process wall s |")
    print("|---|---|---|---|---|---|---|")
    for study in studies:
        kept = {}
        for repeat in range(2):
            for name, env in envs.items():
                kept[name] = run_once(study, out / f"{name}_{study}", env)
        (a, wall_a), (b, wall_b) = kept["baseline"], kept["this"]

        def pair(key, digits=2):
            return f"{a.get(key, float('nan')):.{digits}f} → {b.get(key, float('nan')):.{digits}f}"

        print(f"| {study} | {pair('compile_time_s')} | {pair('trace_time_s')} | {pair('lower_time_s')} | "
              f"{pair('cache_load_time_s')} | {a.get('cache_hits')} → {b.get('cache_hits')} | "
              f"{wall_a:.1f} → {wall_b:.1f} |", flush=True)


if __name__ == "__main__":
    main()
