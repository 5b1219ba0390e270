"""Eagle's public API: what ``import eagle`` gives (names as timm's ``create_model/list_models``).

Spaces, datasets, predictors, measurement, few-shot and search, each one call::

    import eagle
    space = eagle.get_space("nasbench201")
    ds = eagle.load_dataset("help/pixel3")               # a bundled name, a file, or X.sqlite
    model = eagle.create_predictor("gcn").fit(archs, ds.by_index("s")[archs])
    trained = eagle.train("help/pixel3", predictor="gcn")    # split, fit, test metrics, provenance
    report = eagle.evaluate(trained, "help/pixel3")        # never scores the training archs
    base = eagle.pretrain(exclude=["help/pixel3"])        # few-shot base from the bundled datasets
    tuned = eagle.calibrate(base, archs[:10], latency_s)  # adapt to a new device's k measurements
    result = eagle.search("brp", budget=100)              # BRP-NAS on NB201's CIFAR-100 accuracy
    run = eagle.measure(archs=20, runtime="onnxruntime", db="x.sqlite")

Every function validates its arguments first and raises :class:`eagle.errors.EagleError`
subclasses that name the parameter (never a command-line flag).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np

from eagle.errors import UsageError

if TYPE_CHECKING:
    from typing import TypeAlias

    from eagle.anynet.kernels.model import KernelModel
    from eagle.costmodels.basis import DeviceBasis
    from eagle.costmodels.op_basis import OpDeviceBasis
    from eagle.datasets.dataset import Dataset
    from eagle.fewshot.model import FewShotPredictor
    from eagle.nas.search import SearchResult
    from eagle.predictors.base import Predictor
    from eagle.spaces.base import SearchSpace
    from eagle.workflows import EvaluationReport, Selection, TrainedPredictor, TrainSpec
    from eagle.workflows.kernels import KernelCalibration, KernelFit, ProfileReport

    #: a few-shot base: the enumerable basis, or per-op models for a space too large to enumerate
    Base: TypeAlias = DeviceBasis | OpDeviceBasis

DEFAULT_ACCURACY = "nasbench201/cifar100-valid-accuracy"
T = TypeVar("T")


def _spec(what: str, kind: type[Any], **fields: Any) -> Any:
    """``kind(**fields)``, an unknown or missing field a UsageError that names the call."""
    try:
        return kind(**fields)
    except TypeError as exc:
        raise UsageError(f"{what}: {exc}") from None


# -- spaces -----------------------------------------------------------------------------------------
def get_space(name: str = "nasbench201") -> SearchSpace:
    """The search space registered as ``name`` (``list_spaces()``) or given as ``"module:Class"``."""
    from eagle import spaces

    spaces.allow(name)
    return spaces.get(name)


def list_spaces() -> list[str]:
    from eagle import spaces

    return spaces.names()


# -- datasets ---------------------------------------------------------------------------------------
def load_dataset(name_or_file: str | Path) -> Dataset:
    """A :class:`eagle.datasets.Dataset`: a bundled or imported name, a seed pickle / HELP .pt / CSV
    file, or a results store (``X.sqlite``, ``X.sqlite#run=N``)."""
    from eagle import datasets

    return datasets.load_measurement(str(name_or_file))


def list_datasets() -> list[str]:
    from eagle import datasets

    return datasets.names()


# -- predictors -------------------------------------------------------------------------------------
def create_predictor(name: str = "gcn", **kwargs: Any) -> Predictor:
    """A new, unfitted predictor (``list_predictors()``); ``fit(archs, y)``, ``predict(archs)``."""
    from eagle import predictors, spaces

    spaces.allow(kwargs.get("space"))
    return predictors.create(name, **kwargs)


def load_predictor(path: str | Path) -> Predictor | Base:
    """A predictor saved by ``eagle train`` / ``eagle.predictors.save`` (never executes code)."""
    from eagle import predictors

    return predictors.load(path)


def list_predictors() -> list[str]:
    from eagle import predictors

    return predictors.names()


def train(measurement: str | Path | TrainSpec, **options: Any) -> TrainedPredictor:
    """Train a predictor on one dataset (``eagle train``): ``measurement`` is a dataset name, file or
    results store (or a whole :class:`eagle.workflows.TrainSpec`); ``options`` are the spec's other
    fields: ``predictor`` (``gcn`` default, ``mlp``, ``flops``, ``params``, ``lut``, ``ridge``,
    ``gbt``), ``preset``, ``seed``, ``training_points``, ``validation_points``, ``prior``,
    ``prior_exclude``, ``init`` (a checkpoint to start from; a few-shot base is adapted),
    ``transfer``, ``cfg``, ``space`` (see ``help(eagle.workflows.TrainSpec)``). Returns the fitted
    model with its test metrics and provenance; ``.save(path)`` writes the checkpoint."""
    from eagle.workflows import TrainSpec, train

    if isinstance(measurement, TrainSpec):
        if options:
            raise UsageError(f"give a TrainSpec or options, not both (got {', '.join(options)})")
        return train(measurement)
    return train(_spec("train", TrainSpec, measurement=measurement, **options))


def evaluate(model: Any, measurement: str | Path, *, space: str | None = None) -> EvaluationReport:
    """Score a model (a checkpoint path, a :class:`~eagle.workflows.TrainedPredictor` or a fitted
    predictor) on a dataset's archs it was not trained on (``eagle evaluate``); ``space``: a plug-in
    space the files name (``module:Class``), allowed to be imported."""
    from eagle.workflows import EvaluateSpec, evaluate

    return evaluate(EvaluateSpec(model, measurement, space))


# -- measurement ------------------------------------------------------------------------------------
def measure(
    archs: int | str | Sequence[Any] = "valid",
    *,
    space: str | Any = "nasbench201",
    runtime: str = "onnxruntime",
    device: str = "local",
    db: str | Path = "eagle-results.sqlite",
    threads: int = 1,
    seed: int = 0,
    dedupe: bool = True,
    timeout_s: float = 300.0,
    progress: bool = False,
    protocol: dict[str, Any] | None = None,
    **runtime_options: Any,
) -> Dataset:
    """Measure ``archs`` of ``space`` (a count of random valid archs, ``"valid"``, ``"all"``, a file,
    or a list of archs or indices) with ``runtime`` on ``device`` into the results store ``db``
    (resumable), and return the run's latencies as a dataset (seconds). ``protocol``: timing
    settings (``warmup``, ``runs``, ``avg_between``, ``interval_s``, ``min_round_s``)."""
    import tempfile

    from eagle.datasets.importer import from_results_store
    from eagle.devices.address import check_device
    from eagle.measurement.protocol import Protocol
    from eagle.measurement.runner import SweepConfig, run_sweep

    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise UsageError(f"threads must be a whole number >= 1, got {threads!r}")
    if not (isinstance(timeout_s, (int, float)) and np.isfinite(timeout_s) and timeout_s > 0):
        raise UsageError(f"timeout_s must be a positive number of seconds, got {timeout_s!r}")
    check_device(device)
    spec: str
    listed = None
    from eagle import spaces

    spaces.allow(space)
    sp = spaces.get(space)
    if isinstance(archs, (list, tuple, np.ndarray)):
        keys = sp.keys(archs if isinstance(archs, np.ndarray) else list(archs))
        handle = tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False)
        handle.write("".join(f"{k}\n" for k in keys))
        handle.close()
        spec = listed = handle.name
    else:
        spec = str(archs)
    timing = _spec("protocol", Protocol, **(protocol or {}))
    cfg = SweepConfig(
        protocol=timing,
        runtime=runtime,
        runtime_kwargs={"threads": threads, **runtime_options},
        device=device,
        archs=spec,
        seed=seed,
        dedupe=dedupe,
        timeout_s=float(timeout_s),
        db=Path(db),
        space=spaces.spec(sp),
    )
    try:
        summary = run_sweep(cfg, progress=progress)
    finally:
        if listed:
            Path(listed).unlink(missing_ok=True)
    return from_results_store(Path(db), str(summary.run_id))


