"""Predictor checkpoints: one file, ``torch.save`` of plain tensors + a JSON string.

The file holds ``{"format": "eagle-predictor", "config": <json str>, "tensors": {name: tensor}}``
and is read with ``torch.load(weights_only=True)``, so loading never executes code. The JSON
records the predictor, hyper-parameters, target transform, training data description and the
eagle version. Baselines (sklearn models) are stored as their fitted numbers only where
possible; tree ensembles cannot be saved this way and raise a clear error.
"""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import numpy as np

from eagle import __version__
from eagle.errors import EagleError
from eagle.fileio import atomic_write

FORMAT = "eagle-predictor"


def save(predictor: Any, path: str | Path, *, extra: dict[str, Any] | None = None) -> None:
    import torch

    from eagle.predictors.neural import NeuralPredictor

    if isinstance(predictor, NeuralPredictor):
        config, tensors = predictor.state()
    elif hasattr(predictor, "checkpoint_state"):  # few-shot basis / adapted predictor: plain arrays
        config, arrays = predictor.checkpoint_state()
        tensors = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in arrays.items()}
    else:
        config, fitted = predictor.state()
        value = fitted["fitted"]
        if not isinstance(value, np.ndarray):
            raise EagleError(
                f"the {config['kind']} baseline cannot be saved as a checkpoint (it is not a neural model)"
            )
        tensors = {"fitted": torch.from_numpy(value)}
    config = {**config, "eagle_version": __version__, **(extra or {})}
    blob = {"format": FORMAT, "config": json.dumps(config), "tensors": tensors}
    buf = io.BytesIO()
    torch.save(blob, buf)
    atomic_write(Path(path), lambda fh: fh.write(buf.getvalue()))


def read(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    import pickle

    import torch

    try:
        blob = torch.load(str(path), weights_only=True, map_location="cpu")
    except FileNotFoundError:
        raise EagleError(f"checkpoint not found: {path}") from None
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EagleError(f"{path} is not a loadable Eagle checkpoint ({first})") from None
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise EagleError(f"{path} is not an Eagle predictor checkpoint")
    return json.loads(blob["config"]), blob["tensors"]


def load(path: str | Path) -> Any:
    from eagle.predictors.baselines import CostBaseline, LookupTableBaseline
    from eagle.predictors.neural import NeuralPredictor

    config, tensors = read(path)
    kind = config["kind"]
    if kind in ("gcn", "mlp"):
        return NeuralPredictor.from_state(config, tensors)
    if kind in ("fewshot", "fewshot-base"):
        from eagle.fewshot.model import DeviceBasis, FewShotPredictor

        arrays = {k: v.numpy() for k, v in tensors.items()}
        if kind == "fewshot-base":
            return DeviceBasis.from_parts(arrays, config)
        return FewShotPredictor.from_checkpoint(config, arrays)
    cls = {"flops": CostBaseline, "params": CostBaseline, "lut": LookupTableBaseline}.get(kind)
    if cls is None:
        raise EagleError(f"{path}: unknown predictor kind {kind!r}")
    obj = (
        CostBaseline(kind, seed=config["seed"], **config["params"])
        if cls is CostBaseline
        else cls(seed=config["seed"], **config["params"])
    )
    obj.fitted_ = tensors["fitted"].numpy()
    return obj
