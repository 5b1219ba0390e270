"""``eagle train``, ``eagle predict``, ``eagle evaluate``: performance predictors."""

from __future__ import annotations

import argparse
import csv
import sys
from pathlib import Path
from typing import Any

import numpy as np

from eagle import progress
from eagle.cli.argtypes import add_allow_module, add_compute_options, count
from eagle.errors import EagleError, UsageError
from eagle.spaces.nasbench201 import NASBench201


def register(sub: argparse._SubParsersAction) -> None:
    tr = sub.add_parser("train", help="train a latency/accuracy predictor on measurements")
    tr.add_argument("--predictor", default="gcn", help="gcn (default), mlp, flops, params, lut, ridge, gbt")
    tr.add_argument("--preset", default=None, help="eagle (default) or brp-nas (the seed's recipe)")
    tr.add_argument(
        "--measurement",
        nargs="+",
        required=True,
        help="dataset name, results store, seed pickle, or CSV (columns arch,latency_ms or latency_s)",
    )
    tr.add_argument("--space", help="search space of the measurement (default: read from it)")
    tr.add_argument("--cfg", type=Path, help="the seed's predictor YAML")
    tr.add_argument("--training-points", type=count(1))
    tr.add_argument("--validation-points", type=count(0))
    tr.add_argument("--seed", type=count(0), default=0)
    tr.add_argument(
        "--init", type=Path, help="start from this checkpoint's weights; a few-shot base (eagle pretrain) adapts to it"
    )
    tr.add_argument("--transfer", action="store_true", help="with --init: re-initialise the final layer")
    tr.add_argument(
        "--prior-exclude",
        nargs="+",
        default=[],
        metavar="NAME",
        help="bundled datasets the default GCN's arch prior must not learn from (e.g. relatives of the device)",
    )
    tr.add_argument(
        "--no-prior", action="store_true", help="the default GCN without its arch prior from the bundled datasets"
    )
    tr.add_argument("--save", type=Path, required=True, help="checkpoint to write (MODEL.pt)")
    tr.add_argument("--json", type=Path, help="write test metrics as JSON")
    add_compute_options(tr)
    tr.set_defaults(func=cmd_train)

    pr = sub.add_parser(
        "predict",
        help="predict archs with a predictor (--load), or networks of your own with a kernel model (--kernels)",
    )
    pr.add_argument("--load", type=Path, help="predictor checkpoint (eagle train / pretrain)")
    pr.add_argument(
        "--archs", type=Path, help="CSV with an 'arch' column, or one arch per line (default: the whole space)"
    )
    pr.add_argument(
        "--output",
        "-o",
        type=Path,
        help="CSV, one row per arch (required with --load): the --archs file's columns (or the space's "
        "identifiers), then latency_ms, latency_s and their _std where the model has a spread",
    )
    pr.add_argument("--kernels", type=Path, help="kernel model (eagle kernels fit): predict --model/--models with it")
    pr.add_argument("--model", help="with --kernels: torchvision:NAME[(k=v)][@RES], FILE.onnx, pkg.mod:factory")
    pr.add_argument("--models", type=Path, help="with --kernels: a file of model specs, one per line")
    add_allow_module(pr)
    pr.add_argument("--input-shape", help="with --kernels: NxCxHxW for specs without @RES (default 1x3x224x224)")
    pr.add_argument("--top", type=count(1), default=10, help="with --kernels and one model: layers to list")
    pr.add_argument("--space", help="module:Class of a plug-in space the checkpoint names (allows importing it)")
    add_compute_options(pr)
    pr.set_defaults(func=cmd_predict)

    ev = sub.add_parser("evaluate", help="metrics of a trained predictor on measurements it was not trained on")
    ev.add_argument("--load", type=Path, required=True)
    ev.add_argument("--measurement", required=True)
    ev.add_argument("--json", type=Path)
    ev.add_argument("--plot", type=Path, help="scatter + error histogram PNG")
    ev.add_argument("--space", help="module:Class of a plug-in space the files name (allows importing it)")
    add_compute_options(ev)
    ev.set_defaults(func=cmd_evaluate)


