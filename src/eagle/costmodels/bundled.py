"""A search space's bundled latency datasets as one ``{name: latency_s by arch index}`` table, for pretraining."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import numpy as np

from eagle.errors import EagleError

if TYPE_CHECKING:
    from eagle.costmodels.basis import DeviceBasis
    from eagle.costmodels.op_basis import OpDeviceBasis


def bundled_latency_datasets(space: str = "nasbench201") -> list[str]:
    """Names of every latency dataset of ``space`` that ships with Eagle (the seed's, HELP's, ours)."""
    from eagle.datasets.catalog import bundled_catalog

    return [
        n
        for n, meta in bundled_catalog().items()
        if meta.get("metric") == "latency" and meta.get("space", "nasbench201") == space
    ]


def latency_table(
    specs: Iterable[str] | None = None, exclude: Iterable[str] = (), space: str | None = None
) -> dict[str, np.ndarray]:
    """``{dataset name: latency in seconds by arch index of ``space`` (NaN = not measured)}``."""
    return load_latency_table(specs, exclude, space)[1]


def latency_datasets(
    specs: Iterable[str] | None = None, exclude: Iterable[str] = (), space: str | None = None
) -> tuple[str, list[Any]]:
    """(space name, the latency datasets to pretrain on), every one of that space.

    ``specs``: dataset names or files (default: every bundled latency dataset of ``space``, NB201
    when not given); with ``specs`` and no ``space`` the first dataset's space is used, and every
    dataset must share it. ``exclude``: names among them to leave out (an unknown name is an
    error, so a typo cannot leak a device).
    """
    from eagle import datasets, spaces

    space = spaces.ALIASES.get(space, space) if space else None  # an alias names its space
    names = list(specs) if specs else bundled_latency_datasets(space or "nasbench201")
    exclude = set(exclude)
    unknown = sorted(exclude - set(names))
    if unknown:
        raise EagleError(f"--exclude {', '.join(unknown)}: not among the pretraining datasets")
    loaded = []
    for spec in names:
        if spec in exclude:
            continue
        ds = datasets.load_measurement(spec)
        space = space or ds.space.name
        if ds.metric != "latency":
            raise EagleError(f"{ds.name} holds {ds.metric}, not latency: pretrain on latency datasets")
        if ds.space.name != space:
            raise EagleError(f"{ds.name} holds {ds.space.name} archs, not {space}: pretrain on one space's datasets")
        loaded.append(ds)
    return space or "nasbench201", loaded


def load_latency_table(
    specs: Iterable[str] | None = None, exclude: Iterable[str] = (), space: str | None = None
) -> tuple[str, dict[str, np.ndarray]]:
    """(space name, ``{dataset name: latency in seconds by arch index (NaN = not measured)}``) of
    :func:`latency_datasets`, for an enumerable space."""
    name, loaded = latency_datasets(specs, exclude, space)
    return name, {ds.name: ds.by_index("s") for ds in loaded}


def pretrain_base(
    specs: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    space: str | None = None,
    rank: int | None = None,
) -> DeviceBasis | OpDeviceBasis:
    """The few-shot base of one space's latency datasets (default: every bundled one of ``space``,
    NB201 unless given): the enumerable basis, or per-op models for a space too large to enumerate."""
    from eagle import spaces
    from eagle.costmodels.basis import DEFAULT_RANK, pretrain
    from eagle.costmodels.op_basis import pretrain_ops

    rank = DEFAULT_RANK if rank is None else rank
    name, loaded = latency_datasets(specs, exclude, space)
    sp = loaded[0].space if loaded else spaces.get(name)
    if sp.enumerable:
        return pretrain({ds.name: ds.by_index("s") for ds in loaded}, space=name, rank=rank)
    return pretrain_ops({ds.name: ds.items("s") for ds in loaded}, spaces.spec(sp), rank=rank)
