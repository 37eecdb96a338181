"""A study's figure drawn from its dataset by the study kind's plot (paper/plots/<kind>.py)."""

from __future__ import annotations

import pathlib


def draw(ds, figures_dir: pathlib.Path, name: str) -> None:
    """The figure of a study's dataset (paper/plots/<kind>.py, kind from ds.attrs) as <name>.png and <name>.pdf."""
    from statphys.paper import plots

    png, pdf = figures_dir / f"{name}.png", figures_dir / f"{name}.pdf"
    for stale in (png, pdf):
        stale.unlink(missing_ok=True)
    plots.draw(ds.attrs.get("kind"), ds, figures_dir / name)
    for target in (png, pdf):
        if not target.exists():
            raise RuntimeError(f"plot did not write {target.name}")
