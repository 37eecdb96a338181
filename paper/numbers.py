"""The numbers a study's dataset gives the paper: every entry of its small numeric variables with its error bar
(dataset_numbers), a figure's curated headline numbers (headline_numbers), and a kind's own summary numbers.

Errors are taken from companion variables (<var>_err, <var>_sd, <var>_stderr, <var>_std, <var>_error, or
<base>_sd for <base>_mean); a variable with <var>_lo and <var>_hi is a posterior median with its credible
interval, and its error is the pair (lo, hi). A kind may add numbers with an optional summary(ds) that returns a
mapping name -> value or (value, error), or text (copied into results.tex as a comment).
"""

from __future__ import annotations

from typing import Any, Mapping

import numpy as np

from .formatting import key_safe
from .registry import Figure

ERROR_SUFFIXES = ("_err", "_sd", "_stderr", "_std", "_error")
MAX_ENTRIES = 16  # arrays with more entries than this (histograms, time series) are left to the figures


def _interval(ds, name: str):
    if name + "_lo" in ds.variables and name + "_hi" in ds.variables:
        return ds[name + "_lo"], ds[name + "_hi"]
    return None


def _coord(value) -> str:
    if isinstance(value, (bytes, np.bytes_)):
        value = value.decode()
    if isinstance(value, (float, np.floating)):
        return f"{float(value):g}"
    if isinstance(value, (np.integer,)):
        return str(int(value))
    return str(value)


def error_variable(ds, name: str) -> str | None:
    """The name of the variable holding name's error bar (ERROR_SUFFIXES), or None."""
    for suffix in ERROR_SUFFIXES:
        if name + suffix in ds.variables:
            return name + suffix
    if name.endswith("_mean"):
        for suffix in ERROR_SUFFIXES:
            if name[: -len("_mean")] + suffix in ds.variables:
                return name[: -len("_mean")] + suffix
    return None


def _is_error(ds, name: str) -> bool:
    for suffix in ("_lo", "_hi"):
        if name.endswith(suffix) and _interval(ds, name[: -len(suffix)]) is not None:
            return True
    for suffix in ERROR_SUFFIXES:
        if name.endswith(suffix):
            base = name[: -len(suffix)]
            if base in ds.variables or base + "_mean" in ds.variables:
                return True
    return False


def dataset_numbers(ds, study: str) -> list[tuple[str, float, float | None]]:
    """(key, value, error) for every entry of the dataset's small numeric variables."""
    rows = []
    for name in ds.data_vars:
        var = ds[name]
        if not np.issubdtype(var.dtype, np.number) or _is_error(ds, name) or var.size > MAX_ENTRIES or var.size == 0:
            continue
        err_name = error_variable(ds, name)
        err = ds[err_name].broadcast_like(var) if err_name is not None else None
        interval = _interval(ds, name)
        for index in np.ndindex(var.shape):
            where = {}
            for d, i in zip(var.dims, index):
                if d in var.coords:
                    where[d] = var[d].values[i]
                elif _along(var, d):  # a flat list of ragged values: named by its labels
                    where.update({name: var[name].values[i] for name in _along(var, d)})
                else:
                    where[d] = i
            label = ",".join(f"{d}={_coord(v)}" for d, v in where.items())
            key = key_safe(f"{study}/{name}" + (f"[{label}]" if label else ""))
            if interval is not None:  # (value, (lo, hi)): a credible interval
                lo, hi = (float(x.broadcast_like(var).values[index]) for x in interval)
                rows.append((key, float(var.values[index]), (lo, hi)))
                continue
            e = float(err.values[index]) if err is not None else None
            rows.append((key, float(var.values[index]), e))
    return rows


def _along(var, dim: str) -> list[str]:
    """The non-index coordinates of var that lie along dim alone (the labels of a flat list of ragged values)."""
    return [name for name, c in var.coords.items() if name != dim and c.dims == (dim,)]


def _pick(var, sel: Mapping[str, Any]):
    """Select var at sel (missing values fall back to the first), remaining dims at their first value; sel may
    name non-index coordinates along a dim (Headline)."""
    where, coords = {}, {}
    for dim in var.dims:
        values = var[dim].values if dim in var.coords else np.arange(var.sizes[dim])
        labels = [name for name in _along(var, dim) if name in sel]
        want = sel.get(dim, "first")
        if labels:
            ok = np.ones(var.sizes[dim], bool)
            for name in labels:
                ok &= np.array([_coord(v) == _coord(sel[name]) for v in var[name].values])
            if dim in sel and sel[dim] not in ("first", "last"):
                ok &= np.array([_coord(v) == _coord(want) for v in values])
            i = int(np.argmax(ok)) if ok.any() else 0
            coords.update({name: _coord(var[name].values[i]) for name in labels})
        elif want == "last":
            i = len(values) - 1
        elif want == "first":
            i = 0
        else:
            matches = [j for j, v in enumerate(values) if _coord(v) == _coord(want)]
            i = matches[0] if matches else 0
        where[dim] = i
        if not labels:
            coords[dim] = _coord(var[dim].values[i]) if dim in var.coords else str(i)
    picked = var.isel(where) if where else var
    return picked, coords


def headline_numbers(ds, figure: Figure) -> list[tuple[str, float, float | None, str]]:
    """(key, value, error, where) for the figure's HEADLINES that the dataset has."""
    rows = []
    for h in figure.headlines:
        if h.var not in ds.variables:
            continue
        var = ds[h.var]
        if h.reduce and h.reduce.startswith("argmin:"):
            dim = h.reduce.split(":", 1)[1]
            if dim not in var.dims:
                continue
            picked, coords = _pick(var, {**h.sel, dim: "first"})
            coords.pop(dim, None)
            line = var.isel({d: 0 for d in var.dims if d != dim})  # (a swept dim: its first value)
            if line.dims != (dim,) or not np.isfinite(line.values).any():
                continue
            value, err = float(var[dim].values[int(np.nanargmin(line.values))]), None
        else:
            picked, coords = _pick(var, h.sel)
            value = float(picked.values)
            err = None
            err_name = h.err if h.err in ds.variables else None
            if err_name is not None:
                e, _ = _pick(ds[err_name], {**h.sel, **coords})
                err = float(e.values)
            elif h.err is None and _interval(ds, h.var) is not None:
                err = tuple(float(_pick(x, {**h.sel, **coords})[0].values) for x in _interval(ds, h.var))
        where = ", ".join(f"{d} = {v}" for d, v in coords.items() if d != h.var)
        rows.append((key_safe(f"{figure.name}.{h.label}"), value, err, where))
    return rows


def kind_summary(summary, ds):
    """A kind's optional summary(ds): a mapping of numbers, or text."""
    if summary is None:
        return None
    try:
        return summary(ds)
    except Exception as err:  # a broken summary must not stop the build
        return f"summary() failed: {err!r}"


def _as_value_error(item) -> tuple[float, float | None]:
    if isinstance(item, (tuple, list)) and len(item) == 2:
        return float(item[0]), (float(item[1]) if item[1] is not None else None)
    return float(item), None


def summary_numbers(summary: Mapping, study: str) -> list[tuple[str, float, float | None]]:
    """(key, value, error) for each entry of a kind's summary mapping that reads as a number or a
    (value, error) pair; other entries are left out."""
    rows = []
    for name, item in summary.items():
        try:
            value, err = _as_value_error(item)
        except (TypeError, ValueError):
            continue
        rows.append((key_safe(f"{study}/{name}"), value, err))
    return rows
