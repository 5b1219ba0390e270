"""Baselines users compare against, with the same estimator API as the neural predictors.

Each works on any search space (``space=``, NB201 by default) through its contract:

* ``flops`` / ``params``: latency = a * cost^b (a line in log-log space) from the training archs;
  rank-equivalent to the cost itself (:meth:`SearchSpace.costs`).
* ``lut``: a per-op lookup table: latency = c + sum of learned per-op costs
  (:meth:`SearchSpace.op_counts`; NB201: one cost per op type per live edge), non-negative least squares.
* ``ridge``: ridge regression of log latency on :meth:`SearchSpace.features` (NB201: the 30-d
  one-hot arch vector).
* ``gbt``: gradient-boosted trees (scikit-learn) on the features plus the flattened graph encoding.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from eagle import spaces
from eagle.errors import EagleError
from eagle.predictors.base import NotFittedError, fitted_archs
from eagle.spaces.base import Archs, SearchSpace
from eagle.threads import limited_threads


class _Baseline:
    kind = "baseline"

    def __init__(self, *, seed: int = 0, space: str | SearchSpace | None = None, **params: Any) -> None:
        self.seed = seed
        self.params = params
        self.space = spaces.resolve(space)
        self.fitted_: Any = None
        self.trained_on_: list[int] | list[str] = []

    def _archs(self, archs: Archs) -> Archs:
        return self.space.indices(archs) if self.space.enumerable else self.space.keys(archs)

    def _check(self) -> None:
        if self.fitted_ is None:
            raise NotFittedError(f"this {self.kind} predictor is not fitted yet: call fit() or load a checkpoint")

    def predict_spread(self, archs: Archs) -> np.ndarray | None:
        """Baselines give point predictions only."""
        return None

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON config, arrays) for a checkpoint: the fitted numbers, nothing executable."""
        self._check()
        return self._config(), {"fitted": np.asarray(self.fitted_)}

    def _config(self) -> dict[str, Any]:
        return {"kind": self.kind, "seed": self.seed, "space": spaces.spec(self.space), "params": self.params}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, Any]) -> _Baseline:
        obj = cls(seed=config["seed"], space=config.get("space"), **config["params"])
        fitted = np.asarray(arrays["fitted"], dtype=np.float64)
        if fitted.size == 0 or not np.isfinite(fitted).all():
            raise EagleError(f"damaged {cls.kind} checkpoint: its fitted values are empty or not finite")
        obj.fitted_ = fitted
        return obj


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

    def _x(self, archs: Archs) -> np.ndarray:
        return np.log(self.space.costs(self._archs(archs))[:, 0 if self.kind == "flops" else 1] + 1.0)

    def fit(self, archs: Archs, y: ArrayLike) -> CostBaseline:
        b, a = np.polyfit(self._x(archs), np.log(np.asarray(y, dtype=np.float64)), 1)
        self.fitted_ = np.array([a, b])
        self.trained_on_ = fitted_archs(self.space, archs)
        return self

    def predict(self, archs: Archs) -> np.ndarray:
        self._check()
        return np.exp(self.fitted_[0] + self.fitted_[1] * self._x(archs))


def lut_features(space: SearchSpace, archs: Archs) -> np.ndarray:
    """The space's op counts without all-zero vocabulary entries (NB201: 6 edges x 4 ops = 24 columns)."""
    counts = space.op_counts(archs)
    if space.name == "nasbench201":  # "none" edges run nothing: the seed-compatible 24 columns
        counts = np.delete(counts, np.arange(0, counts.shape[1], 5), axis=1)
    return counts


class LookupTableBaseline(_Baseline):
    kind = "lut"

    def fit(self, archs: Archs, y: ArrayLike) -> LookupTableBaseline:
        """Non-negative per-op costs plus a fixed cost of at least half the fastest training arch's
        latency (every network has a stem and a head), so no prediction is 0 or negative."""
        from scipy.optimize import lsq_linear

        keys = self._archs(archs)
        y = np.asarray(y, dtype=np.float64)
        if len(y) == 0 or not (np.isfinite(y).all() and (y > 0).all()):
            raise EagleError("the lut baseline needs positive, finite latencies")
        scale = float(np.median(y))  # fit in units of the median: 1e-12 s and 1e6 s data alike
        x = np.hstack([np.ones((len(keys), 1)), lut_features(self.space, keys)])
        lower = np.zeros(x.shape[1])
        lower[0] = 0.5 * float(y.min()) / scale
        res = lsq_linear(x, y / scale, bounds=(lower, np.inf))
        self.fitted_ = res.x * scale
        self.trained_on_ = fitted_archs(self.space, archs)
        return self

    def predict(self, archs: Archs) -> np.ndarray:
        self._check()
        keys = self._archs(archs)
        return np.hstack([np.ones((len(keys), 1)), lut_features(self.space, keys)]) @ self.fitted_


