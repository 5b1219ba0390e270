"""Past a few dozen measurements, the device's own data: a GCN trained on the k archs, blended in.

The few-shot model (mixture plus residual process) describes a new device from what the known
devices, references and op-cost models say; with 50 and more measurements a GCN trained on the
device's archs alone starts to see what none of them does (help/pixel3 left out with every other
phone, 100 archs: GCN 0.883, few-shot 0.827). So from :data:`MIN_ARCHS` measured archs on the
model trains Eagle's default GCN on them and mixes its log-latency prediction into its own mean,
``(1 - w) * few-shot + w * GCN``, with ``w`` from 0 to 1 chosen by out-of-fold error: the GCN
retrained :data:`FOLDS` times, each time predicting the archs it did not see, against the
few-shot model's own leave-one-out predictions. Where the GCN adds nothing, ``w`` is 0 and the
model is the few-shot one. Measured (``BENCHMARKS.md``, issue 22). The GCN's arch prior is learned
from the bundled datasets the few-shot base was pretrained on, so the blend knows no device the
base does not.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from eagle import progress
from eagle.errors import EagleError
from eagle.spaces.base import Archs, take_archs

if TYPE_CHECKING:
    from eagle.predictors.neural import NeuralPredictor

#: fewer measured archs than this leave the few-shot model alone (a GCN on fewer is far behind it)
MIN_ARCHS = 50
FOLDS = 5
WEIGHTS = np.linspace(0.0, 1.0, 11)
#: the GCN's seed, and the fold assignment's
SEED = 0


class GCNBlend:
    """A GCN trained on the measured archs and its weight in the prediction (0: not used)."""

    def __init__(self) -> None:
        self.weight_ = 0.0
        self.gcn_: NeuralPredictor | None = None
        self.fold_error_: np.ndarray = np.zeros(0)  # out-of-fold mean squared log error per weight

    @property
    def used(self) -> bool:
        return self.gcn_ is not None and self.weight_ > 0

    @staticmethod
    def _gcn(space: str, prior_devices: list[str]) -> NeuralPredictor:
        from eagle import spaces
        from eagle.predictors.neural import NeuralPredictor
        from eagle.predictors.prior import bundled_table

        # the arch prior (an enumerable space's) from the bundled datasets the base was pretrained on
        bundled = set(bundled_table(space)) if spaces.get(space).enumerable else set()
        known = bundled & set(prior_devices)
        if len(known) < 2:  # no arch prior to learn from the base's devices
            return NeuralPredictor("gcn", seed=SEED, space=space, prior=None)
        return NeuralPredictor("gcn", seed=SEED, space=space, prior_exclude=sorted(bundled - known))

    def fit(self, space: str, prior_devices: list[str], archs: Archs, y: np.ndarray, own_oof: np.ndarray) -> GCNBlend:
        """Choose the weight of a GCN on (``archs``, ``y``) against ``own_oof``, the few-shot
        model's leave-one-out log-latency predictions of the same archs; train it if it is used."""
        self.weight_, self.gcn_, self.fold_error_ = 0.0, None, np.zeros(0)
        k = len(y)
        if k < MIN_ARCHS:
            return self
        folds = np.arange(k) % FOLDS
        np.random.default_rng(SEED).shuffle(folds)
        gcn_oof = np.zeros(k)
        progress.stage(f"weighing a GCN trained on the {k} measured archs ({FOLDS}-fold out-of-fold error)")
        with progress.bar(FOLDS + 1, "GCN blend", "fit") as bar, progress.reporting(False):
            for f in range(FOLDS):  # the trainings' own bars and notes stay off: this is one step
                out = np.flatnonzero(folds == f)
                keep = np.flatnonzero(folds != f)
                model = self._gcn(space, prior_devices).fit(take_archs(archs, keep), y[keep])
                gcn_oof[out] = _log(model.predict(take_archs(archs, out)))
                bar.update()
            log_y = np.log(y)
            self.fold_error_ = np.array([np.mean((log_y - (1 - w) * own_oof - w * gcn_oof) ** 2) for w in WEIGHTS])
            self.weight_ = float(WEIGHTS[int(np.argmin(self.fold_error_))])
            if self.weight_ > 0:
                self.gcn_ = self._gcn(space, prior_devices).fit(archs, y)
            bar.update()
        return self

    def apply(self, archs: Archs, mean_log: np.ndarray) -> np.ndarray:
        """The blended mean log latency of ``archs`` given the few-shot model's ``mean_log``."""
        if not self.used:
            return mean_log
        assert self.gcn_ is not None
        return (1 - self.weight_) * mean_log + self.weight_ * _log(self.gcn_.predict(archs))

    def state(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """(config, tensors) to save beside the few-shot model; empty when the GCN is not used."""
        if not self.used:
            return {}, {}
        assert self.gcn_ is not None
        config, tensors = self.gcn_.state()
        return {"weight": self.weight_, "gcn": config}, {f"blend.{k}": v for k, v in tensors.items()}

    @classmethod
    def from_state(cls, config: dict[str, Any] | None, tensors: dict[str, Any]) -> GCNBlend:
        from eagle.predictors.neural import NeuralPredictor

        out = cls()
        if not config:
            return out
        weight = config.get("weight")
        if not isinstance(weight, int | float) or not 0 < weight <= 1:
            raise EagleError(f"the few-shot model's GCN blend weight {weight!r} is not in (0, 1]")
        gcn = {k[len("blend.") :]: v for k, v in tensors.items() if k.startswith("blend.")}
        out.weight_, out.gcn_ = float(weight), NeuralPredictor.from_state(config["gcn"], gcn)
        return out


def _log(pred: np.ndarray) -> np.ndarray:
    return np.log(np.maximum(np.asarray(pred, dtype=np.float64), 1e-12))
