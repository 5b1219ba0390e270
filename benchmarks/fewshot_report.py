"""BENCHMARKS.md's few-shot tables from the JSON files that benchmarks/fewshot_bench.py wrote.

Usage: .venv/bin/python benchmarks/fewshot_report.py   (after the runs listed in BENCHMARKS.md)
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).resolve().parent / "results"

#: (column title, JSON file, key) of the table over the 25 shared devices
SHARED = [
    ("k=5", "fewshot_select.json", "k5"),
    ("**k=10**", "fewshot_select.json", "k10"),
    ("k=20", "fewshot_select.json", "k20"),
    ("k=10, default op-cost priors", "fewshot_select_default_priors.json", "k10"),
    ("k=10 without the op-cost models", "fewshot_select_no_op_costs.json", "k10"),
    ("k=10 without them and the analytic references", "fewshot_select_no_analytic.json", "k10"),
    ("k=10, D-optimal archs", "fewshot_select_d.json", "k10"),
    ("k=10, random archs (10 draws)", "fewshot_random.json", "k10"),
    ("k=10, siblings kept", "fewshot_select_keep_siblings.json", "k10"),
    ("k=10, twins kept", "fewshot_select_keep_twins.json", "k10"),
    ("GCN trained on 10 random archs", "fewshot_gcn_k10.json", "k10"),
    ("GCN trained on all 900", "fewshot_gcn_900.json", "k900"),
]
UNSEEN = [
    ("k=5", "fewshot_unseen.json", "k5"),
    ("**k=10**", "fewshot_unseen.json", "k10"),
    ("k=20", "fewshot_unseen.json", "k20"),
    ("k=10 without the op-cost models", "fewshot_unseen_no_op_costs.json", "k10"),
    ("k=10 without them and the analytic references", "fewshot_unseen_no_analytic.json", "k10"),
    ("GCN on all archs below 900", "fewshot_unseen_gcn_900.json", "k900"),
]


def load(name: str) -> dict[str, dict]:
    return {r["device"]: r for r in json.loads((RESULTS / name).read_text())["results"]}


def table(columns: list[tuple[str, str, str]], first: str) -> str:
    runs = {f: load(f) for _, f, _ in columns}
    devices = list(runs[columns[0][1]])
    lines = [f"| {first} | " + " | ".join(t for t, _, _ in columns) + " |", "| --- |" + " --- |" * len(columns)]
    values = [[runs[f][d][k] for d in devices] for _, f, k in columns]
    for i, d in enumerate(devices):
        cells = [f"**{v[i]:.3f}**" if "**" in title else f"{v[i]:.3f}" for v, (title, _, _) in zip(values, columns)]
        lines.append(f"| {d} | " + " | ".join(cells) + " |")
    lines.append("| **mean** | " + " | ".join(f"**{np.mean(v):.3f}**" for v in values) + " |")
    lines.append("| min | " + " | ".join(f"{np.min(v):.3f}" for v in values) + " |")
    return "\n".join(lines)


def main() -> None:
    print(table(SHARED, "device"))
    print()
    print(table(UNSEEN, "unseen device"))
    sel = load("fewshot_select.json")
    adapt = [r["k10_adapt_s"] for r in sel.values()]
    print(
        f"\npretraining {np.mean([r['pretrain_s'] for r in sel.values()]):.2f} s per device; adaptation "
        f"{1e3 * np.mean(adapt):.0f} ms on average, {1e3 * np.max(adapt):.0f} ms at most (k = 10)"
    )
    print("test archs of the unseen devices:", {d: r["n_test"] for d, r in load("fewshot_unseen.json").items()})


if __name__ == "__main__":
    main()
