"""Training and search times on an idle machine and beside a busy loop on one core (#18).

    .venv/bin/python benchmarks/contention_bench.py [--json OUT] [--threads 1 2]

For each thread setting, runs as a user would (the ``eagle`` command, one run each):
``eagle train --predictor gcn`` on 1000 archs of help/pixel3, and one BRP-NAS search
(``eagle search --method brp``, budget 100, 5 iterations), first on an idle machine, then while
another process spins ``while True: pass`` (one busy core, as another job on a laptop). Reports the
wall times and the busy/idle ratio. ``--threads 1`` is Eagle's default; ``--threads 2`` is what
PyTorch picked on its own before (one thread per core).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import describe

EAGLE = [sys.executable, "-m", "eagle"]


def timed(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def jobs(folder: Path, threads: int) -> dict[str, list[str]]:
    t = ["--threads", str(threads), "--quiet"]
    return {
        "train_gcn_1000": [*EAGLE, "train", "--predictor", "gcn", "--measurement", "help/pixel3",
                           "--training-points", "1000", "--save", str(folder / "m.pt"), *t],
        "brp_nas_search": [*EAGLE, "search", "--method", "brp", "--budget", "100", "--iterations", "5",
                           "--output", str(folder / "trace.txt"), *t],
    }  # fmt: skip


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="eagle-contention-"))
    timed(jobs(folder, 1)["train_gcn_1000"])  # warm the page cache and import caches once
    results = {}
    for threads in args.threads:
        for name, cmd in jobs(folder, threads).items():
            idle = timed(cmd)
            spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"])
            try:
                time.sleep(1.0)
                busy = timed(cmd)
            finally:
                spinner.kill()
                spinner.wait()
            results[f"{name}@threads={threads}"] = {
                "idle_s": round(idle, 1),
                "busy_s": round(busy, 1),
                "slowdown": round(busy / idle, 2),
            }
            print(f"{name:16s} threads={threads}: idle {idle:6.1f} s, beside a busy core {busy:6.1f} s, "
                  f"x{busy / idle:.2f}", flush=True)  # fmt: skip
    report = {
        **describe(),
        "results": results,
    }
    if args.json:
        args.json.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
