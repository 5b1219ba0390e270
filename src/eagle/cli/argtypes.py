"""argparse value types that refuse out-of-range numbers at parse time (exit 2, one line)."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable


def count(low: int = 0, high: int | None = None) -> Callable[[str], int]:
    """A whole number in ``low..high`` (ASCII digits; no 5000-digit values)."""

    def parse(text: str) -> int:
        t = text.strip()
        if not (t.lstrip("-").isascii() and t.lstrip("-").isdigit()) or len(t) > 12:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
        value = int(t)
        if value < low or (high is not None and value > high):
            span = f"{low}..{high}" if high is not None else f">= {low}"
            raise argparse.ArgumentTypeError(f"{value} is out of range (expected {span})")
        return value

    parse.__name__ = "whole number"
    return parse


def seconds(*, positive: bool = True, high: float = 7 * 24 * 3600.0) -> Callable[[str], float]:
    """A finite number of seconds, > 0 (``positive``) or >= 0, at most ``high`` (a week)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not math.isfinite(value) or value < 0 or (positive and value == 0):
            raise argparse.ArgumentTypeError(f"{text!r} must be a finite number {'>' if positive else '>='} 0")
        if value > high:
            raise argparse.ArgumentTypeError(f"{text!r} is out of range (at most {high:g} seconds)")
        return value

    parse.__name__ = "number of seconds"
    return parse


def fraction(low: float = 0.0, high: float = 1.0) -> Callable[[str], float]:
    """A number strictly between ``low`` and ``high`` (a share, e.g. 0.01 for 1%)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not (math.isfinite(value) and low < value < high):
            raise argparse.ArgumentTypeError(f"{text!r} must lie strictly between {low:g} and {high:g}")
        return value

    parse.__name__ = "share"
    return parse


def add_compute_options(p: argparse.ArgumentParser, *, threads: bool = True) -> None:
    """``--threads`` (compute threads; default 1, or EAGLE_THREADS) and ``--quiet`` (no progress)."""
    if threads:
        p.add_argument(
            "--threads",
            dest="compute_threads",
            type=count(1, 1024),
            default=None,
            help="CPU threads for training/prediction/search (default 1, or $EAGLE_THREADS)",
        )
    p.add_argument("--quiet", "-q", action="store_true", help="no progress bars or stage lines on stderr")


def input_shape(text: str) -> tuple[int, ...]:
    """``NxCxHxW`` as a tuple with the batch first; any other rank is refused (``1x3x224`` is a
    typo for ``1x3x224x224``, not a 3x224 image)."""
    from eagle.errors import UsageError

    try:
        dims = tuple(int(d) for d in str(text).lower().split("x"))
    except ValueError:
        raise UsageError(f"--input-shape {text!r}: expected NxCxHxW, e.g. 1x3x224x224") from None
    if len(dims) != 4:
        raise UsageError(
            f"--input-shape {text!r} has {len(dims)} dimension(s); it is NxCxHxW (batch, channels, height, width), "
            "e.g. 1x3x224x224"
        )
    if not all(1 <= d <= 65536 for d in dims):
        raise UsageError(f"--input-shape {text!r}: expected NxCxHxW with sizes in 1..65536, e.g. 1x3x224x224")
    return dims


def add_allow_module(p: argparse.ArgumentParser) -> None:
    """``--allow-module M`` (repeatable): model specs may call factories of module M (your code)."""
    p.add_argument(
        "--allow-module",
        action="append",
        default=[],
        metavar="MODULE",
        help="let model specs call factories of this module of yours (mypkg:build ...); a --models list or "
        "file of archs never runs code you did not allow (repeatable)",
    )


def plural(n: int, noun: str) -> str:
    """``1 arch``, ``2 archs``."""
    return f"{n} {noun}{'' if n == 1 else 's'}"
