"""Ray executor figures (issue 8): archs per hour with 1 and 2 device actors, per-item overhead.

Usage: .venv/bin/python benchmarks/ray_bench.py [--archs 300] [--json benchmarks/results/ray_bench.json]

Starts a real Ray cluster on this machine (a head and a second node, one ``device:nulldev``
each), then measures the same archs with the ``null`` runtime and a minimal protocol (1 round
of 1 inference: nothing but building the NB201 model), so what is left is the harness: the
local executor, then ``--executor ray`` with 1 and with 2 actors. Throughput is taken from the
store's commit times (first to last result: steady state, actor start-up excluded); the
per-item overhead of Ray is the 1-actor time per arch minus the local one.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PROTOCOL = [
    "--runtime",
    "null",
    "--runs",
    "1",
    "--warmup",
    "0",
    "--avg-between",
    "1",
    "--min-round",
    "0",
    "--no-progress",
]


def run(args: list[str], db: Path) -> dict:
    t0 = time.perf_counter()
    r = subprocess.run(
        [sys.executable, "-m", "eagle", "measure", *args, "--db", str(db), *PROTOCOL],
        capture_output=True,
        text=True,
        timeout=3600,
    )
    wall = time.perf_counter() - t0
    if r.returncode != 0:
        raise SystemExit(r.stderr)
    with sqlite3.connect(db) as con:
        t = np.array(sorted(x[0] for x in con.execute("SELECT measured_at FROM measurements")))
    per_item = (t[-1] - t[0]) / (len(t) - 1)
    return {"archs": len(t), "command_wall_s": wall, "steady_s_per_arch": per_item, "archs_per_hour": 3600 / per_item}


def main() -> None:
    from ray.cluster_utils import Cluster

    p = argparse.ArgumentParser()
    p.add_argument("--archs", type=int, default=300)
    p.add_argument("--json", type=Path)
    a = p.parse_args()
    archs = ["--archs", str(a.archs)]
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        out["local"] = run(archs, Path(tmp) / "local.sqlite")
        c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1, "resources": {"device:nulldev": 1}})
        c.add_node(num_cpus=1, resources={"device:nulldev": 1})
        c.wait_for_nodes()
        try:
            for n in (1, 2):
                out[f"ray_{n}_actor"] = run(
                    [
                        *archs,
                        "--executor",
                        "ray",
                        "--address",
                        c.address,
                        "--device",
                        "nulldev",
                        "--ray-actors",
                        str(n),
                    ],
                    Path(tmp) / f"ray{n}.sqlite",
                )
        finally:
            c.shutdown()
    out["ray_overhead_ms_per_arch"] = (
        out["ray_1_actor"]["steady_s_per_arch"] - out["local"]["steady_s_per_arch"]
    ) * 1e3
    out["speedup_2_vs_1_actor"] = out["ray_2_actor"]["archs_per_hour"] / out["ray_1_actor"]["archs_per_hour"]
    print(json.dumps(out, indent=1))
    if a.json:
        a.json.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