# -- few-shot ---------------------------------------------------------------------------------------
def pretrain(
    datasets: Sequence[str] | None = None,
    *,
    exclude: Sequence[str] = (),
    rank: int | None = None,
    space: str | None = None,
) -> Base:
    """A few-shot base (:class:`eagle.fewshot.DeviceBasis`) from latency datasets of one space
    (default: every bundled one of ``space``, NB201 unless given), minus ``exclude``."""
    from eagle import spaces
    from eagle.costmodels.bundled import pretrain_base

    spaces.allow(space)

    return pretrain_base(list(datasets) if datasets else None, list(exclude), space, rank)


def select(k: int = 10, **options: Any) -> Selection:
    """The ``k`` archs to measure on a new device for the best few-shot adaptation (``eagle select``):
    ``options`` are :class:`eagle.workflows.SelectSpec`'s: ``base`` (a base or its checkpoint;
    default: pretrained now on ``space``'s bundled datasets), ``space``, ``candidates`` (a file or
    archs to choose among), ``below`` (indices below this), ``given`` (archs already measured: a
    measurement file or archs; the next ``k`` are proposed), ``criterion`` (``v`` representative,
    ``d`` extreme). The result's ``keys`` (and ``indices``) are in the order to measure them;
    ``.write(path)`` writes the file ``eagle measure --archs`` reads."""
    from eagle.workflows import SelectSpec, select

    return select(_spec("select", SelectSpec, k=k, **options))


