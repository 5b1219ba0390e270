"""A search space's bundled latency datasets as one ``{name: latency_s by arch index}`` table, for pretraining."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from eagle.errors import EagleError


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


def load_latency_table(
    specs: Iterable[str] | None = None, exclude: Iterable[str] = (), space: str | None = None
) -> tuple[str, dict[str, np.ndarray]]:
    """(space name, ``{dataset name: latency in seconds by arch index (NaN = not measured)}``).

    ``specs``: dataset names or files (default: every bundled latency dataset of ``space``, NB201
    when not given); with ``specs`` and no ``space`` the first dataset's space is used, and every
    dataset must share it. ``exclude``: names among them to leave out (an unknown name is an
    error, so a typo cannot leak a device).
    """
    from eagle import datasets

    names = list(specs) if specs else bundled_latency_datasets(space or "nasbench201")
    exclude = set(exclude)
    unknown = sorted(exclude - set(names))
    if unknown:
        raise EagleError(f"--exclude {', '.join(unknown)}: not among the pretraining datasets")
    table: dict[str, np.ndarray] = {}
    for spec in names:
        if spec in exclude:
            continue
        ds = datasets.load_measurement(spec)
        space = space or ds.space.name
        if ds.metric != "latency":
            raise EagleError(f"{ds.name} holds {ds.metric}, not latency: pretrain on latency datasets")
        if ds.space.name != space:
            raise EagleError(f"{ds.name} holds {ds.space.name} archs, not {space}: pretrain on one space's datasets")
        table[ds.name] = ds.by_index("s")
    return space or "nasbench201", table


def pretrain_base(
    specs: Iterable[str] | None = None,
    exclude: Iterable[str] = (),
    space: str | None = None,
    rank: int | None = None,
) -> Any:  # noqa: ANN401 - a DeviceBasis or an OpDeviceBasis (imported lazily)
    """The few-shot base of one space's latency datasets (default: every bundled one of ``space``,
    NB201 unless given): the enumerable basis, or per-op models for a space too large to enumerate."""
    from eagle import datasets, spaces
    from eagle.costmodels.basis import DEFAULT_RANK, pretrain
    from eagle.costmodels.op_basis import pretrain_ops

    rank = DEFAULT_RANK if rank is None else rank
    if space is None and specs:
        first = next(iter(specs))
        space = datasets.load_measurement(first).space.name
    sp = spaces.get(space or "nasbench201")
    if sp.enumerable:
        name, table = load_latency_table(specs, exclude, sp.name)
        return pretrain(table, space=name, rank=rank)
    names = list(specs) if specs else bundled_latency_datasets(sp.name)
    excluded = set(exclude)
    unknown = sorted(excluded - set(names))
    if unknown:
        raise EagleError(f"--exclude {', '.join(unknown)}: not among the pretraining datasets")
    items = {}
    for spec in names:
        if spec in excluded:
            continue
        ds = datasets.load_measurement(spec)
        if ds.metric != "latency" or ds.space is not sp:
            raise EagleError(f"{ds.name} is not a {sp.name} latency dataset: pretrain on one space's latency datasets")
        items[ds.name] = ds.items("s")
    return pretrain_ops(items, spaces.spec(sp), rank=rank)
