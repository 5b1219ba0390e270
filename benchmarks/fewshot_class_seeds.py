"""How much the class benchmark's means move with which random archs are drawn (issue 22).

Usage, after the main run (``fewshot_class_bench.py``, random archs with seed 0):
    for s in 1 2 3 4; do .venv/bin/python benchmarks/fewshot_class_bench.py --k 10,50 --archs random \\
        --seed $s --no-gcn --out benchmarks/results/fewshot_class_seeds/seed$s.jsonl; done
    .venv/bin/python benchmarks/fewshot_class_seeds.py

Prints, per k, the few-shot model's mean Spearman over the devices every draw holds, for each
seed's random archs and for ``eagle select``'s archs, with the draws' mean and standard deviation:
the noise against which a difference of means on this benchmark has to be read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
MAIN = REPO / "benchmarks/results/fewshot_class.jsonl"
SEEDS = REPO / "benchmarks/results/fewshot_class_seeds"


def _scores(path: Path, k: int, how: str) -> dict[str, float]:
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    return {r["device"]: r["fewshot"] for r in rows if r["k_asked"] == k and r["archs"] == how}


def main() -> None:
    files = {0: MAIN} | {int(p.stem.removeprefix("seed")): p for p in sorted(SEEDS.glob("seed*.jsonl"))}
    first = next(iter(SEEDS.glob("seed*.jsonl")))
    ks = sorted({json.loads(line)["k_asked"] for line in first.read_text().splitlines()})
    seeds = " | ".join(f"random, seed {s}" for s in files)
    print(f"| k | devices | `eagle select`'s archs | {seeds} | random: mean +- std |")
    print("| --- | --- | --- | " + " | ".join("---" for _ in files) + " | --- |")
    for k in ks:
        draws = {s: _scores(p, k, "random") for s, p in files.items()}
        devices = sorted(set.intersection(*(set(d) for d in draws.values())))
        select = _scores(MAIN, k, "select")
        means = np.array([np.mean([draws[s][d] for d in devices]) for s in files])
        print(
            f"| {k} | {len(devices)} | {np.mean([select[d] for d in devices]):.4f} | "
            + " | ".join(f"{m:.4f}" for m in means)
            + f" | {means.mean():.4f} +- {means.std(ddof=1):.4f} |"
        )


if __name__ == "__main__":
    main()
