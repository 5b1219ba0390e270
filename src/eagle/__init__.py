"""Eagle: measure and predict the latency of neural networks on hardware.

The public API (:mod:`eagle.api`) is available from the package itself, imported lazily so that
``import eagle`` stays fast: ``get_space``, ``list_spaces``, ``load_dataset``, ``list_datasets``,
``create_predictor``, ``load_predictor``, ``list_predictors``, ``measure``, ``pretrain``,
``calibrate``, ``search``, ``zero_cost_proxies``.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

__all__ = [
    "calibrate",
    "create_predictor",
    "get_space",
    "list_datasets",
    "list_predictors",
    "list_spaces",
    "load_dataset",
    "load_predictor",
    "measure",
    "pretrain",
    "search",
    "zero_cost_proxies",
]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from eagle import api

        return getattr(api, name)
    raise AttributeError(f"module 'eagle' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
