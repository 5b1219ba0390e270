"""Per-op cost models: a new device whose latency is a sum of one cost per op (a look-up table).

Many devices are close to additive: latency = a fixed cost (stem, reduction blocks, head) plus a
cost per skip, 1x1 conv, 3x3 conv and pooling op of the cells. Whether the runtime runs dead
branches decides what is counted: every edge of the cell (HELP's devices: a least-squares fit on
the whole-cell counts ranks their test archs at Spearman 0.95-0.99) or only the live edges (the
seed's devices, 0.86-0.98). Accelerator simulators (HW-NAS-Bench's FPGA and Eyeriss) are
additive by construction. A runtime that runs a cell's branches concurrently (inter-op threads,
several streams or engines) adds a term for the costliest input->output path of the cell
(``critical-path``: the seed's i7-7820x file, 0.86 additive, is ranked at 0.97 from 10 archs).
The known devices and the fixed analytic references cannot express these with the new device's
own cost ratios: with 10 measurements of a synthetic additive device the mixture without these
models ranks at 0.957, with them 0.996.

Model, for the ops counted ``N`` (with a leading 1 for the fixed cost) and cost vector ``c``:
``log latency = log(N @ c [+ lam * max over paths of path_counts @ c]) + noise``, with
``c = exp(s + psi)``: ``s`` is the device's overall scale (broad prior, as the other components'
offset), ``psi`` the log cost of each part relative to a 3x3 conv (prior centred on
:data:`PRIOR_RATIO`, std :data:`PRIOR_LOG_STD`: ratios from about 1/20 to 20 times the centre are
plausible) and ``lam`` the weight of the critical path (prior centred on 1, same std). The
posterior and its evidence come from a Laplace approximation at the MAP (damped Gauss-Newton),
so an op-cost model competes with the linear "like device d" components of
:mod:`eagle.fewshot.model` on equal terms.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from eagle.errors import EagleError

#: the op-cost models; each is one component of the few-shot mixture
MODELS = ("all-edges", "live-edges", "critical-path")
#: prior centre of each part's cost relative to a 3x3 conv op: fixed cost, skip, 1x1 conv, 3x3 conv, pool
PRIOR_RATIO = (1.0, 0.03, 0.3, 1.0, 0.1)
#: prior std of each log cost ratio (and of the critical path's log weight)
PRIOR_LOG_STD = 1.5
PARTS = ("fixed", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: the 3x3 conv's cost is the unit (column 3 of the design); the others are free
_FREE = (0, 1, 2, 4)
_MAX_STEPS = 50


def component_name(model: str) -> str:
    return f"op-costs/{model}"


def _counts(model: str, idx: np.ndarray) -> np.ndarray:
    """(len(idx), 5): 1 (fixed cost) and the counts of skip, 1x1 conv, 3x3 conv and pool ops."""
    from eagle.fewshot.analytic import op_counts

    counts = op_counts()["all-edges" if model == "all-edges" else "live-edges"][idx]
    return np.hstack([np.ones((len(idx), 1)), counts[:, 1:]])


@lru_cache(maxsize=1)
def path_counts() -> tuple[np.ndarray, np.ndarray]:
    """Per arch and input->output path of the cell: (op counts [15625, P, 5], present [15625, P]).

    A path is present when none of its edges is ``none``; the counts are by op id (column 0, none,
    stays 0). The NB201 cell has P = 4 such paths.
    """
    from eagle.spaces.nasbench201 import NASBench201
    from eagle.spaces.nasbench201.arch import EDGES

    def paths_from(node: int) -> list[list[int]]:
        if node == 3:
            return [[]]
        return [[e, *rest] for e, (src, dst) in enumerate(EDGES) if src == node for rest in paths_from(dst)]

    paths = paths_from(0)
    vectors = np.array(NASBench201().archs())
    counts = np.zeros((len(vectors), len(paths), 5))
    present = np.zeros((len(vectors), len(paths)), dtype=bool)
    rows = np.arange(len(vectors))
    for j, path in enumerate(paths):
        present[:, j] = (vectors[:, path] != 0).all(axis=1)
        for e in path:
            counts[rows, j, vectors[:, e]] += present[:, j]
    for values in (counts, present):
        values.setflags(write=False)
    return counts, present


class OpCostPosterior:
    """Laplace posterior of one op-cost model (:data:`MODELS`), fitted to k log latencies."""

    def __init__(self, model: str, offset_var: float) -> None:
        if model not in MODELS:
            raise EagleError(f"unknown op-cost model {model!r}; valid: {', '.join(MODELS)}")
        self.model, self.offset_var = model, offset_var
        self.critical_path = model == "critical-path"
        # [s, psi_fixed, psi_skip, psi_1x1, psi_pool] (+ log lam)
        self.params = np.zeros(len(_FREE) + 1 + self.critical_path)
        self.cov = np.eye(len(self.params))
        self.noise = 1.0

    def _mean_and_jacobian(self, idx: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = _counts(self.model, idx)
        log_cost = np.zeros(5)
        log_cost[list(_FREE)] = params[1 : 1 + len(_FREE)]
        cost = np.exp(params[0] + log_cost)
        total = n @ cost
        weight = n * cost  # d total / d log(cost_j)
        if self.critical_path:
            counts, present = path_counts()
            path_cost = np.where(present[idx], counts[idx] @ cost, -np.inf)
            longest = np.argmax(path_cost, axis=1)
            on_path = counts[idx][np.arange(len(idx)), longest] * present[idx].any(axis=1)[:, None]
            lam = np.exp(params[-1])
            span = on_path @ cost
            total = total + lam * span
            weight = weight + lam * on_path * cost
        share = weight / total[:, None]  # d log(total) / d log(cost_j)
        jac = [np.ones((len(idx), 1)), share[:, list(_FREE)]]
        if self.critical_path:
            jac.append((lam * span / total)[:, None])
        return np.log(total), np.hstack(jac)

    def fit(self, idx: np.ndarray, log_y: np.ndarray, noise: float) -> float:
        """MAP and Laplace covariance for noise variance ``noise``; returns the log evidence.

        The evidence drops the same constant as :func:`eagle.fewshot.model._log_evidence`.
        """
        centre = np.log(np.asarray(PRIOR_RATIO))
        mean0 = np.concatenate([[0.0], centre[list(_FREE)] - centre[3], [0.0] * self.critical_path])
        mean0[0] = float(np.mean(log_y - self._mean_and_jacobian(idx, mean0)[0]))
        prec0 = np.diag([1.0 / self.offset_var] + [1.0 / PRIOR_LOG_STD**2] * (len(mean0) - 1))

        def objective(p: np.ndarray) -> float:
            r = log_y - self._mean_and_jacobian(idx, p)[0]
            return float(r @ r / (2 * noise) + 0.5 * (p - mean0) @ prec0 @ (p - mean0))

        p, value = mean0.copy(), objective(mean0)
        for _ in range(_MAX_STEPS):
            f, jac = self._mean_and_jacobian(idx, p)
            grad = jac.T @ (log_y - f) / noise - prec0 @ (p - mean0)
            step = np.linalg.solve(jac.T @ jac / noise + prec0, grad)
            t = 1.0
            while t > 1e-6 and objective(p + t * step) > value:
                t /= 2
            if t <= 1e-6:
                break
            p, value = p + t * step, objective(p + t * step)
            if np.max(np.abs(t * step)) < 1e-8:
                break
        f, jac = self._mean_and_jacobian(idx, p)
        hessian = jac.T @ jac / noise + prec0
        self.params, self.cov, self.noise = p, np.linalg.inv(hessian), noise
        r = log_y - f
        return float(
            -0.5 * len(log_y) * np.log(noise)
            - r @ r / (2 * noise)
            - 0.5 * (p - mean0) @ prec0 @ (p - mean0)
            + 0.5 * np.linalg.slogdet(prec0)[1]
            - 0.5 * np.linalg.slogdet(hessian)[1]
        )

    def predict(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Predictive mean and variance of log latency (linearised around the MAP)."""
        f, jac = self._mean_and_jacobian(idx, self.params)
        return f, np.einsum("ij,jk,ik->i", jac, self.cov, jac) + self.noise

    def costs(self) -> dict[str, float]:
        """Each part's cost relative to a 3x3 conv op (the MAP); ``critical_path``: the path's weight."""
        log_cost = np.zeros(5)
        log_cost[list(_FREE)] = self.params[1 : 1 + len(_FREE)]
        out = dict(zip(PARTS, np.exp(log_cost).tolist()))
        if self.critical_path:
            out["critical_path"] = float(np.exp(self.params[-1]))
        return out


#: noise variances tried when fitting on many archs, relative to the variance of the log latencies
MANY_SHOT_NOISE = (0.001, 0.003, 0.01, 0.03, 0.1)


def fit_best(idx: np.ndarray, log_y: np.ndarray, offset_var: float = 100.0) -> OpCostPosterior:
    """The op-cost model (of :data:`MODELS`) of highest evidence for ``log_y`` measured on ``idx``.

    Each model is fitted at the noise variance of highest evidence among :data:`MANY_SHOT_NOISE`
    times the variance of ``log_y``; meant for many archs (a predictor's training set).
    """
    idx = np.asarray(idx, dtype=np.int64)
    log_y = np.asarray(log_y, dtype=np.float64)
    spread = float(np.var(log_y)) or 1.0
    best: tuple[float, OpCostPosterior] | None = None
    for model in MODELS:
        posterior = OpCostPosterior(model, offset_var)
        noise = max((spread * g for g in MANY_SHOT_NOISE), key=lambda v: posterior.fit(idx, log_y, v))
        evidence = posterior.fit(idx, log_y, noise)
        if best is None or evidence > best[0]:
            best = (evidence, posterior)
    assert best is not None
    return best[1]
