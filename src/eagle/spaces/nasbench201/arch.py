"""NAS-Bench-201 cells: ops, edges and the exact conversions between representations.

Representations of one architecture (all round-trip exactly for all 15625 cells):

* ``arch_str`` - NB201's string, e.g. ``|nor_conv_3x3~0|+|skip_connect~0|none~1|+|...|``;
* ``arch_vector`` - the seed's 6-tuple of op ids in arch_str edge order
  (edges 0->1, 0->2, 1->2, 0->3, 1->3, 2->3; ops none 0, skip_connect 1, nor_conv_1x1 2,
  nor_conv_3x3 3, avg_pool_3x3 4);
* ``nb201_index`` - the official NB201 / NATS-Bench topology index (0..15624);
* ``code`` - the seed's enumeration order: base-5 number of the vector, first element fastest.

The index order ships inside the package (``data/nb201_index.npy``, one uint16 code per index).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from importlib import resources

import numpy as np

from eagle.errors import InvalidArchError, show

OPS: tuple[str, ...] = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
OP_IDS: dict[str, int] = {op: i for i, op in enumerate(OPS)}
NONE, SKIP, CONV1X1, CONV3X3, AVGPOOL = range(5)

#: The six edges (source node, target node) in arch_str / arch_vector order.
EDGES: tuple[tuple[int, int], ...] = ((0, 1), (0, 2), (1, 2), (0, 3), (1, 3), (2, 3))
NUM_NODES = 4
NUM_EDGES = len(EDGES)
NUM_OPS = len(OPS)
NUM_ARCHS = NUM_OPS**NUM_EDGES  # 15625

ArchVector = tuple[int, int, int, int, int, int]

_NODE_RE = re.compile(r"^\|(.*)\|$")


def check_vector(vector: Iterable[object]) -> ArchVector:
    """Validate ``vector`` and return it as a tuple of Python ints.

    Raises :class:`InvalidArchError` naming the problem (length, type or op id).
    """
    try:
        items = list(vector)
    except TypeError:
        raise InvalidArchError(f"arch_vector must be a sequence of {NUM_EDGES} op ids, got {show(vector)}") from None
    if len(items) != NUM_EDGES:
        raise InvalidArchError(
            f"arch_vector must have {NUM_EDGES} op ids (one per edge 0->1, 0->2, 1->2, 0->3, 1->3, 2->3), "
            f"got {len(items)}: {show(tuple(items))}"
        )
    out = []
    for pos, v in enumerate(items):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)):
            raise InvalidArchError(f"arch_vector element {pos} must be an integer op id, got {show(v)}")
        if not 0 <= int(v) < NUM_OPS:
            raise InvalidArchError(
                f"arch_vector element {pos} is op id {int(v)}; valid op ids are 0..{NUM_OPS - 1} "
                f"({', '.join(f'{i}={op}' for i, op in enumerate(OPS))})"
            )
        out.append(int(v))
    return tuple(out)  # type: ignore[return-value]


def parse_arch_str(arch_str: str) -> ArchVector:
    """Parse an NB201 ``arch_str`` into the seed's arch vector."""
    if not isinstance(arch_str, str):
        raise InvalidArchError(f"arch_str must be a string, got {type(arch_str).__name__}")
    s = arch_str.strip()
    nodes = s.split("+")
    if len(nodes) != NUM_NODES - 1:
        raise InvalidArchError(
            f"malformed arch_str {show(arch_str)}: expected {NUM_NODES - 1} nodes separated by '+', got {len(nodes)}"
        )
    vector: list[int] = []
    for node_idx, node in enumerate(nodes, start=1):
        m = _NODE_RE.match(node)
        if not m:
            raise InvalidArchError(f"malformed arch_str {show(arch_str)}: node {show(node)} must look like |op~0|op~1|")
        entries = m.group(1).split("|")
        if len(entries) != node_idx:
            raise InvalidArchError(
                f"malformed arch_str {show(arch_str)}: node {node_idx} must have {node_idx} input edge(s), "
                f"got {len(entries)} in {show(node)}"
            )
        for src, entry in enumerate(entries):
            op, sep, src_str = entry.partition("~")
            if not sep:
                raise InvalidArchError(f"malformed arch_str {show(arch_str)}: edge {show(entry)} must be 'op~source'")
            if op not in OP_IDS:
                raise InvalidArchError(
                    f"unknown op {show(op)} in arch_str {show(arch_str)}; valid ops: {', '.join(OPS)}"
                )
            if src_str != str(src):
                raise InvalidArchError(
                    f"malformed arch_str {show(arch_str)}: edge {show(entry)} of node {node_idx} "
                    f"must come from node {src}"
                )
            vector.append(OP_IDS[op])
    return tuple(vector)  # type: ignore[return-value]


