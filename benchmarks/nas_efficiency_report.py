"""Issue 37's tables from benchmarks/results/nas37/*.json (written by benchmarks/nas_efficiency.sh).

Per dataset: for each budget, each method's mean best validation accuracy among the archs it
trained, how many seeds found the table's best-validation arch, and the median seconds per search.
    .venv/bin/python benchmarks/nas_efficiency_report.py
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results" / "nas37"
DATASETS = {"cifar10": "CIFAR-10", "cifar100": "CIFAR-100", "imagenet16-120": "ImageNet16-120"}
ROWS = [
    ("random", "", "random"),
    ("proxy", "", "proxy only (zero-cost ranking, no predictor)"),
    ("brp", "-plain", "brp --proxies off (plain BRP-NAS)"),
    ("brp", "", "**brp (default: proxies on)**"),
]
BUDGETS = (20, 50, 100)  # a budget not run shows as "-"


def main() -> None:
    for ds, title in DATASETS.items():
        runs = {}
        for b in BUDGETS:
            for suffix in ("", "-plain"):
                f = RESULTS / f"{ds}-b{b}{suffix}.json"
                if f.exists():
                    runs[b, suffix] = json.loads(f.read_text())
        if not runs:
            continue
        best = next(iter(runs.values()))["best_in_space"]
        seeds = len(next(iter(runs.values()))["per_seed"]["random" if (BUDGETS[0], "") in runs else "brp"]["best"])
        print(f"\n{title} (best-validation arch of the space: {best:.2f}; {seeds} seeds)\n")
        head = " | ".join(f"mean best @{b} | found @{b}" for b in BUDGETS)
        top = max(b for b, _ in runs)
        print(f"| method | {head} | median s per search @{top} |")
        print("| --- |" + " --- |" * (2 * len(BUDGETS) + 1))
        for method, suffix, label in ROWS:
            cells = []
            for b in BUDGETS:
                m = runs.get((b, suffix), {}).get("methods", {}).get(method)
                if m is None:
                    cells += ["-", "-"]
                    continue
                n = len(runs[b, suffix]["per_seed"][method]["best"])
                cells += [f"{m['mean_best']:.2f}", f"{round(m['found_best_fraction'] * n)} / {n}"]
            last = runs.get((top, suffix), {}).get("methods", {}).get(method)
            secs = f"{last['median_search_seconds']:.1f}" if last else "-"
            print(f"| {label} | " + " | ".join(cells) + f" | {secs} |")


if __name__ == "__main__":
    main()
