"""Import torchvision's model definitions beside a CPU-only torch.

The torchvision wheel on PyPI is built against CUDA torch: beside the CPU torch wheel its
compiled operators (``torchvision::nms`` ...) do not load, and ``import torchvision`` then fails
while registering fake kernels for two of them (``RuntimeError: operator torchvision::nms does
not exist``). Eagle uses only the model definitions, which are plain ``torch.nn`` code, so it
declares those two operator schemas (no kernels) when they are missing and imports torchvision.
Detection ops (``torchvision.ops.nms``) stay unavailable; classification models are unaffected.
"""

from __future__ import annotations

from functools import cache
from types import ModuleType

from eagle.errors import EagleError

_MISSING_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_LIBRARY: object = None  # keeps the schema fragment alive


@cache
def import_torchvision() -> ModuleType:
    """``torchvision``, importable beside a CPU-only torch (see the module docstring)."""
    global _LIBRARY
    import importlib.util

    if importlib.util.find_spec("torchvision") is None:
        raise EagleError("torchvision is not installed: pip install 'eagle-latency[anynet]'")
    import torch

    try:
        import torchvision.extension as ext  # loads the compiled ops when they match this torch

        has_ops = ext._has_ops()
    except Exception:
        has_ops = False
    if not has_ops:
        missing = [n for n in _MISSING_SCHEMAS if not hasattr(torch.ops.torchvision, n)]
        if missing:
            lib = torch.library.Library("torchvision", "FRAGMENT")
            for name in missing:
                lib.define(_MISSING_SCHEMAS[name])
            _LIBRARY = lib
    import torchvision

    return torchvision
