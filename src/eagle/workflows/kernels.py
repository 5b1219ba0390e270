"""Any network, kernel by kernel: the use cases behind ``eagle kernels profile|fit|calibrate`` and
``eagle predict --kernels``.

- :func:`profile_kernels` (:class:`ProfileSpec` -> :class:`ProfileReport`): time sampled kernels on
  this device into a resumable kernel store;
- :func:`fit_kernels` (a kernel store -> :class:`KernelFit`): one regressor per kernel type;
- :func:`calibrate_kernels` (a kernel model and measured networks -> :class:`KernelCalibration`):
  a scale, a factor per kernel type and a per-run constant from 5-10 measured networks of the family
  you will predict;
- :func:`load_kernel_model`, and :func:`eagle.anynet.predict.predict_network` to predict a network.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from eagle.anynet.kernels.model import KernelModel
from eagle.errors import EagleError, UsageError
from eagle.workflows.checks import whole_numbers


@dataclass(frozen=True)
class ProfileSpec:
    """Where (``db``: the kernel store, resumed when it exists) and how long to profile."""

    db: str | Path
    budget_s: float = 1200.0
    max_samples: int | None = None
    threads: int = 1
    optimization: str = "all"
    seed: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.budget_s, bool) or not isinstance(self.budget_s, (int, float)):
            raise UsageError(f"budget_s must be a number of seconds, got {self.budget_s!r}")
        if not (0 < self.budget_s <= 86_400):  # NaN fails this too
            raise UsageError(f"budget_s must lie in (0, 86400] seconds, got {self.budget_s}")
        from eagle.runtimes.onnxruntime_runtime import OPTIMIZATIONS

        if self.optimization not in OPTIMIZATIONS:
            raise UsageError(f"optimization must be one of {', '.join(OPTIMIZATIONS)}, got {self.optimization!r}")
        whole_numbers(self, (("max_samples", 1), ("threads", 1), ("seed", 0)))


@dataclass
class ProfileReport:
    """What one profiling session did: samples profiled now (and failed), what the store holds."""

    profiled_now: int
    errors_now: int
    samples: int
    ok: int
    wall_s: float


def profile_kernels(spec: ProfileSpec, on_sample: Callable[[int, float], None] | None = None) -> ProfileReport:
    """Profile kernels into ``spec.db`` until the budget or ``max_samples`` (every finished sample
    is stored: an interrupted session resumes). ``on_sample(done, elapsed_s)`` after each sample."""
    from eagle.anynet.kernels.profile import profile_device

    out = profile_device(
        Path(spec.db),
        budget_s=float(spec.budget_s),
        threads=spec.threads,
        optimization=spec.optimization,
        seed=spec.seed,
        max_samples=spec.max_samples,
        on_sample=on_sample,
    )
    return ProfileReport(
        int(out["profiled_now"]), int(out["errors_now"]), int(out["samples"]), int(out["ok"]), float(out["wall_s"])
    )


@dataclass
class KernelFit:
    """A fitted kernel model, how many samples it learnt from and kernels of each type, and the time."""

    model: KernelModel
    samples: int
    counts: dict[str, int]
    fit_s: float

    def __repr__(self) -> str:
        kernels = f"{sum(self.counts.values())} kernels of {len(self.counts)} types"
        return f"KernelFit({self.samples} samples, {kernels}, {self.fit_s:.1f} s)"


def fit_kernels(db: str | Path) -> KernelFit:
    """One regressor per kernel type on the kernel store ``db`` (``eagle kernels profile``)."""
    from eagle.anynet.kernels.profile import KernelStore

    if not Path(db).exists():
        raise UsageError(f"{db} does not exist: run 'eagle kernels profile --db {db}' first")
    with KernelStore(db, readonly=True) as store:  # never changes the file it reads
        try:
            samples = list(store.samples())
            config = store.config()
        except (ValueError, TypeError, KeyError, sqlite3.DatabaseError) as exc:
            raise EagleError(f"{db}: damaged kernel store ({' '.join(str(exc).split())[:160]})") from None
    if config is not None and not isinstance(config, dict):
        raise EagleError(f"{db}: damaged kernel store (its configuration is not a mapping)")
    t0 = time.perf_counter()
    try:
        model = KernelModel().fit(samples, runtime=config)
    except (TypeError, KeyError, IndexError, AttributeError) as exc:  # kernels whose fields are not what profile wrote
        raise EagleError(f"{db}: damaged kernel store ({' '.join(str(exc).split())[:160]})") from None
    return KernelFit(model, len(samples), dict(model.counts_), time.perf_counter() - t0)


@dataclass
class KernelCalibration:
    """A calibrated kernel model and how well it fits the networks it was calibrated on: the share
    within +-10% before and after, and (for 4-50 networks) with each network left out in turn."""

    model: KernelModel
    networks: list[str]
    within_10pct_before: float
    within_10pct_after: float
    within_10pct_left_out: float | None
    calibrate_s: float
    source: str = ""

    def __repr__(self) -> str:
        left = "" if self.within_10pct_left_out is None else f", each left out {self.within_10pct_left_out:.0%}"
        return (
            f"KernelCalibration({len(self.networks)} networks of {self.source}: within ±10% "
            f"{self.within_10pct_before:.0%} before, {self.within_10pct_after:.0%} after{left})"
        )


def calibrate_kernels(
    model: KernelModel | str | Path, measurement: str | Path, run: int | None = None
) -> KernelCalibration:
    """Calibrate ``model`` (a kernel model or its file) on measured networks: a results store
    (``X.sqlite``, its latest run or ``run``) or a CSV (``arch,latency_ms``)."""
    from eagle import datasets
    from eagle.anynet.predict import profile_for

    if not isinstance(model, (KernelModel, str, Path)):
        raise UsageError(f"model: a kernel model or its file, got {type(model).__name__}")
    spec = str(measurement)
    if run is not None:  # the arguments are checked before anything is read
        if isinstance(run, bool) or not isinstance(run, int) or run < 1:
            raise UsageError(f"run must be a whole number >= 1, got {run!r}")
        from eagle.datasets.importer import is_sqlite

        if not is_sqlite(Path(spec)):
            raise UsageError(f"run picks a run of a results store (X.sqlite); {spec} is not one")
        spec = f"{spec}#run={run}"
    kernels = model if isinstance(model, KernelModel) else load_kernel_model(model)
    measured = datasets.load_measurement(spec, space="models")
    keys, latency_s = measured.items("s")
    t0 = time.perf_counter()
    networks = [profile_for(kernels, key)[0].kernels for key in keys]
    calibrated = kernels.calibrate(networks, latency_s)

    def within(pred: list[float]) -> float:
        return float(np.mean(np.abs(np.array(pred) / latency_s - 1) <= 0.1))

    before = within([kernels.predict(ks) for ks in networks])
    after = within([calibrated.predict(ks) for ks in networks])
    left_out = None
    if 4 <= len(keys) <= 50:  # each network predicted by a calibration without it: what to expect on new ones
        left_out = within([
            kernels.calibrate([n for j, n in enumerate(networks) if j != i], np.delete(latency_s, i)).predict(ks)
            for i, ks in enumerate(networks)
        ])  # fmt: skip
    source = str(measured.metadata.get("source") or measured.name)
    return KernelCalibration(calibrated, list(keys), before, after, left_out, time.perf_counter() - t0, source)


def load_kernel_model(path: str | Path) -> KernelModel:
    """A kernel model written by ``eagle kernels fit`` / ``calibrate`` (never executes code)."""
    return KernelModel.load(Path(path))