def format_arch_str(vector: Sequence[int]) -> str:
    """Format an arch vector as NB201's ``arch_str``."""
    v = check_vector(vector)
    parts = []
    i = 0
    for node in range(1, NUM_NODES):
        parts.append("|" + "|".join(f"{OPS[v[i + src]]}~{src}" for src in range(node)) + "|")
        i += node
    return "+".join(parts)


def vector_to_code(vector: Sequence[int]) -> int:
    """The seed's enumeration position: base-5 number of the vector, first element fastest."""
    v = check_vector(vector)
    return sum(op * NUM_OPS**i for i, op in enumerate(v))


def code_to_vector(code: int) -> ArchVector:
    """Inverse of :func:`vector_to_code`."""
    if isinstance(code, bool) or not isinstance(code, (int, np.integer)) or not 0 <= int(code) < NUM_ARCHS:
        raise InvalidArchError(f"arch code must be an integer in 0..{NUM_ARCHS - 1}, got {show(code)}")
    code = int(code)
    out = []
    for _ in range(NUM_EDGES):
        code, r = divmod(code, NUM_OPS)
        out.append(r)
    return tuple(out)  # type: ignore[return-value]


@lru_cache(maxsize=1)
def index_codes() -> np.ndarray:
    """uint16 array: ``index_codes()[nb201_index]`` is that arch's code (see :func:`vector_to_code`)."""
    with resources.files(__package__).joinpath("data/nb201_index.npy").open("rb") as fh:
        codes = np.load(fh, allow_pickle=False)
    codes.setflags(write=False)
    return codes


@lru_cache(maxsize=1)
def code_to_index_table() -> np.ndarray:
    """int array: ``code_to_index_table()[code]`` is that arch's NB201 index."""
    codes = index_codes()
    table = np.empty(NUM_ARCHS, dtype=np.int64)
    table[codes] = np.arange(NUM_ARCHS)
    table.setflags(write=False)
    return table


def check_index(index: object) -> int:
    """Validate an NB201 index and return it as an int."""
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise InvalidArchError(f"nb201_index must be an integer, got {show(index)}")
    if not 0 <= int(index) < NUM_ARCHS:
        raise InvalidArchError(f"nb201_index {show(int(index))} is out of range; valid indices are 0..{NUM_ARCHS - 1}")
    return int(index)


def index_to_vector(index: int) -> ArchVector:
    """Official NB201 index -> arch vector."""
    return code_to_vector(int(index_codes()[check_index(index)]))


def vector_to_index(vector: Sequence[int]) -> int:
    """Arch vector -> official NB201 index."""
    return int(code_to_index_table()[vector_to_code(vector)])


def all_vectors() -> list[ArchVector]:
    """Every arch vector, in NB201 index order."""
    return [code_to_vector(int(c)) for c in index_codes()]


_VECTOR_STR_RE = re.compile(r"[\(\[]?\s*(\d{1,3}\s*(?:,\s*\d{1,3}\s*)*),?\s*[\)\]]?", re.ASCII)
_INDEX_RE = re.compile(r"[0-9]{1,9}")


def resolve(arch: object) -> ArchVector:
    """Turn any supported description of an arch into its vector.

    Accepts an ``arch_str``, an NB201 index (int or digits), an arch vector (tuple/list/array)
    or its text form ``"(3, 3, 4, 1, 3, 1)"`` / ``"3,3,4,1,3,1"``, or an object with a
    ``vector`` attribute (any arch-like object that carries its vector).
    """
    vec = getattr(arch, "vector", None)
    if vec is not None:
        return check_vector(vec)
    if isinstance(arch, (int, np.integer)) and not isinstance(arch, bool):
        return index_to_vector(int(arch))
    if isinstance(arch, str):
        s = arch.strip()
        if s.startswith("|"):
            return parse_arch_str(s)
        if _INDEX_RE.fullmatch(s):
            return index_to_vector(int(s))
        m = _VECTOR_STR_RE.fullmatch(s)
        if m:
            return check_vector(int(x) for x in m.group(1).split(","))
        raise InvalidArchError(
            f"cannot read {show(arch)} as an architecture: give an NB201 arch_str (|op~0|+|op~0|op~1|+|...|), "
            "an NB201 index (0..15624) or an arch vector such as (3, 3, 4, 1, 3, 1)"
        )
    if isinstance(arch, (tuple, list, np.ndarray)):
        return check_vector(arch)
    raise InvalidArchError(f"cannot read an architecture from {type(arch).__name__} {show(arch)}")
