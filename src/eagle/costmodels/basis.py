"""The device basis: what many devices' latencies say about every architecture.

Pretraining (:func:`pretrain`) stacks the log latencies of D known devices into an
(arch x device) matrix, centres each device, fills the holes (partial datasets) by iterative
low-rank SVD, and keeps a rank-r factorisation ``L ~ F W^T``: ``F`` (archs x r) are learned arch
features shared by every device, ``W`` (D x r) the known devices' coefficients. With it come the
analytic reference devices (:mod:`eagle.costmodels.analytic`) and the per-op cost models with
priors learned from the known devices (:mod:`eagle.costmodels.opcost`).

A cost model, used by both the few-shot predictor (:mod:`eagle.fewshot`) and the default GCN's
arch prior (:mod:`eagle.predictors.prior`); neither of those imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from eagle import progress
from eagle.costmodels.opcost import MODELS, OP_COST_SPACE, component_name, learn_priors
from eagle.errors import EagleError, NotFittedError
from eagle.spaces.base import SearchSpace

#: size of the learned device basis
DEFAULT_RANK = 8

__all__ = ["DEFAULT_RANK", "DeviceBasis", "NotFittedError", "pretrain"]


@dataclass
class DeviceBasis:
    """What pretraining learns: arch features, the known devices, the priors."""

    features: np.ndarray  # (N, r) basis features by arch index; zero rows where no device has data
    device_latency: np.ndarray  # (N, D) completed, centred log latency of the known devices
    covered: np.ndarray  # (N,) bool: archs the basis has data for
    prior_cov: np.ndarray  # (r, r) covariance of the known devices' basis coefficients
    noise_var: float  # median residual variance of the known devices (log latency)
    devices: list[str] = field(default_factory=list)
    #: prior std of the scale b and prior scale of the correction (fraction of prior_cov)
    scale_std: float = 0.3
    correction: float = 0.3
    #: (N, R) centred log latency of the analytic reference devices, and their names
    reference_latency: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    references: list[str] = field(default_factory=list)
    #: the per-op cost models (:data:`eagle.costmodels.opcost.MODELS`) that join the mixture
    op_cost_models: list[str] = field(default_factory=list)
    #: their priors learned from the known devices (:func:`eagle.costmodels.opcost.learn_priors`);
    #: a model without one keeps the default prior
    op_cost_priors: dict[str, tuple[list[float], list[float]]] = field(default_factory=dict)
    #: the search space (registry name or "module:Class") whose arch indices the arrays follow
    space: str = "nasbench201"
    #: prior variance (log latency) of a new device's own effect per op choice (the space's flat
    #: features), beyond what the basis explains: what the residual model learns, and what the
    #: arch design plans for. Pretraining sets it to the noise variance (an op's effect as large
    #: as a measurement's noise; BENCHMARKS.md, issue 22). 0 in bases saved before it existed:
    #: their design ignores it, as it did
    op_effect_var: float = 0.0

    def __post_init__(self) -> None:
        if self.reference_latency.shape[0] != len(self.features):
            self.reference_latency = np.zeros((len(self.features), self.reference_latency.shape[1]))

    @property
    def num_archs(self) -> int:
        return len(self.features)

    @property
    def rank(self) -> int:
        return int(self.features.shape[1])

    @property
    def components(self) -> list[str]:
        """What a new device may be like: the known devices, the analytic references, the op-cost models."""
        return [*self.devices, *self.references, *(component_name(c) for c in self.op_cost_models)]

    @property
    def component_prior(self) -> np.ndarray:
        """Prior weight of each component: every kind of explanation (like a known device, an
        analytic reference, a per-op cost model) is equally likely a priori, its members alike."""
        sizes = [len(self.devices), len(self.references), len(self.op_cost_models)]
        kinds = sum(n > 0 for n in sizes)
        return np.concatenate([np.full(n, 1.0 / (kinds * n)) for n in sizes if n])

    @cached_property
    def component_latency(self) -> np.ndarray:
        """(N, D + R): :attr:`device_latency` and :attr:`reference_latency` side by side."""
        return np.hstack([self.device_latency, self.reference_latency])

    def arrays(self) -> dict[str, np.ndarray]:
        return {
            "features": self.features,
            "device_latency": self.device_latency,
            "covered": self.covered,
            "prior_cov": self.prior_cov,
            "reference_latency": self.reference_latency,
        }

    def settings(self) -> dict[str, Any]:
        return {
            "noise_var": self.noise_var,
            "devices": self.devices,
            "scale_std": self.scale_std,
            "correction": self.correction,
            "references": self.references,
            "op_cost_models": self.op_cost_models,
            "op_cost_priors": {m: [list(mean), list(std)] for m, (mean, std) in self.op_cost_priors.items()},
            "space": self.space,
            "op_effect_var": self.op_effect_var,
        }

    def state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """(JSON config, arrays) for :func:`eagle.predictors.save`."""
        return {"kind": "fewshot-base", "rank": self.rank, **self.settings()}, self.arrays()

    @classmethod
    def from_state(cls, settings: dict[str, Any], tensors: dict[str, Any]) -> DeviceBasis:
        """The base saved by :meth:`state` (tensors may be torch tensors or numpy arrays)."""
        arrays = {k: np.asarray(v) for k, v in tensors.items()}
        return cls(
            features=np.asarray(arrays["features"], dtype=np.float64),
            device_latency=np.asarray(arrays["device_latency"], dtype=np.float64),
            covered=np.asarray(arrays["covered"], dtype=bool),
            prior_cov=np.asarray(arrays["prior_cov"], dtype=np.float64),
            noise_var=variance(settings["noise_var"], "noise_var", positive=True),
            devices=list(settings["devices"]),
            scale_std=float(settings["scale_std"]),
            correction=float(settings["correction"]),
            # checkpoints from before the analytic references have none
            reference_latency=np.asarray(arrays.get("reference_latency", np.zeros((0, 0))), dtype=np.float64),
            references=list(settings.get("references", [])),
            op_cost_models=list(settings.get("op_cost_models", [])),  # none before they existed
            op_cost_priors={
                m: (list(mean), list(std)) for m, (mean, std) in settings.get("op_cost_priors", {}).items()
            },
            space=str(settings.get("space", "nasbench201")),
            op_effect_var=variance(settings.get("op_effect_var", 0.0), "op_effect_var"),
        )


def variance(value: object, name: str, *, positive: bool = False) -> float:
    """A variance read from a saved base: a finite number >= 0 (> 0 with ``positive``); else a
    ValueError (the checkpoint loader reports it as a damaged checkpoint)."""
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, not {str(value)[:40]!r}") from None
    if not np.isfinite(v) or v < 0 or (positive and v == 0):
        raise ValueError(f"{name} must be a finite {'positive' if positive else 'non-negative'} number, not {v}")
    return v


def _complete(matrix: np.ndarray, rank: int, iterations: int = 30) -> np.ndarray:
    """Fill NaNs of a column-centred matrix by iterated rank-``rank`` SVD reconstruction."""
    missing = ~np.isfinite(matrix)
    filled = np.where(missing, 0.0, matrix)
    if not missing.any():
        return filled
    for _ in range(iterations):
        u, s, vt = np.linalg.svd(filled, full_matrices=False)
        recon = (u[:, :rank] * s[:rank]) @ vt[:rank]
        filled = np.where(missing, recon, matrix)
    return filled


def pretrain(
    latencies: dict[str, np.ndarray],
    *,
    rank: int = DEFAULT_RANK,
    shrinkage: float = 0.1,
    min_archs: int = 50,
    analytic: bool = True,
    space: str | SearchSpace = "nasbench201",
) -> DeviceBasis:
    """Learn the device basis from ``{device name: latency by arch index of space (NaN = absent)}``.

    Latencies may be in any unit (each device is centred in log space, so units cancel).
    ``analytic`` adds the analytic reference devices and the per-op cost models (those the space
    has) to the mixture. The space must be enumerable.
    """
    from eagle import spaces

    sp = spaces.get(space)
    num_archs = sp._need_enumerable("a few-shot basis")
    small = sorted(n for n, v in latencies.items() if np.isfinite(np.asarray(v, dtype=float)).sum() < min_archs)
    if small:
        raise EagleError(f"too few measured archs (< {min_archs}) to pretrain on: {', '.join(small)}")
    names = list(latencies)
    if len(names) < 2:
        raise EagleError("pretraining needs at least 2 latency datasets")
    cols = []
    for n in names:
        v = np.asarray(latencies[n], dtype=np.float64)
        if v.shape != (num_archs,):
            raise EagleError(f"{n}: expected values for all {num_archs} {sp.name} arch indices, got shape {v.shape}")
        bad = np.isfinite(v) & (v <= 0)
        if bad.any():
            raise EagleError(f"{n}: {int(bad.sum())} non-positive latencies (e.g. arch index {int(np.argmax(bad))})")
        cols.append(np.log(np.where(np.isfinite(v), v, np.nan)))  # non-finite = absent; finite ones are > 0
    log_lat = np.stack(cols, axis=1)
    covered = np.isfinite(log_lat).any(axis=1)
    rows = log_lat[covered]
    rows = rows - np.nanmean(rows, axis=0)
    rank = int(min(rank, len(names) - 1))
    progress.stage(f"pretraining the few-shot basis on {len(names)} latency datasets (rank {rank})")
    filled = _complete(rows, rank)
    filled -= filled.mean(axis=0)  # re-centre on every covered arch (partial devices)
    u, s, vt = np.linalg.svd(filled, full_matrices=False)
    feats = u[:, :rank] * s[:rank] / np.sqrt(len(filled))
    coefs = vt[:rank].T * np.sqrt(len(filled))  # (D, r): filled ~ feats @ coefs.T
    resid = filled - feats @ coefs.T
    observed = np.isfinite(rows)
    noise = [float(np.mean(resid[observed[:, d], d] ** 2)) for d in range(len(names))]
    features = np.zeros((num_archs, rank))
    features[covered] = feats
    device_latency = np.zeros((num_archs, len(names)))
    device_latency[covered] = filled
    cov = np.cov(coefs, rowvar=False).reshape(rank, rank)
    cov += shrinkage * np.mean(np.diag(cov)) * np.eye(rank)
    references, reference_latency = _analytic_columns(sp, covered) if analytic else ([], np.zeros((num_archs, 0)))
    op_cost_models = list(MODELS) if analytic and sp.name == OP_COST_SPACE else []
    op_cost_priors = learn_priors(latencies) if op_cost_models else {}
    noise_var = max(float(np.median(noise)), 1e-8)
    return DeviceBasis(
        features=features,
        device_latency=device_latency,
        covered=covered,
        prior_cov=cov,
        noise_var=noise_var,
        devices=names,
        reference_latency=reference_latency,
        references=references,
        op_cost_models=op_cost_models,
        op_cost_priors=op_cost_priors,
        space=spaces.spec(sp),
        op_effect_var=noise_var,
    )


def _analytic_columns(space: SearchSpace, covered: np.ndarray) -> tuple[list[str], np.ndarray]:
    """Names and (N, R) centred log latency of the analytic reference devices (0 off ``covered``)."""
    from eagle.costmodels.analytic import reference_latency

    refs = reference_latency(space)
    log_v = np.log(np.stack([v[covered] for v in refs.values()], axis=1))
    columns = np.zeros((len(covered), len(refs)))
    columns[covered] = log_v - log_v.mean(axis=0)
    return list(refs), columns
