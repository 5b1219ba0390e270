"""The kernel latency model: LightGBM regressors per kernel type, plus the per-run overhead.

Each regressor predicts log seconds from :func:`~eagle.anynet.kernels.kernel_features`; a type
with too few profiled kernels gets a log-linear fit instead. Two sets are fitted: *warm* (kernels
timed back to back, weights in cache) and *cold* (caches flushed before the run, weights from
memory). Predictions are warm by default; :meth:`KernelModel.cold_share` estimates how much of a network's
run sees cold weights (weights W, last-level cache C: ``clip((W - C/2) / C, 0, 1)``) for callers
who want the blend; on our benchmark it predicted worse than warm alone (BENCHMARKS.md).
A network's latency is the sum of its kernels plus the runtime's overhead per ``session.run``
(a constant and a cost per kernel, fitted on the profiled samples: plain wall time minus their
kernels' sum).

Whole networks run their kernels faster or slower than the profiled samples do, by an amount
that depends on the network's family (BENCHMARKS.md, issue 20); :meth:`KernelModel.calibrate`
learns it from a few measured networks of the family a user will predict: a scale, a factor per
kernel type pulled towards that scale, and a per-run constant in place of the fitted overhead.

Saved as one ``torch.save`` file of strings only (LightGBM's text model format inside a JSON
header), read back with ``torch.load(weights_only=True)``: loading never executes code, and the
model texts are read and checked by :mod:`eagle.anynet.kernels.trees`, which also predicts with
them; LightGBM's native parser never sees a file's text.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eagle.anynet.kernels import FEATURES, kernel_features, kernel_type
from eagle.anynet.kernels.trees import TreeEnsemble, TreeModelError, parse_lightgbm
from eagle.anynet.onnxgraph import Kernel
from eagle.errors import EagleError, NotFittedError
from eagle.version import __version__

if TYPE_CHECKING:
    from eagle.anynet.kernels.sample import Sample

FORMAT = "eagle-kernels"
MIN_KERNEL_S = 2e-7  # ORT's profiler reports whole microseconds; 0 means "under one"
MIN_TREE_ROWS = 40
MIN_CALIBRATION_NETWORKS = 3
CALIBRATION_RIDGE = 0.3  # pulls each kernel type's calibration factor towards the common scale
_LINEAR_COLS = (0, 1, 3, 4)  # log_in, log_out, log_macs, log_weights


def _rows(kernels: Sequence[Kernel]) -> tuple[list[str], np.ndarray]:
    types = [kernel_type(k) for k in kernels]
    X = np.stack([kernel_features(k) for k in kernels]) if kernels else np.zeros((0, len(FEATURES)))
    return types, X


class KernelModel:
    """Per-kernel-type regressors; see the module docstring. ``fit(samples) -> self``."""

    #: the calibration on measured networks (:meth:`calibrate`); None: uncalibrated
    correction_: dict[str, Any] | None = None

    def __init__(
        self, *, n_estimators: int = 500, learning_rate: float = 0.05, num_leaves: int = 31, min_child_samples: int = 5
    ) -> None:
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.min_child_samples = min_child_samples

    def _params(self) -> dict[str, Any]:
        return {
            "n_estimators": self.n_estimators,
            "learning_rate": self.learning_rate,
            "num_leaves": self.num_leaves,
            "min_child_samples": self.min_child_samples,
            "n_jobs": 1,
            "verbose": -1,
        }

    def fit(self, samples: Sequence[Sample], *, runtime: dict[str, Any] | None = None) -> KernelModel:
        kernels = [k for s in samples for k in s.kernels]
        if not kernels:
            raise EagleError("no profiled kernels to fit: run 'eagle kernels profile' first")
        types, X = _rows(kernels)
        self.counts_ = {t: types.count(t) for t in sorted(set(types))}
        self.trees_, self.linear_ = self._fit_set(types, X, np.array([k.duration_s for k in kernels]))
        cold = np.array([k.cold_s for k in kernels])
        has_cold = cold > 0
        self.cold_trees_: dict[str, Any] = {}
        self.cold_linear_: dict[str, list[float]] = {}
        if has_cold.mean() > 0.5:
            self.cold_trees_, self.cold_linear_ = self._fit_set(
                [t for t, h in zip(types, has_cold) if h], X[has_cold], cold[has_cold]
            )
        self.overhead_ = _overhead_fit(samples)
        self.runtime_ = dict(runtime or {})
        self.n_samples_ = len(samples)
        self.correction_ = None
        return self

    def calibrate(self, networks: Sequence[Sequence[Kernel]], latency_s: np.ndarray) -> KernelModel:
        """A copy of this model calibrated on measured whole networks (their profiled kernels and
        latency in seconds; best 5-10 of the family to be predicted): each kernel's prediction
        times exp(scale + its type's factor), the factors pulled towards 0 (a ridge of
        :data:`CALIBRATION_RIDGE`), plus a per-run constant; least squares on log latency with a
        soft-L1 loss."""
        from scipy.optimize import least_squares

        self._check()
        y = np.asarray(latency_s, dtype=np.float64)
        if len(networks) != len(y):
            raise EagleError(f"calibrate got {len(networks)} networks but {len(y)} latencies")
        if len(y) < MIN_CALIBRATION_NETWORKS:
            raise EagleError(
                f"calibrating needs at least {MIN_CALIBRATION_NETWORKS} measured networks, got {len(y)}: "
                "measure 5-10 networks of the family you will predict"
            )
        if not (np.isfinite(y).all() and (y > 0).all()):
            raise EagleError("calibration latencies must be positive, finite seconds")
        base = self._uncorrected()
        types = sorted(base.counts_)
        pred = [base.predict_kernels(ks) for ks in networks]
        kinds = [np.array([types.index(t) if t in types else -1 for t in map(kernel_type, ks)]) for ks in networks]
        width = len(types) + 2  # scale, per type, constant (in 1e-4 s)

        def totals(theta: np.ndarray) -> np.ndarray:
            factors = np.exp(theta[0] + np.r_[theta[1:-1], 0.0])  # an unknown type (-1) gets the scale alone
            return np.array([float(p @ factors[k]) for p, k in zip(pred, kinds)]) + theta[-1] * 1e-4

        penalty = np.r_[0.0, np.full(len(types), CALIBRATION_RIDGE), 0.0]

        def residual(theta: np.ndarray) -> np.ndarray:
            return np.concatenate([np.log(np.maximum(totals(theta), 1e-9)) - np.log(y), penalty * theta])

        theta = least_squares(residual, np.zeros(width), loss="soft_l1", f_scale=0.05).x
        out = base  # a copy already
        out.correction_ = {
            "scale": float(theta[0]),
            "types": {t: float(v) for t, v in zip(types, theta[1:-1])},
            "constant_s": float(theta[-1] * 1e-4),
            "networks": len(y),
        }
        return out

    def _uncorrected(self) -> KernelModel:
        import copy

        out = copy.copy(self)
        out.correction_ = None
        return out

    def _factors(self, types: list[str]) -> np.ndarray:
        c = self.correction_
        if not c:
            return np.ones(len(types))
        return np.exp(c["scale"] + np.array([c["types"].get(t, 0.0) for t in types]))

    def _fit_set(
        self, types: list[str], X: np.ndarray, seconds: np.ndarray
    ) -> tuple[dict[str, Any], dict[str, list[float]]]:
        import lightgbm as lgb

        y = np.log(np.maximum(seconds, MIN_KERNEL_S))
        trees: dict[str, Any] = {}
        linear: dict[str, list[float]] = {}
        arr = np.array(types)
        for t in sorted(set(types)):
            mask = arr == t
            if mask.sum() >= MIN_TREE_ROWS:
                booster = lgb.LGBMRegressor(**self._params()).fit(X[mask], y[mask]).booster_
                trees[t] = parse_lightgbm(booster.model_to_string(), len(FEATURES), f"the {t} regressor")
            linear[t] = _linear_fit(X[mask], y[mask])
        linear["*"] = _linear_fit(X, y)
        return trees, linear

    def _check(self) -> None:
        if not hasattr(self, "linear_"):
            raise NotFittedError("this KernelModel is not fitted: call fit() or KernelModel.load()")

    def cold_share(self, kernels: Sequence[Kernel]) -> float:
        """How much of a network's run sees cold weights: 0 when its weights fit the cache."""
        self._check()
        if not self.cold_linear_:
            return 0.0
        cache = float(self.runtime_.get("cache_bytes") or 32 << 20)
        weights = 4.0 * sum(weight_numel(k) for k in kernels)
        return float(np.clip((weights - cache / 2) / cache, 0.0, 1.0))

    def predict_kernels(self, kernels: Sequence[Kernel], cold_share: float = 0.0) -> np.ndarray:
        """Predicted seconds of each kernel, run back to back (``cold_share`` 0, the default) or
        with that share of cold-cache time (:meth:`cold_share` estimates one for a network; on our
        benchmark the blend predicted worse than warm alone, so it is not the default); in a
        network as calibrated when the model is (:meth:`calibrate`)."""
        self._check()
        if not kernels:
            return np.zeros(0)
        share = cold_share
        types, X = _rows(kernels)
        warm = _predict_set(self.trees_, self.linear_, types, X)
        if share > 0:
            warm = (1 - share) * warm + share * _predict_set(self.cold_trees_, self.cold_linear_, types, X)
        return warm * self._factors(types)

    def overhead_s(self, n_kernels: int) -> float:
        """Seconds a run adds to (or, the profiler's share, takes from) the kernels' sum."""
        self._check()
        c = self.correction_
        if c:
            return float(c["constant_s"])
        return self.overhead_[0] + self.overhead_[1] * n_kernels

    def predict(self, kernels: Sequence[Kernel]) -> float:
        """Predicted seconds of one run of a network with these kernels."""
        total = float(self.predict_kernels(kernels).sum())
        return max(total + self.overhead_s(len(kernels)), 0.5 * total)

    # -- persistence -----------------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        import torch

        from eagle.fileio import atomic_write

        self._check()
        header = {
            "eagle_version": __version__,
            "features": list(FEATURES),
            "params": self._params(),
            "trees": {t: b.text for t, b in self.trees_.items()},
            "linear": self.linear_,
            "cold_trees": {t: b.text for t, b in self.cold_trees_.items()},
            "cold_linear": self.cold_linear_,
            "counts": self.counts_,
            "overhead_s": self.overhead_,
            "runtime": self.runtime_,
            "n_samples": self.n_samples_,
            "correction": self.correction_,
        }
        buf = io.BytesIO()
        torch.save({"format": FORMAT, "config": json.dumps(header)}, buf)
        atomic_write(Path(path), lambda fh: fh.write(buf.getvalue()))

    @classmethod
    def load(cls, path: str | Path) -> KernelModel:
        """Read a kernel model file as data: JSON and LightGBM model text, each regressor checked
        (:func:`~eagle.anynet.kernels.trees.parse_lightgbm`) and never given to LightGBM's parser."""
        from eagle.fileio import load_torch_file

        blob = load_torch_file(path, "Eagle kernel model")
        if not isinstance(blob, dict) or blob.get("format") != FORMAT or not isinstance(blob.get("config"), str):
            raise EagleError(f"{path} is not an Eagle kernel model (write one with 'eagle kernels fit')")
        try:
            h = json.loads(blob["config"])
            if h.get("features") != list(FEATURES):
                raise EagleError(
                    f"{path} was fitted on other kernel features (Eagle {h.get('eagle_version')}): refit it"
                )
            self = cls(**{k: v for k, v in h["params"].items() if k not in ("n_jobs", "verbose")})
            self.trees_ = {str(t): _regressor(s, t, path) for t, s in h["trees"].items()}
            self.linear_ = {str(t): [float(c) for c in v] for t, v in h["linear"].items()}
            self.cold_trees_ = {str(t): _regressor(s, t, path) for t, s in h["cold_trees"].items()}
            self.cold_linear_ = {str(t): [float(c) for c in v] for t, v in h["cold_linear"].items()}
            self.counts_ = {str(t): int(v) for t, v in h["counts"].items()}
            self.overhead_ = [float(v) for v in h["overhead_s"]]
            self.runtime_ = dict(h.get("runtime") or {})
            self.n_samples_ = int(h.get("n_samples", 0))
            self.correction_ = _correction(h.get("correction"))
        except EagleError:
            raise
        except Exception as exc:  # damaged JSON or model text
            raise EagleError(f"{path}: damaged Eagle kernel model ({type(exc).__name__}: {exc})"[:300]) from None
        if "*" not in self.linear_ or len(self.overhead_) != 2:
            raise EagleError(f"{path}: damaged Eagle kernel model (fallback or overhead missing)")
        return self


