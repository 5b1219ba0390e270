"""The seed's ``model.nasbench201.utils`` import path (see :mod:`eagle.compat.nasbench201_utils`)."""

from eagle.compat.nasbench201_utils import (
    OPS,
    get_arch_str_from_arch_vector,
    get_arch_vector_from_arch_str,
    is_valid,
)

__all__ = ["OPS", "get_arch_str_from_arch_vector", "get_arch_vector_from_arch_str", "is_valid"]
