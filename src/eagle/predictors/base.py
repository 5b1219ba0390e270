"""The predictor contract every Eagle predictor satisfies, and the checkpoint kinds.

A predictor is an estimator over the architectures of one search space (``space``: arch
strings, or indices of an enumerable space): ``fit(archs, y) -> self``, ``predict(archs) -> values`` in ``y``'s unit,
``predict_spread(archs) -> uncertainty or None``. It saves as ``state() -> (JSON config with a
"kind", named arrays or tensors)`` and loads with the class method ``from_state(config,
tensors)``, the class found by the config's kind in :data:`CHECKPOINT_KINDS` (one checkpoint
format, no probing of attributes). Using a predictor before it is fitted raises
:class:`NotFittedError`.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike

from eagle.errors import NotFittedError
from eagle.registry import Registry
from eagle.spaces.base import Archs, SearchSpace

__all__ = ["CHECKPOINT_KINDS", "NotFittedError", "Predictor", "checkpoint_class", "fitted_archs"]


def fitted_archs(space: SearchSpace, archs: Archs) -> list[int] | list[str]:
    """What a predictor records as ``trained_on_`` when it is fitted (sorted NB201-style indices of
    an enumerable space, else keys): a checkpoint carries it, so ``eagle evaluate`` never scores a
    model on the archs it was fitted on, however it was trained."""
    if space.enumerable:
        return sorted({int(i) for i in space.indices(archs)})
    return sorted(set(space.keys(archs)))


class Predictor(Protocol):
    """What ``eagle train/predict/evaluate`` and the library need from a predictor."""

    #: the search space whose archs it predicts
    space: SearchSpace

    def fit(self, archs: Archs, y: ArrayLike) -> Predictor:
        """Fit on ``archs`` with targets ``y`` (seconds for latency); returns ``self``."""
        ...

    def predict(self, archs: Archs) -> np.ndarray:
        """One prediction per arch, in the targets' unit."""
        ...

    def predict_spread(self, archs: Archs) -> np.ndarray | None:
        """Uncertainty per arch in the prediction's unit, or None when the predictor has none."""
        ...

    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(JSON-able config with "kind", named numpy arrays or torch tensors)."""
        ...


#: checkpoint kind -> "module:Class" whose ``from_state(config, tensors)`` rebuilds it; imported
#: only when a checkpoint of that kind is loaded.
CHECKPOINT_KINDS: Registry[str] = Registry("checkpoint kind")
for _kind, _target in {
    "gcn": "eagle.predictors.neural:NeuralPredictor",
    "mlp": "eagle.predictors.neural:NeuralPredictor",
    "flops": "eagle.predictors.baselines:CostBaseline",
    "params": "eagle.predictors.baselines:CostBaseline",
    "lut": "eagle.predictors.baselines:LookupTableBaseline",
    "ridge": "eagle.predictors.baselines:RidgeBaseline",
    "gbt": "eagle.predictors.baselines:GBTBaseline",
    "fewshot": "eagle.fewshot.model:FewShotPredictor",
    "fewshot-base": "eagle.costmodels.basis:DeviceBasis",
    "fewshot-base-ops": "eagle.costmodels.op_basis:OpDeviceBasis",
}.items():
    CHECKPOINT_KINDS.add(_kind, _target)


def checkpoint_class(kind: str) -> Any:
    """The class that loads checkpoints of ``kind``."""
    module, _, name = CHECKPOINT_KINDS.get(kind).partition(":")
    return getattr(importlib.import_module(module), name)
