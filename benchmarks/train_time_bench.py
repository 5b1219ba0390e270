"""Seconds per training arch and epoch of each neural preset (the estimate 'eagle train' prints).

    .venv/bin/python benchmarks/train_time_bench.py [--archs 300] [--epochs 4] [--out FILE.json]

Trains each (model, preset) on ``--archs`` archs of help/pixel3 for ``--epochs`` epochs on one
thread, idle and beside a busy core (``python -c 'while True: pass'``), and reports seconds per
arch-epoch: the time of a fit of ``--epochs`` epochs less that of a 1-epoch fit, over the extra
arch-epochs (the per-fit set-up, the same in both, drops out; it is a few seconds at most).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from machine import describe

import eagle
from eagle.threads import limited_threads

CASES = [("gcn", "brp-nas"), ("mlp", "brp-nas"), ("gcn", "eagle"), ("mlp", "eagle")]


def fit_seconds(model: str, preset: str, archs: np.ndarray, y: np.ndarray, epochs: int) -> tuple[float, int]:
    overrides = {"epochs": epochs, "early_stopping": None} if preset == "brp-nas" else {"epochs": epochs}
    if preset == "brp-nas":
        overrides["validation_fraction"] = 0.0
    predictor = eagle.create_predictor(model, preset=preset, **overrides)
    t0 = time.perf_counter()
    with limited_threads(1):
        predictor.fit(archs, y)
    return time.perf_counter() - t0, int(predictor.config.get("ensemble", 1))


def rate(model: str, preset: str, archs: np.ndarray, y: np.ndarray, epochs: int) -> float:
    one, _ = fit_seconds(model, preset, archs, y, 1)
    many, ensemble = fit_seconds(model, preset, archs, y, epochs)
    return max(many - one, 0.0) / (len(archs) * (epochs - 1) * ensemble)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--archs", type=int, default=300)
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    ds = eagle.load_dataset("help/pixel3")
    archs = np.random.default_rng(0).choice(ds.present(), args.archs, replace=False)
    y = ds.by_index("s")[archs]
    report = {**describe(), "archs": args.archs, "epochs": args.epochs, "seconds_per_arch_epoch": {}}
    for busy in (False, True):
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if busy else None
        try:
            for model, preset in CASES:
                key = f"{model}/{preset}/{'busy' if busy else 'idle'}"
                report["seconds_per_arch_epoch"][key] = rate(model, preset, archs, y, args.epochs)
                print(key, f"{report['seconds_per_arch_epoch'][key]:.3g}", flush=True)
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
