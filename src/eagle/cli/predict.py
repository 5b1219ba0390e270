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
from eagle.workflows.evaluate import predictor_space


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


def train_spec(args: argparse.Namespace) -> Any:
    """The :class:`~eagle.workflows.TrainSpec` of ``eagle train``'s options."""
    from eagle.workflows import TrainSpec

    if len(args.measurement) > 1:
        raise UsageError("training one predictor on several devices at once is 'eagle pretrain' (few-shot)")
    return TrainSpec(
        measurement=args.measurement[0],
        predictor=args.predictor,
        preset=args.preset,
        seed=args.seed,
        training_points=args.training_points,
        validation_points=args.validation_points,
        prior=not args.no_prior,
        prior_exclude=tuple(args.prior_exclude),
        init=args.init,
        transfer=bool(args.transfer),
        cfg=args.cfg,
        space=getattr(args, "space", None),
    )


def train(args: argparse.Namespace) -> tuple[Any, dict[str, Any] | None, Any]:
    """Shared with the seed-compatible ``python -m eagle.predictors``: (predictor, metrics, provenance)."""
    from eagle.workflows import train as run

    result = run(train_spec(args))
    return result.predictor, result.metrics, result.provenance


def cmd_train(args: argparse.Namespace) -> int:
    from eagle.workflows import train as run

    spec = train_spec(args)
    result = run(spec)
    result.save(args.save)
    if result.adapted:
        from eagle.cli.fewshot import report_adapted

        for note in result.notes:
            print(f"note: {note}", file=sys.stderr)
        report_adapted(result.predictor, args.save, result.train_s)
        return 0
    where = result.provenance
    print(
        f"trained {args.predictor} on {len(where['trained_on'])} archs of {where['measurement']}"
        + (f" in {result.train_s:.1f} s" if getattr(result.predictor, "train_seconds_", None) else "")
        + f"; saved {args.save}"
    )
    for note in result.notes:
        print(note)
    if result.metrics:
        _print_metrics(f"test ({result.metrics['n']} archs never trained on):", result.metrics)
        if args.json:
            from eagle.fileio import write_json

            write_json(args.json, result.metrics)
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
    from eagle.measurement.archs import read_arch_table

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


def _parse_row(space: Any, text: str, path: Path, line: int) -> str:
    from eagle.errors import InvalidArchError

    try:
        return str(space.parse(text.strip()))
    except InvalidArchError as exc:
        raise EagleError(f"{path}: line {line}: {exc}") from None


def cmd_evaluate(args: argparse.Namespace) -> int:
    from eagle.workflows import EvaluateSpec, evaluate

    report = evaluate(EvaluateSpec(args.load, args.measurement, getattr(args, "space", None)))
    metrics = report.metrics
    excluded = f" ({report.excluded} training archs excluded)" if report.excluded else ""
    _print_metrics(f"{report.dataset}: {metrics['n']} archs{excluded}", metrics)
    if report.seen_in:
        print(
            f"note: {report.seen_where} holds {', '.join(report.seen_in)}, which has these same latencies (up to the "
            "unit): this is not a score on an unseen device"
        )
    if args.json:
        from eagle.fileio import write_json

        write_json(args.json, metrics)
    if args.plot:
        from eagle.plots import prediction_plot

        prediction_plot(
            report.predicted,
            report.measured,
            args.plot,
            title=f"{report.dataset}: Spearman {metrics['spearman']:.3f}, ±10% {metrics['within_10pct']:.2f}",
            unit=report.unit,
        )
        print(f"plot: {args.plot}")
    return 0
