"""Compare two results folders study by study: are the datasets identical, or equal to floating-point rounding?

    python scripts/compare_results.py BEFORE AFTER [--profile small] [--rtol 1e-12]

For every `<study>/<profile>/<study>.nc` present in BEFORE, reads both files (xarray) and reports, per study,
the largest relative difference over all numeric variables and coordinates (|a − b| / max(|a|, |b|, tiny), NaN
equal to NaN), and what differs structurally (variables, dimensions, coordinates). Provenance attributes (times,
versions, commit) are ignored. Prints a Markdown table; exits 1 when any study differs by more than --rtol or in
structure, or is missing in AFTER.
"""

from __future__ import annotations

import argparse
import pathlib
import sys

import numpy as np
import xarray as xr


def max_relative_difference(a: np.ndarray, b: np.ndarray) -> float:
    """max |a − b| / max(|a|, |b|, 1e-300) over entries where not both are NaN (NaN vs number counts as ∞)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    both_nan = np.isnan(a) & np.isnan(b)
    one_nan = np.isnan(a) ^ np.isnan(b)
    if np.any(one_nan):
        return float("inf")
    diff = np.where(both_nan, 0.0, np.abs(a - b))
    scale = np.maximum(np.maximum(np.abs(np.nan_to_num(a)), np.abs(np.nan_to_num(b))), 1e-300)
    return float(np.max(diff / scale, initial=0.0))


def compare(before: xr.Dataset, after: xr.Dataset) -> tuple[float, list[str]]:
    """(largest relative difference, structural differences) between two datasets."""
    problems = []
    names_before = set(before.variables)
    names_after = set(after.variables)
    if names_before != names_after:
        problems.append(f"variables only before: {sorted(names_before - names_after)}, "
                        f"only after: {sorted(names_after - names_before)}")
    worst = 0.0
    for name in sorted(names_before & names_after):
        a, b = before[name], after[name]
        if a.dims != b.dims or a.shape != b.shape:
            problems.append(f"{name}: dims {a.dims}{a.shape} vs {b.dims}{b.shape}")
            continue
        if np.issubdtype(a.dtype, np.number) and np.issubdtype(b.dtype, np.number):
            worst = max(worst, max_relative_difference(a.values, b.values))
        elif not np.array_equal(a.values, b.values):
            problems.append(f"{name}: non-numeric values differ")
    return worst, problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("before", type=pathlib.Path)
    parser.add_argument("after", type=pathlib.Path)
    parser.add_argument("--profile", default="small")
    parser.add_argument("--rtol", type=float, default=1e-12)
    args = parser.parse_args(argv)
    files = sorted(args.before.glob(f"*/{args.profile}/*.nc"))
    if not files:
        print(f"no results for profile {args.profile!r} under {args.before}", file=sys.stderr)
        return 1
    failed = False
    print("| study | largest relative difference | verdict |\n|---|---|---|")
    for path in files:
        study = path.parent.parent.name
        other = args.after / study / args.profile / path.name
        if not other.exists():
            print(f"| {study} | — | missing after |")
            failed = True
            continue
        with xr.open_dataset(path) as a, xr.open_dataset(other) as b:
            worst, problems = compare(a.load(), b.load())
        ok = not problems and worst <= args.rtol
        verdict = ("identical" if worst == 0.0 else f"equal within {args.rtol:g}") if ok else "DIFFERS"
        if problems:
            verdict += ": " + "; ".join(problems)
        print(f"| {study} | {worst:.2e} | {verdict} |")
        failed |= not ok
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
