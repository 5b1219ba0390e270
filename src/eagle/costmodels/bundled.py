"""The bundled latency datasets as one ``{name: latency_s by NB201 index}`` table, for pretraining."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from eagle.errors import EagleError


def bundled_latency_datasets() -> list[str]:
    """Names of every latency dataset that ships with Eagle (the seed's, HELP's, ours)."""
    from eagle.datasets.catalog import bundled_catalog

    return [n for n, meta in bundled_catalog().items() if meta.get("metric") == "latency"]


def latency_table(specs: Iterable[str] | None = None, exclude: Iterable[str] = ()) -> dict[str, np.ndarray]:
    """``{dataset name: latency in seconds by NB201 index (NaN = not measured)}``.

    ``specs``: dataset names or files (default: every bundled latency dataset); ``exclude``:
    names among them to leave out (an unknown name is an error, so a typo cannot leak a device).
    """
    from eagle import datasets

    names = list(specs) if specs else bundled_latency_datasets()
    exclude = set(exclude)
    unknown = sorted(exclude - set(names))
    if unknown:
        raise EagleError(f"--exclude {', '.join(unknown)}: not among the pretraining datasets")
    table: dict[str, np.ndarray] = {}
    for spec in names:
        if spec in exclude:
            continue
        ds = datasets.load_measurement(spec)
        if ds.metric != "latency":
            raise EagleError(f"{ds.name} holds {ds.metric}, not latency: pretrain on latency datasets")
        table[ds.name] = ds.by_index("s")
    return table
