"""The seed's ``model.nasbench201.utils`` API, kept working (re-exports only).

>>> from eagle.models.nasbench201 import utils  # the seed's path; this module is behind it
>>> s = '|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|'
>>> utils.get_arch_vector_from_arch_str(s)
(3, 3, 4, 1, 3, 1)
"""

from __future__ import annotations

from collections.abc import Sequence

from eagle.spaces.nasbench201.arch import OPS, ArchVector, format_arch_str, parse_arch_str
from eagle.spaces.nasbench201.graph import is_valid

__all__ = ["OPS", "get_arch_str_from_arch_vector", "get_arch_vector_from_arch_str", "is_valid"]


def get_arch_vector_from_arch_str(arch_str: str) -> ArchVector:
    """NB201 arch_str -> the seed's arch vector (tuple of 6 op ids), the key of the seed's pickles."""
    return parse_arch_str(arch_str)


def get_arch_str_from_arch_vector(arch_vector: Sequence[int]) -> str:
    """The seed's arch vector -> NB201 arch_str."""
    return format_arch_str(arch_vector)
