"""Which k archs to measure on a new device for the best few-shot adaptation: the use case behind
``eagle select``.

:func:`select` takes a :class:`SelectSpec` and returns a :class:`Selection` (the archs as keys, and
as indices where the space numbers its archs). The base is a checkpoint (``eagle pretrain``), a base
in memory (``eagle.pretrain()``), or none: then one is pretrained on the space's bundled datasets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eagle.errors import EagleError, UsageError

if TYPE_CHECKING:
    from eagle.costmodels.basis import DeviceBasis
    from eagle.costmodels.op_basis import OpDeviceBasis
    from eagle.spaces.base import SearchSpace

CRITERIA = ("v", "d")


@dataclass(frozen=True)
class SelectSpec:
    """``k`` archs to propose. ``candidates``: choose among these (a file of archs, or archs);
    ``below``: only NB201-style indices below this (HELP's protocol uses 900); ``given``: archs
    already measured on the device (a measurement file, or archs): propose the next batch;
    ``criterion``: ``v`` representative archs (default), ``d`` extreme archs."""

    k: int = 10
    base: str | Path | DeviceBasis | OpDeviceBasis | None = None
    space: str | None = None
    candidates: str | Path | Sequence[object] | np.ndarray | None = None
    below: int | None = None
    given: str | Path | Sequence[object] | np.ndarray | None = None
    criterion: str = "v"

    def __post_init__(self) -> None:
        for name, low in (("k", 1), ("below", 1)):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < low):
                raise UsageError(f"{name} must be a whole number >= {low}, got {value!r}")
        if self.criterion not in CRITERIA:
            raise UsageError(f"criterion must be one of {', '.join(CRITERIA)}, got {self.criterion!r}")


@dataclass
class Selection:
    """The proposed archs in the order to measure them: ``keys``, and ``indices`` (None for a space
    too large to number its archs); ``given``: how many already-measured archs the design started from."""

    space: SearchSpace
    keys: list[str]
    indices: np.ndarray | None
    given: int = 0

    def write(self, path: str | Path) -> None:
        """A CSV with an ``arch`` column (what ``eagle measure --archs`` reads)."""
        from eagle.fileio import atomic_write_text

        atomic_write_text(Path(path), lambda fh: fh.write("arch\n" + "".join(f"{k}\n" for k in self.keys)))


def select(spec: SelectSpec) -> Selection:
    from eagle import spaces
    from eagle.fewshot import select_archs

    base = load_base(spec.base) if spec.base is not None else None  # pretrained after the inputs are read
    space = spaces.resolve(base.space if base is not None else spec.space)
    if base is not None and spec.space and spaces.get(spec.space) is not space:
        raise EagleError(f"the base is a {space.name} base, not {spec.space}")
    candidates: Any = _archs(spec.candidates, space, measured=False) if spec.candidates is not None else None
    if spec.below is not None:
        if not space.enumerable:
            raise UsageError("below takes arch indices; give the candidates of a large space instead")
        below = np.arange(spec.below)
        candidates = below if candidates is None else candidates[candidates < spec.below]
    given = _archs(spec.given, space, measured=True) if spec.given is not None else None
    if base is None:
        base = load_base(None, space.name)
    archs = select_archs(base, spec.k, candidates=candidates, criterion=spec.criterion, given=given)
    keys = [a if isinstance(a, str) else space.arch_at(int(a)) for a in archs]
    indices = np.asarray([int(a) for a in archs], dtype=np.int64) if space.enumerable else None
    return Selection(space, keys, indices, 0 if given is None else len(given))


def load_base(
    base: str | Path | DeviceBasis | OpDeviceBasis | None, space: str | None = None
) -> DeviceBasis | OpDeviceBasis:
    """A few-shot base: the one given (a checkpoint path, or a base in memory), or, for None, one
    pretrained now on ``space``'s bundled datasets."""
    from eagle import predictors
    from eagle.costmodels.bundled import pretrain_base
    from eagle.fewshot import BASES

    if base is None:
        return pretrain_base(None, [], space, None)
    if isinstance(base, BASES):
        return base
    if not isinstance(base, (str, Path)):
        raise UsageError(f"base: a few-shot base or its checkpoint path, got {type(base).__name__}")
    loaded = predictors.load(base)
    if not isinstance(loaded, BASES):
        raise EagleError(f"{base} is not a few-shot base checkpoint (make one with 'eagle pretrain --save')")
    return loaded


def _archs(given: object, space: SearchSpace, *, measured: bool) -> np.ndarray | list[str]:
    """Archs from a file (a list of archs; with ``measured``, a measurement file: seed pickle, CSV,
    store) or given directly: indices of an enumerable space, else keys."""
    if isinstance(given, (str, Path)):
        if measured:
            from eagle import datasets

            keys, _ = datasets.load_measurement(str(given), space=space.name).items("s")
        else:
            from eagle.measurement.archs import select_keys

            keys = select_keys(str(given), 0, space)
    elif isinstance(given, (list, tuple, np.ndarray)):
        keys = space.keys(given)
    else:
        raise UsageError(f"archs: a file or a list of archs, got {type(given).__name__}")
    return space.indices(keys) if space.enumerable else list(keys)
