"""Graph facts of NB201 cells: validity, live edges, computation classes and the seed's encodings.

* A cell is **valid** when some path of non-``none`` edges joins the cell input (node 0) to its
  output (node 3); the 341 others are "disconnected" and compute a constant zero.
* An edge is **live** when it is not ``none`` and lies on such an input->output path; only live
  edges are built in the deployed network.
* The **canonical key** reproduces NB201's own partition of the 15625 cells into 6466
  computation-equivalent classes (NB201's ``Structure.to_unique_str(consider_zero=True)``):
  each node is the sorted sum of its inputs' expressions, ``skip_connect`` passes its input's
  expression through, ``none`` (or an op on a zero input) is the zero term ``#``.
* :func:`op_counts`: how many of each op every cell has, on all its edges and on its live ones.
* :func:`seed_encoding` is the seed's predictor graph (9x9 adjacency, 9x6 one-hot features)
  exactly as the seed's ``get_matrix_and_ops`` + ``get_adjacency_and_features`` build it;
  :func:`graph8_encoding` is the same pruned DAG without the global node, fixed at 8 nodes.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

import numpy as np

from eagle.spaces.nasbench201.arch import (
    AVGPOOL,
    CONV1X1,
    CONV3X3,
    EDGES,
    NONE,
    NUM_NODES,
    OPS,
    SKIP,
    all_vectors,
    check_vector,
)

ZERO_TERM = "#"


def reachable_nodes(vector: Sequence[int]) -> tuple[set[int], set[int]]:
    """(nodes reachable from the input, nodes that reach the output) over non-none edges."""
    v = check_vector(vector)
    fwd = {0}
    for (src, dst), op in zip(EDGES, v):  # EDGES are in topological order of their targets
        if op != NONE and src in fwd:
            fwd.add(dst)
    bwd = {NUM_NODES - 1}
    for (src, dst), op in sorted(zip(EDGES, v), key=lambda e: -e[0][1]):
        if op != NONE and dst in bwd:
            bwd.add(src)
    return fwd, bwd


def is_valid(vector: Sequence[int]) -> bool:
    """True when the cell output depends on its input (a path of non-none edges joins them)."""
    fwd, _ = reachable_nodes(vector)
    return NUM_NODES - 1 in fwd


def live_edges(vector: Sequence[int]) -> tuple[bool, ...]:
    """Per edge: True when the edge is not none and lies on an input->output path."""
    v = check_vector(vector)
    fwd, bwd = reachable_nodes(v)
    return tuple(op != NONE and src in fwd and dst in bwd for (src, dst), op in zip(EDGES, v))


def canonical_key(vector: Sequence[int]) -> str:
    """NB201's computation-equivalence key (``to_unique_str(consider_zero=True)``)."""
    v = check_vector(vector)
    nodes = {0: "0"}
    for node in range(1, NUM_NODES):
        terms = []
        for (src, dst), op in zip(EDGES, v):
            if dst != node:
                continue
            if op == NONE or nodes[src] == ZERO_TERM:
                terms.append(ZERO_TERM)
            elif op == SKIP:
                terms.append(nodes[src])
            else:
                terms.append(f"({nodes[src]})@{OPS[op]}")
        # NB201 keeps every zero term ("#+#" is not collapsed to "#"): that quirk is part of
        # the official 6466-class partition, so it is reproduced as is.
        nodes[node] = "+".join(sorted(terms))
    return nodes[NUM_NODES - 1]


# ---------------------------------------------------------------------------------------------
# The seed's predictor graph
# ---------------------------------------------------------------------------------------------

#: 8-node DAG of the seed: 0 input, 1..6 the edges' ops (node k = edge k-1), 7 output.
_SEED_BASE_ARCS = ((0, 1), (0, 2), (0, 4), (1, 3), (1, 5), (2, 6), (3, 6), (4, 7), (5, 7), (6, 7))
SEED_FEATURE_COLUMN = {CONV1X1: 0, CONV3X3: 1, AVGPOOL: 2}
SEED_INPUT_COLUMN, SEED_OUTPUT_COLUMN, SEED_GLOBAL_COLUMN = 3, 4, 5


