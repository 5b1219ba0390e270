"""Baselines users compare against, with the same estimator API as the neural predictors.

* ``flops`` / ``params``: latency = a * cost^b (a line in log-log space) from the training archs;
  rank-equivalent to the cost itself.
* ``lut``: a per-op lookup table: latency = c + sum of learned per-op costs over the live
  edges (one cost per op type per edge position), non-negative least squares.
* ``ridge``: ridge regression of log latency on the 30-d one-hot arch vector.
* ``gbt``: gradient-boosted trees (scikit-learn) on one-hot + pruned-graph features.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from eagle.errors import EagleError
from eagle.predictors.base import NotFittedError
from eagle.predictors.neural import _indices


class _Baseline:
    kind = "baseline"

    def __init__(self, *, seed: int = 0, **params: Any) -> None:
        self.seed = seed
        self.params = params
        self.fitted_: Any = None

    def _check(self) -> None:
        if self.fitted_ is None:
            raise NotFittedError(f"this {self.kind} predictor is not fitted yet: call fit() or load a checkpoint")

    def predict_spread(self, archs: Any) -> np.ndarray | None:
        """Baselines give point predictions only."""
        return None

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON config, arrays) for a checkpoint: the fitted numbers, nothing executable."""
        self._check()
        return {"kind": self.kind, "seed": self.seed, "params": self.params}, {"fitted": np.asarray(self.fitted_)}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, Any]) -> _Baseline:
        obj = cls(seed=config["seed"], **config["params"])
        fitted = np.asarray(arrays["fitted"], dtype=np.float64)
        if fitted.size == 0 or not np.isfinite(fitted).all():
            raise EagleError(f"damaged {cls.kind} checkpoint: its fitted values are empty or not finite")
        obj.fitted_ = fitted
        return obj


def _cost_table(which: int) -> np.ndarray:
    from eagle.spaces.nasbench201.space import NASBench201

    space = NASBench201()
    return np.array([space.cost(v, mode="pruned")[which] for v in space.archs()], dtype=np.float64)


class CostBaseline(_Baseline):
    """log(latency) = a + b log(cost) with cost = MACs (``flops``) or parameters (``params``)."""

    def __init__(self, kind: str = "flops", **kw: Any) -> None:
        super().__init__(**kw)
        self.kind = kind

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, Any]) -> _Baseline:
        obj = super().from_state(config, arrays)
        assert isinstance(obj, CostBaseline)
        obj.kind = config["kind"]
        return obj

    def _x(self, idx: np.ndarray) -> np.ndarray:
        return np.log(_cost_table(1 if self.kind == "flops" else 0)[idx] + 1.0)

    def fit(self, archs: Any, y: Any) -> CostBaseline:
        idx = _indices(archs)
        b, a = np.polyfit(self._x(idx), np.log(np.asarray(y, dtype=np.float64)), 1)
        self.fitted_ = np.array([a, b])
        return self

    def predict(self, archs: Any) -> np.ndarray:
        self._check()
        return np.exp(self.fitted_[0] + self.fitted_[1] * self._x(_indices(archs)))


def lut_features(idx: np.ndarray) -> np.ndarray:
    """Per-edge, per-op indicator of live edges (6 x 4 = 24 columns)."""
    from eagle.spaces.nasbench201.graph import live_edges
    from eagle.spaces.nasbench201.space import NASBench201

    space = NASBench201()
    out = np.zeros((len(idx), 24))
    for row, i in enumerate(idx):
        vec = space.vector(int(i))
        for e, (op, live) in enumerate(zip(vec, live_edges(vec))):
            if live and op > 0:
                out[row, e * 4 + op - 1] = 1
    return out


class LookupTableBaseline(_Baseline):
    kind = "lut"

    def fit(self, archs: Any, y: Any) -> LookupTableBaseline:
        """Non-negative per-op costs plus a fixed cost of at least half the fastest training arch's
        latency (every network has a stem and a head), so no prediction is 0 or negative."""
        from scipy.optimize import lsq_linear

        idx = _indices(archs)
        y = np.asarray(y, dtype=np.float64)
        if len(y) == 0 or not (np.isfinite(y).all() and (y > 0).all()):
            raise EagleError("the lut baseline needs positive, finite latencies")
        scale = float(np.median(y))  # fit in units of the median: 1e-12 s and 1e6 s data alike
        x = np.hstack([np.ones((len(idx), 1)), lut_features(idx)])
        lower = np.zeros(x.shape[1])
        lower[0] = 0.5 * float(y.min()) / scale
        res = lsq_linear(x, y / scale, bounds=(lower, np.inf))
        self.fitted_ = res.x * scale
        return self

    def predict(self, archs: Any) -> np.ndarray:
        self._check()
        idx = _indices(archs)
        return np.hstack([np.ones((len(idx), 1)), lut_features(idx)]) @ self.fitted_


class RidgeBaseline(_Baseline):
    kind = "ridge"

    def fit(self, archs: Any, y: Any) -> RidgeBaseline:
        from sklearn.linear_model import Ridge

        from eagle.predictors.encoding import onehot_table

        idx = _indices(archs)
        model = Ridge(alpha=float(self.params.get("alpha", 1.0))).fit(
            onehot_table()[idx], np.log(np.asarray(y, dtype=np.float64))
        )
        self.fitted_ = np.concatenate([[float(model.intercept_)], model.coef_])  # a checkpoint stores these
        return self

    def predict(self, archs: Any) -> np.ndarray:
        from eagle.predictors.encoding import onehot_table

        self._check()
        return np.exp(self.fitted_[0] + onehot_table()[_indices(archs)] @ self.fitted_[1:])


def graph_features(idx: np.ndarray) -> np.ndarray:
    from eagle.predictors.encoding import eagle_tables, onehot_table, seed_tables

    adj, feat = seed_tables()
    _, _, glob = eagle_tables()
    n = len(idx)
    return np.hstack([onehot_table()[idx], adj[idx].reshape(n, -1), feat[idx].reshape(n, -1), glob[idx, :13]])


class GBTBaseline(_Baseline):
    kind = "gbt"

    def fit(self, archs: Any, y: Any) -> GBTBaseline:
        from sklearn.ensemble import HistGradientBoostingRegressor

        idx = _indices(archs)
        y = np.asarray(y, dtype=np.float64)
        self.fitted_ = HistGradientBoostingRegressor(
            max_iter=int(self.params.get("max_iter", 500)), learning_rate=0.05, random_state=self.seed
        ).fit(graph_features(idx), np.log(y))
        self.train_ = (idx, y)
        return self

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Trees are not plain arrays: a checkpoint stores the training data and seed, and loading
        refits them (deterministic for a seed; under a second for thousands of archs)."""
        self._check()
        idx, y = self.train_
        return {"kind": self.kind, "seed": self.seed, "params": self.params}, {"train_idx": idx, "train_y": y}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, Any]) -> _Baseline:
        idx = np.asarray(arrays["train_idx"], dtype=np.int64)
        y = np.asarray(arrays["train_y"], dtype=np.float64)
        if len(idx) != len(y) or len(y) < 2 or not (np.isfinite(y).all() and (y > 0).all()):
            raise EagleError("damaged gbt checkpoint: its training data is inconsistent")
        return cls(seed=config["seed"], **config["params"]).fit(idx, y)

    def predict(self, archs: Any) -> np.ndarray:
        self._check()
        return np.exp(self.fitted_.predict(graph_features(_indices(archs))))
