"""Eagle: measure and predict the latency of neural networks on hardware.

The public API (:mod:`eagle.api`) is available from the package itself, imported lazily so that
``import eagle`` stays fast: ``get_space``, ``list_spaces``, ``load_dataset``, ``list_datasets``,
``create_predictor``, ``load_predictor``, ``list_predictors``, ``measure``, ``pretrain``,
``calibrate``, ``search``, ``zero_cost_proxies``, and the typed workflows of :mod:`eagle.workflows`:
``train``, ``select``, ``evaluate``, ``profile_kernels``, ``fit_kernels``, ``calibrate_kernels``,
``load_kernel_model``.
"""

from __future__ import annotations

from typing import Any

from eagle.version import __version__ as __version__

__all__ = [
    "calibrate",
    "calibrate_kernels",
    "create_predictor",
    "evaluate",
    "fit_kernels",
    "get_space",
    "list_datasets",
    "list_predictors",
    "list_spaces",
    "load_dataset",
    "load_kernel_model",
    "load_predictor",
    "measure",
    "pretrain",
    "profile_kernels",
    "search",
    "select",
    "train",
    "zero_cost_proxies",
]


#: subpackages reachable as attributes after a plain ``import eagle`` (imported when first used)
SUBMODULES = ("workflows", "testing")


def __getattr__(name: str) -> Any:
    if name in __all__:
        from eagle import api

        return getattr(api, name)
    if name in SUBMODULES:
        import importlib

        return importlib.import_module(f"eagle.{name}")
    raise AttributeError(f"module 'eagle' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
