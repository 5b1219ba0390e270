"""``eagle demo``: the README's main job on the embedded defaults.

Measure ~200 random NB201 archs with ONNX Runtime on this CPU, train Eagle's default GCN on
150 of them, predict all 15625 archs, report accuracy on the 50 held-out measured archs, and
write the predictions (CSV), a scatter plot (PNG) and the results store into ``--output-dir``.
Re-running resumes the measurement (nothing is measured twice).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import IO

import numpy as np

from eagle.cli.argtypes import add_compute_options, count
from eagle.fileio import atomic_write_text, ensure_folder, write_json


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the main job: measure -> dataset -> predictor -> predictions")
    p.add_argument("--output-dir", type=Path, default=Path("eagle-demo"), help="where results go")
    p.add_argument("--archs", type=count(2), default=200, help="archs to measure")
    p.add_argument("--train", type=count(1), default=150, help="of which used for training")
    p.add_argument("--runtime", default="onnxruntime")
    p.add_argument("--seed", type=count(0), default=0)
    add_compute_options(p)
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from eagle import predictors
    from eagle.datasets.dataset import Dataset
    from eagle.measurement.protocol import Protocol
    from eagle.measurement.runner import SweepConfig, run_sweep
    from eagle.measurement.worker import ModelConfig
    from eagle.plots import prediction_plot
    from eagle.predictors.metrics import evaluate
    from eagle.spaces.nasbench201 import NASBench201
    from eagle.store import ResultStore

    out = args.output_dir
    ensure_folder(out, "--output-dir")
    space = NASBench201()
    print(f"== 1/4 measure {args.archs} random NB201 archs with {args.runtime} on this CPU ==")
    cfg = SweepConfig(
        runtime=args.runtime,
        protocol=Protocol(),
        archs=str(args.archs),
        seed=args.seed,
        dedupe=False,
        db=out / "measurements.sqlite",
        model=ModelConfig(seed=args.seed),
    )
    summary = run_sweep(cfg)
    with ResultStore(cfg.db) as store:
        results = store.results_by_arch(summary.run_id)
    values = np.full(space.num_archs, np.nan)
    for idx, res in results.items():
        if res["status"] == "ok":
            values[idx] = res["latency_s"]
    measured = np.nonzero(np.isfinite(values))[0]
    ds = Dataset("demo", values, {"metric": "latency", "unit": "s", "device": "this CPU", "runtime": args.runtime})
    again = f", {summary.already_done} stored by an earlier run" if summary.already_done else ""
    print(
        f"{len(measured)} archs with a latency ({summary.measured_now} measured now{again}); "
        f"median latency {np.median(values[measured]) * 1e3:.3f} ms"
    )
    rng = np.random.default_rng(args.seed)
    perm = rng.permutation(measured)
    train, test = perm[: args.train], perm[args.train :]
    print(f"== 2/4 train Eagle's default GCN on {len(train)} archs ==")
    model = predictors.create("gcn", seed=args.seed).fit(train, values[train])
    print(f"trained in {model.train_seconds_:.1f} s")
    predictors.save(
        model,
        out / "predictor.pt",
        extra={"metric": "latency", "unit": "s", "measurement": ds.name, "trained_on": sorted(int(i) for i in train)},
    )
    print("== 3/4 predict all 15625 archs ==")
    pred = model.predict(np.arange(space.num_archs))
    spread = model.predict_spread(np.arange(space.num_archs))

    def write_predictions(fh: IO[str]) -> None:
        fh.write("nb201_index,arch_str,arch_vector,latency_s,latency_s_std,measured_latency_s\n")
        for i, vec in enumerate(space.archs()):
            m = "" if np.isnan(values[i]) else repr(float(values[i]))
            s = "" if spread is None else repr(float(spread[i]))
            fh.write(f'{i},{space.arch_str(vec)},"{vec}",{float(pred[i])!r},{s},{m}\n')

    atomic_write_text(out / "predictions.csv", write_predictions)
    print(f"== 4/4 accuracy on the {len(test)} held-out measured archs ==")
    metrics = evaluate(pred[test], values[test]) if len(test) >= 2 else {}
    for key, value in metrics.items():
        print(f"  {key:<14} {value:.4g}" if isinstance(value, float) else f"  {key:<14} {value}")
    write_json(out / "metrics.json", metrics)
    if metrics:
        prediction_plot(
            pred[test] * 1e3,
            values[test] * 1e3,
            out / "predicted_vs_measured.png",
            title=f"{args.runtime} on this CPU: {len(test)} held-out archs, Spearman {metrics['spearman']:.3f}",
            unit="ms",
        )
    print(f"\nwrote {out / 'predictions.csv'}, {out / 'predicted_vs_measured.png'}, {out / 'predictor.pt'}")
    return 0
