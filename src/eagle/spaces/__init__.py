"""Search spaces, by name: ``eagle.spaces.get("nasbench201")``."""

from __future__ import annotations

from eagle.registry import Registry
from eagle.spaces.nasbench201 import NASBench201

SPACES: Registry[type] = Registry("search space")
SPACES.add("nasbench201", NASBench201)


def get(name: str) -> NASBench201:
    """An instance of the search space registered as ``name``."""
    return SPACES.get(name)()


def names() -> list[str]:
    """Registered search-space names."""
    return SPACES.names()
