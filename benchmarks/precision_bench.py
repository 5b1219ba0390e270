"""Does the instrument give the same number twice? Issue 32's benchmark.

    .venv/bin/python benchmarks/precision_bench.py [--protocols interleaved,sequential]
        [--set torchvision|nb201] [--out benchmarks/results/precision_bench.json]

For each protocol, three sweeps of the same networks with ``eagle measure`` and its defaults:
two back to back on a quiet machine, then one beside a busy core (``python -c 'while True:
pass'``, started before and killed after). Reported: the share of networks whose two quiet
measurements agree within +-5% / +-10%, Spearman between them, the share of the busy sweep within
+-10% of the first quiet one, and the mean wall time per network (export, load and timing;
whole ``eagle measure`` command, worker start included).

``--set torchvision``: 40 torchvision networks of 13 families at several resolutions
(``benchmarks/data/precision-torchvision.txt``, 0.3-30 ms here). ``--set nb201``: 40 random
NB201 archs (``--archs 40``). The reference clock (:mod:`eagle.measurement.clock`) starts empty in
the work directory: the first sweep calibrates it, as a user's first run on a device does.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from machine import describe
from scipy.stats import spearmanr

HERE = Path(__file__).resolve().parent
EAGLE = [sys.executable, "-m", "eagle"]


def sweep(db: Path, protocol: str, args: argparse.Namespace) -> tuple[dict[str, float], float, dict]:
    """Run one ``eagle measure`` sweep into a new store; (latency by network, wall s per network, summary)."""
    from eagle.store import ResultStore

    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    what = ["--models", str(HERE / "data" / "precision-torchvision.txt")] if args.set == "torchvision" else [
        "--archs", str(args.archs)]  # fmt: skip
    cmd = [*EAGLE, "measure", *what, "--db", str(db), "--no-progress", "--protocol", protocol, *args.extra]
    t0 = time.perf_counter()
    env = {**os.environ, "EAGLE_CACHE_DIR": str(args.workdir / "clock")}  # the benchmark's own reference clock
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
    wall = time.perf_counter() - t0
    with ResultStore(db, readonly=True) as store:
        run = store.runs()[-1]
        rows = [r for r in store.measurements(run.id) if r["status"] == "ok"]
        keys = store.arch_keys(run.id)
    lat = {(keys[r["nb201_index"]] if keys else str(r["nb201_index"])): float(r["latency_s"]) for r in rows}
    ci = [r["ci_halfwidth_s"] / r["latency_s"] for r in rows if r.get("ci_halfwidth_s") is not None]
    summary = {
        "networks": len(lat),
        "met_target": int(sum(bool(r.get("met_target")) for r in rows)),
        "median_ci": float(np.median(ci)) if ci else None,
        "stdout_tail": out.stdout.strip().splitlines()[-2:],
    }
    return lat, wall / max(len(lat), 1), summary


def compare(first: dict[str, float], second: dict[str, float]) -> dict[str, float]:
    common = sorted(set(first) & set(second))
    a = np.array([first[k] for k in common])
    b = np.array([second[k] for k in common])
    rel = b / a - 1
    return {
        "networks": len(common),
        "within_5pct": float(np.mean(np.abs(rel) <= 0.05)),
        "within_10pct": float(np.mean(np.abs(rel) <= 0.10)),
        "spearman": float(spearmanr(a, b).statistic),
        "ratio_min_max": [float((b / a).min()), float((b / a).max())],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--protocols", default="interleaved,sequential")
    ap.add_argument("--set", choices=("torchvision", "nb201"), default="torchvision")
    ap.add_argument("--archs", type=int, default=40, help="--set nb201: random archs")
    ap.add_argument("--busy", action=argparse.BooleanOptionalAction, default=True, help="the sweep beside a busy core")
    ap.add_argument("--workdir", type=Path, default=Path("/tmp/eagle-precision"))
    ap.add_argument("--out", type=Path)
    ap.add_argument("extra", nargs="*", help="more 'eagle measure' options (after --)")
    args = ap.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(args.workdir / "clock", ignore_errors=True)  # calibrated afresh by the first sweep
    report = {**describe(), "set": args.set, "options": args.extra, "protocols": {}}
    for protocol in args.protocols.split(","):
        a, wall_a, sum_a = sweep(args.workdir / f"{protocol}-a.sqlite", protocol, args)
        b, wall_b, sum_b = sweep(args.workdir / f"{protocol}-b.sqlite", protocol, args)
        entry = {
            "back_to_back": compare(a, b),
            "wall_s_per_network": [wall_a, wall_b],
            "sweeps": [sum_a, sum_b],
        }
        if args.busy:
            spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                c, wall_c, sum_c = sweep(args.workdir / f"{protocol}-busy.sqlite", protocol, args)
            finally:
                spinner.kill()
                spinner.wait()
            entry["busy_vs_quiet"] = compare(a, c)
            entry["wall_s_per_network"].append(wall_c)
            entry["sweeps"].append(sum_c)
        report["protocols"][protocol] = entry
        print(json.dumps({protocol: entry}, indent=1), flush=True)
    if args.out:
        args.out.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
