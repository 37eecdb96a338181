"""Result datasets on disk: written atomically, chunks combined exactly (never a padded value), every variable
described by CF attributes."""

from __future__ import annotations

import os
import pathlib

from .study_file import StudyError


def unusable_directory(directory: pathlib.Path) -> str | None:
    """Create the directory (and its parents): None when it can then be written, else why not (for a message)."""
    try:
        pathlib.Path(directory).mkdir(parents=True, exist_ok=True)
    except OSError as error:
        return error.strerror or str(error)
    return None if os.access(directory, os.W_OK | os.X_OK) else "not writable"


def write_atomic(ds, path: pathlib.Path) -> None:
    """Write a netCDF file so that a crash leaves either the old file or the complete new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    ds = ds.copy()
    for variable in ds.variables.values():  # encodings read from chunk files (e.g. a fixed string width)
        variable.encoding = {}  # would truncate or recast the combined data
    try:
        ds.to_netcdf(tmp, engine="h5netcdf")
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


class CombineError(StudyError):
    """Chunks that cannot be combined without inventing values (padding)."""


def combine(chunks: list, swept: list[str]):
    """One dataset from the chunks of a sweep, with an exact join: never a padded value.

    Each chunk carries the swept parameters as length-1 dimensions. A non-swept dimension whose coordinate
    differs between chunks (e.g. a time grid that depends on the schedule) is kept per chunk: the dimension
    becomes ``<dim>_index`` and the coordinate ``<dim>`` gets the swept dimensions too. Chunks whose such
    dimensions differ in length raise CombineError. After combining, every variable must hold exactly the
    values the chunks computed (same count of non-NaN entries), else CombineError.
    """
    import numpy as np
    import xarray as xr

    if not swept:
        return chunks[0].copy()
    first = chunks[0]
    for chunk in chunks[1:]:
        if set(chunk.data_vars) != set(first.data_vars):
            raise CombineError(f"chunks hold different variables ({sorted(set(chunk.data_vars) ^ set(first.data_vars))} "
                               "in some only); a combined file would pad them with NaN: write every variable in "
                               "every chunk (NaN where it is undefined, with a long_name saying why)")
    varying = [d for d in first.dims if d not in swept and d in first.coords
               and any(d not in c.coords or not np.array_equal(c[d].values, first[d].values) for c in chunks[1:])]
    if varying:
        for d in varying:
            lengths = sorted({c.sizes.get(d, 0) for c in chunks})
            if len(lengths) > 1:
                raise CombineError(f"chunks have different lengths along {d!r} ({lengths}); a combined file would "
                                   f"need padding: give every chunk the same number of {d} points")
        chunks = [c.assign_coords({f"{d}_index": (d, np.arange(c.sizes[d])) for d in varying})
                  .swap_dims({d: f"{d}_index" for d in varying}) for c in chunks]
    # attributes that every chunk shares (a kind's notes on its variables) are kept; chunk ids are not
    combined = xr.combine_by_coords(chunks, compat="no_conflicts", join="exact", combine_attrs="drop_conflicts",
                                    coords="different", data_vars="all")
    for name in combined.data_vars:
        computed = sum(int(c[name].count()) for c in chunks)
        if int(combined[name].count()) != computed or combined[name].size != sum(c[name].size for c in chunks):
            raise CombineError(f"combining the chunks changed {name!r}: {computed} values computed, "
                               f"{int(combined[name].count())} in the combined dataset")
    return combined


def describe_variables(ds, descriptions: dict) -> None:
    """CF attributes on every variable and coordinate: ``long_name`` and ``units`` from the kind's VARIABLES
    (name -> (long_name, units)), else kept if the kind set them, else the name and "1" (dimensionless: the
    package's times are in units of the Ornstein–Uhlenbeck relaxation time, energies in units of k_B T)."""
    import numpy as np

    for name, variable in ds.variables.items():
        long_name, units = descriptions.get(name, (None, None))
        variable.attrs.setdefault("long_name", long_name or str(name).replace("_", " "))
        if np.issubdtype(variable.dtype, np.number):
            variable.attrs.setdefault("units", units or "1")
