"""Wall times of the everyday commands, as the README quotes them (#18).

    .venv/bin/python benchmarks/everyday_bench.py [--json OUT]

Runs each command once through the ``eagle`` CLI on an otherwise idle machine and reports the
wall time: the demo (measure 200 archs with ONNX Runtime, train, predict all, evaluate), pretrain
on every bundled dataset, select, calibrate with a base (select + measure 10 archs + adapt),
calibrate without one, train/predict/evaluate with the default GCN on 1000 archs, one BRP-NAS search.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe

EAGLE = [sys.executable, "-m", "eagle"]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", type=Path)
    p.add_argument("--only", help="comma-separated commands of the table to run (default: all)")
    args = p.parse_args()
    d = Path(tempfile.mkdtemp(prefix="eagle-everyday-"))
    q = ["--quiet"]
    commands = {
        "demo": [*EAGLE, "demo", "--output-dir", str(d / "demo"), *q],
        "pretrain": [*EAGLE, "pretrain", "--save", str(d / "base.pt"), *q],
        "select_k10": [*EAGLE, "select", "--base", str(d / "base.pt"), "--k", "10", "--output", str(d / "k.txt"), *q],
        "calibrate_k10_with_base": [*EAGLE, "calibrate", "--runtime", "onnxruntime", "--k", "10", "--base",
                                    str(d / "base.pt"), "--save", str(d / "t.pt"), "--db", str(d / "c1.sqlite"), *q],
        "calibrate_k10_without_base": [*EAGLE, "calibrate", "--runtime", "onnxruntime", "--k", "10",
                                       "--save", str(d / "t2.pt"), "--db", str(d / "c2.sqlite"), *q],
        "train_gcn_1000": [*EAGLE, "train", "--measurement", "help/pixel3", "--training-points", "1000",
                           "--save", str(d / "m.pt"), *q],
        "predict_15625": [*EAGLE, "predict", "--load", str(d / "m.pt"), "--output", str(d / "p.csv"), *q],
        "evaluate": [*EAGLE, "evaluate", "--load", str(d / "m.pt"), "--measurement", "help/pixel3", *q],
        "brp_nas_search": [*EAGLE, "search", "--output", str(d / "trace.txt"), *q],
    }  # fmt: skip
    if args.only:
        unknown = set(args.only.split(",")) - set(commands)
        if unknown:
            raise SystemExit(f"--only: unknown {sorted(unknown)}; valid: {', '.join(commands)}")
        commands = {k: v for k, v in commands.items() if k in args.only.split(",")}
    results = {}
    for name, cmd in commands.items():
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        seconds = time.perf_counter() - t0
        if proc.returncode != 0:
            raise SystemExit(f"{name} failed: {proc.stderr}")
        results[name] = round(seconds, 1)
        print(f"{name:28s} {seconds:7.1f} s", flush=True)
    report = {
        **describe(),
        "wall_s": results,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
