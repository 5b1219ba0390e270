"""The NAS-Bench-201 search space as one object: enumeration, conversions, classes, costs."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import TYPE_CHECKING, Any

import numpy as np

from eagle.errors import UsageError
from eagle.spaces.base import Archs, Encoded, SearchSpace, distinct_sample
from eagle.spaces.nasbench201 import arch as _arch
from eagle.spaces.nasbench201 import graph as _graph
from eagle.spaces.nasbench201.classes import tables as _tables
from eagle.spaces.nasbench201.cost import NetworkConfig, network_cost

if TYPE_CHECKING:
    from torch import nn


class NASBench201(SearchSpace):
    """NAS-Bench-201: 6 edges x 5 ops = 15625 cells, 15284 valid, 6466 computation classes.

    Every method taking ``arch`` accepts an arch_str, an NB201 index, an arch vector (or its
    text form) and raises :class:`eagle.errors.InvalidArchError` on anything else. The key
    (:meth:`parse`) is NB201's arch_str; the index is the official NB201 index; ``canonical``
    is the arch_str of the computation class's representative.
    """

    name = "nasbench201"
    size = _arch.NUM_ARCHS
    encodings = ("eagle", "seed", "onehot")
    #: per-op cost models count live edges of each op (see :mod:`eagle.costmodels.opcost`)
    op_vocabulary = tuple(f"edge{e}:{op}" for e in range(6) for op in _arch.OPS)
    ops = _arch.OPS
    edges = _arch.EDGES
    num_archs = _arch.NUM_ARCHS

    # -- the SearchSpace contract ----------------------------------------------------------------
    def parse(self, arch: object) -> str:
        return _arch.format_arch_str(self.vector(arch))

    def canonical(self, arch: object) -> str:
        return _arch.format_arch_str(self.representative(arch))

    def _index(self, key: str) -> int:
        return self.index(key)

    def _arch_at(self, index: int) -> str:
        return _arch.format_arch_str(_tables().vectors[index])

    def sample(self, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` distinct valid (connected) cells."""
        return [self._arch_at(int(i)) for i in distinct_sample(n, self.num_archs, rng, _tables().valid)]

    def mutate(self, arch: object, rng: np.random.Generator) -> str:
        """One edge's op replaced by another op (uniformly)."""
        vec = list(self.vector(arch))
        edge = int(rng.integers(6))
        vec[edge] = int(rng.choice([op for op in range(5) if op != vec[edge]]))
        return _arch.format_arch_str(vec)

    def input_shape(self, arch: object | None = None, **network: object) -> tuple[int, ...]:
        size = network.get("input_size", (32, 32))
        return (3, *(int(v) for v in size))  # type: ignore[attr-defined]

    def network_defaults(self) -> dict[str, object]:
        """The seed's ``model:`` keys (see :class:`NetworkConfig`) and the calibration batch."""
        return {
            "num_classes": 10,
            "cells_count": 5,
            "stacks_count": 3,
            "channels": 16,
            "input_size": (32, 32),
            "calibration_batch": 4,
        }

    def network_config(self, overrides: dict[str, object] | None = None) -> dict[str, object]:
        """The build config, its network part validated by :class:`NetworkConfig` (one network type)."""
        cfg = super().network_config(overrides)
        size = cfg["input_size"]
        if not isinstance(size, list | tuple) or len(size) != 2:
            raise UsageError(f"input_size must be (height, width), got {size!r}")
        fields = {k: cfg[k] for k in ("num_classes", "cells_count", "stacks_count", "channels")}
        try:
            NetworkConfig(**fields, input_size=(int(size[0]), int(size[1])))  # type: ignore[arg-type]
        except (TypeError, ValueError) as exc:
            raise UsageError(f"NB201 network: {exc}") from None
        batch = cfg["calibration_batch"]
        if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
            raise UsageError(f"calibration_batch must be a whole number >= 1, got {batch!r}")
        return cfg

    def build_for_measurement(self, arch: object, network: dict[str, object], *, seed: int = 0) -> nn.Module:
        """The pruned network (dead edges removed) of ``arch`` itself: a sweep deduplicates to
        class representatives before it gets here, unless asked not to."""
        from eagle.spaces.nasbench201.builder import build_model

        net = dict(network)
        size = net.pop("input_size", (32, 32))
        return build_model(arch, mode="pruned", seed=seed, input_size=tuple(size), **net)  # type: ignore[arg-type]

    def costs(self, archs: Archs) -> np.ndarray:
        """MACs and parameters of the arch's pruned network (live edges only), default config."""
        return _tables().pruned_cost[self.indices(archs)][:, ::-1].astype(np.float64)

    def encode(self, archs: Archs, encoding: str | None = None) -> Encoded:
        """``eagle`` (default), ``seed`` (the seed's 9-node graph) or ``onehot`` (globals only)."""
        from eagle.spaces.nasbench201.encoding import encode

        return encode(self.indices(archs), self.check_encoding(encoding))

    def op_counts(self, archs: Archs) -> np.ndarray:
        """Per edge and op: 1 where the edge is live and runs that op (30 columns)."""
        from eagle.spaces.nasbench201.encoding import live_op_table

        return live_op_table()[self.indices(archs)]

    def features(self, archs: Archs) -> np.ndarray:
        """The 30-d one-hot arch vector (every edge, live or not)."""
        from eagle.spaces.nasbench201.encoding import onehot_table

        return onehot_table()[self.indices(archs)].astype(np.float64)

    def graph_features(self, archs: Archs) -> np.ndarray:
        """Neural graph features (GRAF-style, Kadlecová et al. 2024) of the cell: over its four
        input-to-output paths (0-3, 0-1-3, 0-2-3, 0-1-2-3), the number of live paths (no ``none``
        edge), per op the number of live paths using it, the most and fewest convolutions on a live
        path, whether a live path has no convolution (a shortcut), and the 3x3 convolutions summed
        over the live paths (9 columns, from a table of all 15625 archs)."""
        return _graph_feature_table()[self.indices(archs)]

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

    def build_model(self, arch: object, *, seed: int = 0, **network: object) -> nn.Module:
        """Build the PyTorch network (see :func:`eagle.spaces.nasbench201.builder.build_model`)."""
        from eagle.spaces.nasbench201.builder import build_model

        return build_model(arch, seed=seed, **network)  # type: ignore[arg-type]  # checked by the builder

    def reference_archs(self) -> list[str]:
        """A light, a medium and a heavy cell (one 1x1 convolution per path .. 3x3 everywhere)."""
        return [
            "|nor_conv_1x1~0|+|skip_connect~0|nor_conv_1x1~1|+|skip_connect~0|skip_connect~1|nor_conv_1x1~2|",
            "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|nor_conv_1x1~2|",
            "|nor_conv_3x3~0|+|nor_conv_3x3~0|nor_conv_3x3~1|+|nor_conv_3x3~0|nor_conv_3x3~1|nor_conv_3x3~2|",
        ]

    def proxy_network(self, arch: object, *, seed: int = 0) -> nn.Module:
        """The cell's live edges as NB201 trains them (dead edges never reach the output), its
        default initialisation: no activation calibration."""
        return self.build_model(arch, seed=seed, mode="pruned", calibrate=False)

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


_PATHS = ((3,), (0, 4), (1, 5), (0, 2, 5))  # edge positions (0->1, 0->2, 1->2, 0->3, 1->3, 2->3) of each path


@cache
def _graph_feature_table() -> np.ndarray:
    from eagle.spaces.nasbench201.arch import NUM_ARCHS, index_to_vector

    out = np.zeros((NUM_ARCHS, 9))
    for i in range(NUM_ARCHS):
        v = index_to_vector(i)
        live = [p for p in _PATHS if all(v[e] != 0 for e in p)]
        convs = [sum(v[e] in (2, 3) for e in p) for p in live]
        row = [len(live)]
        row += [sum(any(v[e] == op for e in p) for p in live) for op in (1, 2, 3, 4)]  # skip, conv1x1, conv3x3, pool
        row += [max(convs, default=0), min(convs, default=0), int(any(c == 0 for c in convs))]
        row += [sum(v[e] == 3 for p in live for e in p)]  # 3x3 convolutions counted once per path through them
        out[i] = row
    out.setflags(write=False)
    return out
