"""Performance predictors by name (estimator API: ``fit(archs, y) -> self``, ``predict(archs)``).

``create("gcn")`` is Eagle's default GCN; ``create("gcn", preset="brp-nas")`` the seed's recipe;
``mlp``; baselines ``flops``, ``params``, ``lut``, ``ridge``, ``gbt``. Checkpoints: :func:`save`
and :func:`load` (weights via ``torch.load(weights_only=True)`` plus a JSON config).
"""

from __future__ import annotations

from typing import Any

from eagle.predictors.baselines import CostBaseline, GBTBaseline, LookupTableBaseline, RidgeBaseline
from eagle.predictors.checkpoint import load, save
from eagle.predictors.neural import NeuralPredictor
from eagle.registry import Registry

PREDICTORS: Registry[Any] = Registry("predictor")
PREDICTORS.add("gcn", lambda **kw: NeuralPredictor("gcn", **kw))
PREDICTORS.add("mlp", lambda **kw: NeuralPredictor("mlp", **kw))
PREDICTORS.add("flops", lambda **kw: CostBaseline("flops", **kw))
PREDICTORS.add("params", lambda **kw: CostBaseline("params", **kw))
PREDICTORS.add("lut", lambda **kw: LookupTableBaseline(**kw))
PREDICTORS.add("ridge", lambda **kw: RidgeBaseline(**kw))
PREDICTORS.add("gbt", lambda **kw: GBTBaseline(**kw))


def create(name: str, **kwargs: Any) -> Any:
    """A new, unfitted predictor registered as ``name``."""
    return PREDICTORS.get(name)(**kwargs)


def names() -> list[str]:
    return PREDICTORS.names()


__all__ = ["PREDICTORS", "NeuralPredictor", "create", "load", "names", "save"]
