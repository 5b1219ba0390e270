"""A new device end to end: propose k archs, measure them on the device, adapt the few-shot base,
and (with ``until``) repeat until the predicted ranking is sure enough: the use case behind
``eagle calibrate``.

:func:`calibrate_device` takes a :class:`CalibrateSpec` (the base, k, the stopping rule, and the
measurement as a :class:`~eagle.measurement.runner.SweepConfig` template whose ``archs`` each round
replaces) and returns a :class:`DeviceCalibration`. Every round is a resumable sweep into one
store (``sweep.db``): a run stopped half way and started again proposes the same archs and
measures only those not measured yet.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from numbers import Real
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eagle.errors import EagleError, UsageError
from eagle.workflows.checks import whole_numbers

if TYPE_CHECKING:
    from eagle.costmodels.basis import DeviceBasis
    from eagle.costmodels.op_basis import OpDeviceBasis
    from eagle.fewshot.model import FewShotPredictor
    from eagle.measurement.runner import SweepConfig
    from eagle.spaces.base import SearchSpace

#: archs of a large space chosen among when no candidates are given
CALIBRATION_POOL = 1000
#: with ``until``: archs whose ranking the rank spread describes, and the default cap on k in all
SPREAD_POOL = 500
MAX_K = 100


@dataclass(frozen=True)
class CalibrateSpec:
    """What :func:`calibrate_device` does.

    Attributes:
        sweep: how to measure (runtime, device, protocol, store ``db``, ...); its ``archs`` and
            ``space`` are set by each round.
        k: archs per round.
        until: keep measuring rounds of ``k`` until the predicted rank spread (the posterior std of
            each arch's rank as a share of the list, averaged) falls to this (0 < until < 0.3).
        max_k: archs to measure in all (default: ``k``; with ``until``: 100).
        base: a few-shot base or its checkpoint (default: pretrained now on ``space``'s datasets).
        space: the space to pretrain for when no base is given.
        candidates: archs to choose among (a file or archs; default: the whole space, a large
            space: 1000 random archs).
        seed: draws the random candidates and the archs the rank spread watches.
        progress: show each round's progress bar (stderr).
    """

    sweep: SweepConfig
    k: int = 10
    until: float | None = None
    max_k: int | None = None
    base: str | Path | DeviceBasis | OpDeviceBasis | None = None
    space: str | None = None
    candidates: str | Path | Sequence[object] | np.ndarray | None = None
    seed: int = 0
    progress: bool = False

    def __post_init__(self) -> None:
        whole_numbers(self, (("k", 1), ("max_k", 1), ("seed", 0)))
        if self.until is not None and (
            isinstance(self.until, bool) or not isinstance(self.until, Real) or not 0 < self.until < 0.3
        ):
            raise UsageError(f"until: a rank spread between 0 and 0.29, e.g. 0.05; got {self.until!r}")
        if self.max_k is not None and self.max_k < self.k:
            raise UsageError(f"max_k {self.max_k} is below k {self.k}: give a k of at most {self.max_k}")


@dataclass
class DeviceCalibration:
    """The adapted model, the archs measured (``keys``) and their ``latency_s``, the rank spread
    after each round (with ``until``), the store, and how long the last adaptation took."""

    model: FewShotPredictor
    keys: list[str]
    latency_s: np.ndarray
    db: Path
    spreads: list[float] = field(default_factory=list)
    rounds: int = 1
    adapt_s: float = 0.0
    #: what the model was fitted on: a checkpoint's provenance
    provenance: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        spread = f", rank spread {self.spreads[-1]:.3f}" if self.spreads else ""
        return f"DeviceCalibration({len(self.keys)} archs measured in {self.rounds} round(s) into {self.db}{spread})"

    def save(self, path: str | Path) -> None:
        """Write the adapted model (``eagle predict --load`` reads it) with its provenance."""
        from eagle import predictors
        from eagle.fileio import refuse_overwriting

        refuse_overwriting(Path(path), (self.db,))
        predictors.save(self.model, path, extra=self.provenance)


def calibrate_device(spec: CalibrateSpec, say: Callable[[str], None] | None = None) -> DeviceCalibration:
    """Measure and adapt as :class:`CalibrateSpec` says; ``say`` hears one line per step (which
    archs are measured where, each round's rank spread)."""
    from eagle import spaces
    from eagle.fewshot import FewShotPredictor, select_archs
    from eagle.workflows.select import _archs, load_base

    tell = say or (lambda _line: None)
    spaces.allow(spec.space)
    base = load_base(spec.base, spec.space)
    space = spaces.get(base.space)
    rng = np.random.default_rng(spec.seed)
    candidates: Any = None
    if spec.candidates is not None:
        candidates = _archs(spec.candidates, space, measured=False)
    elif not space.enumerable:  # choose among random archs of the space
        candidates = space.sample(CALIBRATION_POOL, rng)
    pool: Any = None  # the archs whose ranking ``until`` watches
    if spec.until is not None and candidates is not None:
        pool = list(candidates) if len(candidates) <= SPREAD_POOL else list(rng.permutation(candidates)[:SPREAD_POOL])
    elif spec.until is not None:  # an enumerable space: its base is the dense basis
        covered = getattr(base, "covered", None)
        if covered is None:
            raise EagleError(f"{space.name}: give candidates to watch the rank spread of")
        pool = rng.choice(np.flatnonzero(covered), SPREAD_POOL, replace=False)
    max_k = int(spec.max_k or (MAX_K if spec.until is not None else spec.k))
    sweep = dataclasses.replace(spec.sweep, space=spaces.spec(space))
    measured: list[str] = []
    latency_s: list[float] = []
    tried: list[str] = []
    spreads: list[float] = []
    model: FewShotPredictor | None = None
    adapt_s = 0.0
    round_no = 0
    for round_no in range(1, max_k + 1):
        batch = min(spec.k, max_k - len(tried))
        given = (space.indices(tried) if space.enumerable else tried) if tried else None
        archs = select_archs(base, batch, candidates=candidates, given=given)
        keys = [a if isinstance(a, str) else space.arch_at(int(a)) for a in archs]
        tried += keys
        tell(f"measuring {len(archs)} archs on {sweep.device} with {sweep.runtime} (store {sweep.db})")
        run_id = _measure_round(sweep, keys, round_no, spec.progress)
        for key, value in _ok_results(sweep.db, run_id, archs, keys, space):
            measured.append(key)
            latency_s.append(value)
        if len(measured) < 2:
            if len(tried) >= max_k:
                raise EagleError(f"only {len(measured)} of {len(tried)} archs measured successfully: see {sweep.db}")
            continue
        t0 = time.perf_counter()
        fit_archs: Any = space.indices(measured) if space.enumerable else measured
        model = FewShotPredictor(base).fit(fit_archs, np.array(latency_s))
        adapt_s = time.perf_counter() - t0
        if spec.until is None:
            break
        spread = model.rank_spread(pool)
        spreads.append(spread)
        tell(
            f"round {round_no}: {len(measured)} archs measured; rank spread {spread:.3f} of the list "
            f"(about Spearman {1 - 6 * spread**2:.3f} if calibrated); target {spec.until}"
        )
        if spread <= spec.until:
            tell(f"reached the target rank spread with {len(measured)} archs")
            break
        if len(tried) >= max_k:
            target = f"the target rank spread {spec.until} (now {spread:.3f})"
            tell(f"stopped after {max_k} archs (max_k, --max-k) before {target}")
            break
    if model is None:
        raise EagleError(f"no archs measured successfully: see {sweep.db}")
    trained = sorted(int(i) for i in space.indices(measured)) if space.enumerable else sorted(measured)
    provenance = {"metric": "latency", "unit": "s", "measurement": str(sweep.db), "trained_on": trained}
    return DeviceCalibration(model, measured, np.array(latency_s), Path(sweep.db), spreads, round_no, adapt_s,
                             provenance)  # fmt: skip


def _measure_round(sweep: SweepConfig, keys: list[str], round_no: int, progress: bool) -> int:
    """Measure one round's archs into the calibration store (a sweep: resumable, crash-safe)."""
    from eagle.measurement.runner import run_sweep
    from eagle.workflows.select import write_arch_csv

    with tempfile.TemporaryDirectory(prefix="eagle-calibrate-") as tmp:
        arch_file = Path(tmp) / f"calibrate-round{round_no}-k{len(keys)}.csv"
        write_arch_csv(arch_file, keys)
        summary = run_sweep(dataclasses.replace(sweep, archs=str(arch_file)), progress=progress)
    return summary.run_id


def _ok_results(
    db: Path, run_id: int, archs: list[Any], keys: list[str], space: SearchSpace
) -> list[tuple[str, float]]:
    from eagle.store import ResultStore

    with ResultStore(db) as store:
        results = store.results_by_arch(run_id)
    # results are keyed by arch index (enumerable spaces) or by position in the sweep's list
    ids = [int(a) for a in archs] if space.enumerable else list(range(len(keys)))
    return [(key, results[i]["latency_s"]) for key, i in zip(keys, ids) if results.get(i, {}).get("status") == "ok"]
