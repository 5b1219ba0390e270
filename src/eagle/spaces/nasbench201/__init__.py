"""NAS-Bench-201 search space (registered as ``nasbench201``)."""

from __future__ import annotations

from eagle.spaces.nasbench201.arch import (
    EDGES,
    NUM_ARCHS,
    OP_IDS,
    OPS,
    ArchVector,
    check_vector,
    format_arch_str,
    index_to_vector,
    parse_arch_str,
    resolve,
    vector_to_index,
)
from eagle.spaces.nasbench201.cost import NetworkConfig
from eagle.spaces.nasbench201.space import NASBench201

__all__ = [
    "EDGES",
    "NUM_ARCHS",
    "OPS",
    "OP_IDS",
    "ArchVector",
    "NASBench201",
    "NetworkConfig",
    "check_vector",
    "format_arch_str",
    "index_to_vector",
    "parse_arch_str",
    "resolve",
    "vector_to_index",
]
