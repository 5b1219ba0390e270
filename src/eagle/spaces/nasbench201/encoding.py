"""NB201's arch encodings for predictors, computed once for all 15625 archs and cached.

* ``seed``: the seed's GCN input (9x9 adjacency with global node, 9x6 one-hot features).
* ``eagle``: the pruned cell graph *without* contracting skip connections (a skip edge is an
  elementwise add and a tensor read, which cost time), 9 nodes (global, input, 6 ops, output),
  8 one-hot node types, plus global features: log MACs, log params, and the count of live
  edges per op.
* ``onehot``: 6 edges x 5 ops.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from eagle.spaces.base import Encoded
from eagle.spaces.nasbench201.arch import EDGES, NUM_ARCHS, NUM_OPS, all_vectors
from eagle.spaces.nasbench201.cost import network_cost
from eagle.spaces.nasbench201.graph import live_edges, op_counts, seed_encoding

ENCODINGS = ("seed", "eagle", "onehot")
# eagle node types: 0 global, 1 input, 2 output, 3 conv1x1, 4 conv3x3, 5 avgpool, 6 skip
_OP_TYPE = {1: 6, 2: 3, 3: 4, 4: 5}
# op node k (1..6) = edge k-1; its inputs are the op nodes of edges ending at the edge's source
_EDGE_PRED = {
    k: [0] if EDGES[k - 1][0] == 0 else [j + 1 for j, (_, d) in enumerate(EDGES) if d == EDGES[k - 1][0]]
    for k in range(1, 7)
}


@lru_cache(maxsize=1)
def seed_tables() -> tuple[np.ndarray, np.ndarray]:
    """(A [15625, 9, 9], X [15625, 9, 6]) float32 by NB201 index."""
    adj = np.zeros((NUM_ARCHS, 9, 9), dtype=np.float32)
    feat = np.zeros((NUM_ARCHS, 9, 6), dtype=np.float32)
    for i, vec in enumerate(all_vectors()):
        a, x = seed_encoding(vec)
        adj[i], feat[i] = a, x
    return adj, feat


@lru_cache(maxsize=1)
def eagle_tables() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A [15625, 9, 9], X [15625, 9, 10], G [15625, 43]) float32 by NB201 index.

    Node 0 global, 1 input, 2..7 the op nodes of edges 0..5, 8 output. Every non-none edge is a
    node (dead ones too: some devices' datasets time the unpruned network), flagged live or
    dead; arcs follow data flow; every present node has a self loop and an arc from the global
    node. Node features: type one-hot (global, input, output, conv1x1, conv3x3, avgpool, skip),
    live flag, dead flag, and whether the node feeds the output. Global features: log MACs and
    params of the pruned and of the reference network, live and total op counts, the 30-d
    one-hot arch vector.
    """
    adj = np.zeros((NUM_ARCHS, 9, 9), dtype=np.float32)
    feat = np.zeros((NUM_ARCHS, 9, 10), dtype=np.float32)
    glob = np.zeros((NUM_ARCHS, 43), dtype=np.float32)
    onehot = onehot_table()
    counts = op_counts()
    # live and total count of each op (skip, 1x1, 3x3, pool), as a fraction of the 6 edges
    glob[:, 5:13] = np.hstack([counts["live-edges"][:, 1:], counts["all-edges"][:, 1:]]) / 6.0
    for i, vec in enumerate(all_vectors()):
        live = live_edges(vec)
        present = [op != 0 for op in vec]
        nodes = {0, 1, 8}
        for k in range(1, 7):
            if not present[k - 1]:
                continue
            node = k + 1
            nodes.add(node)
            for p in _EDGE_PRED[k]:
                if p == 0:
                    adj[i, 1, node] = 1
                elif present[p - 1]:
                    adj[i, p + 1, node] = 1
            if EDGES[k - 1][1] == 3:
                adj[i, node, 8] = 1
                feat[i, node, 9] = 1
            feat[i, node, _OP_TYPE[vec[k - 1]]] = 1
            feat[i, node, 7 if live[k - 1] else 8] = 1
        feat[i, 0, 0] = 1
        feat[i, 1, 1] = 1
        feat[i, 8, 2] = 1
        for n in nodes:
            adj[i, n, n] = 1
            adj[i, 0, n] = 1
        params, macs = network_cost(vec, deployed=True)  # the pruned network
        params_ref, macs_ref = network_cost(vec, deployed=False)
        glob[i, :5] = [
            np.log(macs + 1) / 20.0,
            np.log(params) / 15.0,
            np.log(macs_ref + 1) / 20.0,
            np.log(params_ref) / 15.0,
            sum(live) / 6.0,
        ]
        glob[i, 13:] = onehot[i]
    return adj, feat, glob


@lru_cache(maxsize=1)
def onehot_table() -> np.ndarray:
    """[15625, 30] float32 one-hot of the arch vector by NB201 index."""
    out = np.zeros((NUM_ARCHS, 6 * NUM_OPS), dtype=np.float32)
    for i, vec in enumerate(all_vectors()):
        for e, op in enumerate(vec):
            out[i, e * NUM_OPS + op] = 1
    return out


def encode(idx: np.ndarray, encoding: str) -> Encoded:
    """The rows ``idx`` (NB201 indices) of ``encoding``'s tables."""
    if encoding == "seed":
        adj, feat = seed_tables()
        return Encoded(adj[idx], feat[idx], np.zeros((len(idx), 0), dtype=np.float32))
    if encoding == "eagle":
        adj, feat, glob = eagle_tables()
        return Encoded(adj[idx], feat[idx], glob[idx])
    if encoding == "onehot":
        n = len(idx)
        return Encoded(np.zeros((n, 0, 0), np.float32), np.zeros((n, 0, 0), np.float32), onehot_table()[idx])
    raise ValueError(f"unknown NB201 encoding {encoding!r}")


@lru_cache(maxsize=1)
def live_op_table() -> np.ndarray:
    """[15625, 30] float64: 1 where an edge is live and runs that op (per-edge per-op counts)."""
    out = np.zeros((NUM_ARCHS, 6 * NUM_OPS))
    for i, vec in enumerate(all_vectors()):
        for e, (op, live) in enumerate(zip(vec, live_edges(vec))):
            if live:
                out[i, e * NUM_OPS + op] = 1
    out.setflags(write=False)
    return out
