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

from eagle.errors import EagleError, UnknownNameError, UsageError, show
from eagle.fileio import atomic_write
from eagle.predictors.base import checkpoint_class
from eagle.spaces.base import Archs
from eagle.version import __version__

FORMAT = "eagle-predictor"


def save(predictor: Any, path: str | Path, *, extra: dict[str, Any] | None = None) -> None:
    import torch

    config, arrays = predictor.state()  # the predictor contract (eagle.predictors.base)
    checkpoint_class(config["kind"])  # a kind that could not be loaded back is refused now
    tensors = {
        k: v if isinstance(v, torch.Tensor) else torch.from_numpy(np.array(v, copy=True)) for k, v in arrays.items()
    }
    fitted = getattr(predictor, "trained_on_", None)  # provenance, whoever saves it (eagle train or code)
    if fitted is not None and len(fitted) and "trained_on" not in (extra or {}):
        config["trained_on"] = [x if isinstance(x, str) else int(x) for x in fitted]
    config = {**config, "eagle_version": __version__, **(extra or {})}
    blob = {"format": FORMAT, "config": json.dumps(config), "tensors": tensors}
    buf = io.BytesIO()
    torch.save(blob, buf)
    atomic_write(Path(path), lambda fh: fh.write(buf.getvalue()))


def read(path: str | Path) -> tuple[dict[str, Any], dict[str, Any]]:
    """(config, tensors) of a checkpoint file, its structure checked (never executes code)."""
    import torch

    from eagle.fileio import load_torch_file

    blob = load_torch_file(path, "Eagle checkpoint")
    if not isinstance(blob, dict) or blob.get("format") != FORMAT:
        raise EagleError(
            f"{path} is not an Eagle predictor checkpoint (write one with 'eagle train' or 'eagle pretrain')"
        )
    header, tensors = blob.get("config"), blob.get("tensors")
    if not isinstance(header, str) or not isinstance(tensors, dict):
        raise EagleError(f"{path}: damaged Eagle checkpoint: its config or tensors are missing")
    try:
        config = json.loads(header)
    except (json.JSONDecodeError, RecursionError) as exc:
        raise EagleError(f"{path}: damaged Eagle checkpoint: its config is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or not isinstance(config.get("kind"), str):
        raise EagleError(f"{path}: damaged Eagle checkpoint: its config names no predictor kind")
    bad = [k for k, v in tensors.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise EagleError(f"{path}: damaged Eagle checkpoint: entry {show(bad[0])} is not a tensor")
    return config, tensors


def load(path: str | Path) -> Any:
    """The predictor stored at ``path``; a damaged or inconsistent checkpoint is a clear error."""
    return load_with_config(path)[0]


def load_with_config(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """(predictor, checkpoint config) from one read of ``path``."""
    from eagle.fewshot import BASES

    config, tensors = read(path)
    try:
        predictor = _build(config, tensors, path)
        if not isinstance(predictor, BASES):  # shapes that load but cannot compute fail here, not later
            space = predictor.space
            predictor.predict(np.array([0]) if space.enumerable else space.sample(1, np.random.default_rng(0)))
        return predictor, config
    except EagleError:
        raise
    except (KeyError, TypeError, ValueError, RuntimeError, IndexError, AttributeError) as exc:
        what = f"missing field {exc}" if isinstance(exc, KeyError) else " ".join(str(exc).split())[:200]
        again = "eagle pretrain" if str(config["kind"]).startswith("fewshot-base") else "eagle train"
        raise EagleError(
            f"{path}: damaged Eagle checkpoint ({config['kind']}): {what}; save it again with '{again}'"
        ) from None


def _build(config: dict[str, Any], tensors: dict[str, Any], path: str | Path) -> Any:
    """The predictor of ``config["kind"]``, rebuilt by its class's ``from_state``."""
    try:
        cls = checkpoint_class(config["kind"])
    except UnknownNameError:
        raise EagleError(f"{path}: unknown predictor kind {show(config['kind'])}") from None
    return cls.from_state(config, tensors)


def load_for_prediction(path: str | Path) -> tuple[Any, dict[str, Any]]:
    """(predictor, checkpoint config) of a checkpoint that can predict: a few-shot base
    (``eagle pretrain``) is refused with the fix."""
    from eagle.fewshot import BASES

    predictor, config = load_with_config(path)
    if isinstance(predictor, BASES):
        raise UsageError(
            f"{path} is a few-shot base: adapt it to your device first "
            "('eagle train --init BASE.pt --measurement FEW.pickle --save T.pt' or 'eagle calibrate')"
        )
    return predictor, config


def predict_finite(predictor: Any, archs: Archs, source: str | Path) -> np.ndarray:
    """``predictor.predict(archs)``, refusing NaN or infinite results (a damaged checkpoint, an overflow)."""
    with np.errstate(all="ignore"):
        pred = np.asarray(predictor.predict(archs), dtype=np.float64)
    bad = ~np.isfinite(pred)
    if bad.any():
        raise EagleError(
            f"{source} predicts non-finite values (NaN or inf) for {int(bad.sum())} of {len(pred)} archs, "
            f"e.g. arch {archs[int(np.flatnonzero(bad)[0])]}: the checkpoint is damaged or was trained on "
            "extreme values; train it again"
        )
    return pred