def _regressor(text: object, kind: object, path: str | Path) -> TreeEnsemble:
    try:
        return parse_lightgbm(text, len(FEATURES), f"the {str(kind)[:40]} regressor")
    except TreeModelError as exc:
        raise EagleError(f"{path}: damaged Eagle kernel model ({exc})") from None


def _correction(raw: dict[str, Any] | None) -> dict[str, Any] | None:
    """A saved calibration, checked (None: the model is not calibrated)."""
    if raw is None:
        return None
    types = {str(t): float(v) for t, v in raw["types"].items()}
    scale, constant = float(raw["scale"]), float(raw["constant_s"])
    if not all(np.isfinite(v) for v in [scale, constant, *types.values()]):
        raise ValueError("non-finite calibration")
    return {"scale": scale, "types": types, "constant_s": constant, "networks": int(raw["networks"])}


def weight_numel(k: Kernel) -> int:
    """Weights a kernel reads: a convolution's filter, a matrix product's matrix (ORT prepacks it
    and the profile shows only the input, output and bias: their sizes give it)."""
    from eagle.anynet.kernels import kernel_type

    t = kernel_type(k)
    if t in ("conv", "dwconv") and len(k.inputs) >= 2 and len(k.inputs[1]) == 4:
        w = k.inputs[1]
        return int(w[0] * w[1] * w[2] * w[3])
    if t == "fc" and k.inputs and k.outputs and k.inputs[0] and k.outputs[0]:
        return int(k.inputs[0][-1] * k.outputs[0][-1])
    return 0


