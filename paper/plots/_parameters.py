"""The parameters line of a figure split over several lines (paper.style.describe names the profile once, last)."""

from __future__ import annotations

from statphys.paper import style


def lines(ds, *groups, extra: str = "") -> str:
    """style.describe of each group of names on its own line; `extra` and the profile end the last line.

    groups: sequences of names as style.describe takes them ('label=key' or 'key')."""
    bare = ds.copy(deep=False)
    bare.attrs = {k: v for k, v in ds.attrs.items() if k != "profile"}
    text = [style.describe(bare, *group) for group in groups[:-1]]
    text.append(style.describe(ds, *groups[-1], extra=extra))
    return "\n".join(t for t in text if t)
