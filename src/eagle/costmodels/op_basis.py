"""A device basis for search spaces too large to enumerate (FBNet, OFA-MobileNetV3, ...).

The enumerable basis (:mod:`eagle.costmodels.basis`) factorises an (arch x device) table of log
latencies. Here the archs cannot be listed, so each known device is first described by an additive
per-op cost model (a ridge regression of its log latency on the space's
:meth:`~eagle.spaces.base.SearchSpace.op_counts`, fitted to its dataset), and the basis is the
rank-r factorisation of those models' predictions on the archs the datasets hold. Everything is
then a linear function of an arch's op counts, so :meth:`OpDeviceBasis.table_for` builds, for any
list of archs, the same :class:`~eagle.costmodels.basis.DeviceBasis` the few-shot model adapts
(features, known devices' centred log latency, analytic references), and the few-shot machinery
runs unchanged. The noise variance is what the per-op models and the rank-r factorisation leave
unexplained on the known devices' own measurements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eagle import progress, spaces
from eagle.costmodels.basis import DEFAULT_RANK, DeviceBasis, variance
from eagle.errors import EagleError
from eagle.spaces.base import Archs

#: ridge penalty of each known device's per-op model (log latency on op counts)
ALPHA = 1.0


@dataclass
class OpDeviceBasis:
    """What pretraining on a large space learns; see the module docstring."""

    weights: np.ndarray  # (1 + V, D): intercept, then per-op log-latency costs of each known device
    center: np.ndarray  # (D,) mean of each device's modelled log latency over the pretraining archs
    projection: np.ndarray  # (D, r): centred log latency -> basis features
    prior_cov: np.ndarray  # (r, r)
    noise_var: float
    devices: list[str]
    space: str
    reference_center: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (R,) mean log reference latency
    reference_offset: np.ndarray = field(default_factory=lambda: np.zeros(0))  # (R,) fixed cost of each reference
    references: list[str] = field(default_factory=list)
    scale_std: float = 0.3
    correction: float = 0.3
    num_archs: int = 0  # archs the known devices' datasets held
    #: as :attr:`DeviceBasis.op_effect_var` (0 in bases saved before it existed)
    op_effect_var: float = 0.0

    @property
    def rank(self) -> int:
        return int(self.projection.shape[1])

    @property
    def components(self) -> list[str]:
        return [*self.devices, *self.references]

    def _space(self) -> spaces.SearchSpace:
        return spaces.get(self.space)

    def modelled(self, archs: Archs) -> np.ndarray:
        """(n, D) each known device's modelled log latency of ``archs``."""
        x = self._space().op_counts(archs)
        return self.weights[0] + x @ self.weights[1:]

    def _references(self, archs: Archs) -> np.ndarray:
        if not self.references:
            return np.zeros((len(archs), 0))
        from eagle.costmodels.analytic import cost_references

        refs = cost_references(self._space().costs(archs), self.reference_offset)
        return np.log(np.stack([refs[r] for r in self.references], axis=1)) - self.reference_center

    def table_for(self, archs: Archs) -> DeviceBasis:
        """The basis over exactly ``archs`` (row i = archs[i]), for the few-shot model."""
        latency = self.modelled(archs) - self.center
        return DeviceBasis(
            features=latency @ self.projection,
            device_latency=latency,
            covered=np.ones(len(latency), dtype=bool),
            prior_cov=self.prior_cov,
            noise_var=self.noise_var,
            devices=list(self.devices),
            scale_std=self.scale_std,
            correction=self.correction,
            reference_latency=self._references(archs),
            references=list(self.references),
            space=self.space,
            op_effect_var=self.op_effect_var,
        )

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        config = {
            "kind": "fewshot-base-ops",
            "rank": self.rank,
            "noise_var": self.noise_var,
            "devices": self.devices,
            "space": self.space,
            "references": self.references,
            "scale_std": self.scale_std,
            "correction": self.correction,
            "num_archs": self.num_archs,
            "op_effect_var": self.op_effect_var,
        }
        arrays = {
            "weights": self.weights,
            "center": self.center,
            "projection": self.projection,
            "prior_cov": self.prior_cov,
            "reference_center": self.reference_center,
            "reference_offset": self.reference_offset,
        }
        return config, arrays

    @classmethod
    def from_state(cls, config: dict[str, Any], tensors: dict[str, Any]) -> OpDeviceBasis:
        a = {k: np.asarray(v, dtype=np.float64) for k, v in tensors.items()}
        basis = cls(
            weights=a["weights"],
            center=a["center"],
            projection=a["projection"],
            prior_cov=a["prior_cov"],
            noise_var=variance(config["noise_var"], "noise_var", positive=True),
            devices=list(config["devices"]),
            space=str(config["space"]),
            reference_center=a["reference_center"],
            reference_offset=a["reference_offset"],
            references=list(config.get("references", [])),
            scale_std=float(config.get("scale_std", 0.3)),
            correction=float(config.get("correction", 0.3)),
            num_archs=int(config.get("num_archs", 0)),
            op_effect_var=variance(config.get("op_effect_var", 0.0), "op_effect_var"),
        )
        d, r = len(basis.devices), basis.rank
        if basis.weights.shape[1] != d or basis.center.shape != (d,) or basis.prior_cov.shape != (r, r):
            raise EagleError("damaged few-shot base: its arrays do not fit its devices and rank")
        return basis