def calibrate(base: Base, archs: Sequence[Any], latency_s: Sequence[float]) -> FewShotPredictor:
    """Adapt a few-shot base to a new device from its measured ``latency_s`` of ``archs`` (arch
    strings or indices of the base's space); returns a predictor with ``predict`` and
    ``predict_spread``."""
    from eagle.fewshot import BASES, FewShotPredictor

    if not isinstance(base, BASES):
        raise UsageError("base must be a few-shot base from eagle.pretrain() or eagle.load_predictor(BASE.pt)")
    return FewShotPredictor(base).fit(archs, latency_s)  # it checks archs and values (UsageError)


# -- search -----------------------------------------------------------------------------------------
def search(
    method: str = "brp",
    *,
    accuracy: str = DEFAULT_ACCURACY,
    budget: int = 100,
    iterations: int = 5,
    seed: int = 0,
    latency: str | None = None,
    latency_predictor: str | None = None,
    latency_limit_s: float | None = None,
    **options: Any,
) -> SearchResult:
    """Predictor-based NAS (``brp``, ``gcn``, ``random``, ``evolution``, ``proxy``): a
    :class:`eagle.nas.search.SearchResult` whose ``queried`` are the trained archs in order."""
    from eagle.nas.run import run_search
    from eagle.nas.search import METHODS

    if method not in METHODS:
        raise UsageError(f"unknown search method {method!r}; valid: {', '.join(METHODS)}")
    for name, value, low in (("budget", budget, 1), ("iterations", iterations, 1), ("seed", seed, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise UsageError(f"{name} must be a whole number >= {low}, got {value!r}")
    res, _, _ = run_search(
        method,
        accuracy,
        budget=budget,
        iterations=iterations,
        seed=seed,
        latency=latency,
        latency_predictor=latency_predictor,
        latency_limit=latency_limit_s,
        options=options,
    )
    return res


# -- any network, kernel by kernel ------------------------------------------------------------------
def profile_kernels(db: str | Path, *, budget_s: float = 1200.0, **options: Any) -> ProfileReport:
    """Time sampled kernels on this device into the kernel store ``db`` (``eagle kernels profile``;
    resumable). ``options``: ``max_samples``, ``threads``, ``optimization``, ``seed``."""
    from eagle.workflows.kernels import ProfileSpec, profile_kernels

    return profile_kernels(_spec("profile_kernels", ProfileSpec, db=db, budget_s=budget_s, **options))


def fit_kernels(db: str | Path) -> KernelFit:
    """One regressor per kernel type on a kernel store (``eagle kernels fit``); ``.model.save(path)``."""
    from eagle.workflows.kernels import fit_kernels

    return fit_kernels(db)


def calibrate_kernels(
    model: KernelModel | str | Path, measurement: str | Path, run: int | None = None
) -> KernelCalibration:
    """Calibrate a kernel model on measured networks of the family you will predict (``eagle
    kernels calibrate``): a results store (``X.sqlite``) or a CSV (``arch,latency_ms``)."""
    from eagle.workflows.kernels import calibrate_kernels

    return calibrate_kernels(model, measurement, run)


def load_kernel_model(path: str | Path) -> KernelModel:
    """A kernel model file (``eagle kernels fit|calibrate``); ``predict_network(spec, model)`` in
    :mod:`eagle.anynet.predict` prices a network with it."""
    from eagle.workflows.kernels import load_kernel_model

    return load_kernel_model(path)


# -- zero-cost proxies ------------------------------------------------------------------------------
def zero_cost_proxies(
    space: str = "nasbench201", archs: Sequence[Any] | None = None, names: Sequence[str] | None = None
) -> dict[str, np.ndarray]:
    """Zero-cost proxies (``synflow``, ``naswot``, ``snip``: :mod:`eagle.zerocost`) of ``archs``
    (keys or indices of ``space``; any space that builds networks, the ``models`` space included):
    ``{proxy: scores}``, higher predicting higher accuracy. NB201's ship for all 15625 archs;
    others are computed from the untrained networks and cached as user datasets."""
    from eagle import spaces, zerocost

    sp = spaces.get(space)
    chosen = [names] if isinstance(names, str) else list(names) if names is not None else list(zerocost.NAMES)
    unknown = [n for n in chosen if n not in zerocost.NAMES]
    if unknown or not chosen:
        raise UsageError(f"names: unknown zero-cost proxies {unknown or chosen}; valid: {', '.join(zerocost.NAMES)}")
    if archs is None or isinstance(archs, (str, bytes)) or not hasattr(archs, "__iter__"):
        raise UsageError(f"archs: a list of the archs to score (keys or indices of the space), got {archs!r:.80}")
    keys = sp.keys(list(archs))
    return zerocost.proxy_table(sp, keys, chosen)
