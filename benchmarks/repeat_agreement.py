"""How well two measurements of the same archs agree: the noise ceiling of a latency dataset.

    .venv/bin/python benchmarks/repeat_agreement.py FIRST SECOND [SECOND ...] [--out FILE.json]

FIRST and each SECOND are anything ``eagle.load_dataset`` reads: a bundled dataset name, a
results store (``X.sqlite``, ``X.sqlite#run=N``) or a file. The archs both hold are joined by their
canonical key and the second measurement is scored as if it were a predictor of the first:
Spearman, the share within +-5% / +-10%, MAPE, and the median ratio second / first (a level shift
between sessions). No predictor can be verified above these figures against FIRST.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np
from machine import describe
from scipy.stats import spearmanr

import eagle


def by_key(spec: str) -> tuple[str, dict]:
    ds = eagle.load_dataset(spec)
    archs, y = ds.items("s")
    return ds.space.name, dict(zip(ds.space.keys(archs), map(float, y)))


def agreement(first: dict, second: dict) -> dict:
    common = [k for k in second if k in first]
    if len(common) < 3:
        raise SystemExit(f"only {len(common)} archs in common: nothing to compare")
    a = np.array([first[k] for k in common])
    b = np.array([second[k] for k in common])
    rel = b / a - 1
    return {
        "archs": len(common),
        "spearman": float(spearmanr(b, a).statistic),
        "within_5pct": float(np.mean(np.abs(rel) <= 0.05)),
        "within_10pct": float(np.mean(np.abs(rel) <= 0.10)),
        "mape": float(np.mean(np.abs(rel))),
        "median_ratio": float(np.median(b / a)),
        "ratio_p10_p90": [float(np.quantile(b / a, 0.1)), float(np.quantile(b / a, 0.9))],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("first")
    ap.add_argument("second", nargs="+")
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    space, first = by_key(args.first)
    report = {**describe(), "first": args.first, "space": space, "seconds": {}}
    for spec in args.second:
        other_space, second = by_key(spec)
        if other_space != space:
            raise SystemExit(f"{spec} holds {other_space} archs, {args.first} holds {space} archs")
        report["seconds"][spec] = row = agreement(first, second)
        print(
            f"{spec} vs {args.first}: {row['archs']} archs, Spearman {row['spearman']:.4f}, "
            f"within ±10% {row['within_10pct']:.3f}, ±5% {row['within_5pct']:.3f}, MAPE {row['mape']:.3f}, "
            f"median ratio {row['median_ratio']:.3f}"
        )
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(report, indent=1) + "\n")
        print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
