"""Runtimes by name: ``eagle.runtimes.get("onnxruntime")(threads=1)``.

Heavy packages (onnxruntime, openvino, LiteRT) are imported only when a model is converted or
loaded, so ``import eagle`` stays fast and works without them.
"""

from __future__ import annotations

from typing import Any

from eagle.registry import Registry
from eagle.runtimes.base import Runtime, RuntimeUnavailableError
from eagle.runtimes.litert_runtime import LiteRTRuntime
from eagle.runtimes.null import NullRuntime
from eagle.runtimes.onnxruntime_runtime import OnnxRuntime
from eagle.runtimes.openvino_runtime import OpenVinoRuntime
from eagle.runtimes.torch_runtime import TorchRuntime

RUNTIMES: Registry[type[Runtime]] = Registry("runtime")
for _cls in (NullRuntime, TorchRuntime, OnnxRuntime, OpenVinoRuntime, LiteRTRuntime):
    RUNTIMES.add(_cls.name, _cls)


def get(name: str) -> type[Runtime]:
    """The runtime class registered as ``name``."""
    return RUNTIMES.get(name)


def create(name: str, **kwargs: Any) -> Runtime:
    """A configured runtime instance."""
    return RUNTIMES.get(name)(**kwargs)


def names() -> list[str]:
    return RUNTIMES.names()


__all__ = ["RUNTIMES", "Runtime", "RuntimeUnavailableError", "create", "get", "names"]