def pretrain_ops(
    latencies: dict[str, tuple[list[str], np.ndarray]],
    space: str,
    *,
    rank: int = DEFAULT_RANK,
    shrinkage: float = 0.1,
    min_archs: int = 50,
    analytic: bool = True,
) -> OpDeviceBasis:
    """Learn the basis from ``{device: (arch keys, latency in any unit)}`` of one large space."""
    from sklearn.linear_model import Ridge

    sp = spaces.get(space)
    small = sorted(n for n, (keys, _) in latencies.items() if len(keys) < min_archs)
    if small:
        raise EagleError(f"too few measured archs (< {min_archs}) to pretrain on: {', '.join(small)}")
    if len(latencies) < 2:
        raise EagleError("pretraining needs at least 2 latency datasets")
    names = list(latencies)
    universe = list(dict.fromkeys(k for keys, _ in latencies.values() for k in keys))
    rank = int(min(rank, len(names) - 1))
    progress.stage(f"pretraining the few-shot basis on {len(names)} {sp.name} datasets (rank {rank}, per-op models)")
    weights = np.zeros((1 + len(sp.op_vocabulary), len(names)))
    resid_var = []
    for d, name in enumerate(names):
        keys, y = latencies[name]
        y = np.asarray(y, dtype=np.float64)
        if not (np.isfinite(y).all() and (y > 0).all()):
            raise EagleError(f"{name}: latencies must be positive finite numbers")
        x = sp.op_counts(keys)
        fit = Ridge(alpha=ALPHA).fit(x, np.log(y))
        weights[0, d], weights[1:, d] = fit.intercept_, fit.coef_
        resid_var.append(float(np.var(np.log(y) - fit.predict(x))))
    modelled = weights[0] + sp.op_counts(universe) @ weights[1:]
    center = modelled.mean(axis=0)
    centred = modelled - center
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    n = len(universe)
    projection = vt[:rank].T / np.sqrt(n)  # features = centred @ projection = U_r S_r / sqrt(n)
    coefs = vt[:rank].T * np.sqrt(n)  # (D, r): centred ~ features @ coefs.T
    recon = (centred @ projection) @ coefs.T
    recon_var = np.mean((centred - recon) ** 2, axis=0)
    cov = np.cov(coefs, rowvar=False).reshape(rank, rank)
    cov += shrinkage * np.mean(np.diag(cov)) * np.eye(rank)
    references: list[str] = []
    ref_center = ref_offset = np.zeros(0)
    if analytic:
        from eagle.costmodels.analytic import FLOPS_OVERHEAD, cost_references

        costs = sp.costs(universe)
        ref_offset = FLOPS_OVERHEAD * np.median(costs, axis=0) + 1.0
        refs = cost_references(costs, ref_offset)
        references = list(refs)
        ref_center = np.log(np.stack([refs[r] for r in references], axis=1)).mean(axis=0)
    noise_var = max(float(np.median(np.array(resid_var) + recon_var)), 1e-8)
    return OpDeviceBasis(
        weights=weights,
        center=center,
        projection=projection,
        prior_cov=cov,
        noise_var=noise_var,
        devices=names,
        space=spaces.spec(sp),
        reference_center=ref_center,
        reference_offset=ref_offset,
        references=references,
        num_archs=n,
        op_effect_var=noise_var,
    )
