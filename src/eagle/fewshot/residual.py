"""What the few-shot mixture misses, learned from the measurements: a Gaussian-process residual.

The mixture of :mod:`eagle.fewshot.model` describes a new device through a handful of numbers
(an offset, a scale, a rank-8 correction, a few op costs), so it stops improving after a few
dozen measurements: it cannot represent what no known device, reference or op-cost model does.
The residual model lets the data take over as they grow: the log latency measured minus the
mixture's mean is regressed on each arch's flat features (the space's one-hot op encoding, and
on an enumerable space the arch's row of the device basis, standardised) by a Gaussian process with a linear
plus a squared-exponential kernel and white noise, its hyper-parameters chosen by marginal
likelihood (scikit-learn). With few archs the mixture explains them and the fitted amplitude is
tiny, so predictions stay the mixture's; with hundreds the process carries what the mixture
cannot (``BENCHMARKS.md``, issue 22).
"""

from __future__ import annotations

import warnings

import numpy as np

#: fewer measurements than this leave the mixture alone (nothing to learn a residual from)
MIN_ARCHS = 3


class ResidualGP:
    """A Gaussian process over arch features fitted to the mixture's residuals (log latency)."""

    def __init__(self) -> None:
        self.gp_: object | None = None

    @property
    def fitted(self) -> bool:
        return self.gp_ is not None

    def fit(self, x: np.ndarray, residual: np.ndarray) -> ResidualGP:
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.gaussian_process import GaussianProcessRegressor
        from sklearn.gaussian_process.kernels import RBF, DotProduct, WhiteKernel
        from sklearn.gaussian_process.kernels import ConstantKernel as Amplitude

        if len(residual) < MIN_ARCHS:
            self.gp_ = None
            return self
        kernel = (
            Amplitude(1e-2, (1e-6, 1e1)) * DotProduct(1.0, (1e-2, 1e2))
            + Amplitude(1e-2, (1e-6, 1e1)) * RBF(3.0, (0.3, 1e2))
            + WhiteKernel(1e-3, (1e-6, 1e1))
        )
        gp = GaussianProcessRegressor(kernel, normalize_y=False, random_state=0)
        with warnings.catch_warnings():  # a hyper-parameter at its bound is an answer, not a fault
            warnings.simplefilter("ignore", ConvergenceWarning)
            gp.fit(x, residual)
        self.gp_ = gp
        return self

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std (with the white noise: the spread of a new measurement) of the residual."""
        if self.gp_ is None or not len(x):
            return np.zeros(len(x)), np.zeros(len(x))
        mean, std = self.gp_.predict(x, return_std=True)  # type: ignore[attr-defined]
        return mean, std

    def latent(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and joint covariance of the noise-free residual at ``x`` (for sampling rankings)."""
        if self.gp_ is None or not len(x):
            return np.zeros(len(x)), np.zeros((len(x), len(x)))
        from scipy.linalg import solve_triangular

        gp = self.gp_
        signal = gp.kernel_.k1  # type: ignore[attr-defined]  # the kernel without its white noise
        cross = signal(x, gp.X_train_)  # type: ignore[attr-defined]
        mean = cross @ gp.alpha_  # type: ignore[attr-defined]
        v = solve_triangular(gp.L_, cross.T, lower=True)  # type: ignore[attr-defined]
        return mean, signal(x) - v.T @ v

    def conditioned(self, x: np.ndarray, residual: np.ndarray) -> ResidualGP:
        """The same kernel (hyper-parameters kept) conditioned on other data: for held-out checks."""
        from sklearn.gaussian_process import GaussianProcessRegressor

        out = ResidualGP()
        if self.gp_ is not None and len(residual):
            kernel = self.gp_.kernel_  # type: ignore[attr-defined]
            out.gp_ = GaussianProcessRegressor(kernel, optimizer=None, normalize_y=False).fit(x, residual)
        return out

    def leave_one_out(self) -> tuple[np.ndarray, np.ndarray]:
        """Closed-form leave-one-out mean and std (with noise) of the residual at each training arch."""
        from scipy.linalg import cho_solve

        gp = self.gp_
        if gp is None:
            raise ValueError("the residual model is not fitted")
        inv = cho_solve((gp.L_, True), np.eye(len(gp.L_)))  # type: ignore[attr-defined]
        d = np.diag(inv)
        y = gp.y_train_  # type: ignore[attr-defined]
        return y - (inv @ y) / d, 1.0 / np.sqrt(d)

    @property
    def kernel(self) -> str:
        return "none (fewer than 3 archs)" if self.gp_ is None else str(self.gp_.kernel_)  # type: ignore[attr-defined]
