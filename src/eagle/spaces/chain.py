"""Layer-wise search spaces (one op choice per layer, layers in a chain): the shared machinery.

FBNet, MobileNetV3-style spaces and the tests' toy space are chains: an arch is one choice per
layer, its key the choices joined by ``-``. This base class gives such a space everything but its
networks: parsing, enumeration by mixed radix (first layer slowest) where the space is small
enough, uniform sampling, the ``chain`` graph encoding (global node, input, one node per layer,
output; node features: the op one-hot, the space's own per-layer numbers, input/output/global
flags; global features: log MACs and params, and the one-hot of every choice) and per-layer op
counts (an additive per-layer cost model is a look-up table, as HW-NAS-Bench's are).

A subclass sets ``name``, ``choices`` (per layer, the op names allowed there), ``build_model``,
``input_shape``, and optionally ``absent_ops`` (ops that leave no node, e.g. a skipped block),
``layer_features`` and a faster ``costs``.
"""

from __future__ import annotations

import math
from functools import cached_property
from typing import ClassVar

import numpy as np

from eagle.errors import InvalidArchError, show
from eagle.spaces.base import Archs, Encoded, SearchSpace, distinct_sample

#: spaces with more archs than this are not enumerated
MAX_ENUMERABLE = 10_000_000


class ChainSpace(SearchSpace):
    """A chain of layers, one op per layer; see the module docstring."""

    #: per layer, the op names allowed there
    choices: ClassVar[tuple[tuple[str, ...], ...]] = ()
    #: ops that leave no node in the graph (data flows past them)
    absent_ops: ClassVar[frozenset[str]] = frozenset()
    separator: ClassVar[str] = "-"
    encodings: ClassVar[tuple[str, ...]] = ("chain", "onehot")

    def __init_subclass__(cls, **kw: object) -> None:
        super().__init_subclass__(**kw)
        if cls.choices:
            total = math.prod(len(c) for c in cls.choices)
            cls.size = total if total <= MAX_ENUMERABLE else None
            cls.op_vocabulary = tuple(f"{layer}:{op}" for layer, ops in enumerate(cls.choices) for op in ops)

    # -- arch strings -------------------------------------------------------------------------
    @cached_property
    def _ops(self) -> tuple[str, ...]:
        """Every op name of the space, in first-appearance order (node feature one-hot)."""
        seen: dict[str, None] = {}
        for ops in self.choices:
            for op in ops:
                seen.setdefault(op, None)
        return tuple(seen)

    def _example(self) -> str:
        return self.separator.join(ops[0] for ops in self.choices)

    def choice_ids(self, arch: object) -> tuple[int, ...]:
        """Per layer, the position of the arch's op among that layer's choices."""
        if isinstance(arch, int | np.integer) and not isinstance(arch, bool):
            return self.choice_ids(self.arch_at(int(arch)))
        if not isinstance(arch, str):
            raise InvalidArchError(
                f"a {self.name} arch is a string of {len(self.choices)} ops joined by {self.separator!r}, "
                f"got {type(arch).__name__} {show(arch)}"
            )
        parts = arch.strip().split(self.separator)
        if len(parts) != len(self.choices):
            raise InvalidArchError(
                f"a {self.name} arch has {len(self.choices)} ops joined by {self.separator!r} "
                f"(e.g. {self._example()}), got {len(parts)} in {show(arch)}"
            )
        out = []
        for layer, (op, allowed) in enumerate(zip(parts, self.choices)):
            if op not in allowed:
                raise InvalidArchError(
                    f"{self.name} layer {layer} cannot be {show(op)}; choose one of {', '.join(allowed)}"
                )
            out.append(allowed.index(op))
        return tuple(out)

    def parse(self, arch: object) -> str:
        ids = self.choice_ids(arch)
        return self.separator.join(ops[i] for ops, i in zip(self.choices, ids))

    def _index(self, key: str) -> int:
        index = 0
        for ops, i in zip(self.choices, self.choice_ids(key)):
            index = index * len(ops) + i
        return index

    def _arch_at(self, index: int) -> str:
        ids = []
        for ops in reversed(self.choices):
            index, i = divmod(index, len(ops))
            ids.append(i)
        return self.separator.join(ops[i] for ops, i in zip(self.choices, reversed(ids)))

    def sample(self, n: int, rng: np.random.Generator) -> list[str]:
        if self.size is not None:
            return [self._arch_at(int(i)) for i in distinct_sample(n, self.size, rng)]
        out: dict[str, None] = {}
        while len(out) < n:
            out.setdefault(self.separator.join(ops[int(rng.integers(len(ops)))] for ops in self.choices), None)
        return list(out)

    def mutate(self, arch: object, rng: np.random.Generator) -> str:
        ids = list(self.choice_ids(arch))
        changeable = [i for i, ops in enumerate(self.choices) if len(ops) > 1]
        layer = changeable[int(rng.integers(len(changeable)))]
        ids[layer] = int(rng.choice([i for i in range(len(self.choices[layer])) if i != ids[layer]]))
        return self.separator.join(ops[i] for ops, i in zip(self.choices, ids))

    # -- encodings ------------------------------------------------------------------------------
    def layer_features(self, layer: int, op: str) -> tuple[float, ...]:
        """Extra numbers for a layer's node (stage, stride, width...); none by default."""
        return ()

    def _ids(self, archs: Archs) -> np.ndarray:
        if self.size is not None:
            idx = self.indices(archs)
            return np.array([self.choice_ids(self._arch_at(int(i))) for i in idx], dtype=np.int64).reshape(
                len(idx), len(self.choices)
            )
        return np.array([self.choice_ids(a) for a in archs], dtype=np.int64).reshape(-1, len(self.choices))

    def onehot(self, archs: Archs) -> np.ndarray:
        """(n, sum of choices) one-hot of every layer's choice."""
        return self._onehot_of(self._ids(archs))

    def _onehot_of(self, ids: np.ndarray) -> np.ndarray:
        """:meth:`onehot` of archs already read into choice ids (:meth:`_ids`)."""
        offsets = np.cumsum([0] + [len(c) for c in self.choices[:-1]])
        out = np.zeros((len(ids), sum(len(c) for c in self.choices)))
        rows = np.arange(len(ids))[:, None]
        out[rows, ids + offsets] = 1.0
        return out

    def op_counts(self, archs: Archs) -> np.ndarray:
        return self.onehot(archs)

    @cached_property
    def _node_table(self) -> tuple[np.ndarray, np.ndarray]:
        """Per (layer, choice): the layer node's features (op one-hot, the space's layer numbers,
        after the three flag columns) and whether the op leaves no node (:attr:`absent_ops`)."""
        extra = len(self.layer_features(0, self.choices[0][0]))
        width = max(len(ops) for ops in self.choices)
        table = np.zeros((len(self.choices), width, 3 + len(self._ops) + extra), dtype=np.float32)
        absent = np.zeros((len(self.choices), width), dtype=bool)
        for layer, ops in enumerate(self.choices):
            for i, op in enumerate(ops):
                absent[layer, i] = op in self.absent_ops
                table[layer, i, 3 + self._ops.index(op)] = 1
                if extra:
                    table[layer, i, 3 + len(self._ops) :] = self.layer_features(layer, op)
        return table, absent

    def encode(self, archs: Archs, encoding: str | None = None) -> Encoded:
        enc = self.check_encoding(encoding)
        keys = self.keys(archs)
        ids = self._ids(keys)
        onehot = self._onehot_of(ids)
        costs = self.costs(keys)
        glob = np.hstack([np.log(costs[:, :1] + 1) / 20.0, np.log(costs[:, 1:] + 1) / 15.0, onehot]).astype(np.float32)
        table, absent = self._node_table
        n, n_layers = ids.shape
        n_nodes = n_layers + 3  # global, input, layers, output
        if enc == "onehot":
            return Encoded(np.zeros((n, 0, 0), np.float32), np.zeros((n, 0, table.shape[2]), np.float32), glob)
        layers = np.arange(n_layers)
        present = ~absent[layers, ids]  # (n, layers): the layers that leave a node
        feat = np.zeros((n, n_nodes, table.shape[2]), dtype=np.float32)
        feat[:, 2 : 2 + n_layers] = table[layers, ids] * present[:, :, None]
        feat[:, 0, 0] = feat[:, 1, 1] = feat[:, n_nodes - 1, 2] = 1
        return Encoded(chain_adjacency(present, tail=1), feat, glob)

    # -- costs ----------------------------------------------------------------------------------
    def costs(self, archs: Archs) -> np.ndarray:
        """MACs and parameters counted on the built network (cached per arch); override with formulas."""
        return np.array([self._built_costs(k) for k in self.keys(archs)], dtype=np.float64).reshape(-1, 2)

    def _built_costs(self, key: str) -> tuple[int, int]:
        cache: dict[str, tuple[int, int]] = self.__dict__.setdefault("_cost_cache", {})
        if key not in cache:
            from eagle.spaces.counting import count_macs_params

            model = self.build_model(key, calibrate=False)
            cache[key] = count_macs_params(model, (1, *self.input_shape(key)))
        return cache[key]


