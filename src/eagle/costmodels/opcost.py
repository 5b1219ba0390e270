"""Per-op cost models: a new device whose latency is a sum of one cost per op (a look-up table).

Many devices are close to additive: latency = a fixed cost (stem, reduction blocks, head) plus a
cost per skip, 1x1 conv, 3x3 conv and pooling op of the cells. Whether the runtime runs dead
branches decides what is counted: every edge of the cell (HELP's devices: a least-squares fit on
the whole-cell counts ranks their test archs at Spearman 0.95-0.99) or only the live edges (the
seed's devices, 0.86-0.98). Running the whole reference cell also runs its ``none`` edges (NB201's
Zero op multiplies by 0: one kernel in PyTorch eager, dearer than a skip, which runs none), so
a second whole-cell model (``all-edges+none``) prices them too: on HELP's GPUs that lifts the
least-squares fit from 0.95-0.98 to 0.98-1.00; ``all-edges`` keeps them free (a simulator or
compiler that drops them). Accelerator simulators (HW-NAS-Bench's FPGA and Eyeriss) are
additive by construction. A runtime that runs a cell's branches concurrently (inter-op threads,
several streams or engines) adds a term for the costliest input->output path of the cell
(``critical-path``: the seed's i7-7820x file, 0.86 additive, is ranked at 0.97 from 10 archs).
The known devices and the fixed analytic references cannot express these with the new device's
own cost ratios: with 10 measurements of a synthetic additive device the mixture without these
models ranks at 0.957, with them 0.996.

Model, for the ops counted ``N`` (with a leading 1 for the fixed cost) and cost vector ``c``:
``log latency = log(N @ c [+ lam * max over paths of path_counts @ c]) + noise`` (:data:`PARTS`), with
``c = exp(s + psi)``: ``s`` is the device's overall scale (broad prior, as the other components'
offset), ``psi`` the log cost of each part relative to a 3x3 conv (prior centred on
:data:`PRIOR_RATIO`, std :data:`PRIOR_LOG_STD`: ratios from about 1/20 to 20 times the centre are
plausible) and ``lam`` the weight of the critical path (prior centred on 1, same std); pretraining
replaces these default priors by what the known devices say (:func:`learn_priors`: the cost
ratios of the devices each model fits best, k = 10 over 25 held-out devices 0.934 -> 0.938). The
posterior and its evidence come from a Laplace approximation at the MAP (damped Gauss-Newton),
so an op-cost model competes with the linear "like device d" components of
:mod:`eagle.fewshot.model` on equal terms.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

from eagle import progress
from eagle.errors import EagleError

#: the op-cost models; each is one component of the few-shot mixture
#: the space these per-op cost models describe (they count NB201's edges and paths)
OP_COST_SPACE = "nasbench201"
MODELS = ("all-edges", "all-edges+none", "live-edges", "critical-path")
#: the parts of a network that cost: its fixed part, then one op of each kind
PARTS = ("fixed", "none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
#: prior centre of each part's cost relative to a 3x3 conv op (``none``: the reference network's
#: Zero op, one elementwise kernel like a pool, run only where the whole cell is)
PRIOR_RATIO = (1.0, 0.1, 0.03, 0.3, 1.0, 0.1)
#: prior std of each log cost ratio (and of the critical path's log weight)
PRIOR_LOG_STD = 1.5
#: the 3x3 conv's cost is the unit (column 4 of the design)
_UNIT = 4
#: the op counts each model reads (:func:`eagle.costmodels.analytic.op_counts`)
_COUNTED = {
    "all-edges": "all-edges",
    "all-edges+none": "all-edges",
    "live-edges": "live-edges",
    "critical-path": "live-edges",
}
_NONE = PARTS.index("none")
#: the parts whose cost each model fits besides the 3x3 conv (the unit); ``none`` edges count only
#: where their cost is fitted
_FREE = {
    "all-edges": (0, 2, 3, 5),
    "all-edges+none": (0, 1, 2, 3, 5),
    "live-edges": (0, 2, 3, 5),
    "critical-path": (0, 2, 3, 5),
}
_MAX_STEPS = 50


def component_name(model: str) -> str:
    return f"op-costs/{model}"


def _counts(model: str, idx: np.ndarray) -> np.ndarray:
    """(len(idx), 6): 1 (fixed cost) and the counts of none, skip, 1x1 conv, 3x3 conv and pool ops.

    ``none`` ops count only where the model prices them (``all-edges+none``: the whole reference
    cell runs, Zero ops included).
    """
    from eagle.costmodels.analytic import op_counts

    design = np.hstack([np.ones((len(idx), 1)), op_counts()[_COUNTED[model]][idx]])
    if _NONE not in _FREE[model]:
        design[:, _NONE] = 0.0
    return design


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


def default_prior(model: str) -> tuple[np.ndarray, np.ndarray]:
    """Mean and std of the log cost ratios of ``model``'s free parts (+ the critical path's log
    weight) before any device: centred on :data:`PRIOR_RATIO`, std :data:`PRIOR_LOG_STD`."""
    centre = np.log(np.asarray(PRIOR_RATIO))
    mean = np.concatenate([centre[list(_FREE[model])] - centre[_UNIT], [0.0] * (model == "critical-path")])
    return mean, np.full(len(mean), PRIOR_LOG_STD)


class OpCostPosterior:
    """Laplace posterior of one op-cost model (:data:`MODELS`), fitted to k log latencies."""

    def __init__(
        self, model: str, offset_var: float, prior: tuple[Sequence[float], Sequence[float]] | None = None
    ) -> None:
        if model not in MODELS:
            raise EagleError(f"unknown op-cost model {model!r}; valid: {', '.join(MODELS)}")
        self.model, self.offset_var = model, offset_var
        self.critical_path = model == "critical-path"
        self.free = _FREE[model]
        # [s, log cost ratio of each free part] (+ log lam)
        self.params = np.zeros(len(self.free) + 1 + self.critical_path)
        self.prior = default_prior(model) if prior is None else tuple(np.asarray(a, dtype=np.float64) for a in prior)
        if any(a.shape != (len(self.params) - 1,) for a in self.prior):
            raise EagleError(f"op-cost model {model}: a prior needs {len(self.params) - 1} means and stds")
        self.cov = np.eye(len(self.params))
        self.noise = 1.0

    def _mean_and_jacobian(self, idx: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        n = _counts(self.model, idx)
        log_cost = np.zeros(len(PARTS))
        log_cost[list(self.free)] = params[1 : 1 + len(self.free)]
        cost = np.exp(params[0] + log_cost)
        total = n @ cost
        weight = n * cost  # d total / d log(cost_j)
        if self.critical_path:
            counts, present = path_counts()
            path_cost = np.where(present[idx], counts[idx] @ cost[1:], -np.inf)  # counts by op id: no fixed part
            longest = np.argmax(path_cost, axis=1)
            on_path = counts[idx][np.arange(len(idx)), longest] * present[idx].any(axis=1)[:, None]
            lam = np.exp(params[-1])
            span = on_path @ cost[1:]
            total = total + lam * span
            weight[:, 1:] += lam * on_path * cost[1:]
        share = weight / total[:, None]  # d log(total) / d log(cost_j)
        jac = [np.ones((len(idx), 1)), share[:, list(self.free)]]
        if self.critical_path:
            jac.append((lam * span / total)[:, None])
        return np.log(total), np.hstack(jac)

    def fit(self, idx: np.ndarray, log_y: np.ndarray, noise: float) -> float:
        """MAP and Laplace covariance for noise variance ``noise``; returns the log evidence.

        The evidence drops the same constant as :func:`eagle.fewshot.model._log_evidence`.
        """
        mean0 = np.concatenate([[0.0], self.prior[0]])
        mean0[0] = float(np.mean(log_y - self._mean_and_jacobian(idx, mean0)[0]))
        prec0 = np.diag(np.concatenate([[1.0 / self.offset_var], 1.0 / self.prior[1] ** 2]))

        def objective(p: np.ndarray) -> float:
            r = log_y - self._mean_and_jacobian(idx, p)[0]
            return float(r @ r / (2 * noise) + 0.5 * (p - mean0) @ prec0 @ (p - mean0))

        p, value = mean0.copy(), objective(mean0)
        for _ in range(_MAX_STEPS):
            f, jac = self._mean_and_jacobian(idx, p)
            grad = jac.T @ (log_y - f) / noise - prec0 @ (p - mean0)
            step = _solve(jac.T @ jac / noise + prec0, grad)
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
        self.params, self.cov, self.noise = p, _inverse(hessian), noise
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

    def latent(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and Jacobian of noise-free log latency in the parameters, at the MAP (covariance ``self.cov``)."""
        return self._mean_and_jacobian(idx, self.params)

    def costs(self) -> dict[str, float]:
        """Each op's cost relative to a 3x3 conv op, and the fixed part's (the MAP).

        ``critical_path``: the path's weight. Over the whole cell with its Zero ops
        (``all-edges+none``) every arch has six edges, so the data fix each op's cost only
        relative to a ``none`` edge's (the reference cell's Zero op): there each op is given as
        its cost over a ``none`` edge (a negative skip cost: a skip is cheaper than a Zero op, as
        in PyTorch eager) and ``fixed`` as the cost of the network with six ``none`` edges.
        """
        log_cost = np.zeros(len(PARTS))
        log_cost[list(self.free)] = self.params[1 : 1 + len(self.free)]
        cost = dict(zip(PARTS, np.exp(log_cost).tolist()))
        none = cost.pop("none")
        zero = none if _NONE in self.free else 0.0  # an unpriced none edge costs nothing
        unit = cost["nor_conv_3x3"] - zero
        out = {op: (c + 6 * zero if op == "fixed" else c - zero) / unit for op, c in cost.items()}
        if self.critical_path:
            out["critical_path"] = float(np.exp(self.params[-1]))
        return out