def _predict_set(trees: dict[str, Any], linear: dict[str, list[float]], types: list[str], X: np.ndarray) -> np.ndarray:
    out = np.empty(len(types))
    arr = np.array(types)
    for t in set(types):
        mask = arr == t
        if t in trees:
            out[mask] = trees[t].predict(X[mask])
        else:
            coef = np.asarray(linear.get(t, linear["*"]))
            out[mask] = X[mask][:, _LINEAR_COLS] @ coef[1:] + coef[0]
    return np.exp(out)


def _overhead_fit(samples: Sequence[Sample]) -> list[float]:
    """(seconds per run, seconds per kernel): plain wall time minus the profiled kernels' sum,
    against the number of kernels, fitted robustly (Huber; the tails are other jobs' noise).

    The per-kernel term is usually negative: ORT's profiler adds about a microsecond or two to
    each kernel it times, which a run without the profiler does not pay.
    """
    from sklearn.linear_model import HuberRegressor

    timed = [s for s in samples if s.kernels and s.wall_s]
    n = np.array([[len(s.kernels)] for s in timed], dtype=np.float64)
    gap_us = 1e6 * np.array([s.wall_s - sum(k.duration_s for k in s.kernels) for s in timed])
    if len(timed) < 10 or np.ptp(n) == 0:
        return [float(np.median(gap_us)) * 1e-6 if len(timed) else 0.0, 0.0]
    h = HuberRegressor(max_iter=1000).fit(n, gap_us)
    return [float(h.intercept_) * 1e-6, float(h.coef_[0]) * 1e-6]


