"""``import torchvision`` beside a CPU-only torch, in any program run with Eagle's venv.

``make setup`` writes ``eagle-torchvision.pth`` into the venv's site-packages; Python runs it at
start-up, which imports this module (nothing else: it costs a few microseconds). The first
``import torchvision`` then runs :func:`eagle.anynet.tv.prepare` (declares the two operator
schemas torchvision's PyPI wheel cannot load beside the CPU torch wheel) before torchvision's own
code, and the hook removes itself. Classification models work; detection ops stay unavailable.
"""

from __future__ import annotations

import importlib.abc
import sys
from collections.abc import Sequence
from types import ModuleType


class _Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None) -> None:
        if fullname == "torchvision":
            if self in sys.meta_path:
                sys.meta_path.remove(self)
            try:
                from eagle.anynet.tv import prepare

                prepare()
            except Exception:  # never break an import for the sake of the workaround
                pass
        return None


def install() -> None:
    """Insert the hook (once; not when torchvision is already imported)."""
    if "torchvision" not in sys.modules and not any(isinstance(f, _Hook) for f in sys.meta_path):
        sys.meta_path.insert(0, _Hook())
