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
    p.add_argument(
        "--accuracy", help=f"accuracy dataset name, file or seed pickle (default for NB201: {DEFAULT_ACCURACY})"
    )
    p.add_argument("--method", default="brp", choices=METHODS)
    p.add_argument("--budget", type=count(1, 100_000), default=100, help="models trained (accuracy queries)")
    p.add_argument("--iterations", type=count(1, 1000), default=5)
    p.add_argument("--seed", type=count(0), default=0)
    p.add_argument("--latency", help="latency dataset name or seed pickle (seconds)")
    p.add_argument("--latency-predictor", help="latency predictor checkpoint")
    p.add_argument("--latency-limit", type=seconds(), help="seconds")
    p.add_argument("--true-latency", help="measured latency to count violations when using a predictor")
    p.add_argument("--transfer", help="latency predictor checkpoint whose GCN initialises the BRP encoder")
    p.add_argument(
        "--pool",
        type=count(1, 100_000),
        help="--method proxy without --accuracy: random archs of the space to rank (default 500; the three "
        "proxies took up to 2.3 s per FBNet arch and 11.7 s per OFA arch on one busy CPU thread, and are cached)",
    )
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
        help=f"comma-separated methods to compare, from {', '.join(METHODS)} (default: brp,gcn,random,evolution)",
    )
    s.add_argument("--seeds", type=count(1, 1000), default=20, help="searches per method, seeds 0..N-1 (default 20)")
    s.add_argument(
        "--budget", type=count(1, 100_000), default=100, help="archs each search may 'train' (query) (default 100)"
    )
    s.add_argument(
        "--iterations", type=count(1, 1000), default=5, help="rounds in which brp/gcn refit and pick (default 5)"
    )
    s.add_argument("--plot", type=Path, help="write the curves (best accuracy against queries) as a PNG")
    s.add_argument(
        "--json", type=Path, help="write the summary and each seed's best accuracy and models-to-best as JSON"
    )
    _selection_options(s)
    add_compute_options(s)
    s.set_defaults(func=cmd_simulate)


def _selection_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--proxies",
        choices=("auto", "on", "off"),
        default="auto",
        help="zero-cost proxies for brp (warm-up and GCN inputs) and the proxy method: auto (default) uses those "
        "the space ships or that are cached, on computes the missing ones (and caches them), off gives plain BRP-NAS",
    )
    p.add_argument(
        "--exploit",
        type=float,
        help="brp/gcn: share of each iteration's picks taken from the best-ranked (default 1.0; the seed: 0.5)",
    )
    p.add_argument(
        "--ensemble", type=count(1, 64), help="brp: average this many BRPs' rankings (default 3; the seed: 1)"
    )


def _options(args: argparse.Namespace) -> dict[str, Any]:
    return {"exploit": args.exploit, "ensemble": args.ensemble, "proxies": args.proxies}


