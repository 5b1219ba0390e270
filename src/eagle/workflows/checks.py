"""Checks the workflows' specs share."""

from __future__ import annotations

from numbers import Integral

from eagle.errors import UsageError


def whole_numbers(spec: object, bounds: tuple[tuple[str, int], ...]) -> None:
    """Each named field of a (frozen) spec: None, or a whole number >= its bound (numpy integers
    too), then stored as a plain int; anything else a UsageError naming the field."""
    for name, low in bounds:
        value = getattr(spec, name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, Integral) or value < low:
            raise UsageError(f"{name} must be a whole number >= {low}, got {value!r}")
        object.__setattr__(spec, name, int(value))
