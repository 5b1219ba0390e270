"""Few-shot latency prediction: a device basis learned from many devices, adapted by Bayesian regression.

Pretraining (:func:`eagle.costmodels.basis.pretrain`) learns a device basis from many known
devices: arch features shared by every device and the known devices' coefficients.

Adapting to a new device from k measurements (:meth:`FewShotPredictor.fit`) is Bayesian model
averaging over "the new device is like known device d": for each d, a linear model of log
latency ``c + b * L_d(arch) + F(arch) @ delta`` with a broad prior on the offset ``c``, a prior
``b ~ N(1, 0.3^2)`` on the scale and a small correction ``delta ~ N(0, alpha * cov(W))`` in the
basis; the noise variance is chosen by marginal likelihood and the d are weighted by their
evidence times a prior that gives each kind of component (known devices, analytic references,
op-cost models) the same mass (k = 10 over 25 held-out devices 0.939 -> 0.943 against a prior
uniform over the components). Besides the known devices the mixture holds analytic reference devices
(:mod:`eagle.costmodels.analytic`: FLOPs-bound, kernel-launch-bound) and per-op cost models
(:mod:`eagle.costmodels.opcost`: latency as a sum of one cost per op, with the device's own cost
ratios, counted on the whole cell or on its live part, or plus the cell's costliest path for
runtimes that run branches concurrently), for devices unlike any known one.
Measured (benchmarks/fewshot_bench.py) this beats a single Gaussian prior over the coefficients
and plain nearest-device matching. It takes milliseconds, works from any k >= 1
archs, and gives a posterior predictive spread for every arch. :func:`select_archs` proposes
the k archs whose measurement shrinks the prior's predictive variance most (greedy Bayesian design).
What the mixture misses is learned by a residual process (:mod:`eagle.fewshot.residual`), and from
50 archs on a GCN trained on them joins the mean where it helps (:mod:`eagle.fewshot.blend`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import ArrayLike

from eagle import spaces
from eagle.costmodels.basis import DEFAULT_RANK, DeviceBasis, pretrain
from eagle.costmodels.op_basis import OpDeviceBasis, pretrain_ops
from eagle.costmodels.opcost import OpCostPosterior, fit_at_best_noise
from eagle.errors import EagleError, NotFittedError, UsageError
from eagle.fewshot.blend import MIN_ARCHS as BLEND_MIN_ARCHS
from eagle.fewshot.blend import GCNBlend
from eagle.fewshot.residual import ResidualGP
from eagle.spaces.base import Archs, take_archs

__all__ = [
    "BASES",
    "DEFAULT_RANK",
    "DeviceBasis",
    "FewShotPredictor",
    "OpDeviceBasis",
    "pretrain",
    "pretrain_ops",
    "select_archs",
]

#: the few-shot bases: over an enumerable space's archs, or per-op models for a large space
BASES = (DeviceBasis, OpDeviceBasis)

#: prior variance of a new device's offset (log latency): broad, the data decide
OFFSET_PRIOR_VAR = 100.0
NOISE_GRID = (0.25, 0.5, 1.0, 2.0, 4.0, 8.0, 16.0)
#: mixture components lighter than this are left out of predictions
MIN_WEIGHT = 1e-6
#: the spread is scaled so that held-out measurements of the device itself fall inside the 80%
#: interval 80% of the time: exact leave-one-out (mixture refitted) up to LOO_MAX archs, beyond
#: that the residual process's closed-form leave-one-out with the mixture held fixed (measured
#: closer to the coverage on unmeasured archs than 10-fold refits, and far cheaper)
LOO_MAX = 20
#: pseudo-count of archs that pulls the spread's scale towards 1 when few archs inform it
SCALE_PRIOR = 10.0
Z80 = 1.2815515655446004  # the 80% central interval of a normal is mean +- Z80 std


def _posterior(
    x: np.ndarray, y: np.ndarray, mean0: np.ndarray, cov0: np.ndarray, noise_var: float
) -> tuple[np.ndarray, np.ndarray]:
    prec0 = np.linalg.inv(cov0)
    cov = np.linalg.inv(prec0 + x.T @ x / noise_var)
    mean = cov @ (prec0 @ mean0 + x.T @ y / noise_var)
    return mean, cov


def _log_evidence(x: np.ndarray, y: np.ndarray, mean0: np.ndarray, cov0: np.ndarray, noise_var: float) -> float:
    """log N(y; x mean0, x cov0 x' + noise I), dropping the constant.

    Through the matrix determinant lemma and the Woodbury identity, in the p coefficients
    rather than the n archs: O(n p^2) instead of O(n^3) (k = 900 archs: 14 s -> well under 1 s).
    """
    n = len(y)
    r = y - x @ mean0
    prec0 = np.linalg.inv(cov0)
    inner = prec0 + x.T @ x / noise_var  # the posterior precision
    xr = x.T @ r / noise_var
    logdet = n * np.log(noise_var) + np.linalg.slogdet(cov0)[1] + np.linalg.slogdet(inner)[1]
    quad = r @ r / noise_var - xr @ np.linalg.solve(inner, xr)
    return float(-0.5 * (logdet + quad))


class _LinearPosterior:
    """Posterior of "like component d": log latency = c + b * L_d(arch) + F(arch) @ delta."""

    def __init__(self, basis: DeviceBasis, column: int, cov0: np.ndarray) -> None:
        self.basis, self.column, self.cov0 = basis, column, cov0
        self.mean = np.zeros(basis.rank + 2)
        self.cov = cov0
        self.noise = basis.noise_var

    def _design(self, idx: np.ndarray) -> np.ndarray:
        b, d = self.basis, self.column
        return np.hstack([np.ones((len(idx), 1)), b.component_latency[idx, d : d + 1], b.features[idx]])

    def fit(self, idx: np.ndarray, log_y: np.ndarray, noise: float) -> float:
        """Posterior for noise variance ``noise``; returns the log evidence."""
        x = self._design(idx)
        mean0 = np.concatenate([[np.mean(log_y - x[:, 1])], [1.0], np.zeros(self.basis.rank)])
        self.mean, self.cov = _posterior(x, log_y, mean0, self.cov0, noise)
        self.noise = noise
        return _log_evidence(x, log_y, mean0, self.cov0, noise)

    def predict(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        x = self._design(idx)
        return x @ self.mean, np.einsum("ij,jk,ik->i", x, self.cov, x) + self.noise

    def latent(self, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and Jacobian of noise-free log latency in the coefficients (covariance ``self.cov``)."""
        x = self._design(idx)
        return x @ self.mean, x


class FewShotPredictor:
    """A pretrained :class:`DeviceBasis` adapted to one device from k measurements."""

    def __init__(self, basis: DeviceBasis | OpDeviceBasis, *, residual: bool = True, blend: bool = True) -> None:
        self.basis = basis
        self.residual = residual  # learn what the mixture misses (eagle.fewshot.residual)
        self.residual_ = ResidualGP()
        self.blend = blend  # from 50 archs on, a GCN trained on them where it helps (eagle.fewshot.blend)
        self.blend_ = GCNBlend()
        self.spread_scale_ = 1.0  # the held-out check's scale of the spread (with a residual)
        self.component_centre_ = self.component_scale_ = np.zeros(0)  # standardise component means
        self.components_: list[Any] = []  # one fitted posterior per basis component
        self.weights_: np.ndarray = np.zeros(0)  # posterior weight per component; empty until fit
        self.evidence_: np.ndarray = np.zeros(0)  # log evidence of each component
        self.trained_on_: np.ndarray = np.zeros(0, dtype=np.int64)
        self.values_: np.ndarray = np.zeros(0)
        self.train_keys_: list[str] = []  # a large space: the measured archs' keys

    @property
    def space(self) -> spaces.SearchSpace:
        return spaces.get(self.basis.space)

    def _indices(self, archs: Archs) -> np.ndarray:
        """Rows of the basis: integer arrays are rows as they are (a table built for a list of archs
        numbers its rows itself), anything else is an arch of the basis's space."""
        arr = np.asarray(archs) if not isinstance(archs, list | tuple) else None
        if arr is not None and arr.dtype.kind in "iu":
            idx = arr.astype(np.int64).ravel()
            if len(idx) and (idx.min() < 0 or idx.max() >= self.basis.num_archs):
                raise UsageError(f"{self.space.name} arch indices must be in 0..{self.basis.num_archs - 1}")
            return idx
        return self.space.indices(list(archs))

    def fit(self, archs: Archs, y: ArrayLike) -> FewShotPredictor:
        """Adapt to ``y`` (latency, any positive unit) measured on ``archs`` (arch strings or indices)."""
        if isinstance(self.basis, OpDeviceBasis):
            keys = self.space.keys(list(archs))
            inner = FewShotPredictor(self.basis.table_for(keys), residual=False, blend=False)
            inner.fit(np.arange(len(keys)), y)
            self.components_, self.weights_, self.evidence_ = inner.components_, inner.weights_, inner.evidence_
            self.train_keys_, self.values_ = keys, inner.values_
            self.trained_on_ = keys  # type: ignore[assignment]
            return self._fit_residual(keys)._fit_blend(keys)
        idx = self._indices(archs)
        y = np.asarray(y, dtype=np.float64).ravel()
        if len(idx) == 0 or len(idx) != len(y):
            raise UsageError(
                f"few-shot adaptation needs >= 1 (arch, latency) pair; got {len(idx)} archs and {len(y)} values"
            )
        if not np.all(np.isfinite(y) & (y > 0)):
            raise UsageError("few-shot latencies must be positive finite numbers")
        unknown = idx[~self.basis.covered[idx]]
        if len(unknown):
            raise EagleError(
                f"arch indices {unknown[:5].tolist()} are outside the pretrained basis (no pretraining dataset "
                "holds them; NB201's disconnected cells have no latency); measure other archs"
            )
        b = self.basis
        ly = np.log(y)
        r = b.rank
        cov0 = np.zeros((r + 2, r + 2))
        cov0[0, 0] = OFFSET_PRIOR_VAR
        cov0[1, 1] = b.scale_std**2
        cov0[2:, 2:] = b.correction * b.prior_cov + 1e-9 * np.eye(r)
        grid = [b.noise_var * g for g in NOISE_GRID] if len(idx) >= 3 else [b.noise_var]
        components: list[Any] = [_LinearPosterior(b, d, cov0) for d in range(len(b.devices) + len(b.references))]
        components += [OpCostPosterior(c, OFFSET_PRIOR_VAR, b.op_cost_priors.get(c)) for c in b.op_cost_models]
        ev = np.array([fit_at_best_noise(c, idx, ly, grid) for c in components])
        w = np.exp(ev - ev.max()) * b.component_prior
        self.components_, self.weights_, self.evidence_ = components, w / w.sum(), ev
        self.trained_on_, self.values_ = idx, y
        return self._fit_residual(idx)._fit_blend(idx)

    def _fit_residual(self, archs: Archs) -> FewShotPredictor:
        self.residual_ = ResidualGP()
        self.spread_scale_ = 1.0
        if self.residual:
            inner = self._inner(archs)  # once: a large space's table is rebuilt and refitted by each call
            mean, std = self._mixture_log(archs, inner)
            comp = _component_means(*inner)
            self.component_centre_ = comp.mean(axis=0)
            spread = comp.std(axis=0)
            self.component_scale_ = np.where(spread > 0, spread, 1.0)
            self.residual_.fit(self._residual_inputs(archs, inner), np.log(self.values_) - mean)
            if self.residual_.fitted:
                self.spread_scale_ = self._held_out_scale(archs, mean, std)
        return self

    def _fit_blend(self, archs: Archs) -> FewShotPredictor:
        """From :data:`~eagle.fewshot.blend.MIN_ARCHS` archs on, a GCN trained on them, weighted
        against this model's own leave-one-out predictions (:mod:`eagle.fewshot.blend`)."""
        self.blend_ = GCNBlend()
        if self.blend and len(self.values_) >= BLEND_MIN_ARCHS:
            own, _ = self._mixture_log(archs)
            if self.residual_.fitted:
                own = own + self.residual_.leave_one_out()[0]
            self.blend_.fit(self.basis.space, list(self.basis.devices), archs, self.values_, own)
        return self

    def _held_out_scale(self, archs: Archs, mix_mean: np.ndarray, mix_std: np.ndarray) -> float:
        """How much to widen (or narrow) the spread so that the device's own measurements, each
        predicted without it, fall inside the 80% interval 80% of the time; pulled towards 1 by a
        pseudo-count when few archs say so."""
        k = len(self.values_)
        log_y = np.log(self.values_)
        if k <= LOO_MAX:
            z = np.empty(k)
            for i in range(k):
                out = np.arange(k) == i
                mean, std = self._without(archs, ~out).predict_log(take_archs(archs, out))
                z[i] = (log_y[i] - mean[0]) / std[0]
        else:  # the mixture's share of the fit moves little when one of many archs goes
            loo_mean, loo_std = self.residual_.leave_one_out()
            z = (log_y - mix_mean - loo_mean) / np.maximum(mix_std, loo_std)
        ratio = float(np.quantile(np.abs(z), 0.8)) / Z80
        return float(np.exp(k / (k + SCALE_PRIOR) * np.log(max(ratio, 1e-3))))

    def _without(self, archs: Archs, keep: np.ndarray) -> FewShotPredictor:
        """This model refitted on the archs in ``keep`` only (the residual's kernel kept)."""
        sub = take_archs(archs, keep)
        model = FewShotPredictor(self.basis, residual=False, blend=False).fit(sub, self.values_[keep])
        model.component_centre_, model.component_scale_ = self.component_centre_, self.component_scale_
        mean, _ = model._mixture_log(sub)
        model.residual_ = self.residual_.conditioned(self._residual_inputs(sub), np.log(self.values_[keep]) - mean)
        return model

    def _residual_inputs(self, archs: Archs, inner: tuple[FewShotPredictor, np.ndarray] | None = None) -> np.ndarray:
        """Each arch's features for the residual model: the space's flat ones (one-hot ops), on an
        enumerable space its row of the device basis (how the known devices see it), and what each
        component of the mixture predicts for it (so the residual can combine them), standardised.
        ``inner``: :meth:`_inner` of ``archs`` when the caller has it already."""
        space = self.space
        comp = (_component_means(*(inner or self._inner(archs))) - self.component_centre_) / self.component_scale_
        if isinstance(self.basis, OpDeviceBasis):
            return np.hstack([space.features(space.keys(list(archs))), comp])
        idx = self._indices(archs)
        b = self.basis
        scale = b.features[b.covered].std(axis=0)
        rows = b.features[idx] / np.where(scale > 0, scale, 1.0)
        if space.enumerable and b.num_archs == space.size:
            return np.hstack([space.features(idx), rows, comp])
        return np.hstack([rows, comp])

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The basis plus the k measurements: loading re-runs the (deterministic) adaptation."""
        self._check()
        config, arrays = self.basis.state()
        config = {**config, "kind": "fewshot", "basis_kind": config["kind"], "k": len(self.trained_on_)}
        config["residual"], config["blend"] = self.residual, self.blend
        blend_config, blend_tensors = self.blend_.state()
        if blend_config:
            config["gcn_blend"] = blend_config
        if self.train_keys_:
            text = np.frombuffer("\n".join(self.train_keys_).encode(), np.uint8)
            return config, {**arrays, **blend_tensors, "train_archs": text, "values": self.values_}
        return config, {**arrays, **blend_tensors, "trained_on": self.trained_on_, "values": self.values_}

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, Any]) -> FewShotPredictor:
        """Re-runs the (deterministic, fast) adaptation; the GCN of the blend is loaded as saved."""
        residual = bool(config.get("residual", True))
        measured = ("train_archs", "values", "trained_on")
        base = {k: v for k, v in tensors.items() if not k.startswith("blend.") and k not in measured}
        if config.get("basis_kind") == "fewshot-base-ops":
            keys = bytes(np.asarray(tensors["train_archs"], dtype=np.uint8)).decode("utf-8", "replace").split("\n")
            ops = OpDeviceBasis.from_state(config, base)
            model = cls(ops, residual=residual, blend=False).fit(keys, np.asarray(tensors["values"]))
        else:
            model = cls(DeviceBasis.from_state(config, base), residual=residual, blend=False)
            model.fit(np.asarray(tensors["trained_on"]), np.asarray(tensors["values"]))
        model.blend = bool(config.get("blend", True))
        model.blend_ = GCNBlend.from_state(config.get("gcn_blend"), tensors)
        return model

    def _check(self) -> None:
        if not len(self.weights_):
            raise NotFittedError("the few-shot predictor is not adapted yet: fit it on k measured archs first")

    def predict_log(self, archs: Archs) -> tuple[np.ndarray, np.ndarray]:
        """Posterior predictive mean and std of log latency: the mixture's plus the residual model's,
        the mean blended with the GCN's where it helps (:mod:`eagle.fewshot.blend`).

        The residual's mean is added to the mixture's; the spread is the larger of the two (the
        mixture's holds its coefficients' uncertainty and its misfit, the residual's what the
        data say is left; their sum double-counts the misfit: BENCHMARKS.md, issue 22).
        """
        inner = self._inner(archs)
        mean, std = self._mixture_log(archs, inner)
        if self.residual_.fitted:
            r_mean, r_std = self.residual_.predict(self._residual_inputs(archs, inner))
            mean, std = mean + r_mean, np.maximum(std, r_std) * self.spread_scale_
        return self.blend_.apply(archs, mean), std

    def _inner(self, archs: Archs) -> tuple[FewShotPredictor, np.ndarray]:
        """The fitted mixture that holds ``archs``, and their rows in it: this model and the arch
        indices, or for a large space one refitted (ms) on a table over the measured archs and these."""
        self._check()
        if isinstance(self.basis, OpDeviceBasis):
            keys = self.space.keys(list(archs))
            k = len(self.train_keys_)
            table = self.basis.table_for([*self.train_keys_, *keys])
            inner = FewShotPredictor(table, residual=False, blend=False).fit(np.arange(k), self.values_)
            return inner, np.arange(k, k + len(keys))
        return self, self._indices(archs)

    def _mixture_log(
        self, archs: Archs, inner: tuple[FewShotPredictor, np.ndarray] | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """The mixture's predictive mean and std of log latency (mixture over the components).

        Archs outside the basis (disconnected cells, which no pretraining dataset holds, yet
        devices that run dead branches time) are described by the per-op cost models alone: the
        other components know nothing of them. There the op-cost models are mixed by their own
        evidence (without op-cost models, as every other arch). ``inner``: as for :meth:`_residual_inputs`.
        """
        model, idx = inner or self._inner(archs)
        mean, std = model.mixture(idx, model.weights_)
        op_cost = np.array([isinstance(c, OpCostPosterior) for c in model.components_])
        basis = model.basis
        assert isinstance(basis, DeviceBasis)  # a large space's model is refitted on a DeviceBasis table
        outside = ~basis.covered[idx]
        if outside.any() and op_cost.any():
            ev = np.where(op_cost, model.evidence_, -np.inf)
            w = np.exp(ev - ev.max())
            mean[outside], std[outside] = model.mixture(idx[outside], w / w.sum())
        return mean, std

    def mixture(self, idx: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Mean and std of log latency at arch indices ``idx`` when the components are mixed with ``weights``."""
        first = np.zeros(len(idx))
        second = np.zeros(len(idx))
        kept = np.flatnonzero(weights >= MIN_WEIGHT)
        for i in kept:
            m, v = self.components_[i].predict(idx)
            first += weights[i] * m
            second += weights[i] * (v + m**2)
        total = weights[kept].sum()
        first, second = first / total, second / total
        return first, np.sqrt(np.maximum(second - first**2, 0.0))

    def predict(self, archs: Archs) -> np.ndarray:
        """Predicted latency (exp of the posterior mean of log latency), in the unit fitted on."""
        return np.exp(self.predict_log(archs)[0])

    def predict_spread(self, archs: Archs) -> np.ndarray:
        """One standard deviation of the prediction, same unit (log-normal approximation)."""
        mean, std = self.predict_log(archs)
        return np.exp(mean) * np.sqrt(np.expm1(std**2))

    def sample_log(self, archs: Archs, n: int = 200, seed: int = 0) -> np.ndarray:
        """``n`` joint posterior draws of noise-free log latency at ``archs``, shape (n, archs).

        A draw picks a component by its weight, its coefficients from that component's posterior
        (linearised for the op-cost models) and the residual from its Gaussian process, jointly over
        the archs: what is shared (an offset, a scale) moves every arch together and leaves the
        ranking alone, as it should.
        """
        rng = np.random.default_rng(seed)
        inner = self._inner(archs)
        model, idx = inner
        draws = model._mixture_draws(idx, n, rng)
        if self.residual_.fitted:
            mean, cov = self.residual_.latent(self._residual_inputs(archs, inner))
            draws += mean + rng.standard_normal((n, len(mean))) @ _sqrt_psd(cov).T
            centre = draws.mean(axis=0)
            draws = centre + self.spread_scale_ * (draws - centre)
        if self.blend_.used:  # the blend moves the mean, not the spread
            centre = draws.mean(axis=0)
            draws = draws + (self.blend_.apply(archs, centre) - centre)
        return draws

    def _mixture_draws(self, idx: np.ndarray, n: int, rng: np.random.Generator) -> np.ndarray:
        kept = np.flatnonzero(self.weights_ >= MIN_WEIGHT)
        counts = rng.multinomial(n, self.weights_[kept] / self.weights_[kept].sum())
        draws = []
        for i, c in zip(kept, counts):
            if c:
                comp = self.components_[i]
                mean, jac = comp.latent(idx)
                coef = rng.standard_normal((c, len(comp.cov))) @ _sqrt_psd(comp.cov).T
                draws.append(mean + coef @ jac.T)
        out = np.vstack(draws)
        return out[rng.permutation(len(out))]

    def rank_spread(self, archs: Archs, n: int = 200, seed: int = 0) -> float:
        """How uncertain the predicted ranking of ``archs`` still is: the mean over archs of the
        posterior std of each arch's rank, as a share of the list (0: the ranking is certain;
        0.29: no idea). ``eagle calibrate --until`` measures until it falls below a target."""
        draws = self.sample_log(archs, n, seed)
        if draws.shape[1] < 2:
            return 0.0
        ranks = np.argsort(np.argsort(draws, axis=1), axis=1) / (draws.shape[1] - 1)
        return float(ranks.std(axis=0).mean())

    def closest_devices(self, n: int = 3) -> list[tuple[str, float]]:
        """The known devices (or analytic references, op-cost models) the model leans on most, with weights."""
        self._check()
        order = np.argsort(-self.weights_)[:n]
        return [(self.basis.components[i], float(self.weights_[i])) for i in order]


def _component_means(model: FewShotPredictor, idx: np.ndarray) -> np.ndarray:
    """(archs, components): each of ``model``'s components' mean log latency at rows ``idx``."""
    return np.stack([c.predict(idx)[0] for c in model.components_], axis=1)


def _sqrt_psd(cov: np.ndarray) -> np.ndarray:
    """A matrix square root of a (numerically) positive semi-definite covariance."""
    w, v = np.linalg.eigh((cov + cov.T) / 2)
    return v * np.sqrt(np.clip(w, 0.0, None))


def select_archs(
    basis: DeviceBasis | OpDeviceBasis,
    k: int,
    candidates: Any | None = None,
    *,
    criterion: str = "v",
    given: Any | None = None,
) -> list[Any]:
    """The k archs whose measurement most reduces the prior's uncertainty (greedy Bayesian design).

    The design's model of a new device is the basis's (an offset and a coefficient per basis
    feature) plus an unknown effect per op choice (the space's flat features) of the prior
    variance :attr:`~eagle.costmodels.basis.DeviceBasis.op_effect_var`: what a device unlike the
    known ones adds, and what the residual model learns. The first archs pin the basis
    coefficients; later ones also spread over the op choices.
    ``criterion="v"`` (default) minimises the average predictive variance over every arch of
    the space (V-optimal: picks representative archs); ``"d"`` maximises the information about
    the coefficients (D-optimal: favours extreme archs). ``given``: archs already measured (the
    design starts from what they told, and never proposes them again): the next batch.
    Deterministic: the same basis, candidates and given archs give the same archs in the same order.
    """
    if criterion not in ("v", "d"):
        raise EagleError(f"selection criterion {criterion!r}: choose v or d")
    if isinstance(basis, OpDeviceBasis):  # a large space: choose among candidate arch keys
        if candidates is None:
            raise UsageError(f"{basis.space} is too large to choose from: give the candidate archs")
        space = spaces.get(basis.space)
        measured = space.keys(list(given)) if given is not None else []
        keys = [key for key in space.keys(list(candidates)) if key not in set(measured)]
        table = basis.table_for([*keys, *measured])
        flat = space.features([*keys, *measured]) if basis.op_effect_var > 0 else None
        done = len(keys) + np.arange(len(measured))
        return [keys[i] for i in _design(table, flat, k, np.arange(len(keys)), done, criterion)]
    cand = np.flatnonzero(basis.covered) if candidates is None else np.asarray(candidates, dtype=np.int64)
    cand = cand[basis.covered[cand]]
    done = np.zeros(0, dtype=np.int64) if given is None else np.asarray(given, dtype=np.int64).ravel()
    done = done[basis.covered[done]]  # archs outside the basis tell the design nothing
    space = spaces.get(basis.space)
    enumerated = basis.op_effect_var > 0 and space.enumerable and space.size == basis.num_archs
    ops = space.features(np.arange(basis.num_archs)) if enumerated else None
    return [int(i) for i in _design(basis, ops, k, cand[~np.isin(cand, done)], done, criterion)]


def _design(
    basis: DeviceBasis, flat: np.ndarray | None, k: int, cand: np.ndarray, done: np.ndarray, criterion: str
) -> list[int]:
    """The greedy design over ``basis``'s rows: ``cand`` to choose from, ``done`` measured;
    ``flat``: every row's flat features, whose effects have prior variance ``basis.op_effect_var``
    (None: no op effects)."""
    from scipy.linalg import block_diag

    if not 1 <= k <= len(cand):
        raise UsageError(
            f"k = {k}: choose between 1 and {len(cand)} archs" + (" not measured yet" if len(done) else "")
        )
    rows = [np.ones((basis.num_archs, 1)), basis.features]
    priors = [np.array([[OFFSET_PRIOR_VAR]]), basis.prior_cov]
    if flat is not None:
        rows.append(flat - flat[basis.covered].mean(axis=0))
        priors.append(basis.op_effect_var * np.eye(flat.shape[1]))
    design = np.hstack(rows)
    cov = block_diag(*priors) / basis.noise_var
    for row in design[done]:  # condition on what is measured
        c = cov @ row
        cov = cov - np.outer(c, c) / (1.0 + row @ c)
    everything = design[basis.covered]
    second_moment = everything.T @ everything / len(everything)
    x = design[cand]
    chosen: list[int] = []
    for _ in range(k):
        cx = x @ cov  # (n, p): C x_j for every candidate
        own = np.einsum("ij,ij->i", cx, x)  # x_j' C x_j
        if criterion == "d":
            gain = own  # log(1 + x'Cx): information about the coefficients
        else:  # drop of the mean predictive variance over the space: x'C M C x / (1 + x'C x)
            gain = np.einsum("ij,ij->i", cx @ second_moment, cx) / (1.0 + own)
        gain[chosen] = -np.inf
        j = int(np.argmax(gain))
        chosen.append(j)
        cov = cov - np.outer(cx[j], cx[j]) / (1.0 + own[j])
    return [int(cand[j]) for j in chosen]