def _print_metrics(title: str, metrics: dict[str, Any]) -> None:
    print(title)
    for key, value in metrics.items():
        print(f"  {key:<14} {value:.4g}" if isinstance(value, float) else f"  {key:<14} {value}")


def train(args: argparse.Namespace) -> tuple[Any, dict[str, Any] | None, Any]:
    """Shared by ``eagle train`` and the seed-compatible ``python -m eagle.predictors``."""
    from eagle import datasets, predictors
    from eagle.predictors.seedcfg import read_predictor_yaml
    from eagle.predictors.training import evaluate_on, fit_on_split, random_split

    if len(args.measurement) > 1:
        raise EagleError("training one predictor on several devices at once is 'eagle pretrain' (few-shot)")
    ds = datasets.load_measurement(args.measurement[0], space=getattr(args, "space", None))
    yaml_cfg = read_predictor_yaml(args.cfg) if args.cfg else None
    name = args.predictor
    preset = args.preset or (yaml_cfg["preset"] if yaml_cfg else "eagle")
    kwargs: dict[str, Any] = {"seed": args.seed}
    if name in ("gcn", "mlp"):
        kwargs["preset"] = preset
        if yaml_cfg:
            kwargs.update(yaml_cfg["overrides"])
        if args.no_prior:
            kwargs["prior"] = None
        if args.prior_exclude:
            kwargs["prior_exclude"] = list(args.prior_exclude)
    elif args.no_prior or args.prior_exclude:
        raise EagleError("--no-prior and --prior-exclude apply to the neural predictors (gcn, mlp)")
    from eagle.predictors.presets import DEFAULT_POINTS

    preset_train, preset_val = DEFAULT_POINTS.get(preset, (None, 0)) if name in ("gcn", "mlp") else (None, 0)
    training_points = (
        args.training_points
        if args.training_points is not None
        else (yaml_cfg["training_points"] if yaml_cfg else preset_train)
    )
    validation_points = (
        args.validation_points
        if args.validation_points is not None
        else (yaml_cfg["validation_points"] if yaml_cfg else preset_val if args.training_points is None else 0)
    )
    present = len(ds.arch_ids())
    if training_points is not None and training_points + validation_points > present and args.training_points is None:
        training_points, validation_points = None, min(validation_points, present // 10)  # a small file: all of it
    split_seed = yaml_cfg["sampling_seed"] if yaml_cfg and yaml_cfg["sampling_seed"] is not None else args.seed
    split = random_split(ds, training_points, validation_points, split_seed)
    predictor = predictors.create(name, space=ds.space, **kwargs)
    progress.stage(
        f"training {name} ({preset if name in ('gcn', 'mlp') else 'baseline'}) on {len(split.train)} archs"
        + (f" (+{len(split.validation)} validation)" if len(split.validation) else "")
        + f" of {ds.name}{_expected_time(predictor, name, preset, len(split.train))}"
    )
    init = predictors.load(args.init) if args.init else None
    fit_kwargs = {"init": init, "reset_head": bool(args.transfer)} if init is not None else {}
    from eagle.predictors.neural import NeuralPredictor

    if init is not None and not isinstance(predictor, NeuralPredictor):
        raise EagleError("--init works with neural predictors (gcn, mlp)")
    fit_on_split(predictor, ds, split, **fit_kwargs)
    metrics = None
    if len(split.test) >= 2:
        metrics, _, _ = evaluate_on(predictor, ds, exclude=np.concatenate([split.train, split.validation]))
    extra = {
        "metric": ds.metric,
        "unit": "s" if ds.metric == "latency" else ds.unit,
        "measurement": ds.name,
        "trained_on": _trained_on(ds, np.concatenate([split.train, split.validation])),
        "space": ds.metadata["space"],
    }
    return predictor, metrics, extra


def _expected_time(predictor: Any, name: str, preset: str, n_train: int) -> str:
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


def _trained_on(ds: Any, ids: np.ndarray) -> list[Any]:
    """The training archs for the checkpoint: indices (enumerable spaces) or arch keys."""
    if ds.archs is None:
        return sorted(int(i) for i in ids)
    return sorted(ds.archs[int(i)] for i in ids)


def _fewshot_base(path: Path | None) -> Any:
    """The base when ``--init`` names a few-shot base checkpoint (``eagle pretrain``), else None."""
    if path is None:
        return None
    from eagle.predictors.checkpoint import read

    config, _ = read(path)
    if config.get("kind") not in ("fewshot-base", "fewshot-base-ops"):
        return None
    from eagle import predictors

    return predictors.load(path)


def cmd_train_fewshot(args: argparse.Namespace, basis: Any) -> int:
    """``eagle train --init BASE.pt --measurement FEW``: adapt to every arch measured in FEW."""
    import time

    from eagle import datasets, predictors
    from eagle.cli.fewshot import adapt, report_adapted

    if len(args.measurement) != 1:
        raise EagleError("few-shot adaptation takes one --measurement (the new device's k archs)")
    ds = datasets.load_measurement(args.measurement[0], space=basis.space)
    if ds.metric != "latency":
        raise EagleError(f"{ds.name} holds {ds.metric}: the few-shot base predicts latency")
    from eagle.fewshot import OpDeviceBasis

    if isinstance(basis, OpDeviceBasis):  # a large space's base: every arch is described by its op counts
        keys, latency_s = ds.items("s")
        t0 = time.perf_counter()
        model = adapt(basis, keys, latency_s)
        extra_keys: dict[str, Any] = {
            "metric": "latency",
            "unit": "s",
            "measurement": ds.name,
            "trained_on": sorted(keys),
        }
        predictors.save(model, args.save, extra=extra_keys)
        report_adapted(model, args.save, time.perf_counter() - t0)
        return 0
    archs = ds.present()
    outside = archs[~basis.covered[archs]]
    if len(outside) == len(archs):
        raise EagleError(
            f"{ds.name}: every measured arch lies outside the pretrained basis (disconnected cells, which no "
            "pretraining dataset holds); measure connected archs (eagle select proposes some)"
        )
    if len(outside):  # e.g. HELP-style files that time disconnected cells (or hold placeholders for them)
        archs = archs[basis.covered[archs]]
        print(
            f"note: left out {len(outside)} arch(s) outside the pretrained basis (NB201 index "
            f"{', '.join(str(int(i)) for i in outside[:5])}{', ...' if len(outside) > 5 else ''}: disconnected "
            f"cells, which no pretraining dataset holds); adapting to the other {len(archs)}",
            file=sys.stderr,
        )
    t0 = time.perf_counter()
    model = adapt(basis, archs, ds.by_index("s")[archs])
    seconds = time.perf_counter() - t0
    extra = {"metric": "latency", "unit": "s", "measurement": ds.name, "trained_on": sorted(int(i) for i in archs)}
    predictors.save(model, args.save, extra=extra)
    report_adapted(model, args.save, seconds)
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from eagle import predictors

    basis = _fewshot_base(args.init)
    if basis is not None:
        return cmd_train_fewshot(args, basis)
    predictor, metrics, extra = train(args)
    predictors.save(predictor, args.save, extra=extra)
    seconds = getattr(predictor, "train_seconds_", None)
    print(
        f"trained {args.predictor} on {len(extra['trained_on'])} archs of {extra['measurement']}"
        + (f" in {seconds:.1f} s" if seconds else "")
        + f"; saved {args.save}"
    )
    prior = getattr(predictor, "prior_devices_", None)
    if prior:
        print(f"arch prior learned from {len(prior)} bundled latency datasets (none holds this training data)")
    if getattr(predictor, "op_cost_model_", ""):
        print(f"op-cost input: the {predictor.op_cost_model_} per-op cost model, fitted to the training archs")
    if metrics:
        _print_metrics(f"test ({metrics['n']} archs never trained on):", metrics)
        if args.json:
            from eagle.fileio import write_json

            write_json(args.json, metrics)
    return 0


def _value_column(config: dict[str, Any]) -> str:
    from eagle.datasets.dataset import UNIT_SUFFIX

    return f"{config.get('metric', 'latency')}_{UNIT_SUFFIX.get(config.get('unit', 's'), config.get('unit', 's'))}"


def cmd_predict(args: argparse.Namespace) -> int:
    from eagle.fileio import atomic_write_text
    from eagle.predictors.checkpoint import load_for_prediction, predict_finite

    if args.kernels is not None:
        if args.load is not None or args.archs is not None:
            raise UsageError("--kernels predicts networks (--model/--models); --load/--archs are for search spaces")
        from eagle.cli.anynet import cmd_predict_kernels

        return cmd_predict_kernels(args)
    if args.load is None or args.output is None:
        raise UsageError("give --load MODEL.pt and --output PRED.csv (or --kernels K.pt with --model/--models)")
    if args.model or args.models:
        raise UsageError("--model/--models are predicted with a kernel model: add --kernels K.pt")

    predictor, config = load_for_prediction(args.load)
    space = predictor_space(predictor)
    ident_header, ident, archs = _rows_to_predict(space, args.archs)
    progress.stage(f"predicting {len(archs)} {space.name} archs with {args.load}")
    pred = predict_finite(predictor, archs, args.load)
    spread = predictor.predict_spread(archs)
    # (for a log-target ensemble the spread is prediction x std of the members' log predictions)
    columns = _value_columns(config)
    header = [c for name, _ in columns for c in (name, f"{name}_std") if spread is not None or c == name]
    ident_header = [f"input_{c}" if c in header else c for c in ident_header]  # e.g. a measured latency_ms

    def write(fh: Any) -> None:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(ident_header + header)
        for i, row in enumerate(ident):
            out = list(row)
            for _, factor in columns:
                out.append(repr(float(pred[i]) * factor))
                if spread is not None:
                    out.append(repr(float(spread[i]) * factor))
            w.writerow(out)

    atomic_write_text(args.output, write)
    print(f"wrote {len(pred)} predictions ({', '.join(name for name, _ in columns)}) to {args.output}")
    return 0


def _value_columns(config: dict[str, Any]) -> list[tuple[str, float]]:
    """(column, factor from the model's unit) of the predictions: latency in ms and in s."""
    if config.get("metric", "latency") == "latency" and config.get("unit", "s") == "s":
        return [("latency_ms", 1e3), ("latency_s", 1.0)]
    return [(_value_column(config), 1.0)]


def _rows_to_predict(space: Any, path: Path | None) -> tuple[list[str], list[list[Any]], Any]:
    """(the input's columns, their values per output row, the archs to predict)."""
    from eagle.measure.archs import read_arch_table

    if path is not None:
        table = read_arch_table(path)
        keys = [_parse_row(space, text, path, n) for text, n in zip(table.archs, table.lines)]
        if not keys:
            raise EagleError(f"{path} lists no architectures")
        columns = table.header if table.column else ["arch"]
        return columns, table.rows, space.indices(keys) if space.enumerable else keys
    if not space.enumerable:
        raise EagleError(f"{space.name} is too large to predict whole: give --archs FILE (one arch per row)")
    idx = np.arange(int(space.size))
    if isinstance(space, NASBench201):  # the seed-era columns
        return (
            ["nb201_index", "arch_str", "arch_vector"],
            [[int(i), space.arch_at(int(i)), str(space.vector(int(i)))] for i in idx],
            idx,
        )
    return ["arch"], [[space.arch_at(int(i))] for i in idx], idx


def predictor_space(predictor: Any) -> Any:
    """The search space a fitted predictor predicts (every predictor carries one)."""
    from eagle import spaces

    return spaces.resolve(getattr(predictor, "space", None))


def _parse_row(space: Any, text: str, path: Path, line: int) -> str:
    from eagle.errors import InvalidArchError

    try:
        return str(space.parse(text.strip()))
    except InvalidArchError as exc:
        raise EagleError(f"{path}: line {line}: {exc}") from None


def reference_data_holding(predictor: Any, ds: Any) -> tuple[str, list[str]]:
    """(where, names) of the latency datasets a model carries as knowledge that equal ``ds`` (any unit).

    A few-shot model carries its pretraining devices, a neural predictor its arch prior's bundled
    datasets; scoring it on one of those is not a held-out test.
    """
    from eagle.predictors.prior import same_data

    if ds.metric != "latency":
        return "", []
    if not ds.space.enumerable:
        return _holding_by_keys(predictor, ds)
    idx = ds.present()
    idx = idx[:: max(1, len(idx) // 2000)]  # a spread-out sample is enough to recognise the data
    y = ds.by_index("s")[idx]
    basis = getattr(predictor, "basis", None)
    if basis is not None:
        table = {name: np.exp(basis.device_latency[:, d]) for d, name in enumerate(basis.devices)}
        return "the pretrained few-shot basis", same_data(idx[basis.covered[idx]], y[basis.covered[idx]], table)
    names = getattr(predictor, "prior_devices_", None) or []
    if names:
        from eagle.predictors.prior import bundled_table

        table = bundled_table(predictor_space(predictor).name)
        return "the arch prior", same_data(idx, y, {n: table[n] for n in names if n in table})
    return "", []


def _holding_by_keys(predictor: Any, ds: Any) -> tuple[str, list[str]]:
    """:func:`reference_data_holding` for a space too large to enumerate: the datasets a few-shot
    base was pretrained on (or a predictor's arch prior) compared with ``ds`` arch by arch."""
    from eagle import datasets
    from eagle.predictors.prior import same_data

    basis = getattr(predictor, "basis", None)
    names = list(getattr(basis, "devices", None) or getattr(predictor, "prior_devices_", None) or [])
    where = "the pretrained few-shot basis" if basis is not None else "the arch prior"
    keys, y = ds.items("s")
    keys, y = keys[:: max(1, len(keys) // 2000)], y[:: max(1, len(y) // 2000)]
    table = {}
    for name in names:
        if name not in datasets.names():
            continue
        known = dict(zip(*datasets.load(name).items("s")))
        table[name] = np.array([known.get(k, np.nan) for k in keys], dtype=np.float64)
    return where, same_data(np.arange(len(keys)), np.asarray(y, dtype=np.float64), table) if table else []


def cmd_evaluate(args: argparse.Namespace) -> int:
    from eagle import datasets
    from eagle.predictors.checkpoint import load_for_prediction
    from eagle.predictors.training import evaluate_on

    predictor, config = load_for_prediction(args.load)
    ds = datasets.load_measurement(args.measurement)
    progress.stage(f"evaluating {args.load} on {ds.name}")
    # an arch the model was fitted on is never scored, whichever dataset it came from
    fitted = [*config.get("trained_on", []), *getattr(predictor, "trained_on_", [])]  # a few-shot model knows its k
    if predictor_space(predictor) is not ds.space:
        raise EagleError(f"{args.load} predicts {predictor_space(predictor).name} archs; {ds.name} is {ds.space.name}")
    trained_on: Any = (
        np.unique(ds.ids_of([int(f) if isinstance(f, (int, np.integer)) else f for f in fitted])) if fitted else []
    )
    metrics, pred, true = evaluate_on(predictor, ds, exclude=trained_on)
    excluded = f" ({len(trained_on)} training archs excluded)" if len(trained_on) else ""
    _print_metrics(f"{ds.name}: {metrics['n']} archs{excluded}", metrics)
    where, seen = reference_data_holding(predictor, ds)
    if seen:
        print(
            f"note: {where} holds {', '.join(seen)}, which has these same latencies (up to the unit): "
            "this is not a score on an unseen device"
        )
    if args.json:
        from eagle.fileio import write_json

        write_json(args.json, metrics)
    if args.plot:
        from eagle.plots import prediction_plot

        prediction_plot(
            pred,
            true,
            args.plot,
            title=f"{ds.name}: Spearman {metrics['spearman']:.3f}, ±10% {metrics['within_10pct']:.2f}",
            unit=config.get("unit", "s"),
        )
        print(f"plot: {args.plot}")
    return 0
