"""The environment that runs another checkout of the repository as the package `statphys` with this venv's
libraries: a folder holding a link statphys -> the checkout, put first on PYTHONPATH (for the side-by-side
benchmarks second_run_compile.py and figure_times.py)."""

from __future__ import annotations

import os
import pathlib


def baseline_environments(checkout: pathlib.Path, folder: pathlib.Path) -> dict[str, dict]:
    """{"baseline": environment importing `statphys` from ``checkout``, "this": this process's environment}; the
    link is made in ``folder``/baseline_package."""
    shim = folder / "baseline_package"
    shim.mkdir(parents=True, exist_ok=True)
    if not (shim / "statphys").exists():
        (shim / "statphys").symlink_to(pathlib.Path(checkout).resolve())
    return {"baseline": {**os.environ, "PYTHONPATH": str(shim)}, "this": dict(os.environ)}