def cmd_search(args: argparse.Namespace) -> int:
    if args.output is None:  # not required by argparse: 'eagle search simulate' shares this parser
        raise UsageError("eagle search needs --output TRACE.txt (the search trace); see 'eagle search --help'")
    from eagle.nas.run import run_search, write_log, write_trace

    space_name = args.space or args.model
    chosen = spaces.get(space_name).name if space_name else None
    if args.transfer and args.method != "brp":
        raise UsageError(f"--transfer initialises BRP's encoder: it does nothing for --method {args.method}")
    if args.method == "proxy" and args.proxies == "off":
        raise UsageError("--method proxy ranks by zero-cost proxies: it cannot run with --proxies off")
    if args.accuracy is not None and chosen is not None:
        from eagle.nas.run import accuracy_dataset

        table_space = accuracy_dataset(args.accuracy).space.name
        if table_space != chosen:
            raise UsageError(
                f"--accuracy {args.accuracy} holds {table_space} archs but --space is {chosen}: give an accuracy "
                f"table of {chosen} archs"
                + (", or --method proxy without --accuracy" if chosen != "nasbench201" else "")
            )
    if args.accuracy is None and chosen not in (None, "nasbench201"):
        if args.method == "proxy":
            return _proxy_search(args, chosen)
        raise UsageError(
            f"no accuracy dataset ships for {chosen}: give --accuracy ACC.csv (columns "
            "arch,accuracy_pct; its archs are the pool the search draws from), or rank by zero-cost proxies "
            "without any accuracy: --method proxy"
        )
    if args.pool is not None:
        raise UsageError(
            "--pool sets how many archs a proxy search samples where no accuracy table ships (--space fbnet|ofa "
            "--method proxy); here the accuracy table's archs are the pool"
        )

    res, acc, _ = run_search(
        args.method,
        args.accuracy or DEFAULT_ACCURACY,
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
    if args.method == "brp":
        print(
            "zero-cost proxies: "
            + (
                "warm-up on their best-ranked archs, GCN inputs with graph features (--proxies off: plain BRP-NAS)"
                if st.get("proxies")
                else "not used (none ship or are cached for these archs; --proxies on computes them)"
                if args.proxies != "off"
                else "off (plain BRP-NAS)"
            )
        )
    best_idx = max(res.queried, key=lambda i: acc[i])
    best_key = res.keys[best_idx] if res.keys is not None else space.arch_at(best_idx)
    print(f"best trained arch: {space.name} id {best_idx}, {best_key} ({acc[best_idx]:.2f})")
    print(f"trace: {args.output}" + (f", log: {args.log}" if args.log else ""))
    return 0


def _proxy_search(args: argparse.Namespace, space: str) -> int:
    """``eagle search --space fbnet --method proxy``: no accuracy known; rank by zero-cost proxies."""
    from eagle.nas.run import run_proxy_search, write_trace

    unused = [f"--{n.replace('_', '-')}" for n in ("latency", "true_latency", "log") if getattr(args, n, None)]
    if unused:
        raise UsageError(
            f"{', '.join(unused)}: not used by a proxy search without accuracy (no accuracy, no measured latency "
            "table of sampled archs); give --latency-predictor and --latency-limit to keep archs under a limit"
        )
    res = run_proxy_search(
        space,
        pool=args.pool or 500,
        budget=args.budget,
        seed=args.seed,
        latency_predictor=args.latency_predictor,
        latency_limit=args.latency_limit,
    )
    write_trace(res, args.output, spaces.get(space))
    st = res.stats
    print(
        f"PROXY SEARCH (no accuracy known: archs ranked by zero-cost proxies {', '.join(st['proxies'])}, a guess "
        f"of accuracy, not a measurement): {st['candidates']} of {st['pool']} sampled {space} archs"
        + (f" predicted under {args.latency_limit:g} s" if args.latency_limit is not None else "")
        + f", ranked in {res.seconds:.1f} s"
    )
    lat = st.get("predicted_latency_s", {})
    for rank, i in enumerate(res.queried[:5], start=1):
        shown = f" ({1e3 * lat[i]:.3f} ms predicted)" if i in lat else ""
        print(f"  {rank}. {res.keys[i] if res.keys else i}{shown}")
    print(
        f"trace (best-ranked first, {len(res.trace)} archs): {args.output}; train the first ones to know their accuracy"
    )
    return 0


def cmd_simulate(args: argparse.Namespace) -> int:
    from eagle.nas.run import accuracy_dataset, plot_curves, simulate

    methods = [m.strip() for m in args.methods.split(",") if m.strip()]
    curves, seconds = simulate(args.accuracy, methods, args.seeds, args.budget, args.iterations, _options(args))
    ds = accuracy_dataset(args.accuracy)
    values = ds.values_by_id()
    best = float(np.nanmax(values[ds.space.valid_mask()] if ds.space.enumerable else values))
    summary: dict[str, dict[str, Any]] = {}
    per_seed: dict[str, dict[str, list[Any]]] = {}
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
        per_seed[method] = {"best": [float(v) for v in final], "models_to_best": found}
        print(
            f"{method:10s} "
            + " ".join(f"{k}={v:.3f}" if isinstance(v, float) else f"{k}={v}" for k, v in summary[method].items())
        )
    if args.plot:
        plot_curves(curves, best, args.plot, f"{args.accuracy}, {args.seeds} seeds")
        print(f"plot: {args.plot}")
    if args.json:
        options = {k: v for k, v in _options(args).items() if v is not None}
        write_json(
            args.json,
            {
                "best_in_space": best,
                "budget": args.budget,
                "options": options,
                "methods": summary,
                "per_seed": per_seed,
            },
        )
    return 0