def _linear_fit(X: np.ndarray, y: np.ndarray) -> list[float]:
    A = np.column_stack([np.ones(len(X)), X[:, _LINEAR_COLS]])
    coef, *_ = np.linalg.lstsq(A.T @ A + 1e-3 * np.eye(A.shape[1]), A.T @ y, rcond=None)
    return [float(c) for c in coef]


def cross_validated_errors(samples: Sequence[Sample], folds: int = 3, seed: int = 0) -> np.ndarray:
    """Per sample, the largest out-of-fold |log error| of its kernels (for adaptive sampling)."""
    rng = np.random.default_rng(seed)
    fold = rng.integers(0, folds, len(samples))
    err = np.zeros(len(samples))
    for f in range(folds):
        train = [s for s, g in zip(samples, fold) if g != f]
        test = [i for i, g in enumerate(fold) if g == f]
        model = KernelModel(n_estimators=150, learning_rate=0.1).fit(train)
        for i in test:
            ks = samples[i].kernels
            if ks:
                pred = np.log(model.predict_kernels(ks))
                true = np.log(np.maximum([k.duration_s for k in ks], MIN_KERNEL_S))
                weight = np.array([k.duration_s for k in ks]) >= 5e-6  # errors on sub-5-us kernels do not matter
                err[i] = float(np.max(np.abs(pred - true) * weight)) if weight.any() else 0.0
    return err
