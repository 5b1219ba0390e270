"""Capturing what native code prints: converters and exporters write pages to fd 1 and 2."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager


class Captured:
    """What was written inside :func:`captured_output`."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()

    def text(self) -> str:
        self.file.seek(0)
        return self.file.read().decode("utf-8", "replace")


@contextmanager
def captured_output(*, echo: bool = False) -> Iterator[Captured]:
    """Capture what this process writes to fd 1 and 2 (C++ and Python alike) inside the block;
    with ``echo`` it is written to stderr afterwards (``eagle -v``)."""
    cap = Captured()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    os.dup2(cap.file.fileno(), 1)
    os.dup2(cap.file.fileno(), 2)
    try:
        yield cap
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        if echo:
            sys.stderr.write(cap.text())
            sys.stderr.flush()
