"""``eagle search``: predictor-based NAS; ``eagle search simulate``: compare methods over seeds."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import numpy as np

from eagle import spaces
from eagle.cli.argtypes import add_compute_options, count, seconds
from eagle.errors import UsageError
from eagle.fileio import write_json
from eagle.nas.search import METHODS

DEFAULT_ACCURACY = "nasbench201/cifar100-valid-accuracy"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("search", help="latency-constrained NAS with BRP-NAS or a baseline (also: search simulate)")
    p.add_argument("--model", choices=("nasbench201",), help=argparse.SUPPRESS)  # the seed's spelling
    p.add_argument("--space", help="the search space (default: that of --accuracy); checked against the data")
    p.add_argument("--accuracy", default=DEFAULT_ACCURACY, help="accuracy dataset name or seed pickle")
    p.add_argument("--method", default="brp", choices=METHODS)
    p.add_argument("--budget", type=count(1, 100_000), default=100, help="models trained (accuracy queries)")
    p.add_argument("--iterations", type=count(1, 1000), default=5)
    p.add_argument("--seed", type=count(0), default=0)
    p.add_argument("--latency", help="latency dataset name or seed pickle (seconds)")
    p.add_argument("--latency-predictor", help="latency predictor checkpoint")
    p.add_argument("--latency-limit", type=seconds(), help="seconds")
    p.add_argument("--true-latency", help="measured latency to count violations when using a predictor")
    p.add_argument("--transfer", help="latency predictor checkpoint whose GCN initialises the BRP encoder")
    _selection_options(p)
    p.add_argument("--output", type=Path, help="search trace (one arch_str per line); required")
    p.add_argument("--log", type=Path, help="the seed's log format")
    add_compute_options(p)
    p.set_defaults(func=cmd_search)

    tools = p.add_subparsers(dest="search_tool", metavar="[simulate ...]", required=False, title="tools")
    s = tools.add_parser(
        "simulate",
        help="many searches per method on an accuracy dataset: curves and summary",
        description="Run every method of --methods for --seeds seeds on an accuracy table (every arch's "
        "accuracy is known, so a search is simulated: 'training' an arch is looking it up) and report, per "
        "method, the mean accuracy of the best arch found and how often the table's best arch was found.",
    )
    s.add_argument(
        "--accuracy", default=DEFAULT_ACCURACY, help=f"accuracy dataset name or file (default {DEFAULT_ACCURACY})"
    )
    s.add_argument(
        "--methods",
        default="brp,gcn,random,evolution",
        help=f"comma-separated methods to compare, from {', '.join(METHODS)} (default: all four)",
    )
    s.add_argument("--seeds", type=count(1, 1000), default=20, help="searches per method, seeds 0..N-1 (default 20)")
    s.add_argument(
        "--budget", type=count(1, 100_000), default=100, help="archs each search may 'train' (query) (default 100)"
    )
    s.add_argument(
        "--iterations", type=count(1, 1000), default=5, help="rounds in which brp/gcn refit and pick (default 5)"
    )
    s.add_argument("--plot", type=Path, help="write the curves (best accuracy against queries) as a PNG")
    s.add_argument("--json", type=Path, help="write every search's trace and the summary as JSON")
    _selection_options(s)
    add_compute_options(s)
    s.set_defaults(func=cmd_simulate)


def _selection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--exploit",
        type=float,
        help="brp/gcn: share of each iteration's picks taken from the best-ranked (default 1.0; the seed: 0.5)",
    )
    p.add_argument(
        "--ensemble", type=count(1, 64), help="brp: average this many BRPs' rankings (default 3; the seed: 1)"
    )


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {"exploit": args.exploit, "ensemble": args.ensemble}


def cmd_search(args: argparse.Namespace) -> int:
    if args.output is None:  # not required by argparse: 'eagle search simulate' shares this parser
        raise UsageError("eagle search needs --output TRACE.txt (the search trace); see 'eagle search --help'")
    from eagle.nas.run import run_search, write_log, write_trace

    space_name = args.space or args.model
    chosen = spaces.get(space_name).name if space_name else None
    if args.accuracy == DEFAULT_ACCURACY and chosen not in (None, "nasbench201"):
        raise UsageError(
            f"no accuracy dataset ships for {chosen}: give --accuracy ACC.csv (columns "
            "arch,accuracy_pct; its archs are the pool the search draws from)"
        )

    res, acc, _ = run_search(
        args.method,
        args.accuracy,
        space_name=space_name,
        budget=args.budget,
        iterations=args.iterations,
        seed=args.seed,
        latency=args.latency,
        latency_predictor=args.latency_predictor,
        latency_limit=args.latency_limit,
        true_latency=args.true_latency,
        transfer=args.transfer,
        options=_options(args),
    )
    space = spaces.get(res.stats["space"])
    write_trace(res, args.output, space)
    if args.log:
        write_log(res, acc, args.log, space)
    st = res.stats
    print(
        f"{args.method}: {len(res.queried)} models trained of {st['candidates']} candidates in {res.seconds:.1f} s; "
        f"best trained accuracy {st['best_queried_accuracy']:.2f} (best candidate {st['best_candidate_accuracy']:.2f})"
        + (f"; {st['violations']} trained models violated the latency limit" if "violations" in st else "")
    )
    best_idx = max(res.queried, key=lambda i: acc[i])
    best_key = res.keys[best_idx] if res.keys is not None else space.arch_at(best_idx)
    print(f"best trained arch: {space.name} id {best_idx}, {best_key} ({acc[best_idx]:.2f})")
    print(f"trace: {args.output}" + (f", log: {args.log}" if args.log else ""))
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from eagle.nas.run import accuracy_dataset, plot_curves, simulate

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    curves, seconds = simulate(args.accuracy, methods, args.seeds, args.budget, args.iterations, _options(args))
    ds = accuracy_dataset(args.accuracy)
    values = ds.values_by_id()
    best = float(np.nanmax(values[ds.space.valid_mask()] if ds.space.enumerable else values))
    summary = {}
    for method, rows in curves.items():
        final = rows[:, -1]
        found = [int(np.argmax(r >= best)) + 1 if (r >= best).any() else None for r in rows]
        hits = [f for f in found if f is not None]
        summary[method] = {
            "mean_best": float(final.mean()),
            "median_best": float(np.median(final)),
            "found_best_fraction": len(hits) / len(rows),
            "median_models_to_best": float(np.median(hits)) if hits else None,
            **{f"mean_best_at_{k}": float(rows[:, k - 1].mean()) for k in (25, 50) if k <= rows.shape[1]},
            "median_search_seconds": float(np.median(seconds[method])),
        }
        print(
            f"{method:10s} "
            + " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary[method].items())
        )
    if args.plot:
        plot_curves(curves, best, args.plot, f"{args.accuracy}, {args.seeds} seeds")
        print(f"plot: {args.plot}")
    if args.json:
        options = {k: v for k, v in _options(args).items() if v is not None}
        write_json(args.json, {"best_in_space": best, "options": options, "methods": summary})
    return 0
