"""Figures of the measurement issue: repeatability, throughput/overhead, agreement between runtimes.

Usage: .venv/bin/python benchmarks/measure_bench.py [--archs 50] [--processes 3] [--pin 1]
        [--runtimes onnxruntime,openvino,torch] [--out benchmarks/results/measure_bench.json]

For each runtime, measures the same random valid archs (one per NB201 class, --seed 1) in
--processes separate `eagle measure` processes (each its own store), with the default protocol and
the worker pinned to one core. Reports, per runtime: coefficient of variation of the latency
summary per arch across processes (median and p95 over archs), archs per hour, the share of
per-arch time spent outside the timed loop (build + export + load), and Spearman between runtimes.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import stats

REPO = Path(__file__).resolve().parents[1]


def run_once(runtime: str, archs_file: Path, db: Path, pin: str) -> float:
    cmd = [
        str(REPO / ".venv/bin/eagle"),
        "measure",
        "--runtime",
        runtime,
        "--archs",
        str(archs_file),
        "--db",
        str(db),
        "--pin",
        pin,
        "--no-progress",
        "--no-dedupe",
    ]
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def load(db: Path) -> dict[int, dict]:
    con = sqlite3.connect(db)
    con.row_factory = sqlite3.Row
    return {r["nb201_index"]: dict(r) for r in con.execute("SELECT * FROM measurements WHERE status = 'ok'")}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--archs", type=int, default=50)
    ap.add_argument("--processes", type=int, default=3)
    ap.add_argument("--pin", default="1")
    ap.add_argument("--runtimes", default="onnxruntime,openvino,torch")
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/measure_bench.json")
    args = ap.parse_args()
    from eagle.measurement.archs import select_archs
    from eagle.spaces import get

    space = get("nasbench201")
    reps = sorted({space.index(space.representative(i)) for i in select_archs("valid")})
    rng = np.random.default_rng(1)
    chosen = sorted(rng.choice(reps, size=args.archs, replace=False).tolist())
    report: dict = {"archs": chosen, "runtimes": {}}
    per_runtime_latency = {}
    with tempfile.TemporaryDirectory() as tmp:
        archs_file = Path(tmp) / "archs.txt"
        archs_file.write_text("\n".join(map(str, chosen)))
        for runtime in args.runtimes.split(","):
            walls, runs = [], []
            for p in range(args.processes):
                db = Path(tmp) / f"{runtime}-{p}.sqlite"
                walls.append(run_once(runtime, archs_file, db, args.pin))
                runs.append(load(db))
            common = sorted(set.intersection(*(set(r) for r in runs)))
            lat = np.array([[r[i]["latency_s"] for i in common] for r in runs])  # processes x archs
            cv = lat.std(axis=0, ddof=1) / lat.mean(axis=0)
            first = runs[0]
            outside = sum(first[i]["build_s"] + first[i]["convert_s"] + first[i]["load_s"] for i in common)
            inside = sum(first[i]["measure_s"] for i in common)
            per_runtime_latency[runtime] = dict(zip(common, lat.mean(axis=0)))
            report["runtimes"][runtime] = {
                "archs_ok": len(common),
                "cv_median": float(np.median(cv)),
                "cv_p95": float(np.percentile(cv, 95)),
                "median_latency_ms": float(np.median(lat) * 1e3),
                "archs_per_hour_total_wall": len(chosen) / float(np.mean(walls)) * 3600,
                "archs_per_hour_per_arch_time": len(common) / (outside + inside) * 3600,
                "overhead_share_per_arch": outside / (outside + inside),
                "overhead_share_total_wall": 1 - inside / float(np.mean(walls)),
                "mean_build_s": float(np.mean([first[i]["build_s"] for i in common])),
                "mean_convert_s": float(np.mean([first[i]["convert_s"] for i in common])),
                "mean_load_s": float(np.mean([first[i]["load_s"] for i in common])),
                "mean_timed_loop_s": float(np.mean([first[i]["measure_s"] for i in common])),
            }
            print(runtime, json.dumps(report["runtimes"][runtime], indent=1), flush=True)
    names = list(per_runtime_latency)
    report["spearman"] = {}
    for i, a in enumerate(names):
        for b in names[i + 1 :]:
            common = sorted(set(per_runtime_latency[a]) & set(per_runtime_latency[b]))
            rho = stats.spearmanr(
                [per_runtime_latency[a][k] for k in common], [per_runtime_latency[b][k] for k in common]
            )
            report["spearman"][f"{a}~{b}"] = float(rho.statistic)
    print(json.dumps(report["spearman"], indent=1))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
