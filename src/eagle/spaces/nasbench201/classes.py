"""NB201's tables over all 15625 cells, computed once: validity, computation classes, costs.

Shared by the space object and the builder (which builds a class representative in ``deployed``
mode) without either importing the other.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from eagle.spaces.nasbench201 import arch as _arch
from eagle.spaces.nasbench201 import graph as _graph
from eagle.spaces.nasbench201.cost import network_cost


@dataclass(frozen=True)
class _Tables:
    vectors: tuple[_arch.ArchVector, ...]  # NB201 index order
    valid: np.ndarray  # bool per index
    keys: tuple[str, ...]
    class_id: np.ndarray  # int per index, 0..num_classes-1 by first appearance in index order
    representative: np.ndarray  # NB201 index of each class's representative, per class id
    pruned_cost: np.ndarray  # (params, macs) of the pruned network per index, default config


@lru_cache(maxsize=1)
def tables() -> _Tables:
    """The tables (read-only arrays), built on first use."""
    vectors = tuple(_arch.all_vectors())
    valid = np.array([_graph.is_valid(v) for v in vectors], dtype=bool)
    keys = tuple(_graph.canonical_key(v) for v in vectors)
    ids: dict[str, int] = {}
    class_id = np.array([ids.setdefault(k, len(ids)) for k in keys], dtype=np.int64)
    cost = np.array([network_cost(v, deployed=True) for v in vectors], dtype=np.int64)
    live = np.array([sum(_graph.live_edges(v)) for v in vectors], dtype=np.int64)
    # Representative: the cheapest member (MACs, then params, then live edges), then lowest index.
    order = np.lexsort((np.arange(len(vectors)), live, cost[:, 0], cost[:, 1], class_id))
    first = np.ones(len(order), dtype=bool)
    first[1:] = class_id[order][1:] != class_id[order][:-1]
    representative = np.empty(len(ids), dtype=np.int64)
    representative[class_id[order][first]] = order[first]
    for arr in (valid, class_id, representative, cost):
        arr.setflags(write=False)
    return _Tables(vectors, valid, keys, class_id, representative, cost)


def representative_vector(vector: _arch.ArchVector) -> _arch.ArchVector:
    """The vector of the class representative of ``vector`` (cheapest member; ties: lowest index)."""
    t = tables()
    return t.vectors[int(t.representative[t.class_id[_arch.vector_to_index(vector)]])]
