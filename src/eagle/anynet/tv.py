"""Import torchvision's model definitions beside a CPU-only torch.

The torchvision wheel on PyPI is built against CUDA torch: beside the CPU torch wheel its
compiled operators (``torchvision::nms`` ...) do not load, and ``import torchvision`` then fails
while registering fake kernels for two of them (``RuntimeError: operator torchvision::nms does
not exist``). Eagle uses only the model definitions, which are plain ``torch.nn`` code, so
:func:`prepare` declares those two operator schemas (no kernels) when the compiled library does
not load, before torchvision is imported. Detection ops (``torchvision.ops.nms``) stay
unavailable; classification models are unaffected.

:mod:`eagle.torchvision_hook` makes a plain ``import torchvision`` do the same in any program
run with the venv's Python (``make setup`` installs ``eagle-torchvision.pth``, which loads it).
"""

from __future__ import annotations

import importlib.util
from functools import cache
from types import ModuleType

from eagle.errors import EagleError, install_hint

_MISSING_SCHEMAS = {
    "nms": "nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
    "qnms": "qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor",
}
_LIBRARY: object = None  # keeps the schema fragment alive


@cache
def prepare() -> None:
    """Declare the schemas torchvision registers fake kernels for when its compiled library does
    not load beside this torch (idempotent; imports torch, never torchvision)."""
    global _LIBRARY
    spec = importlib.util.find_spec("torchvision")
    if spec is None or not spec.submodule_search_locations:
        return
    import glob
    import os

    import torch

    libraries = glob.glob(os.path.join(next(iter(spec.submodule_search_locations)), "_C*.so"))
    try:
        if libraries:
            torch.ops.load_library(libraries[0])
    except (OSError, RuntimeError):
        pass
    missing = [n for n in _MISSING_SCHEMAS if not hasattr(torch.ops.torchvision, n)]
    if missing:
        lib = torch.library.Library("torchvision", "FRAGMENT")
        for name in missing:
            lib.define(_MISSING_SCHEMAS[name])
        _LIBRARY = lib


@cache
def import_torchvision() -> ModuleType:
    """``torchvision``, importable beside a CPU-only torch (see the module docstring)."""
    if importlib.util.find_spec("torchvision") is None:
        raise EagleError(f"torchvision is not installed: {install_hint('anynet')}")
    prepare()
    import torchvision

    return torchvision
