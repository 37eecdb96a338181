"""Progress inside a chunk: a long study kind marks its stages (or loops) so that `statphys run` shows where a
chunk is and an estimate of the time left, not a bar frozen at "4/6 chunks".

    from statphys.studies import progress
    for name in progress.stages(["forward paths", "reverse paths", "rates"]):
        ...                                   # one stage of the chunk's work
    for batch in progress.track(range(num_batches), "path batches"):
        ...

Outside `statphys run` (tests, notebooks) both are plain iterations.
"""

from __future__ import annotations

import contextlib
import contextvars
import sys
from typing import Iterable, Iterator, TypeVar

_ENABLED = contextvars.ContextVar("statphys_chunk_progress", default=None)
Item = TypeVar("Item")


@contextlib.contextmanager
def enabled(label: str):
    """Within this block, `stages` and `track` draw a nested progress bar labelled `label` (the runner's)."""
    token = _ENABLED.set(label)
    try:
        yield
    finally:
        _ENABLED.reset(token)


def track(items: Iterable[Item], what: str, total: int | None = None) -> Iterator[Item]:
    """Iterate over `items`, showing `what` done / total with the elapsed time and an estimate of the rest."""
    label = _ENABLED.get()
    if label is None:
        yield from items
        return
    from tqdm import tqdm

    total = total if total is not None else (len(items) if hasattr(items, "__len__") else None)
    with tqdm(total=total, desc=f"  {label}: {what}", unit=what.split()[-1], leave=False, file=sys.stderr,
              position=1) as bar:
        for item in items:
            yield item
            bar.update(1)


def stages(names: list[str]) -> Iterator[str]:
    """Iterate over named stages of a chunk, showing the current one and the estimated time left."""
    label = _ENABLED.get()
    if label is None:
        yield from names
        return
    from tqdm import tqdm

    with tqdm(total=len(names), desc=f"  {label}", unit="stage", leave=False, file=sys.stderr, position=1) as bar:
        for name in names:
            bar.set_postfix_str(name)
            yield name
            bar.update(1)