def chain_adjacency(present: np.ndarray, tail: int) -> np.ndarray:
    """(n, nodes, nodes) adjacency of chain graphs: node 0 global, node 1 the input, then one node
    per layer (``present``: (n, layers), False where a layer leaves no node), then ``tail`` nodes
    (head, output). Each node present follows the last present node before it; every node present
    has a self loop and an edge from the global node."""
    n, n_layers = present.shape
    n_nodes = 2 + n_layers + tail
    # the node each layer's node follows: the last present node before it (the input first)
    positions = np.where(present, np.arange(n_layers) + 2, 0)
    last = np.maximum.accumulate(np.hstack([np.ones((n, 1), np.int64), positions]), axis=1)
    rows, cols = np.nonzero(present)
    adj = np.zeros((n, n_nodes, n_nodes), dtype=np.float32)
    adj[rows, last[rows, cols], cols + 2] = 1
    adj[np.arange(n), last[:, -1], 2 + n_layers] = 1
    for node in range(2 + n_layers, n_nodes - 1):
        adj[:, node, node + 1] = 1
    nodes = np.ones((n, n_nodes), dtype=bool)
    nodes[:, 2 : 2 + n_layers] = present
    diagonal = np.arange(n_nodes)
    adj[:, diagonal, diagonal] = nodes
    adj[:, 0, :] = nodes
    return adj
