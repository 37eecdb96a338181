"""Time to draw every study figure from saved results, this checkout against another one, side by side.

    python benchmarks/figure_times.py --results DIR --baseline /path/to/other/checkout [--repeats 2]

DIR holds the results of `statphys run` / `reproduce` (<study>/<profile>/<study>.nc). Each figure is drawn and
saved as `statphys run` does (`paper.plots.draw`: the plot, its legends placed, a 300-dpi PNG and a PDF) in one
process per checkout and repeat, in the order baseline, this, baseline, this, … (so that a changing machine load
hits both alike); the import of the package is not timed. The baseline checkout runs with this venv's libraries
(its package put first on PYTHONPATH). Prints a Markdown table of the best time per figure and the ratio.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

from baseline_checkout import baseline_environments

DRAW_ALL = """
import json, pathlib, sys, time
import xarray as xr
from statphys.paper import plots
out = pathlib.Path(sys.argv[2])
times = {}
for path in sorted(pathlib.Path(sys.argv[1]).glob("*/*/*.nc")):
    with xr.open_dataset(path) as ds:
        ds.load()
    started = time.perf_counter()
    plots.draw(ds.attrs["kind"], ds, out / path.stem)
    times[path.stem] = time.perf_counter() - started
print(json.dumps(times))
"""


def draw_all(results: pathlib.Path, out: pathlib.Path, env: dict) -> dict[str, float]:
    """Seconds to draw each study's figure, in one fresh process."""
    done = subprocess.run([sys.executable, "-c", DRAW_ALL, str(results), str(out)], env=env, check=True,
                          capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", type=pathlib.Path, required=True, help="a results folder")
    parser.add_argument("--baseline", type=pathlib.Path, required=True, help="another checkout of the repository")
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    out = pathlib.Path(tempfile.mkdtemp(prefix="figure_times_"))
    envs = baseline_environments(args.baseline, out)
    best: dict[str, dict[str, float]] = {name: {} for name in envs}
    for repeat in range(args.repeats):
        for name, env in envs.items():
            for study, seconds in draw_all(args.results, out / name, env).items():
                best[name][study] = min(seconds, best[name].get(study, float("inf")))
    print(f"best of {args.repeats} processes per checkout")
    print("| figure | baseline s | this s | ratio |")
    print("|---|---|---|---|")
    for study in sorted(best["this"]):
        before, after = best["baseline"].get(study, float("nan")), best["this"][study]
        print(f"| {study} | {before:.2f} | {after:.2f} | {before / after:.2f} |")
    total = {name: sum(times.values()) for name, times in best.items()}
    print(f"| all | {total['baseline']:.1f} | {total['this']:.1f} | {total['baseline'] / total['this']:.2f} |")


if __name__ == "__main__":
    main()
