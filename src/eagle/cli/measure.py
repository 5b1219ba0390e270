"""``eagle measure``: run a measurement sweep; ``eagle measure export|combine|stats|normalise``."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

from eagle import runtimes
from eagle.cli.argtypes import add_allow_module, add_compute_options, count, fraction, plural, seconds
from eagle.errors import EagleError

log = logging.getLogger("eagle")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "measure",
        help="measure archs of a space or networks of your own on a device (also: measure export|runs|...)",
        description="Measure the latency of a search space's archs (--space, --archs) or of networks of your own "
        "(--model, --models) on a device. Check the machine first: 'eagle doctor'. Tools: 'eagle measure "
        "export|combine|stats|normalise|runs --help'.",
    )
    add_sweep_arguments(p)
    p.set_defaults(func=cmd_measure)

    tools = p.add_subparsers(
        dest="measure_tool", metavar="[export|runs|combine|stats|normalise ...]", required=False, title="tools"
    )
    exp = tools.add_parser("export", help="write a run as the seed's pickle, CSV or Parquet")
    exp.add_argument("--db", required=True, type=Path)
    exp.add_argument("--run", type=count(1), help="run id (default: the only/latest run)")
    exp.add_argument("--format", required=True, choices=("pickle", "csv", "parquet"))
    exp.add_argument("--output", "-o", required=True, type=Path)
    exp.set_defaults(func=cmd_export)

    runs = tools.add_parser("runs", help="list the runs of a results store")
    runs.add_argument("--db", required=True, type=Path)
    runs.set_defaults(func=cmd_runs)

    comb = tools.add_parser("combine", help="concatenate the seed's raw results{N}.pickle files")
    comb.add_argument("files", nargs="+", type=Path, help="the seed's raw results{N}.pickle files")
    comb.add_argument("--output", "-o", required=True, type=Path)
    comb.set_defaults(func=cmd_combine)

    st = tools.add_parser("stats", help="the seed's calc_stats over raw results -> {arch_vector: seconds}")
    st.add_argument("file", type=Path, help="raw results (combined) pickle")
    st.add_argument("--output", "-o", required=True, type=Path)
    st.set_defaults(func=cmd_stats)

    norm = tools.add_parser("normalise", help="divide every value of a seed pickle by its max or a number")
    norm.add_argument("file", type=Path, help="a seed-format {arch_vector: value} pickle")
    norm.add_argument("--by", default="max", help="'max' or a number to divide every value by (e.g. 100)")
    norm.add_argument("--output", "-o", required=True, type=Path)
    norm.set_defaults(func=cmd_normalise)


def add_sweep_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--space",
        help="search space (eagle.spaces name or module:Class); default: read from the keys of an --archs file, "
        "else nasbench201",
    )
    p.add_argument(
        "--model",
        help="one network of your own: torchvision:NAME[(k=v)][@RES], family:NAME(...), FILE.onnx or "
        "package.module:factory (the seed's '--model nasbench201' still names the space)",
    )
    p.add_argument("--models", type=Path, help="a file of networks, one model spec per line")
    add_allow_module(p)
    p.add_argument("--input-shape", help="NxCxHxW input of --model/--models specs without @RES (default 1x3x224x224)")
    p.add_argument("--runtime", default="onnxruntime", choices=runtimes.names())
    p.add_argument(
        "--device",
        default="local",
        help="local (default) or ssh://user@host:port; with --executor ray, a cluster device name (e.g. pixel3)",
    )
    from eagle.measurement.executors import EXECUTORS

    p.add_argument("--executor", default="local", choices=EXECUTORS.names(), help="ray: device actors on a Ray cluster")
    p.add_argument("--address", help="Ray cluster: auto (default), HOST:PORT or ray://HOST:PORT")
    p.add_argument("--ray-actors", type=count(1), help="Ray: at most this many device actors (default: one per device)")
    p.add_argument("--archs", default="valid", help="all | valid | N (random valid, by --seed) | FILE")
    p.add_argument("--cfg", type=Path, help="the seed's measurement YAML (device.target_args, model)")
    p.add_argument("--db", type=Path, default=Path("eagle-results.sqlite"), help="results store (SQLite)")
    p.add_argument("--seed", type=count(0), default=0, help="arch sampling and weight seed")
    p.add_argument("--threads", type=count(1, 1024), default=1)
    p.add_argument("--precision", help="fp32 (default), bf16/fp16 for openvino, int8 for litert, fp16 torch cuda")
    p.add_argument("--runtime-device", default=None, help="cpu (default) or cuda")
    p.add_argument(
        "--runtime-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="runtime option, e.g. cuda_graph=true (torch), graph_optimization=basic (onnxruntime)",
    )
    p.add_argument("--no-dedupe", action="store_true", help="measure every arch, not one per class (NB201)")
    p.add_argument(
        "--protocol",
        choices=("interleaved", "sequential"),
        help="interleaved (default): a batch of networks loaded at once, timed in turns until each latency is "
        "known within --target-ci; sequential: one network at a time, --runs rounds (Eagle before 2026-12, the seed's)",
    )
    p.add_argument(
        "--target-ci",
        type=fraction(),
        help="interleaved: stop a network's rounds once the 95%% CI half-width of its latency is within this share "
        "of it (default 0.01)",
    )
    p.add_argument(
        "--interleave",
        type=count(1, 4096),
        help="interleaved: networks held at once (default 64, fewer if memory is short)",
    )
    p.add_argument("--max-time", type=seconds(), help="interleaved: seconds of timing per network at most (default 2)")
    p.add_argument("--warmup", type=count(0), help="inferences before timing (default 10)")
    p.add_argument("--runs", type=count(1), help="rounds (interleaved: at least this many, default 8; sequential: 10)")
    p.add_argument(
        "--avg-between", type=count(1), help="inferences per round (interleaved: 5; sequential: at least 10)"
    )
    p.add_argument("--interval", type=seconds(positive=False), help="sequential: seconds between rounds")
    p.add_argument("--min-round", type=seconds(positive=False), help="sequential: minimum seconds per round")
    p.add_argument("--batch-size", type=count(1, 65536))
    p.add_argument("--timeout", type=seconds(), default=300.0, help="seconds per model before it is killed")
    p.add_argument("--pin", help="CPU cores for the worker, e.g. '1' or '0,1'")
    p.add_argument("--limit", type=count(1), help="stop after measuring N more archs")
    p.add_argument("--retry-failed", action="store_true", help="measure failed/timed-out archs again")
    p.add_argument("--no-progress", action="store_true")
    add_compute_options(p, threads=False)


def sweep_config_from_args(args: argparse.Namespace, yaml_cfg: dict[str, Any] | None = None) -> Any:
    from eagle.measurement.config import MeasureOptions, sweep_config

    values = {**vars(args)}
    model = getattr(args, "model", None)
    if model == "nasbench201":  # the seed's spelling of --space
        values["space"] = model
    elif model or getattr(args, "models", None):
        values.update(_model_sweep(args))
    elif values.get("space") is None:
        values["space"] = _space_of_archs(str(values.get("archs") or "valid"))
    return sweep_config(MeasureOptions.from_mapping(values), yaml_cfg)


def _space_of_archs(archs: str) -> str:
    """The space an ``--archs FILE`` holds (read from its keys, as 'eagle train' does); NB201 for
    all/valid/N."""
    if not Path(archs).is_file():
        return "nasbench201"
    from eagle.datasets.importer import infer_space
    from eagle.measurement.archs import read_arch_table

    keys = [a.split("#", 1)[0].strip() for a in read_arch_table(Path(archs)).archs]
    keys = [k for k in keys if k]
    return infer_space(keys, Path(archs)) if keys else "nasbench201"


def _model_sweep(args: argparse.Namespace) -> dict[str, Any]:
    """--model/--models/--input-shape as the ``models`` space's options (archs: one spec, or a file)."""
    from eagle.anynet.specs import named_specs
    from eagle.cli.argtypes import input_shape
    from eagle.errors import UsageError

    if args.model and args.models:
        raise UsageError("give --model or --models, not both")
    if args.space not in (None, "nasbench201", "models"):
        raise UsageError(f"--model/--models measure networks of your own; drop --space {args.space}")
    out: dict[str, Any] = {"space": "models"}
    shape = input_shape(args.input_shape) if args.input_shape else None
    chw = shape[1:] if shape else None
    if shape and args.batch_size is None:
        out["batch_size"] = shape[0]
    named = named_specs(args.model, args.models, input_shape=chw)
    if args.model:
        out["archs"] = named[0][1].key
        return out
    keys = dict.fromkeys(spec.key for _, spec in named)
    if chw is None:
        out["archs"] = str(args.models)
        return out
    # the specs with the input shape written in: a file beside the store, the same for a resumed run
    listing = Path(f"{args.db}.models-{'x'.join(map(str, chw))}.txt")
    listing.write_text("\n".join(keys) + "\n")
    out["archs"] = str(listing)
    return out


