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
from typing import IO, TYPE_CHECKING, Any

import numpy as np

from eagle.errors import EagleError, UsageError
from eagle.workflows.checks import whole_numbers

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
        whole_numbers(self, (("k", 1), ("below", 1)))
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
    #: the files it was chosen from (candidates, given, base): never written over
    inputs: tuple[Path, ...] = ()

    def __repr__(self) -> str:
        shown = ", ".join(self.keys[:3]) + (", ..." if len(self.keys) > 3 else "")
        given = f", after {self.given} measured" if self.given else ""
        return f"Selection({len(self.keys)} {self.space.name} archs{given}: {shown})"

    def write(self, path: str | Path) -> None:
        """A CSV with an ``arch`` column (what ``eagle measure --archs`` reads); never onto one of
        the files the archs were chosen from."""
        from eagle.fileio import refuse_overwriting

        refuse_overwriting(Path(path), self.inputs)
        write_arch_csv(Path(path), self.keys)


def write_arch_csv(path: Path, keys: list[str]) -> None:
    """A CSV with an ``arch`` column, one key per row, quoted where a key holds a comma."""
    import csv

    from eagle.fileio import atomic_write_text

    def write(fh: IO[str]) -> None:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["arch"])
        w.writerows([k] for k in keys)

    atomic_write_text(path, write)


def select(spec: SelectSpec) -> Selection:
    """The archs to measure on a new device, in order (:class:`SelectSpec`): a greedy Bayesian
    design over the base's model of devices (:func:`eagle.fewshot.select_archs`), deterministic
    for the same base, candidates and given archs."""
    from eagle import spaces
    from eagle.fewshot import select_archs

    spaces.allow(spec.space)
    base = load_base(spec.base) if spec.base is not None else None  # pretrained after the inputs are read
    space = spaces.resolve(base.space if base is not None else spec.space)
    if base is not None and spec.space and spaces.get(spec.space) is not space:
        raise EagleError(f"the base is a {space.name} base, not {spec.space}")
    candidates: Any = _archs(spec.candidates, space, measured=False) if spec.candidates is not None else None
    if spec.below is not None:
        if not space.enumerable:
            raise UsageError("below takes arch indices; give the candidates of a large space instead")
        below = np.arange(min(spec.below, int(space.size or 0)))
        candidates = below if candidates is None else candidates[candidates < spec.below]
    given = _archs(spec.given, space, measured=True) if spec.given is not None else None
    if base is None:
        base = load_base(None, space.name)
    archs = select_archs(base, spec.k, candidates=candidates, criterion=spec.criterion, given=given)
    keys = [a if isinstance(a, str) else space.arch_at(int(a)) for a in archs]
    indices = np.asarray([int(a) for a in archs], dtype=np.int64) if space.enumerable else None
    inputs = tuple(Path(p) for p in (spec.candidates, spec.given, spec.base) if isinstance(p, (str, Path)))
    return Selection(space, keys, indices, 0 if given is None else len(given), tuple(p for p in inputs if p.exists()))


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
        what = "given" if measured else "candidates"
        if Path(given).exists() and not Path(given).is_file():
            raise UsageError(f"{what}: {given} is not a regular file (a folder, a FIFO, ...)")
        if not Path(given).exists() and not (measured and str(given) in _dataset_names()):
            raise UsageError(
                f"{what}: {given}: no such file" + ("" if measured else " (a CSV 'arch' column, or one per line)")
            )
        if measured:
            from eagle import datasets

            keys, _ = datasets.load_measurement(str(given), space=space.name).items("s")
        else:
            from eagle.measurement.archs import select_keys

            keys = select_keys(str(given), 0, space)
    elif isinstance(given, (list, tuple, np.ndarray)):
        if isinstance(given, np.ndarray) and given.ndim != 1:
            raise UsageError(f"archs: a flat list of archs, got an array of shape {given.shape}")
        keys = list(dict.fromkeys(space.keys(given)))  # each arch once, in the order given
    else:
        raise UsageError(f"archs: a file or a list of archs, got {type(given).__name__}")
    return space.indices(keys) if space.enumerable else list(keys)


def _dataset_names() -> list[str]:
    from eagle import datasets

    return datasets.names()
