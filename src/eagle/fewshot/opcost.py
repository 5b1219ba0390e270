"""Per-op cost models: a new device whose latency is a sum of one cost per op (a look-up table).

Many devices are close to additive: latency = a fixed cost (stem, reduction blocks, head) plus a
cost per skip, 1x1 conv, 3x3 conv and pooling op of the cells. Whether the runtime runs dead
branches decides what is counted: every edge of the cell (HELP's devices: a least-squares fit on
the whole-cell counts ranks their test archs at Spearman 0.95-0.99) or only the live edges (the
seed's devices, 0.86-0.98). Accelerator simulators (HW-NAS-Bench's FPGA and Eyeriss) are
additive by construction. The known devices and the fixed analytic references cannot express
"additive, with this device's own cost ratios": with 10 measurements of a synthetic additive
device the mixture without these models ranks at 0.957, with them 0.996.

Model, for one way of counting (``N``: the arch's op counts with a leading 1 for the fixed cost):
``log latency = log(N @ exp(s + psi)) + noise``, where ``s`` is the device's overall scale (broad
prior, as the other components' offset) and ``psi`` the log cost of each part relative to a 3x3
conv (prior centred on :data:`PRIOR_RATIO`, std :data:`PRIOR_LOG_STD` in log space: ratios from
about 1/20 to 20 times the centre are plausible). The posterior and its evidence come from a
Laplace approximation at the MAP (damped Gauss-Newton), so an op-cost model competes with the
linear "like device d" components of :mod:`eagle.fewshot.model` on equal terms.
"""

from __future__ import annotations

import numpy as np

#: the ways of counting ops; each is one component of the few-shot mixture
COUNTINGS = ("all-edges", "live-edges")
#: prior centre of each part's cost relative to a 3x3 conv op: fixed cost, skip, 1x1 conv, 3x3 conv, pool
PRIOR_RATIO = (1.0, 0.03, 0.3, 1.0, 0.1)
#: prior std of each log cost ratio
PRIOR_LOG_STD = 1.5
#: the 3x3 conv's cost is the unit (column 3 of the design); the others are free
_FREE = (0, 1, 2, 4)
_MAX_STEPS = 50


def component_name(counting: str) -> str:
    return f"op-costs/{counting}"


def design(counting: str, idx: np.ndarray) -> np.ndarray:
    """(len(idx), 5): 1 (fixed cost) and the counts of skip, 1x1 conv, 3x3 conv and pool ops."""
    from eagle.fewshot.analytic import op_counts

    counts = op_counts()[counting][idx]
    return np.hstack([np.ones((len(idx), 1)), counts[:, 1:]])


class OpCostPosterior:
    """Laplace posterior of the op-cost model for one counting, fitted to k log latencies."""

    def __init__(self, counting: str, offset_var: float) -> None:
        self.counting, self.offset_var = counting, offset_var
        self.params = np.zeros(len(_FREE) + 1)  # [s, psi_fixed, psi_skip, psi_1x1, psi_pool]
        self.cov = np.eye(len(self.params))
        self.noise = 1.0

    def _mean_and_jacobian(self, n: np.ndarray, params: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        log_cost = np.zeros(5)
        log_cost[list(_FREE)] = params[1:]
        cost = np.exp(params[0] + log_cost)
        total = n @ cost
        share = n * cost / total[:, None]  # d log(total) / d log(cost_j)
        return np.log(total), np.hstack([np.ones((len(n), 1)), share[:, list(_FREE)]])

    def fit(self, idx: np.ndarray, log_y: np.ndarray, noise: float) -> float:
        """MAP and Laplace covariance for noise variance ``noise``; returns the log evidence.

        The evidence drops the same constant as :func:`eagle.fewshot.model._log_evidence`.
        """
        n = design(self.counting, idx)
        centre = np.log(np.asarray(PRIOR_RATIO))
        mean0 = np.concatenate([[0.0], centre[list(_FREE)] - centre[3]])
        mean0[0] = float(np.mean(log_y - self._mean_and_jacobian(n, mean0)[0]))
        prec0 = np.diag([1.0 / self.offset_var] + [1.0 / PRIOR_LOG_STD**2] * len(_FREE))

        def objective(p: np.ndarray) -> float:
            r = log_y - self._mean_and_jacobian(n, p)[0]
            return float(r @ r / (2 * noise) + 0.5 * (p - mean0) @ prec0 @ (p - mean0))

        p, value = mean0.copy(), objective(mean0)
        for _ in range(_MAX_STEPS):
            f, jac = self._mean_and_jacobian(n, p)
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
        f, jac = self._mean_and_jacobian(n, p)
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
        f, jac = self._mean_and_jacobian(design(self.counting, idx), self.params)
        return f, np.einsum("ij,jk,ik->i", jac, self.cov, jac) + self.noise

    def costs(self) -> dict[str, float]:
        """Each part's cost relative to a 3x3 conv op (the MAP)."""
        log_cost = np.zeros(5)
        log_cost[list(_FREE)] = self.params[1:]
        return dict(zip(("fixed", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3"), np.exp(log_cost)))
