"""Seed-compatible measurement entry point.

``python -m eagle.device_runner --model nasbench201 --device desktop --metric latency
--cfg configs/measurements/desktop_nasbench201_local.yaml [--expdir results] [--fix] [--limit N]``

Reads the seed's YAML, measures the whole space in the seed's enumeration order (disconnected
cells recorded as ``'invalid'``, as the seed did), and writes under
``<expdir>/nasbench201/latency/<device>/``: the results store ``eagle.sqlite`` (resumable), the
seed's raw files ``results{N}.pickle`` and ``results.pickle`` (``{arch_vector: seconds}``, the
seed's calc_stats). The runtime is the YAML's ``eagle.runtime`` (default ONNX Runtime) or
``--runtime``; the seed's TensorFlow 1 is not used.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from eagle import runtimes
from eagle.cli.argtypes import count
from eagle.fileio import ensure_folder


def build_parser(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> argparse.ArgumentParser:
    p = parser_class(prog="python -m eagle.device_runner", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", required=True, choices=("nasbench201",))
    p.add_argument("--device", required=True, help="device name used for the results folder, e.g. desktop")
    p.add_argument("--metric", default="latency", choices=("latency",))
    p.add_argument("--cfg", required=True, type=Path)
    p.add_argument("--expdir", type=Path, default=Path("results"))
    p.add_argument("--fix", action="store_true", help="measure again the models whose measurement failed")
    p.add_argument("--limit", type=count(1), help="stop after N more models (resume later)")
    p.add_argument("--runtime", choices=runtimes.names(), help="overrides the YAML's eagle.runtime")
    p.add_argument("--archs", default="all", help="all (default, as the seed) | valid | N | FILE")
    p.add_argument("--no-dedupe", action="store_true")
    p.add_argument("--seed", type=count(0), default=0)
    p.add_argument("--threads", type=count(1, 1024), default=1)
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from eagle.cli.main import Parser, run_command

    args = build_parser(Parser).parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("eagle").setLevel(logging.INFO)
    return run_command(_run, args, verbose=False, prog="device_runner")


def _run(args: argparse.Namespace) -> int:
    from eagle.measurement.config import MeasureOptions, load_yaml, sweep_config
    from eagle.measurement.runner import run_sweep
    from eagle.measurement.seedtools import raw_results_files
    from eagle.store import ResultStore

    try:
        yaml_cfg = load_yaml(args.cfg)
        outdir = args.expdir / args.model / args.metric / args.device
        ensure_folder(outdir, "--expdir")
        options = MeasureOptions(
            runtime=args.runtime or (yaml_cfg.get("eagle") or {}).get("runtime", "onnxruntime"),
            archs=args.archs,
            seed=args.seed,
            threads=args.threads,
            no_dedupe=args.no_dedupe,
            limit=args.limit,
            retry_failed=args.fix,
            db=outdir / "eagle.sqlite",
            order="seed",
        )
        cfg = sweep_config(options, yaml_cfg)
        summary = run_sweep(cfg, progress=not args.no_progress)
        with ResultStore(cfg.db) as store:
            by_arch = store.results_by_arch(summary.run_id)
        results = []
        for idx in sorted(by_arch, key=_seed_order):
            res = by_arch[idx]
            if res["status"] == "ok":
                value: object = res["samples"]
            elif res["status"] == "invalid":
                value = "invalid"
            else:
                value = (res["error"] or res["status"]).splitlines()[0]
            results.append((idx, value))
        raw = raw_results_files(results, outdir)
        from eagle.measurement.export import export_run

        with ResultStore(cfg.db) as store:
            n = export_run(store, summary.run_id, "pickle", outdir / "results.pickle")
    except KeyboardInterrupt:
        print("device_runner: interrupted; run the same command to resume", file=sys.stderr)
        return 130
    measured = summary.measured_now + summary.already_done
    shared = (
        f": the {measured} measured and the other members of their NB201 classes, which share their class "
        "representative's latency (--no-dedupe measures every arch)"
        if n > measured
        else ""
    )
    print(
        f"{summary.measured_now} measured now, {summary.already_done} before; wrote {len(raw)} raw file(s) and "
        f"{outdir / 'results.pickle'} ({n} archs{shared})"
        + ("" if summary.complete else "; incomplete: run again to continue")
    )
    return 0


def _seed_order(nb201_index: int) -> int:
    from eagle.spaces.nasbench201.arch import index_codes

    return int(index_codes()[nb201_index])


if __name__ == "__main__":
    sys.exit(main())