def cmd_measure(args: argparse.Namespace) -> int:
    from eagle.measurement.config import load_yaml
    from eagle.measurement.runner import run_sweep

    cfg = sweep_config_from_args(args, load_yaml(args.cfg) if args.cfg else None)
    try:
        summary = run_sweep(cfg, progress=not (args.no_progress or args.quiet))
    except KeyboardInterrupt:
        print("\neagle: interrupted; everything measured so far is stored. Run the same command to resume.")
        return 130
    print(
        f"run {summary.run_id} in {cfg.db}: {plural(summary.requested, 'arch')} requested, "
        f"{summary.to_measure} to measure "
        f"({'one per distinct network' if cfg.dedupe else 'no dedupe'}); measured now {summary.measured_now}, "
        f"before {summary.already_done}; ok {summary.ok}, failed {summary.failed}; {summary.wall_s:.1f} s; "
        + ("complete" if summary.complete else "incomplete: run the same command to continue")
    )
    if summary.target_ci is not None and summary.ok:
        median = f"; median CI half-width ±{100 * summary.median_ci:.2f}%" if summary.median_ci is not None else ""
        print(
            f"precision: {summary.met_target} of {summary.ok} networks known within ±{100 * summary.target_ci:g}% "
            f"(95% CI of the latency){median}"
            + (
                ""
                if summary.met_target == summary.ok
                else f"; the rest hit the time cap (--max-time {cfg.protocol.max_time_s:g} s): raise it for tighter "
                "intervals, or see 'eagle doctor' for what makes this machine noisy"
            )
        )
        if summary.under_interference:
            print(
                f"warning: {summary.under_interference} networks were timed only while another process had the "
                "core (no clean round): their latencies are flagged (conditions.under_interference) and likely "
                "too high; measure them again on a quieter machine ('eagle doctor' says what is busy)",
                file=sys.stderr,
            )
    if summary.failed:
        _report_failures(cfg.db, summary.run_id)
    return 1 if summary.failed and not summary.ok else 0  # nothing measured is a failed command


