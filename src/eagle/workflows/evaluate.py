"""Score a trained predictor on measurements it was not trained on: the use case behind
``eagle evaluate``.

:func:`evaluate` takes an :class:`EvaluateSpec` (a checkpoint, or a predictor in memory with its
provenance, and a dataset) and returns an :class:`EvaluationReport`. It never scores an arch the
model was fitted on (its checkpoint's ``trained_on``, a few-shot model's k archs), and it says
when the model already *carries* the dataset as knowledge (a few-shot base pretrained on it, an
arch prior learnt from it): then the score is not one on an unseen device.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eagle import progress
from eagle.errors import EagleError, UsageError

if TYPE_CHECKING:
    from eagle.datasets.dataset import Dataset
    from eagle.predictors.base import Predictor
    from eagle.spaces.base import SearchSpace
    from eagle.workflows.train import TrainedPredictor


@dataclass(frozen=True)
class EvaluateSpec:
    """``model``: a checkpoint path, or a :class:`~eagle.workflows.train.TrainedPredictor` (its
    provenance says what it was trained on); ``measurement``: a dataset name, file or results store."""

    model: str | Path | TrainedPredictor | Predictor
    measurement: str | Path
    space: str | None = None

    def __post_init__(self) -> None:
        inner = getattr(self.model, "predictor", self.model)
        if not isinstance(self.model, (str, Path)) and not callable(getattr(inner, "predict", None)):
            got = type(self.model).__name__
            raise UsageError(f"model: a checkpoint path, a trained predictor or eagle.train()'s result, got {got}")
        if not isinstance(self.measurement, (str, Path)):
            raise UsageError(
                f"measurement: a dataset name, file or results store, got {type(self.measurement).__name__}"
            )


@dataclass
class EvaluationReport:
    """Metrics on the dataset's archs the model was not trained on (``n``, ``spearman``,
    ``kendall_tau``, ``rmse`` in ``unit``, ``mape`` and ``within_Npct`` as fractions), the
    predictions and measurements behind them (``predicted``, ``measured``, in ``unit``), how many
    training archs were left out (``excluded``), and ``seen_in``: the datasets the model carries
    that hold these same latencies (where: ``seen_where``), both empty for an honest held-out score."""

    dataset: str
    metrics: dict[str, Any]
    predicted: np.ndarray
    measured: np.ndarray
    excluded: int
    unit: str = "s"
    seen_where: str = ""
    seen_in: list[str] = field(default_factory=list)

    def __repr__(self) -> str:
        m = self.metrics
        seen = f"; carries {', '.join(self.seen_in)} ({self.seen_where})" if self.seen_in else ""
        return (
            f"EvaluationReport({self.dataset}: {m.get('n')} archs, Spearman {m.get('spearman', float('nan')):.3f}, "
            f"within ±10% {m.get('within_10pct', float('nan')):.2f}, {self.excluded} training archs left out{seen})"
        )


def evaluate(spec: EvaluateSpec) -> EvaluationReport:
    from eagle import datasets, spaces
    from eagle.predictors.checkpoint import load_for_prediction
    from eagle.predictors.training import evaluate_on

    spaces.allow(spec.space)
    if isinstance(spec.model, (str, Path)):
        predictor, config = load_for_prediction(spec.model)
        source = str(spec.model)
    else:
        predictor = getattr(spec.model, "predictor", spec.model)
        config = dict(getattr(spec.model, "provenance", {}) or {})
        source = "the model"
    ds = datasets.load_measurement(str(spec.measurement), space=spec.space)
    progress.stage(f"evaluating {source} on {ds.name}")
    space = predictor_space(predictor)
    if space is not ds.space:
        raise EagleError(f"{source} predicts {space.name} archs; {ds.name} is {ds.space.name}")
    # an arch the model was fitted on is never scored, whichever dataset it came from
    fitted = fitted_on(predictor, config)
    trained: Any = (
        np.unique(ds.ids_of([int(f) if isinstance(f, (int, np.integer)) else f for f in fitted])) if fitted else []
    )
    metrics, pred, true = evaluate_on(predictor, ds, exclude=trained)
    where, seen = reference_data_holding(predictor, ds)
    where = where if seen else ""
    return EvaluationReport(ds.name, metrics, pred, true, len(trained), str(config.get("unit", "s")), where, seen)


def fitted_on(predictor: object, config: dict[str, Any]) -> list[Any]:
    """Every arch a model was fitted on, whichever dataset it came from: its checkpoint's (or
    result's) ``trained_on``, those of the checkpoints it was fine-tuned from (``ancestors``), and
    what the model itself recorded (``trained_on_``: a few-shot model's k, a predictor fitted in code)."""
    carried = getattr(predictor, "provenance_", None) or {}
    out: list[Any] = []
    for source in (config, carried):
        out += list(source.get("trained_on", []))
        for ancestor in source.get("ancestors", []):
            out += list(ancestor.get("trained_on", []))
    return out + list(getattr(predictor, "trained_on_", []))


def predictor_space(predictor: object) -> SearchSpace:
    """The search space a fitted predictor predicts (every predictor carries one)."""
    from eagle import spaces

    return spaces.resolve(getattr(predictor, "space", None))


def reference_data_holding(predictor: object, ds: Dataset) -> tuple[str, list[str]]:
    """(where, names) of the latency datasets a model carries as knowledge that equal ``ds`` (any unit).

    A few-shot model carries its pretraining devices, a neural predictor its arch prior's bundled
    datasets; scoring it on one of those is not a held-out test.
    """
    from eagle.predictors.prior import same_data

    if ds.metric != "latency":
        return "", []
    if not ds.space.enumerable:
        return _holding_by_keys(predictor, ds)
    idx = ds.present()
    idx = idx[:: max(1, len(idx) // 2000)]  # a spread-out sample is enough to recognise the data
    y = ds.by_index("s")[idx]
    basis = getattr(predictor, "basis", None)
    if basis is not None:
        table = {name: np.exp(basis.device_latency[:, d]) for d, name in enumerate(basis.devices)}
        return "the pretrained few-shot basis", same_data(idx[basis.covered[idx]], y[basis.covered[idx]], table)
    names = getattr(predictor, "prior_devices_", None) or []
    if names:
        from eagle.predictors.prior import bundled_table

        table = bundled_table(predictor_space(predictor).name)
        return "the arch prior", same_data(idx, y, {n: table[n] for n in names if n in table})
    return "", []


def _holding_by_keys(predictor: object, ds: Dataset) -> tuple[str, list[str]]:
    """:func:`reference_data_holding` for a space too large to enumerate: the datasets a few-shot
    base was pretrained on (or a predictor's arch prior) compared with ``ds`` arch by arch."""
    from eagle import datasets
    from eagle.predictors.prior import same_data

    basis = getattr(predictor, "basis", None)
    names = list(getattr(basis, "devices", None) or getattr(predictor, "prior_devices_", None) or [])
    where = "the pretrained few-shot basis" if basis is not None else "the arch prior"
    keys, y = ds.items("s")
    keys, y = keys[:: max(1, len(keys) // 2000)], y[:: max(1, len(y) // 2000)]
    table = {}
    for name in names:
        if name not in datasets.names():
            continue
        known = dict(zip(*datasets.load(name).items("s")))
        table[name] = np.array([known.get(k, np.nan) for k in keys], dtype=np.float64)
    return where, same_data(np.arange(len(keys)), np.asarray(y, dtype=np.float64), table) if table else []