def seed_pruned_graph(vector: Sequence[int]) -> tuple[np.ndarray, list[int | None]]:
    """The seed's pruned 8x8 DAG and node labels (``"input"``/``"output"`` as -1/-2, ops by id).

    Labels: index 0 -> -1 (input), 7 -> -2 (output), op nodes -> op id, pruned nodes -> None.
    """
    v = check_vector(vector)
    m = np.zeros((8, 8), dtype=np.int64)
    for s, d in _SEED_BASE_ARCS:
        m[s, d] = 1
    labels: list[int | None] = [-1, *v, -2]
    for k in range(1, 7):
        op = v[k - 1]
        if op == NONE:
            m[k, :] = 0
            m[:, k] = 0
        elif op == SKIP:
            preds = [p for p in range(8) if m[p, k]]
            succs = [s for s in range(8) if m[k, s]]
            for p in preds:
                for s in succs:
                    m[p, s] = 1
                    m[p, k] = 0
                    m[k, s] = 0
    # prune: keep nodes reachable from input and reaching output
    fwd = {0}
    for node in range(8):  # nodes are topologically ordered
        if node in fwd:
            fwd.update(int(s) for s in np.nonzero(m[node])[0])
    bwd = {7}
    for node in range(7, -1, -1):
        if node in bwd:
            bwd.update(int(p) for p in np.nonzero(m[:, node])[0])
    keep = fwd & bwd
    for node in range(8):
        if node not in keep:
            m[node, :] = 0
            m[:, node] = 0
            labels[node] = None
    for k in range(1, 7):  # skip/none nodes carry no label after contraction
        if labels[k] in (NONE, SKIP):
            labels[k] = None
    return m, labels


def seed_encoding(vector: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The seed's GCN input: (adjacency 9x9, features 9x6), float64, global node first."""
    m, labels = seed_pruned_graph(vector)
    adj = np.zeros((9, 9), dtype=np.float64)
    adj[1:, 1:] = m
    adj[0, 1:] = 1
    np.fill_diagonal(adj, 1)
    feats = np.zeros((9, 6), dtype=np.float64)
    feats[0, SEED_GLOBAL_COLUMN] = 1
    for node, lab in enumerate(labels):
        if lab is None:
            continue
        col = {-1: SEED_INPUT_COLUMN, -2: SEED_OUTPUT_COLUMN}.get(lab, SEED_FEATURE_COLUMN.get(lab))
        if col is not None:
            feats[node + 1, col] = 1
    return adj, feats


def graph8_encoding(vector: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """Fixed-size pruned DAG without the global node: (adjacency 8x8 uint8, op labels 8 int8).

    Labels: 0 pruned/empty, 1 input, 2 output, 3 nor_conv_1x1, 4 nor_conv_3x3, 5 avg_pool_3x3.
    Stacks directly into batches ``(B, 8, 8)`` / ``(B, 8)``.
    """
    m, labels = seed_pruned_graph(vector)
    code = {None: 0, -1: 1, -2: 2, CONV1X1: 3, CONV3X3: 4, AVGPOOL: 5}
    return m.astype(np.uint8), np.array([code[lab] for lab in labels], dtype=np.int8)


@lru_cache(maxsize=1)
def op_counts() -> dict[str, np.ndarray]:
    """``{"all-edges" | "live-edges": (15625, 5) count of each op id}`` per NB201 index (read-only).

    ``all-edges`` counts every edge of the cell (what a runtime that keeps dead branches runs),
    ``live-edges`` only the edges on an input->output path (the pruned, deployed cell).
    """
    vectors = all_vectors()
    every = np.zeros((len(vectors), len(OPS)))
    live = np.zeros((len(vectors), len(OPS)))
    for i, vec in enumerate(vectors):
        for op, alive in zip(vec, live_edges(vec)):
            every[i, op] += 1
            live[i, op] += alive
    for values in (every, live):
        values.setflags(write=False)
    return {"all-edges": every, "live-edges": live}
