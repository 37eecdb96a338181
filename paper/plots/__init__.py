"""Figures of the studies: `paper/plots/<kind>.py` holds `plot(ds: xarray.Dataset) -> matplotlib Figure` for
the study kind of the same name. A plot reads only the saved dataset (never the study code), states the
model and its parameters on the figure (`paper.style.describe`), and leaves saving to the caller
(`paper.style.save`: 300-dpi PNG + vector PDF).
"""

from __future__ import annotations

import importlib
import pathlib


def available() -> list[str]:
    """Study kinds that have a figure."""
    here = pathlib.Path(__file__).resolve().parent
    return sorted(p.stem for p in here.glob("*.py") if not p.stem.startswith("_"))


def plot(kind: str, ds):
    """The figure of a study kind's combined dataset (a matplotlib Figure, not yet saved), its legends placed
    where they cover no data (`_legend.finish`)."""
    if kind not in available():
        raise ValueError(f"no figure for study kind {kind!r}; kinds with a figure: {available()}")
    from . import _legend

    fig = importlib.import_module(f"statphys.paper.plots.{kind}").plot(ds)
    _legend.finish(fig)
    return fig


def summary(kind: str, ds):
    """The study's key numbers: a module's optional summary(ds) -> text (printed after `statphys run`,
    copied into results.tex as comments) or a mapping name -> value or (value, error); None without one."""
    if kind not in available():
        return None
    function = getattr(importlib.import_module(f"statphys.paper.plots.{kind}"), "summary", None)
    return function(ds) if function is not None else None


def draw(kind: str, ds, path) -> list[pathlib.Path]:
    """plot() and save as <path>.png and <path>.pdf; returns the two paths."""
    from statphys.paper import style

    return style.save(plot(kind, ds), path)
