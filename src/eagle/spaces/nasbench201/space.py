"""The NAS-Bench-201 search space as one object: enumeration, conversions, classes, costs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from eagle.spaces.nasbench201 import arch as _arch
from eagle.spaces.nasbench201 import graph as _graph
from eagle.spaces.nasbench201.cost import NetworkConfig, network_cost


@dataclass(frozen=True)
class _Tables:
    vectors: tuple[_arch.ArchVector, ...]  # NB201 index order
    valid: np.ndarray  # bool per index
    keys: tuple[str, ...]
    class_id: np.ndarray  # int per index, 0..num_classes-1 by first appearance in index order
    representative: np.ndarray  # NB201 index of each class's representative, per class id
    pruned_cost: np.ndarray  # (params, macs) of the pruned network per index, default config


@lru_cache(maxsize=1)
def _tables() -> _Tables:
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


class NASBench201:
    """NAS-Bench-201: 6 edges x 5 ops = 15625 cells, 15284 valid, 6466 computation classes.

    Every method taking ``arch`` accepts an arch_str, an NB201 index, an arch vector (or its
    text form) and raises :class:`eagle.errors.InvalidArchError` on anything else.
    """

    name = "nasbench201"
    ops = _arch.OPS
    edges = _arch.EDGES
    num_archs = _arch.NUM_ARCHS

    # -- conversions ------------------------------------------------------------------------
    def vector(self, arch: object) -> _arch.ArchVector:
        """The seed's arch vector."""
        return _arch.resolve(arch)

    def arch_str(self, arch: object) -> str:
        """NB201's arch_str."""
        return _arch.format_arch_str(self.vector(arch))

    def index(self, arch: object) -> int:
        """Official NB201 index."""
        return _arch.vector_to_index(self.vector(arch))

    def code(self, arch: object) -> int:
        """Position in the seed's enumeration order (base 5, first edge fastest)."""
        return _arch.vector_to_code(self.vector(arch))

    # -- enumeration ------------------------------------------------------------------------
    def archs(self, *, valid_only: bool = False) -> list[_arch.ArchVector]:
        """All arch vectors in NB201 index order (only valid ones with ``valid_only``)."""
        t = _tables()
        if valid_only:
            return [v for v, ok in zip(t.vectors, t.valid) if ok]
        return list(t.vectors)

    def valid_mask(self) -> np.ndarray:
        """Read-only bool array over NB201 indices: True where the cell is valid."""
        return _tables().valid

    # -- graph facts ------------------------------------------------------------------------
    def is_valid(self, arch: object) -> bool:
        """True when the cell output depends on its input."""
        return bool(_tables().valid[self.index(arch)])

    def live_edges(self, arch: object) -> tuple[bool, ...]:
        return _graph.live_edges(self.vector(arch))

    def canonical_key(self, arch: object) -> str:
        """NB201's computation-equivalence key (equal exactly within one of the 6466 classes)."""
        return _tables().keys[self.index(arch)]

    @property
    def num_classes(self) -> int:
        return len(_tables().representative)

    def canonical_class(self, arch: object) -> int:
        """Class id 0..6465, numbered by first appearance in NB201 index order."""
        return int(_tables().class_id[self.index(arch)])

    def class_ids(self) -> np.ndarray:
        """Read-only int array over NB201 indices: each arch's class id."""
        return _tables().class_id

    def representative(self, arch: object) -> _arch.ArchVector:
        """The vector of the class representative (cheapest member; ties: lowest index)."""
        t = _tables()
        return t.vectors[int(t.representative[t.class_id[self.index(arch)]])]

    def representatives(self, *, valid_only: bool = False) -> list[_arch.ArchVector]:
        """One representative per class, in class-id order."""
        t = _tables()
        reps = [t.vectors[int(i)] for i in t.representative]
        return [r for r in reps if t.valid[_arch.vector_to_index(r)]] if valid_only else reps

    def class_members(self, arch: object) -> list[_arch.ArchVector]:
        """All archs of ``arch``'s class, in NB201 index order."""
        t = _tables()
        cid = t.class_id[self.index(arch)]
        return [t.vectors[int(i)] for i in np.nonzero(t.class_id == cid)[0]]

    # -- encodings and costs ------------------------------------------------------------------
    def seed_encoding(self, arch: object) -> tuple[np.ndarray, np.ndarray]:
        """The seed's GCN graph: (adjacency 9x9, one-hot features 9x6), float64."""
        return _graph.seed_encoding(self.vector(arch))

    def graph8_encoding(self, arch: object) -> tuple[np.ndarray, np.ndarray]:
        """Fixed-size pruned DAG: (adjacency 8x8 uint8, node labels 8 int8)."""
        return _graph.graph8_encoding(self.vector(arch))

    def cost(self, arch: object, *, mode: str = "deployed", config: NetworkConfig | None = None) -> tuple[int, int]:
        """(parameters, MACs) of the built network in build ``mode`` (see :mod:`.builder`)."""
        vec = self.vector(arch)
        if mode == "deployed":
            vec = self.representative(vec)
        elif mode not in ("pruned", "reference"):
            raise ValueError(f"unknown build mode {mode!r}; valid modes: reference, pruned, deployed")
        return network_cost(vec, config, deployed=mode != "reference")

    def build_model(self, arch: object, num_classes: int = 10, **kwargs: Any) -> Any:
        """Build the PyTorch network (see :func:`eagle.spaces.nasbench201.builder.build_model`)."""
        from eagle.spaces.nasbench201.builder import build_model

        return build_model(arch, num_classes, **kwargs)

    def describe(self, arch: object) -> dict[str, Any]:
        """Every representation and fact of one arch, as a plain dict."""
        vec = self.vector(arch)
        params_ref, macs_ref = self.cost(vec, mode="reference")
        params_dep, macs_dep = self.cost(vec, mode="deployed")
        params_pr, macs_pr = self.cost(vec, mode="pruned")
        rep = self.representative(vec)
        return {
            "nb201_index": self.index(vec),
            "arch_str": self.arch_str(vec),
            "arch_vector": vec,
            "seed_code": self.code(vec),
            "valid": self.is_valid(vec),
            "canonical_class": self.canonical_class(vec),
            "canonical_key": self.canonical_key(vec),
            "class_size": len(self.class_members(vec)),
            "representative_index": self.index(rep),
            "representative_arch_str": self.arch_str(rep),
            "live_edges": self.live_edges(vec),
            "params_reference": params_ref,
            "params_pruned": params_pr,
            "params_deployed": params_dep,
            "macs_reference": macs_ref,
            "macs_pruned": macs_pr,
            "macs_deployed": macs_dep,
        }

    def table(self) -> list[dict[str, Any]]:
        """One row per arch in NB201 index order (the ``eagle space export`` columns)."""
        t = _tables()
        rows = []
        for idx, vec in enumerate(t.vectors):
            rep_idx = int(t.representative[t.class_id[idx]])
            rows.append(
                {
                    "nb201_index": idx,
                    "arch_str": _arch.format_arch_str(vec),
                    "arch_vector": str(vec),
                    "valid": bool(t.valid[idx]),
                    "canonical_class": int(t.class_id[idx]),
                    "params_reference": network_cost(vec, deployed=False)[0],
                    "params_deployed": int(t.pruned_cost[rep_idx, 0]),
                    "macs_deployed": int(t.pruned_cost[rep_idx, 1]),
                }
            )
        return rows


def arch_vectors(archs: Sequence[object]) -> list[_arch.ArchVector]:
    """Resolve many archs at once."""
    return [_arch.resolve(a) for a in archs]
