"""What other devices say about each arch: features learned from the bundled latency datasets.

Eagle's default GCN appends, to each arch's graph features, its row of the rank-r device basis of
:mod:`eagle.fewshot` (an SVD of the arch x device log-latency matrix of every bundled dataset).
Those r numbers summarise how the arch ranks on ~30 other devices: effects that the cell graph
alone does not show (measured: +0.006 mean Spearman over the 25 shared devices, up to +0.04 on
the Snapdragon phones; ``BENCHMARKS.md``).

A bundled dataset that holds the training data itself (the same latencies, in any unit) is left
out automatically, so a predictor trained and evaluated on a bundled device never sees its own
held-out measurements through the features. Relatives (another batch size of the same GPU) stay
in unless named in ``exclude``: for a user they are genuine prior knowledge.
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache

import numpy as np

from eagle.errors import EagleError
from eagle.spaces.base import Archs, SearchSpace

#: a bundled dataset whose log latency differs from the training targets by a constant with a
#: spread below this is the same data (unit conversions and rounding stay far below it)
SAME_DATA_LOG_STD = 1e-3


def same_data(train_idx: np.ndarray, train_y: np.ndarray, table: dict[str, np.ndarray]) -> list[str]:
    """Names in ``table`` whose values on ``train_idx`` are ``train_y`` up to a unit factor."""
    out = []
    for name, values in table.items():
        v = values[train_idx]
        ok = np.isfinite(v) & (v > 0) & (train_y > 0)
        if ok.sum() >= max(2, len(train_idx) // 2):
            if np.std(np.log(train_y[ok]) - np.log(v[ok])) < SAME_DATA_LOG_STD:
                out.append(name)
    return out


@lru_cache(maxsize=4)
def bundled_table(space: str = "nasbench201") -> dict[str, np.ndarray]:
    """Every bundled latency dataset of ``space``, read once per process (arrays read-only: shared)."""
    from eagle.costmodels.bundled import latency_table

    table = latency_table(space=space)
    for values in table.values():
        values.setflags(write=False)
    return table


@lru_cache(maxsize=8)
def _features(space: str, excluded: frozenset[str], rank: int) -> tuple[np.ndarray, tuple[str, ...]]:
    from eagle.costmodels.basis import pretrain

    table = {n: v for n, v in bundled_table(space).items() if n not in excluded}
    basis = pretrain(table, rank=rank, analytic=False, space=space)
    f = basis.features
    scale = f[basis.covered].std(axis=0)
    f = (f / np.where(scale > 0, scale, 1.0)).astype(np.float32)
    f.setflags(write=False)  # shared between predictors through the cache
    return f, tuple(basis.devices)


def prior_features(
    space: SearchSpace,
    rank: int,
    exclude: Iterable[str] = (),
    train_archs: Archs | None = None,
    train_y: np.ndarray | None = None,
) -> tuple[np.ndarray, list[str]] | None:
    """(features [space size, rank] float32, names of the datasets they were learned from), or
    None when ``space`` has no bundled latency datasets (or is not enumerable).

    ``exclude``: bundled dataset names to leave out (e.g. the device under test and its
    relatives, for a strict benchmark); datasets equal to (``train_archs``, ``train_y``) are left
    out as well.
    """
    if not space.enumerable:
        return None
    table = bundled_table(space.name)
    if not table:
        return None
    names = set(table)
    excluded = set(exclude)
    unknown = sorted(excluded - names)
    if unknown:
        raise EagleError(f"prior_exclude: {', '.join(unknown)} are not bundled latency datasets")
    if train_archs is not None and train_y is not None:
        train_idx = space.indices(train_archs)
        excluded |= set(same_data(train_idx, np.asarray(train_y, dtype=np.float64), table))
    if len(names - excluded) < 2:
        raise EagleError("the arch prior needs at least 2 bundled latency datasets that are not excluded")
    features, devices = _features(space.name, frozenset(excluded), int(rank))
    return features, list(devices)
