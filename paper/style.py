"""One figure style for every plot of the package.

Text is rendered by matplotlib's mathtext unless LaTeX is asked for explicitly (`use_latex(True)` or the
environment variable STATPHYS_USETEX=1); then a test compile checks that the installation works (fonts
included) and, if it does not, falls back to mathtext with a warning. A figure never switches to LaTeX by
itself because `latex` happens to be on PATH.

Widths follow a two-column journal: SINGLE (3.4 in) for one column, DOUBLE (7.0 in) for the full page.
Figures are saved by `save` as a 300-dpi PNG and a vector PDF side by side.
"""

from __future__ import annotations

import json
import os
import pathlib
import shutil
import subprocess
import tempfile
import warnings

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

SINGLE = 3.4  # inches: one column of a two-column page
DOUBLE = 7.0  # inches: the full page width
DPI = 300

STYLE = {
    "font.size": 8,
    "axes.labelsize": 8,
    "axes.titlesize": 8,
    "legend.fontsize": 6.5,
    "legend.frameon": False,
    "xtick.labelsize": 7,
    "ytick.labelsize": 7,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "lines.linewidth": 1.2,
    "lines.markersize": 3.5,
    "errorbar.capsize": 1.5,
    "savefig.bbox": "tight",
    "savefig.dpi": DPI,
    "text.usetex": False,
}

_USETEX = {"wanted": os.environ.get("STATPHYS_USETEX", "") not in ("", "0"), "checked": None}


def latex_works() -> bool:
    """True when `latex` and `dvipng` exist and compile a figure label with matplotlib's preamble."""
    if shutil.which("latex") is None or shutil.which("dvipng") is None:
        return False
    with tempfile.TemporaryDirectory() as tmp, plt.rc_context({"text.usetex": True}):
        fig = plt.figure(figsize=(1, 1))
        try:
            fig.text(0.5, 0.5, r"$\alpha_t^2/\sigma_t^2$ test")
            fig.savefig(pathlib.Path(tmp) / "probe.png", dpi=50)
            fig.savefig(pathlib.Path(tmp) / "probe.pdf")
            return True
        except (RuntimeError, OSError, subprocess.SubprocessError, ValueError):
            return False
        finally:
            plt.close(fig)


def use_latex(wanted: bool = True) -> bool:
    """Ask for LaTeX text rendering; returns whether it is on (off, with a warning, if LaTeX does not work)."""
    _USETEX["wanted"] = bool(wanted)
    _USETEX["checked"] = None
    return _usetex()


def _usetex() -> bool:
    if not _USETEX["wanted"]:
        return False
    if _USETEX["checked"] is None:
        _USETEX["checked"] = latex_works()
        if not _USETEX["checked"]:
            warnings.warn("LaTeX text rendering was asked for but `latex`/`dvipng` cannot compile a test "
                          "label (missing, or a font such as cm-super absent); using mathtext instead",
                          RuntimeWarning, stacklevel=3)
    return _USETEX["checked"]


def figure(ncols: int = 1, nrows: int = 1, width: float | None = None, height: float | None = None, **kwargs):
    """(fig, axes) in the package style. width: the whole figure's width in inches (default SINGLE for one
    column of panels, DOUBLE for two or more); height: per row of panels (default 0.75 of a panel's width,
    at most 2.6 in)."""
    plt.rcParams.update(STYLE)
    plt.rcParams["text.usetex"] = _usetex()
    width = width if width is not None else (SINGLE if ncols == 1 else DOUBLE)
    height = height if height is not None else min(0.75 * width / ncols, 2.6)
    return plt.subplots(nrows, ncols, figsize=(width, height * nrows), constrained_layout=True, **kwargs)


def describe(ds, *names: str, extra: str = "") -> str:
    """One line naming a result's parameters: 'name = value' for each of `names` found in the study's
    config (ds.attrs["config"]) or coordinates, then `extra`, then the profile. For a figure's subtitle."""
    config = json.loads(ds.attrs.get("config", "{}")) if isinstance(ds.attrs.get("config"), str) else {}
    parts = []
    for name in names:
        label, key = (name.split("=", 1) + [name])[:2] if "=" in name else (name, name)
        if key in config:
            value = config[key]
        elif key in ds.coords and ds[key].size == 1:
            value = ds[key].values.item()
        else:
            continue
        if isinstance(value, list):
            value = ", ".join(_short(v) for v in value)
        parts.append(f"{label} = {_short(value)}")
    if extra:
        parts.append(extra)
    if "profile" in ds.attrs:
        parts.append(f"profile {ds.attrs['profile']}")
    return ", ".join(parts)


def _short(value) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def subtitle(fig, text: str) -> None:
    """The parameters line above all panels."""
    fig.suptitle(text, fontsize=7)


def save(fig, path) -> list[pathlib.Path]:
    """Save a figure as <path>.png (300 dpi) and <path>.pdf (vector); close it; return both paths."""
    path = pathlib.Path(path).with_suffix("")
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [path.with_suffix(".png"), path.with_suffix(".pdf")]
    fig.savefig(written[0], dpi=DPI)
    fig.savefig(written[1])
    plt.close(fig)
    return written


def sweep_panels(ds, variable: str, core_dims: tuple[str, ...], symbols: dict[str, str] | None = None):
    """One (title, sub-dataset) per point of the swept dimensions of ``variable`` other than ``core_dims``.

    Study datasets carry their swept parameters as extra dimensions; a figure draws one panel per point. Titles
    read "name = value, …", each name written as ``symbols`` gives it (e.g. {"beta": "β"}: a figure's notation).
    """
    extra = [d for d in ds[variable].dims if d not in core_dims]
    if not extra:
        return [("", ds)]
    flat = ds.stack(point=extra)
    panels = []
    for point in flat["point"].values:
        title = ", ".join(f"{(symbols or {}).get(d, d)} = {v}"
                          for d, v in zip(extra, point if isinstance(point, tuple) else (point,)))
        panels.append((title, flat.sel(point=point)))
    return panels
