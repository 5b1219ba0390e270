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
    # provenance, whoever saves it (eagle train or code): what the model was fitted on, and what a
    # loaded model carried (a checkpoint loaded and saved again keeps it)
    carried = dict(getattr(predictor, "provenance_", None) or {})
    fitted = getattr(predictor, "trained_on_", None)
    if fitted is not None and len(fitted) and not carried.get("trained_on"):
        carried["trained_on"] = [x if isinstance(x, str) else int(x) for x in fitted]
    config = {**config, **carried, "eagle_version": __version__, **(extra or {})}
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
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, and ints over Python's digit limit
        what = " ".join(str(exc).split())[:160]
        raise EagleError(f"{path}: damaged Eagle checkpoint: its config is not valid JSON ({what})") from None
    if not isinstance(config, dict) or not isinstance(config.get("kind"), str):
        raise EagleError(f"{path}: damaged Eagle checkpoint: its config names no predictor kind")
    for key in PROVENANCE_LISTS:
        if key in config:
            config[key] = _arch_list(config[key], f"{path}: damaged Eagle checkpoint: {key}")
    if "ancestors" in config:
        config["ancestors"] = _ancestors(config["ancestors"], path)
    bad = [k for k, v in tensors.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise EagleError(f"{path}: damaged Eagle checkpoint: entry {show(bad[0])} is not a tensor")
    return config, tensors


#: config entries that list archs (indices or keys) a model was fitted on
PROVENANCE_LISTS = ("trained_on",)
#: at most this many archs in a provenance list (NB201 has 15625; a large space's k is small)
MAX_PROVENANCE = 1_000_000


def _arch_list(value: object, where: str) -> list[int] | list[str]:
    """A provenance list as read from a file: whole numbers >= 0 or strings (of one kind), else a
    clear error; never an arbitrary object."""
    if not isinstance(value, list) or len(value) > MAX_PROVENANCE:
        raise EagleError(f"{where} is not a list of archs (indices or keys); train the model again")
    if all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v < 2**31 for v in value):
        return list(value)
    if all(isinstance(v, str) and len(v) <= 10_000 for v in value):
        return list(value)
    raise EagleError(f"{where} holds something other than arch indices or keys; train the model again")


def _ancestors(value: object, path: str | Path) -> list[dict[str, Any]]:
    """The checkpoints a fine-tuned model started from: [{measurement, trained_on}], validated."""
    where = f"{path}: damaged Eagle checkpoint: ancestors"
    if not isinstance(value, list) or len(value) > 100:
        raise EagleError(f"{where} is not a list of earlier trainings")
    out = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("measurement"), str):
            raise EagleError(f"{where} entry is not an earlier training (measurement, trained_on)")
        out.append({"measurement": item["measurement"], "trained_on": _arch_list(item.get("trained_on", []), where)})
    return out


def provenance_of(config: dict[str, Any]) -> dict[str, Any]:
    """What a loaded model was fitted on, to carry into a checkpoint saved from it: the checkpoint's
    ``metric``, ``unit``, ``measurement``, ``space``, ``trained_on`` and ``ancestors``."""
    keys = ("metric", "unit", "measurement", "space", "trained_on", "ancestors")
    return {k: config[k] for k in keys if k in config}


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
        if not isinstance(predictor, BASES):  # a model saved again keeps what it was fitted on
            predictor.provenance_ = provenance_of(config)
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
