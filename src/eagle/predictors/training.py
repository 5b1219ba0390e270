"""Training a predictor on a dataset with the seed's splits, and evaluating it honestly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eagle.datasets.dataset import Dataset
from eagle.errors import EagleError
from eagle.predictors.metrics import evaluate


@dataclass
class Split:
    train: np.ndarray
    validation: np.ndarray
    test: np.ndarray
    extra: dict[str, Any] = field(default_factory=dict)


def target_values(ds: Dataset) -> tuple[np.ndarray, str]:
    """Values by arch id (:meth:`Dataset.arch_ids`) in the unit predictors train on (seconds for latency)."""
    if ds.metric == "latency":
        return ds.values_by_id("s"), "latency_s"
    return ds.values_by_id(), ds.value_column


def random_split(ds: Dataset, training_points: int | None, validation_points: int, seed: int | None) -> Split:
    """The seed's split: ``training_points`` / ``validation_points`` at random, the rest test.

    Without ``training_points`` every arch is used for training (validation carved out of it
    only when ``validation_points`` > 0); the test set is then empty.
    """
    present = ds.arch_ids()
    rng = np.random.default_rng(seed)
    perm = rng.permutation(present)
    if training_points is None:
        n_val = validation_points
        if n_val >= len(perm):
            raise EagleError(f"{ds.name} has {len(perm)} archs; cannot hold out {n_val} for validation")
        return Split(perm[n_val:], perm[:n_val], perm[:0])
    if training_points + validation_points > len(perm):
        raise EagleError(
            f"{ds.name} has {len(perm)} archs: fewer than {training_points} training + {validation_points} validation"
        )
    return Split(
        perm[:training_points],
        perm[training_points : training_points + validation_points],
        perm[training_points + validation_points :],
    )


def index_split(ds: Dataset, train: Any, validation: Any = ()) -> Split:
    """A fixed split by arch ids (NB201: indices); the test set is every other arch with a value."""
    train = np.asarray(list(train), dtype=np.int64)
    validation = np.asarray(list(validation), dtype=np.int64)
    present = set(ds.arch_ids().tolist())
    missing = [int(i) for i in np.concatenate([train, validation]) if int(i) not in present]
    if missing:
        raise EagleError(f"{ds.name} has no value for arch ids {missing[:5]}")
    used = set(train.tolist()) | set(validation.tolist())
    test = np.array(sorted(present - used), dtype=np.int64)
    return Split(train, validation, test)


def fit_on_split(predictor: Any, ds: Dataset, split: Split, **fit_kwargs: Any) -> Any:
    values, _ = target_values(ds)
    check_informative(values[split.train], ds.name)
    from eagle.predictors.neural import NeuralPredictor

    train = ds.archs_for(split.train)
    if isinstance(predictor, NeuralPredictor) and len(split.validation):
        validation = (ds.archs_for(split.validation), values[split.validation])
        return predictor.fit(train, values[split.train], validation=validation, **fit_kwargs)
    return predictor.fit(train, values[split.train], **fit_kwargs)


def check_informative(y: np.ndarray, source: str) -> None:
    """Refuse training targets that cannot teach anything: fewer than 2, or all the same value."""
    y = np.asarray(y, dtype=np.float64)
    if len(y) < 2:
        raise EagleError(f"{source}: {len(y)} training arch(s); a predictor needs at least 2")
    if np.ptp(y) == 0:
        raise EagleError(
            f"{source}: all {len(y)} training values are equal ({y[0]:g}); there is no ranking to learn "
            "(was every arch given the same value?)"
        )


def evaluate_on(predictor: Any, ds: Dataset, exclude: Any = ()) -> tuple[dict[str, Any], np.ndarray, np.ndarray]:
    """Metrics over every arch of ``ds`` not in ``exclude`` (arch ids, or arch keys / indices: e.g.
    the training archs)."""
    values, _ = target_values(ds)
    excluded = list(exclude)
    if excluded and isinstance(excluded[0], str):
        excluded = ds.ids_of(excluded).tolist()
    idx = np.setdiff1d(ds.arch_ids(), np.asarray(excluded, dtype=np.int64))
    if len(idx) < 2:
        raise EagleError(f"{ds.name} has fewer than 2 archs that the predictor was not trained on")
    from eagle.predictors.checkpoint import predict_finite

    pred = predict_finite(predictor, ds.archs_for(idx), "the predictor")
    return evaluate(pred, values[idx]), pred, values[idx]