def fit_at_best_noise(posterior: Any, idx: np.ndarray, log_y: np.ndarray, noises: Sequence[float]) -> float:  # noqa: ANN401 - an op-cost or a few-shot linear posterior (duck-typed fit)
    """Fit ``posterior`` (anything with ``fit(idx, log_y, noise) -> log evidence``: an op-cost or a
    few-shot linear posterior) at the noise variance of highest evidence among ``noises``, and
    return that evidence."""
    noise = max(noises, key=lambda v: posterior.fit(idx, log_y, v))
    return posterior.fit(idx, log_y, noise)


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
        evidence = fit_at_best_noise(posterior, idx, log_y, [spread * g for g in MANY_SHOT_NOISE])
        if best is None or evidence > best[0]:
            best = (evidence, posterior)
    assert best is not None
    return best[1]


#: archs per known device that :func:`learn_priors` fits on (at least PRIOR_MIN_ARCHS), the least
#: devices a model's prior is learned from, and the floor of a learned prior's std (they are few)
PRIOR_ARCHS = 1000
PRIOR_MIN_ARCHS = 20
PRIOR_MIN_DEVICES = 3
PRIOR_STD_FLOOR = 0.5


def learn_priors(latencies: dict[str, np.ndarray]) -> dict[str, tuple[list[float], list[float]]]:
    """Empirical-Bayes priors for the op-cost models, from known devices' latencies by NB201 index.

    Every device (NaN = absent) gets the model of highest evidence on up to :data:`PRIOR_ARCHS`
    of its connected archs (:func:`fit_best`); a model's prior is the mean and spread (plus
    :data:`PRIOR_STD_FLOOR`) of its log cost ratios over the devices it fits best, given at least
    :data:`PRIOR_MIN_DEVICES` of them; a model without such a prior keeps :func:`default_prior`.
    Returns ``{model: (means, stds)}`` (lists, for checkpoint configs).
    """
    from eagle.spaces import get

    valid = get("nasbench201").valid_mask()
    rng = np.random.default_rng(0)
    winners: dict[str, list[np.ndarray]] = {m: [] for m in MODELS}
    for values in progress.track(list(latencies.values()), desc="pretrain: op-cost priors", unit="device"):
        v = np.asarray(values, dtype=np.float64)
        idx = np.flatnonzero(np.isfinite(v) & valid)
        if len(idx) < PRIOR_MIN_ARCHS:
            continue
        idx = np.sort(rng.choice(idx, min(PRIOR_ARCHS, len(idx)), replace=False))
        best = fit_best(idx, np.log(v[idx]))
        winners[best.model].append(best.params[1:].copy())
    priors = {}
    for model, fitted in winners.items():
        if len(fitted) >= PRIOR_MIN_DEVICES:
            params = np.array(fitted)
            std = np.sqrt(params.var(axis=0) + PRIOR_STD_FLOOR**2)
            priors[model] = (params.mean(axis=0).tolist(), std.tolist())
    return priors


def _solve(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``a^-1 b``; a singular ``a`` (e.g. identical latencies, collinear counts) falls back to least squares."""
    try:
        return np.linalg.solve(a, b)
    except np.linalg.LinAlgError:
        return np.linalg.lstsq(a, b, rcond=None)[0]


def _inverse(a: np.ndarray) -> np.ndarray:
    try:
        return np.linalg.inv(a)
    except np.linalg.LinAlgError:
        return np.linalg.pinv(a)
