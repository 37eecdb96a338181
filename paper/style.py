"""One figure style for every plot of the package: mathtext by default, LaTeX when it is installed."""

from __future__ import annotations

import shutil

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {
    "font.size": 9,
    "axes.labelsize": 9,
    "axes.titlesize": 9,
    "legend.fontsize": 7,
    "legend.frameon": False,
    "xtick.direction": "in",
    "ytick.direction": "in",
    "lines.linewidth": 1.2,
    "savefig.bbox": "tight",
    "text.usetex": shutil.which("latex") is not None,
}


def figure(ncols: int = 1, nrows: int = 1, width: float = 3.4, height: float = 2.6, **kwargs):
    """(fig, axes) with the package style; width and height are per panel, in inches."""
    plt.rcParams.update(STYLE)
    return plt.subplots(nrows, ncols, figsize=(width * ncols, height * nrows), constrained_layout=True, **kwargs)


def sweep_panels(ds, variable: str, core_dims: tuple[str, ...]):
    """One (title, sub-dataset) per point of the swept dimensions of ``variable`` other than ``core_dims``.

    Study datasets carry their swept parameters as extra dimensions; a figure draws one panel per point.
    """
    extra = [d for d in ds[variable].dims if d not in core_dims]
    if not extra:
        return [("", ds)]
    flat = ds.stack(point=extra)
    panels = []
    for point in flat["point"].values:
        title = ", ".join(f"{d} = {v}" for d, v in zip(extra, point if isinstance(point, tuple) else (point,)))
        panels.append((title, flat.sel(point=point)))
    return panels
