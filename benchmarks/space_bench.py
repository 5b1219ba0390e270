"""Many-shot latency prediction on the FBNet and OFA-MobileNetV3 spaces, per bundled device.

    .venv/bin/python benchmarks/space_bench.py [--spaces fbnet,ofa-mbv3] [--predictors ridge,gcn]

Issue 21's protocol: on each bundled dataset of the space (HELP's 5000 archs), 1000 random archs
train (seed 0), the other 4000 test. Reports Spearman and the share within +-10% per device and
the mean, the fit time and the time to predict the 4000 test archs (one thread). Uses the public
API only. Writes ``benchmarks/results/space_bench.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from machine import describe
from scipy.stats import spearmanr

import eagle
from eagle.datasets import metadata

OUT = Path(__file__).resolve().parent / "results" / "space_bench.json"


def run(space: str, names: list[str], predictor_names: list[str], seed: int) -> dict:
    rows = {}
    for name in names:
        ds = eagle.load_dataset(name)
        archs, y = ds.items("s")
        perm = np.random.default_rng(seed).permutation(len(archs))
        train, test = perm[:1000], perm[1000:]
        row = {}
        for pname in predictor_names:
            t0 = time.perf_counter()
            model = eagle.create_predictor(pname, space=space).fit([archs[i] for i in train], y[train])
            fit_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            pred = model.predict([archs[i] for i in test])
            predict_s = time.perf_counter() - t0
            row[pname] = {
                "spearman": float(spearmanr(pred, y[test]).statistic),
                "within_10pct": float(np.mean(np.abs(pred / y[test] - 1) <= 0.1)),
                "fit_s": fit_s,
                "predict_4000_s": predict_s,
            }
        rows[name] = row
        print(name, " ".join(f"{p}: {v['spearman']:.4f}/{v['within_10pct']:.3f}" for p, v in row.items()), flush=True)
    means = {
        p: {k: float(np.mean([r[p][k] for r in rows.values()])) for k in ("spearman", "within_10pct", "fit_s")}
        for p in predictor_names
    }
    print(space, "mean", " ".join(f"{p}: {v['spearman']:.4f}/{v['within_10pct']:.3f}" for p, v in means.items()))
    return {"devices": rows, "mean": means}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spaces", default="fbnet,ofa-mbv3")
    ap.add_argument("--predictors", default="ridge,gcn")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    result = {
        **describe(),
        "threads": 1,
        "spaces": {},
    }
    for space in args.spaces.split(","):
        names = [
            n
            for n in eagle.list_datasets()
            if metadata(n).get("space") == space and metadata(n).get("metric") == "latency"
        ]
        result["spaces"][space] = run(space, names, args.predictors.split(","), args.seed)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
