"""Seed-compatible predictor entry point.

``python -m eagle.predictors --predictor gcn --model nasbench201 --device desktop --metric latency
--cfg configs/predictors/lat_gcn_nasbench201_desktop.yaml --measurement FILE [--save] [--exp NAME]
[--log] [--transfer CKPT] [--load CKPT]``

Trains (or, with ``--load``, only evaluates) a predictor with the seed's YAML and writes under
``results/<model>/<metric>/<device>/<predictor>[/<exp>]/``: ``predictor.pt`` (with ``--save``),
``log.txt`` (with ``--log``: one ``ground-truth predicted arch_vector`` line per test arch, ``---``,
then the statistics) and ``metrics.json``. Runs on the CPU; CUDA is not required.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from eagle.cli.argtypes import count
from eagle.fileio import atomic_write_text, ensure_folder, write_json


def build_parser(parser_class: type[argparse.ArgumentParser] = argparse.ArgumentParser) -> argparse.ArgumentParser:
    p = parser_class(prog="python -m eagle.predictors", description=__doc__.split("\n\n")[0])
    p.add_argument("--predictor", default="gcn", choices=("gcn", "mlp"))
    p.add_argument("--model", default="nasbench201", choices=("nasbench201",))
    p.add_argument("--device", required=True, help="device name for the results folder")
    p.add_argument("--metric", default="latency", choices=("latency", "accuracy"))
    p.add_argument("--cfg", type=Path, required=True)
    p.add_argument("--measurement", required=True, help="seed pickle or dataset name")
    p.add_argument("--save", action="store_true", help="save the trained predictor")
    p.add_argument("--exp", help="experiment name (sub-folder)")
    p.add_argument("--log", action="store_true", help="write log.txt")
    p.add_argument("--transfer", type=Path, help="initialise from CKPT, final layer re-initialised")
    p.add_argument("--load", type=Path, help="load CKPT and only evaluate")
    p.add_argument("--expdir", type=Path, default=Path("results"))
    p.add_argument("--seed", type=count(0), default=0)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    from eagle.cli.main import Parser, run_command

    args = build_parser(Parser).parse_args(argv)
    return run_command(_run, args, verbose=False, prog="predictors")


def _run(args: argparse.Namespace) -> int:
    import numpy as np

    from eagle import datasets, predictors
    from eagle.cli.predict import train
    from eagle.predictors.checkpoint import load_for_prediction
    from eagle.predictors.training import evaluate_on
    from eagle.spaces.nasbench201 import NASBench201

    outdir = args.expdir / args.model / args.metric / args.device / args.predictor
    if args.exp:
        outdir = outdir / args.exp
    ensure_folder(outdir, "--expdir")
    if args.load:
        predictor, config = load_for_prediction(args.load)
        ds = datasets.load_measurement(args.measurement, metric=args.metric)
        exclude = config.get("trained_on", []) if config.get("measurement") == ds.name else []
        metrics: dict[str, Any] | None
        metrics, pred, true = evaluate_on(predictor, ds, exclude=exclude)
        idx = np.setdiff1d(ds.present(), np.asarray(exclude, dtype=np.int64))
    else:
        ns = argparse.Namespace(
            predictor=args.predictor,
            preset=None,
            measurement=[args.measurement],
            cfg=args.cfg,
            training_points=None,
            validation_points=None,
            seed=args.seed,
            init=args.transfer,
            transfer=args.transfer is not None,
            no_prior=False,
            prior_exclude=[],
        )
        predictor, metrics, extra = train(ns)
        ds = datasets.load_measurement(args.measurement, metric=args.metric)
        if args.save:
            predictors.save(predictor, outdir / "predictor.pt", extra=extra)
        idx = np.setdiff1d(ds.present(), np.asarray(extra["trained_on"], dtype=np.int64))
        pred = predictor.predict(idx) if len(idx) else np.array([])
        values = ds.by_index("s") if ds.metric == "latency" else ds.by_index()
        true = values[idx]
    if metrics:
        write_json(outdir / "metrics.json", metrics)
    if args.log:
        space = NASBench201()
        lines = [f"{float(t)!r} {float(p)!r} {space.vector(int(i))}" for i, t, p in zip(idx, true, pred)]
        lines.append("---")
        lines += [f"{k}: {v}" for k, v in (metrics or {}).items()]
        atomic_write_text(outdir / "log.txt", lambda fh: fh.write("\n".join(lines) + "\n"))
    if metrics:
        print(" ".join(f"{k}={v:.4f}" if isinstance(v, float) else f"{k}={v}" for k, v in metrics.items()))
    print(f"results in {outdir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