def _report_failures(db: Path, run_id: int, show: int = 5) -> None:
    """The first failed archs of a run with what went wrong (the store keeps each traceback)."""
    from eagle.measurement.export import run_rows
    from eagle.store import ResultStore

    with ResultStore(db, readonly=True) as store:
        failed = [r for r in run_rows(store, run_id) if r["status"] != "ok"]
    for row in failed[:show]:
        name = row.get("arch") or row.get("arch_str")
        print(f"  failed: {name}: {(row['error'] or 'no error recorded')[:300]}")
    more = f"; {len(failed) - show} more" if len(failed) > show else ""
    print(f"  every result with its error: eagle measure export --db {db} --run {run_id} --format csv -o OUT.csv{more}")


def _pick_run(store: Any, run_id: int | None) -> Any:
    runs = store.runs()
    if not runs:
        raise EagleError(f"{store.path} holds no runs")
    if run_id is None:
        return runs[-1]
    return store.run(run_id)


def cmd_export(args: argparse.Namespace) -> int:
    from eagle.measurement.export import export_run
    from eagle.store import ResultStore

    with ResultStore(args.db, readonly=True) as store:
        run = _pick_run(store, args.run)
        n = export_run(store, run.id, args.format, args.output)
    print(f"wrote {n} archs of run {run.id} to {args.output} ({args.format})")
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from eagle.store import ResultStore

    with ResultStore(args.db, readonly=True) as store:
        for run in store.runs():
            rows = store.measurements(run.id)
            ok = sum(r["status"] == "ok" for r in rows)
            print(
                f"run {run.id}: {run.runtime} {run.row['runtime_version']} on {run.device}, "
                f"archs={run.row['archs_spec']}, "
                f"dedupe={run.dedupe}, status={run.status}, measured {len(rows)} (ok {ok})"
            )
    return 0


def cmd_combine(args: argparse.Namespace) -> int:
    from eagle.measurement.seedtools import combine

    n = combine(args.files, args.output)
    print(f"combined {n} entries from {len(args.files)} files into {args.output}")
    return 0


def cmd_stats(args: argparse.Namespace) -> int:
    from eagle.measurement.seedtools import stats_file

    n, skipped = stats_file(args.file, args.output)
    print(f"wrote {n} latencies (seconds) to {args.output}; skipped {skipped} invalid/failed entries")
    return 0


def cmd_normalise(args: argparse.Namespace) -> int:
    from eagle.measurement.seedtools import normalise

    factor = normalise(args.file, args.output, args.by)
    print(f"divided every value by {factor:g}; wrote {args.output}")
    return 0
