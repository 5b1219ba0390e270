"""The seed's predictor YAML (``predictor``, ``training``, ``dataset`` keys) -> Eagle settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# seed key -> Eagle hyper-parameter
_PREDICTOR_KEYS = {"num_layers": "layers", "num_hidden": "hidden", "dropout_ratio": "dropout"}
_TRAINING_KEYS = {
    "batch_size": "batch_size",
    "epochs": "epochs",
    "learning_rate": "lr",
    "weight_decay": "weight_decay",
    "es_patience": "early_stopping",
}


def read_predictor_yaml(path: Path) -> dict[str, Any]:
    """{"predictor": name, "preset": ..., "overrides": {...}, "training_points", "validation_points",
    "sampling_seed"} from a seed-style predictor config."""
    from eagle.fileio import read_yaml_mapping
    from eagle.schemas import PredictorYaml, validate

    data = read_yaml_mapping(path, "predictor/training/dataset keys")
    validate(PredictorYaml, data, str(path))
    pred = data.get("predictor") or {}
    train = data.get("training") or {}
    dset = data.get("dataset") or {}
    eagle = data.get("eagle") or {}
    overrides: dict[str, Any] = {}
    for src, dst in _PREDICTOR_KEYS.items():
        if src in pred:
            overrides[dst] = pred[src]
    for src, dst in _TRAINING_KEYS.items():
        if src in train:
            overrides[dst] = train[src]
    overrides.update(eagle.get("overrides") or {})
    return {
        "predictor": str(pred.get("type", "gcn")).lower(),
        "preset": eagle.get("preset", "brp-nas"),
        "overrides": overrides,
        "training_points": dset.get("training_points"),
        "validation_points": dset.get("validation_points", 0) or 0,
        "sampling_seed": dset.get("sampling_seed"),
    }
