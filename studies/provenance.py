"""Provenance of results: the package version and source revision that computed them, the configuration, seed,
device, versions and run time, stored as attributes of every combined dataset."""

from __future__ import annotations

import importlib.metadata
import json
import platform
import subprocess
from typing import Any

from .study_file import STUDIES_DIR, Study

try:
    PACKAGE_VERSION = importlib.metadata.version("statphys-diffusion")
except importlib.metadata.PackageNotFoundError:  # running from a source tree that is not installed
    PACKAGE_VERSION = "unknown"


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
    """Attributes of a combined result. wall_time: the sum of the chunks' own compute times. revisions: the
    source revisions its chunks were computed with (more than one when a resumed run spans code changes; they
    are all listed)."""
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
