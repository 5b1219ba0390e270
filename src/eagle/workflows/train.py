"""Train a latency (or accuracy) predictor on one dataset: the use case behind ``eagle train``.

One spec in, one result out: :class:`TrainSpec` says what to train on and how; :func:`train`
returns a :class:`TrainedPredictor` (the fitted model, its test metrics on the archs it never saw,
and its provenance: which dataset and which archs it was trained on). ``result.save(path)``
writes a checkpoint that carries that provenance, so ``eagle evaluate`` never scores a model on
its own training data, whether it was trained from the command line or from Python.

With ``init`` naming a few-shot base (``eagle pretrain``), training *adapts* the base to the
dataset's archs (every one measured: the new device's k) instead of fitting a predictor.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from eagle import progress
from eagle.errors import EagleError, UsageError
from eagle.workflows.checks import whole_numbers

if TYPE_CHECKING:
    from eagle.costmodels.basis import DeviceBasis
    from eagle.costmodels.op_basis import OpDeviceBasis
    from eagle.datasets.dataset import Dataset
    from eagle.fewshot.model import FewShotPredictor
    from eagle.predictors.base import Predictor


NEURAL = ("gcn", "mlp")


@dataclass(frozen=True)
class TrainSpec:
    """What :func:`train` fits.

    Attributes:
        measurement: the training data: a dataset name (``eagle.list_datasets()``), a seed pickle,
            a HELP ``.pt``, a CSV file, or a results store (``X.sqlite``, ``X.sqlite#run=N``).
        predictor: ``gcn`` (default), ``mlp``, or a baseline: ``flops``, ``params``, ``lut``,
            ``ridge``, ``gbt`` (``eagle.list_predictors()``).
        preset: the neural predictors' recipe, ``eagle`` (default) or ``brp-nas`` (the seed's);
            None: the seed YAML's (``cfg``), else ``eagle``. Neural predictors only.
        seed: the split's and the training's seed.
        training_points, validation_points: how many archs to train and validate on (default: the
            preset's; a baseline trains on every arch but a tenth kept for the test metrics).
        prior: the default GCN's arch prior learnt from the bundled datasets (neural only).
        prior_exclude: bundled datasets the prior must not learn from (relatives of the device).
        init: start from this checkpoint's weights; a few-shot base (``eagle pretrain``) is
            *adapted* to every arch of ``measurement`` instead (the new device's k).
        transfer: with ``init``: re-initialise the final layer (the seed's ``--transfer``).
        cfg: the seed's predictor YAML.
        space: a plug-in space the dataset names (``module:Class``), allowed to be imported.
    """

    measurement: str | Path
    predictor: str = "gcn"
    preset: str | None = None
    seed: int = 0
    training_points: int | None = None
    validation_points: int | None = None
    prior: bool = True
    prior_exclude: tuple[str, ...] = ()
    init: Path | None = None
    transfer: bool = False
    cfg: Path | None = None
    space: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.measurement, (str, Path)):
            raise UsageError(
                f"measurement: a dataset name, file or results store, got {type(self.measurement).__name__}"
            )
        if not isinstance(self.predictor, str):
            raise UsageError(f"predictor: a predictor name, got {self.predictor!r}")
        whole_numbers(self, (("seed", 0), ("training_points", 1), ("validation_points", 0)))
        if isinstance(self.prior_exclude, str):
            object.__setattr__(self, "prior_exclude", (self.prior_exclude,))
        for name in ("init", "cfg"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, (str, Path)):
                raise UsageError(f"{name}: a file path, got {type(value).__name__}")
            if isinstance(value, str):
                object.__setattr__(self, name, Path(value))
        for name in ("prior", "transfer"):
            if not isinstance(getattr(self, name), bool):
                raise UsageError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.predictor not in NEURAL:  # options a baseline would silently ignore
            given = [
                n
                for n, v in (
                    ("preset", self.preset), ("prior_exclude", self.prior_exclude),
                    ("validation_points", self.validation_points),
                )
                if v
            ]  # fmt: skip
            if not self.prior:
                given.append("prior=False")
            if given:
                raise UsageError(
                    f"{', '.join(given)} apply to the neural predictors (gcn, mlp), not {self.predictor!r}"
                )


@dataclass
class TrainedPredictor:
    """A fitted predictor with what it was fitted on (``provenance``: ``metric``, ``unit``,
    ``measurement``, ``trained_on``, ``space``) and its metrics on the dataset's other archs
    (None when fewer than two were left; a few-shot adaptation uses every arch it is given):
    ``spearman``, ``kendall_tau``, ``rmse`` (in the target's unit: seconds for latency), ``mape``
    and ``within_Npct`` (fractions), ``n``. ``train_s``: how long fitting took."""

    predictor: Predictor | FewShotPredictor
    metrics: dict[str, Any] | None
    provenance: dict[str, Any]
    train_s: float
    #: one-line facts worth telling the user (what the model learnt from, what was left out)
    notes: list[str] = field(default_factory=list)
    #: a few-shot adaptation (``init`` named a few-shot base)
    adapted: bool = False

    def __repr__(self) -> str:
        kind = getattr(self.predictor, "kind", type(self.predictor).__name__)
        what = "adapted to" if self.adapted else f"{kind} on"
        score = f", test Spearman {self.metrics['spearman']:.3f} over {self.metrics['n']} archs" if self.metrics else ""
        return (
            f"TrainedPredictor({what} {len(self.provenance.get('trained_on', []))} archs of "
            f"{self.provenance.get('measurement')}{score}, {self.train_s:.2f} s)"
        )

    #: the files it was trained from (measurement, init, cfg): never written over
    inputs: tuple[Path, ...] = ()

    def save(self, path: str | Path) -> None:
        """Write the checkpoint (``eagle.load_predictor`` reads it) with its provenance; never onto
        one of the files it was trained from."""
        from eagle import predictors
        from eagle.fileio import refuse_overwriting

        refuse_overwriting(Path(path), self.inputs)
        predictors.save(self.predictor, path, extra=self.provenance)


def _inputs(spec: TrainSpec) -> tuple[Path, ...]:
    return tuple(Path(p) for p in (spec.measurement, spec.init, spec.cfg) if p is not None and Path(str(p)).exists())


def train(spec: TrainSpec) -> TrainedPredictor:
    """Fit ``spec.predictor`` on ``spec.measurement`` (or adapt a few-shot base given as
    ``spec.init``); see :class:`TrainSpec`."""
    from eagle import spaces

    spaces.allow(spec.space)
    base = fewshot_base(spec.init)
    result = _adapt(spec, base) if base is not None else _fit(spec)
    result.inputs = _inputs(spec)
    return result


def fewshot_base(path: Path | None) -> DeviceBasis | OpDeviceBasis | None:
    """The base when ``path`` names a few-shot base checkpoint (``eagle pretrain``), else None."""
    if path is None:
        return None
    from eagle.predictors.checkpoint import read

    config, _ = read(path)
    if config.get("kind") not in ("fewshot-base", "fewshot-base-ops"):
        return None
    from eagle import predictors

    return predictors.load(path)


def _fit(spec: TrainSpec) -> TrainedPredictor:
    from eagle import datasets, predictors
    from eagle.predictors.presets import DEFAULT_POINTS
    from eagle.predictors.seedcfg import read_predictor_yaml
    from eagle.predictors.training import evaluate_on, fit_on_split, random_split

    ds = datasets.load_measurement(str(spec.measurement), space=spec.space)
    yaml_cfg = read_predictor_yaml(spec.cfg) if spec.cfg else None
    name = spec.predictor
    neural = name in ("gcn", "mlp")
    preset = spec.preset or (yaml_cfg["preset"] if yaml_cfg else "eagle")
    kwargs: dict[str, Any] = {"seed": spec.seed}
    if neural:
        kwargs["preset"] = preset
        if yaml_cfg:
            kwargs.update(yaml_cfg["overrides"])
        if not spec.prior:
            kwargs["prior"] = None
        if spec.prior_exclude:
            kwargs["prior_exclude"] = list(spec.prior_exclude)
    preset_train, preset_val = DEFAULT_POINTS.get(preset, (None, 0)) if neural else (None, 0)
    training_points = (
        spec.training_points
        if spec.training_points is not None
        else (yaml_cfg["training_points"] if yaml_cfg else preset_train)
    )
    validation_points = (
        spec.validation_points
        if spec.validation_points is not None
        else (yaml_cfg["validation_points"] if yaml_cfg else preset_val if spec.training_points is None else 0)
    )
    present = len(ds.arch_ids())
    if training_points is not None and training_points + validation_points > present and spec.training_points is None:
        training_points, validation_points = None, min(validation_points, present // 10)  # a small file: all of it
    split_seed = yaml_cfg["sampling_seed"] if yaml_cfg and yaml_cfg["sampling_seed"] is not None else spec.seed
    split = random_split(ds, training_points, validation_points, split_seed)
    predictor = predictors.create(name, space=ds.space, **kwargs)
    progress.stage(
        f"training {name} ({preset if neural else 'baseline'}) on {len(split.train)} archs"
        + (f" (+{len(split.validation)} validation)" if len(split.validation) else "")
        + f" of {ds.name}{expected_time(predictor, name, preset, len(split.train))}"
    )
    init = predictors.load(spec.init) if spec.init else None
    fit_kwargs = {"init": init, "reset_head": bool(spec.transfer)} if init is not None else {}
    from eagle.predictors.neural import NeuralPredictor

    if init is not None and not isinstance(predictor, NeuralPredictor):
        raise UsageError("init works with neural predictors (gcn, mlp)")
    if init is not None and not isinstance(init, NeuralPredictor):
        kind = getattr(init, "kind", type(init).__name__)
        raise UsageError(f"init: {spec.init} is a {kind} checkpoint; fine-tuning starts from a gcn or mlp checkpoint")
    t0 = time.perf_counter()
    fit_on_split(predictor, ds, split, **fit_kwargs)
    seconds = float(getattr(predictor, "train_seconds_", None) or time.perf_counter() - t0)
    metrics = None
    if len(split.test) >= 2:
        metrics, _, _ = evaluate_on(predictor, ds, exclude=np.concatenate([split.train, split.validation]))
    provenance: dict[str, Any] = {
        "metric": ds.metric,
        "unit": "s" if ds.metric == "latency" else ds.unit,
        "measurement": ds.name,
        "trained_on": trained_on(ds, np.concatenate([split.train, split.validation])),
        "space": ds.metadata["space"],
    }
    if init is not None:  # fine-tuned: what the starting checkpoint was fitted on stays part of the model
        before = getattr(init, "provenance_", None) or {}
        provenance["ancestors"] = [
            *before.get("ancestors", []),
            {
                "measurement": str(before.get("measurement", spec.init)),
                "trained_on": list(before.get("trained_on", [])),
            },
        ]
    notes = []
    prior = getattr(predictor, "prior_devices_", None)
    if prior:
        notes.append(f"arch prior learned from {len(prior)} bundled latency datasets (none holds this training data)")
    if getattr(predictor, "op_cost_model_", ""):
        notes.append(f"op-cost input: the {predictor.op_cost_model_} per-op cost model, fitted to the training archs")
    return TrainedPredictor(predictor, metrics, provenance, seconds, notes)


def _adapt(spec: TrainSpec, base: DeviceBasis | OpDeviceBasis) -> TrainedPredictor:
    """Adapt a few-shot base to every arch measured in ``spec.measurement`` (the new device's k):
    archs outside the base (disconnected NB201 cells, which no pretraining dataset holds) are
    left out with a note."""
    from eagle import datasets
    from eagle.fewshot import FewShotPredictor, OpDeviceBasis

    ignored = [  # a base adapts to every measured arch: the fitting options have no meaning here
        name
        for name, value, default in (
            ("predictor", spec.predictor, "gcn"), ("preset", spec.preset, None), ("cfg", spec.cfg, None),
            ("training_points", spec.training_points, None), ("validation_points", spec.validation_points, None),
            ("prior", spec.prior, True), ("prior_exclude", spec.prior_exclude, ()), ("transfer", spec.transfer, False),
        )
        if value != default
    ]  # fmt: skip
    if ignored:
        raise UsageError(
            f"init {spec.init} is a few-shot base: it adapts to every arch of the measurement, so "
            f"{', '.join(ignored)} do not apply; leave them out"
        )
    ds = datasets.load_measurement(str(spec.measurement), space=base.space)
    if ds.metric != "latency":
        raise EagleError(f"{ds.name} holds {ds.metric}: the few-shot base predicts latency")
    notes: list[str] = []
    provenance: dict[str, Any] = {"metric": "latency", "unit": "s", "measurement": ds.name}
    t0 = time.perf_counter()
    if isinstance(base, OpDeviceBasis):  # a large space's base: every arch is described by its op counts
        keys, latency_s = ds.items("s")
        model = FewShotPredictor(base).fit(keys, latency_s)
        provenance["trained_on"] = sorted(keys)
    else:
        archs = ds.present()
        outside = archs[~base.covered[archs]]
        if len(outside) == len(archs):
            raise EagleError(
                f"{ds.name}: every measured arch lies outside the pretrained basis (disconnected cells, which no "
                "pretraining dataset holds); measure connected archs (eagle select proposes some)"
            )
        if len(outside):  # e.g. HELP-style files that time disconnected cells (or hold placeholders for them)
            archs = archs[base.covered[archs]]
            shown = ", ".join(str(int(i)) for i in outside[:5]) + (", ..." if len(outside) > 5 else "")
            notes.append(
                f"left out {len(outside)} arch(s) outside the pretrained basis (NB201 index {shown}: disconnected "
                f"cells, which no pretraining dataset holds); adapting to the other {len(archs)}"
            )
        model = FewShotPredictor(base).fit(archs, ds.by_index("s")[archs])
        provenance["trained_on"] = sorted(int(i) for i in archs)
    return TrainedPredictor(model, None, provenance, time.perf_counter() - t0, notes, adapted=True)


def expected_time(predictor: object, name: str, preset: str, n_train: int) -> str:
    """``: about N min here ...``: what the training will take on this project's VM (one thread)."""
    from eagle.predictors.presets import estimate_seconds

    params = getattr(predictor, "config", None) or {}
    epochs = int(params.get("epochs", 0) or 0)
    seconds = estimate_seconds(name, preset, n_train, epochs, int(params.get("ensemble", 1) or 1)) if epochs else None
    if seconds is None:
        return ""
    when = f"about {seconds / 60:.0f} min" if seconds >= 90 else f"about {max(seconds, 1):.0f} s"
    stop = "; early stopping usually ends it sooner" if params.get("early_stopping") else ""
    return f": {epochs} epochs at most, {when} on one thread of a 2-core VM (BENCHMARKS.md){stop}"


def trained_on(ds: Dataset, ids: np.ndarray | Sequence[int]) -> list[Any]:
    """The training archs for the checkpoint: indices (enumerable spaces) or arch keys."""
    if ds.archs is None:
        return sorted(int(i) for i in ids)
    return sorted(ds.archs[int(i)] for i in ids)
