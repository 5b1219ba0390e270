"""Few-shot latency prediction on the FBNet and OFA-MobileNetV3 spaces, HELP's protocol.

    .venv/bin/python benchmarks/space_fewshot_bench.py [--spaces fbnet,ofa-mbv3] [--k 10] [--draws 3]

For each bundled device of the space: pretrain on the space's other bundled devices minus the
held-out device's family (same hardware at other batch sizes; the two Xeon Silvers), choose k
archs among help_index < 4000 (``select``: Eagle's V-optimal choice; ``random``: the mean over
``--draws`` random draws), adapt, and score Spearman on help_index 4000..4999 minus the 10%
fastest and slowest (a partial dataset of the first N archs in HELP's order: k from the first 80%,
test the rest). Uses the public API only. Writes ``benchmarks/results/space_fewshot_bench.json``.
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
from eagle.fewshot import select_archs

OUT = Path(__file__).resolve().parent / "results" / "space_fewshot_bench.json"


def family(name: str) -> str:
    """Hardware family of a bundled dataset: batch-size siblings and same-line CPUs share one, and
    so do our own sets (one machine, several runtimes)."""
    collection, device = name.split("/", 1)
    if collection == "eagle-cpu":
        return collection
    base, _, last = device.rpartition("_")
    return base if base and last.isdigit() else device


def run(space: str, k: int, draws: int) -> dict:
    names = [
        n for n in eagle.list_datasets() if metadata(n).get("space") == space and metadata(n).get("metric") == "latency"
    ]
    data = {n: eagle.load_dataset(n).items("s") for n in names}
    rows = {}
    for target in names:
        keys, y = data[target]
        t0 = time.perf_counter()
        base = eagle.pretrain([n for n in names if family(n) != family(target)], space=space)
        pretrain_s = time.perf_counter() - t0
        # HELP's split (k from index < 4000, test 4000..4999); a partial dataset (our 1500 OFA archs,
        # the first of HELP's order) splits the same way at 80%
        split = 4000 if len(keys) >= 5000 else int(0.8 * len(keys))
        test = np.arange(split, min(len(keys), split + 1000))
        lo, hi = np.quantile(y[test], [0.1, 0.9])
        test = test[(y[test] >= lo) & (y[test] <= hi)]
        test_keys = [keys[i] for i in test]
        position = {a: i for i, a in enumerate(keys)}
        chosen = select_archs(base, k, candidates=keys[:split])
        picked = [position[a] for a in chosen]
        model = eagle.calibrate(base, chosen, y[picked])
        selected = float(spearmanr(model.predict(test_keys), y[test]).statistic)
        random = []
        for draw in range(draws):
            idx = np.random.default_rng(draw).choice(split, k, replace=False)
            model = eagle.calibrate(base, [keys[i] for i in idx], y[idx])
            random.append(float(spearmanr(model.predict(test_keys), y[test]).statistic))
        rows[target] = {"select": selected, "random": float(np.mean(random)), "pretrain_s": pretrain_s}
        print(f"{target} select {selected:.3f} random {np.mean(random):.3f}", flush=True)
    mean = {m: float(np.mean([r[m] for r in rows.values()])) for m in ("select", "random")}
    print(space, "mean", mean)
    return {"devices": rows, "mean": mean}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spaces", default="fbnet,ofa-mbv3")
    ap.add_argument("--k", type=int, default=10)
    ap.add_argument("--draws", type=int, default=3)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    result = {**describe(), "k": args.k, "draws": args.draws, "spaces": {}}
    for space in args.spaces.split(","):
        result["spaces"][space] = run(space, args.k, args.draws)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
