"""A legend inside the axes that covers no data: the first free corner, else room made above the data.

A plot asks for such a legend with `place` while it draws; the corner is chosen by `finish`, which `plots.plot`
calls once the whole figure is drawn: the layout (constrained) decides where the data of every panel end up, and
it moves a panel's data whenever a later panel gets its labels.
"""

from __future__ import annotations

import weakref

import matplotlib.collections as mcollections
import matplotlib.lines as mlines
import numpy as np

CORNERS = ("upper left", "upper right", "lower right", "lower left", "center right", "center left")


def _data_points(ax, y_in_data: bool = False) -> np.ndarray:
    """Display coordinates of every line's vertices (and points along its segments) and error-bar segments; with
    y_in_data, only of those placed in y by the data (not an axvline, fixed in axes coordinates: a taller y
    range does not move it)."""
    parts = []
    for artist in list(ax.lines) + [c for c in ax.collections if isinstance(c, mcollections.LineCollection)]:
        if y_in_data and not artist.get_transform().contains_branch_seperately(ax.transData)[1]:
            continue
        segments = ([np.column_stack([np.asarray(artist.get_xdata(), float), np.asarray(artist.get_ydata(), float)])]
                    if isinstance(artist, mlines.Line2D) else [np.asarray(s, float) for s in artist.get_segments()])
        drawn = not isinstance(artist, mlines.Line2D) or artist.get_linestyle() not in ("None", "none", "")
        for xy in segments:
            xy = xy[np.all(np.isfinite(xy), 1)] if xy.ndim == 2 else np.zeros((0, 2))
            if drawn and len(xy) > 1:
                f = np.linspace(0, 1, 25)[:, None, None]
                xy = (xy[:-1][None] * (1 - f) + xy[1:][None] * f).reshape(-1, 2)
            if len(xy):
                parts.append(artist.get_transform().transform(xy))
    return np.concatenate(parts) if parts else np.zeros((0, 2))


def _covers(ax, legend, y_in_data: bool = False) -> bool:
    """Whether the legend's box holds a point of `_data_points` inside the axes."""
    renderer = ax.figure.canvas.get_renderer()
    box, frame = legend.get_window_extent(renderer), ax.get_window_extent(renderer)
    p = _data_points(ax, y_in_data)
    inside = ((p[:, 0] > box.x0) & (p[:, 0] < box.x1) & (p[:, 1] > box.y0) & (p[:, 1] < box.y1)
              & (p[:, 0] >= frame.x0) & (p[:, 0] <= frame.x1) & (p[:, 1] >= frame.y0) & (p[:, 1] <= frame.y1))
    return bool(inside.any())


#: figure -> the legends asked for by `place` and not yet placed: (axes, legend args, kwargs, corners)
_PENDING: "weakref.WeakKeyDictionary" = weakref.WeakKeyDictionary()


def place(ax, *args, corners=CORNERS, **kwargs):
    """ax.legend(*args, **kwargs) at the first of `corners` where it covers no line, marker or error bar; if
    every corner is taken, the y range is extended upwards until corners[0] is free. The legend
    is drawn at corners[0] now and moved by `finish`, when the figure is complete."""
    ax.legend(*args, loc=corners[0], **kwargs)
    _PENDING.setdefault(ax.figure, []).append((ax, args, kwargs, corners))


def finish(fig) -> None:
    """Place the legends that `place` asked for in ``fig``. The layout is computed once
    (`Figure.draw_without_rendering`: no pixels): a legend inside its axes moves nothing else, and its box at each
    corner follows from the axes' box and its own size. Where every corner is taken, the y range is extended until
    corners[0] is free in that layout of the data placed in y by the data (a taller range cannot free it of an
    axvline), and checked again after one more layout (new tick labels can move the axes); at most 8 extensions
    per legend."""
    pending = _PENDING.pop(fig, [])
    if not pending:
        return
    fig.draw_without_rendering()
    budget = {id(item[0]): 8 for item in pending}
    unsettled = [item for item in pending if not _first_free_corner(*item)]
    while unsettled:
        for ax, args, kwargs, corners in unsettled:
            while budget[id(ax)] > 0 and _covers(ax, ax.get_legend(), y_in_data=True):
                _extend_y(ax)
                ax.legend(*args, loc=corners[0], **kwargs)
                budget[id(ax)] -= 1
        fig.draw_without_rendering()
        unsettled = [item for item in unsettled
                     if budget[id(item[0])] > 0 and _covers(item[0], item[0].get_legend(), y_in_data=True)]


def _first_free_corner(ax, args, kwargs, corners) -> bool:
    """The legend at the first corner where it covers no data (True), else at corners[0] (False)."""
    for loc in corners:
        legend = ax.legend(*args, loc=loc, **kwargs)
        if not _covers(ax, legend):
            return True
    ax.legend(*args, loc=corners[0], **kwargs)
    return False


def _extend_y(ax) -> None:
    """The top of the y range raised by a quarter of the range as drawn (in the axis' scale: linear, log, symlog)."""
    scale = ax.yaxis.get_transform()
    low, high = scale.transform(np.asarray(ax.get_ylim(), float))
    ax.set_ylim(top=float(scale.inverted().transform(np.array([high + 0.25 * (high - low)]))[0]))
