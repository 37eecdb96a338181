"""Provenance of results: the package version and source revision that computed them, the configuration, seed,
device, versions and run time, stored as attributes of every combined dataset."""

from __future__ import annotations

import importlib.metadata
import json
import pathlib
import platform
import subprocess
import tomllib
from typing import Any

from .study_file import STUDIES_DIR, Study


def package_version() -> str:
    """The version in the source tree's pyproject.toml when the package runs from one (installed editable, or put on
    PYTHONPATH uninstalled, as `scripts/run_study_on_gpu.sh` does), else the installed distribution's; "unknown"
    without either. It enters every chunk id (`runner.chunk_id`), so the same source gives the same id installed or
    not: stages computed on a machine without the install are reused where it is installed."""
    pyproject = pathlib.Path(__file__).resolve().parents[1] / "pyproject.toml"
    if pyproject.is_file():
        project = tomllib.loads(pyproject.read_text()).get("project", {})
        if project.get("name") == "statphys-diffusion":
            return project["version"]
    try:
        return importlib.metadata.version("statphys-diffusion")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


PACKAGE_VERSION = package_version()


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


def device_label() -> str:
    """The first JAX device as "platform:kind" (e.g. "gpu:NVIDIA H200", "cpu:cpu")."""
    import jax

    device = jax.devices()[0]
    return f"{device.platform}:{getattr(device, 'device_kind', '')}"


def provenance(study: Study, wall_time: float, revisions: list[str] | None = None) -> dict[str, Any]:
    """Attributes of a combined result. wall_time: the sum of the chunks' own compute times. revisions: the
    source revisions its chunks were computed with (more than one when a resumed run spans code changes; they
    are all listed)."""
    import jax

    commit = ",".join(sorted(set(revisions))) if revisions else source_revision()
    return {
        "study": study.name,
        "kind": study.kind,
        "description": study.description,
        "profile": study.profile,
        "config": json.dumps(study.params, sort_keys=True),
        "seed": study.seed,
        "package_version": PACKAGE_VERSION,
        "git_commit": commit,
        "device": device_label(),
        "jax_version": jax.__version__,
        "python": platform.python_version(),
        "precision": study.precision,
        "wall_time_s": round(wall_time, 3),
        "finished": 1,
    }
