"""What a neural predictor feeds its network: the space's encoding plus inputs learned from data.

* :func:`graph_inputs`: the space's encoding of the archs, the adjacency mean-normalised or raw.
* :class:`OpCostFeature`: the standardised log latency that a per-op cost model fitted to the
  training data gives each arch. A space may register a specialised family of op-cost models in
  :data:`SPECIALISED` (NB201: whole-cell, live-part and critical-path models chosen by evidence,
  :func:`eagle.costmodels.opcost.fit_best`); every other space gets an additive model, a ridge
  regression of log latency on :meth:`~eagle.spaces.base.SearchSpace.op_counts` (a look-up table
  of per-layer op costs).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from eagle.errors import EagleError
from eagle.spaces.base import Archs, Encoded, SearchSpace

#: ridge penalty of the additive op-cost model (standardised log latency per op-count column)
ADDITIVE_ALPHA = 1.0


def graph_inputs(space: SearchSpace, archs: Archs, encoding: str, adjacency: str) -> Encoded:
    """``space.encode(archs, encoding)`` with the adjacency normalised as the config says."""
    enc = space.encode(archs, encoding)
    if adjacency == "mean" and enc.adjacency.size:
        from eagle.predictors.gcn import normalise_rows

        return Encoded(normalise_rows(enc.adjacency).astype(np.float32), enc.nodes, enc.globals)
    return enc


def _nb201_table(space: SearchSpace, archs: Archs, log_y: np.ndarray) -> tuple[np.ndarray, str]:
    """NB201's op-cost models over every index (the table the checkpoint stores)."""
    from eagle.costmodels.opcost import fit_best

    posterior = fit_best(space.indices(archs), log_y)
    mean, _ = posterior.predict(np.arange(int(space.size or 0)))
    return mean, posterior.model


#: space name -> fit(space, archs, log_y) -> (predicted log latency for every index, model name)
SPECIALISED: dict[str, Callable[[SearchSpace, Archs, np.ndarray], tuple[np.ndarray, str]]] = {
    "nasbench201": _nb201_table
}


@dataclass
class OpCostFeature:
    """The fitted op-cost input: a table over an enumerable space's indices, or additive coefficients."""

    model: str
    table: np.ndarray | None = None  # (size, 1) float32, standardised
    coef: np.ndarray | None = None  # (1 + len(op_vocabulary),) intercept then per-op costs, standardised

    @classmethod
    def fit(cls, space: SearchSpace, archs: Archs, y: np.ndarray) -> OpCostFeature:
        if (y <= 0).any():
            raise EagleError("the op-cost input needs positive targets (latency); set op_costs=False")
        log_y = np.log(y)
        centre, scale = log_y.mean(), log_y.std() or 1.0
        special = SPECIALISED.get(space.name)
        if special is not None:
            mean, model = special(space, archs, log_y)
            return cls(model, table=((mean - centre) / scale).astype(np.float32)[:, None])
        from sklearn.linear_model import Ridge

        x = space.op_counts(archs)
        fit = Ridge(alpha=ADDITIVE_ALPHA).fit(x, (log_y - centre) / scale)
        return cls("additive", coef=np.concatenate([[float(fit.intercept_)], fit.coef_]))

    def values(self, space: SearchSpace, archs: Archs) -> np.ndarray:
        """(n, 1) float32 feature column."""
        if self.table is not None:
            return self.table[space.indices(archs)]
        assert self.coef is not None
        return (self.coef[0] + space.op_counts(archs) @ self.coef[1:]).astype(np.float32)[:, None]

    def arrays(self) -> dict[str, np.ndarray]:
        """For a checkpoint (NB201's table keeps its historical name)."""
        if self.table is not None:
            return {"op_cost_feature": self.table}
        assert self.coef is not None
        return {"op_cost_coef": self.coef}

    @classmethod
    def from_arrays(cls, model: str, arrays: dict[str, np.ndarray]) -> OpCostFeature | None:
        if "op_cost_feature" in arrays:
            return cls(model, table=np.asarray(arrays["op_cost_feature"], dtype=np.float32))
        if "op_cost_coef" in arrays:
            return cls(model, coef=np.asarray(arrays["op_cost_coef"], dtype=np.float64))
        return None
