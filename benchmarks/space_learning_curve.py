"""How far more training data moves many-shot prediction on the FBNet and OFA datasets.

    .venv/bin/python benchmarks/space_learning_curve.py [--spaces fbnet,ofa-mbv3] [--predictors ridge]

For each bundled latency dataset of the space: a seeded permutation, the last 1000 archs test, the
first n train for n in --sizes (as many as the dataset holds). If the test Spearman stops rising
as n grows from 1000 to 4000, what is left is the file's own noise (no repeat measurements ship
with HELP's files, so this plateau is the nearest thing to their noise ceiling); a dataset whose
curve still rises is limited by the predictor or the training size. Issue 21's many-shot protocol
trains on 1000.

``fewshot_ceiling``: the same predictor trained on every arch the few-shot protocol draws its k
from (HELP index below 4000; 80% of a partial set) and scored on that protocol's test archs
(4000..4999 minus the 10% fastest and slowest, as ``space_fewshot_bench.py``): a few-shot model
given 10 of those archs would have to beat it to score higher. Writes ``benchmarks/results/space_learning_curve.json``.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from machine import describe
from scipy.stats import spearmanr

import eagle
from eagle.datasets import metadata

OUT = Path(__file__).resolve().parent / "results" / "space_learning_curve.json"


def curve(space: str, name: str, predictor: str, sizes: list[int], seed: int) -> dict[str, dict[str, float]]:
    archs, y = eagle.load_dataset(name).items("s")
    perm = np.random.default_rng(seed).permutation(len(archs))
    test = perm[-1000:]
    out = {}
    for n in sizes:
        if n > len(archs) - 1000:
            break
        train = perm[:n]
        model = eagle.create_predictor(predictor, space=space).fit([archs[i] for i in train], y[train])
        pred = model.predict([archs[i] for i in test])
        out[str(n)] = {
            "spearman": float(spearmanr(pred, y[test]).statistic),
            "within_10pct": float(np.mean(np.abs(pred / y[test] - 1) <= 0.1)),
        }
    split = 4000 if len(archs) >= 5000 else int(0.8 * len(archs))
    test = np.arange(split, min(len(archs), split + 1000))
    lo, hi = np.quantile(y[test], [0.1, 0.9])
    test = test[(y[test] >= lo) & (y[test] <= hi)]
    model = eagle.create_predictor(predictor, space=space).fit(archs[:split], y[:split])
    pred = model.predict([archs[i] for i in test])
    out["fewshot_ceiling"] = {
        "spearman": float(spearmanr(pred, y[test]).statistic),
        "within_10pct": float(np.mean(np.abs(pred / y[test] - 1) <= 0.1)),
    }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--spaces", default="fbnet,ofa-mbv3")
    ap.add_argument("--predictors", default="ridge")
    ap.add_argument("--sizes", default="250,500,1000,2000,4000")
    ap.add_argument("--datasets", default="", help="comma-separated dataset names (default: all of the space)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    result: dict = {**describe(), "threads": 1, "sizes": sizes, "test_archs": 1000, "spaces": {}}
    for space in args.spaces.split(","):
        names = [
            n
            for n in eagle.list_datasets()
            if metadata(n).get("space") == space
            and metadata(n).get("metric") == "latency"
            and (not args.datasets or n in args.datasets.split(","))
        ]
        rows: dict = {}
        for name in names:
            rows[name] = {p: curve(space, name, p, sizes, args.seed) for p in args.predictors.split(",")}
            for p, c in rows[name].items():
                print(
                    name,
                    p,
                    " ".join(f"{n}: {v['spearman']:.4f}/{v['within_10pct']:.3f}" for n, v in c.items()),
                    flush=True,
                )
        result["spaces"][space] = rows
        for p in args.predictors.split(","):
            points = sorted(
                {n for r in rows.values() for n in r[p]}, key=lambda n: (not n.isdigit(), int(n) if n.isdigit() else 0)
            )
            means = {n: float(np.mean([r[p][n]["spearman"] for r in rows.values() if n in r[p]])) for n in points}
            counts = {n: sum(n in r[p] for r in rows.values()) for n in points}
            print(space, p, "mean Spearman", " ".join(f"{n}: {v:.4f} ({counts[n]})" for n, v in means.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