class RidgeBaseline(_Baseline):
    kind = "ridge"

    def fit(self, archs: Archs, y: ArrayLike) -> RidgeBaseline:
        from sklearn.linear_model import Ridge

        model = Ridge(alpha=float(self.params.get("alpha", 1.0))).fit(
            self.space.features(self._archs(archs)), np.log(np.asarray(y, dtype=np.float64))
        )
        self.fitted_ = np.concatenate([[float(model.intercept_)], model.coef_])  # a checkpoint stores these
        self.trained_on_ = fitted_archs(self.space, archs)
        return self

    def predict(self, archs: Archs) -> np.ndarray:
        self._check()
        return np.exp(self.fitted_[0] + self.space.features(self._archs(archs)) @ self.fitted_[1:])


def graph_features(space: SearchSpace, archs: Archs) -> np.ndarray:
    """Flat features, the flattened graph of the space's last encoding with a graph, and its globals."""
    n = len(archs)
    if space.name == "nasbench201":  # the seed's graph plus the cost and op-count globals
        seed, eagle = space.encode(archs, "seed"), space.encode(archs, "eagle")
        parts = [space.features(archs), seed.adjacency.reshape(n, -1), seed.nodes.reshape(n, -1), eagle.globals[:, :13]]
    else:
        enc = space.encode(archs)
        parts = [space.features(archs), enc.adjacency.reshape(n, -1), enc.nodes.reshape(n, -1), enc.globals]
    return np.hstack(parts)


class GBTBaseline(_Baseline):
    kind = "gbt"

    def fit(self, archs: Archs, y: ArrayLike) -> GBTBaseline:
        from sklearn.ensemble import HistGradientBoostingRegressor

        keys = self._archs(archs)
        y = np.asarray(y, dtype=np.float64)
        with limited_threads():  # OpenMP's pool beside a busy core made this fit 10x slower
            self.fitted_ = HistGradientBoostingRegressor(
                max_iter=int(self.params.get("max_iter", 500)), learning_rate=0.05, random_state=self.seed
            ).fit(graph_features(self.space, keys), np.log(y))
        self.train_ = (keys, y)
        self.trained_on_ = fitted_archs(self.space, archs)
        return self

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """Trees are not plain arrays: a checkpoint stores the training data and seed, and loading
        refits them (deterministic for a seed; under a second for thousands of archs)."""
        self._check()
        keys, y = self.train_
        if not isinstance(keys, np.ndarray):  # a space without indices: the keys as one text array
            text = "\n".join(str(k) for k in keys)
            return self._config(), {"train_archs": np.frombuffer(text.encode(), np.uint8), "train_y": y}
        return self._config(), {"train_idx": keys, "train_y": y}

    @classmethod
    def from_state(cls, config: dict[str, Any], arrays: dict[str, Any]) -> _Baseline:
        if "train_archs" in arrays:
            archs: Archs = (
                bytes(np.asarray(arrays["train_archs"], dtype=np.uint8)).decode("utf-8", "replace").split("\n")
            )
        else:
            archs = np.asarray(arrays["train_idx"], dtype=np.int64)
        y = np.asarray(arrays["train_y"], dtype=np.float64)
        if len(archs) != len(y) or len(y) < 2 or not (np.isfinite(y).all() and (y > 0).all()):
            raise EagleError("damaged gbt checkpoint: its training data is inconsistent")
        return cls(seed=config["seed"], space=config.get("space"), **config["params"]).fit(archs, y)

    def predict(self, archs: Archs) -> np.ndarray:
        self._check()
        with limited_threads():
            return np.exp(self.fitted_.predict(graph_features(self.space, self._archs(archs))))
