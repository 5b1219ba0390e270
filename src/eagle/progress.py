"""Progress on stderr for long-running work: tqdm bars and one-line stage notes.

Off by default for library use; the command line turns it on (``--quiet`` keeps it off). Never
writes to stdout, so a pipe reading a command's output sees only the output.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

T = TypeVar("T")
_enabled = False


def enabled() -> bool:
    return _enabled


@contextmanager
def reporting(on: bool = True) -> Iterator[None]:
    """Show progress inside the block (the CLI wraps each command in this unless ``--quiet``)."""
    global _enabled
    before, _enabled = _enabled, on
    try:
        yield
    finally:
        _enabled = before


def stage(message: str) -> None:
    """One line saying what starts now (e.g. ``training gcn on 1000 archs``)."""
    if _enabled:
        print(f"eagle: {message}", file=sys.stderr, flush=True)


def bar(total: int | None = None, desc: str = "", unit: str = "it", **kwargs: Any) -> Any:
    """A tqdm bar on stderr, or a no-op object with the same methods when progress is off."""
    from tqdm import tqdm

    return tqdm(
        total=total,
        desc=desc,
        unit=unit,
        disable=not _enabled,
        file=sys.stderr,
        dynamic_ncols=True,
        mininterval=0.5,
        leave=False,
        **kwargs,
    )


def track(items: Iterable[T], total: int | None = None, desc: str = "", unit: str = "it") -> Iterator[T]:
    """Iterate ``items`` with a bar."""
    with bar(total if total is not None else _len(items), desc, unit) as b:
        for item in items:
            yield item
            b.update(1)


def _len(items: Iterable[Any]) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None
