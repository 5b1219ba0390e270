"""Seconds to adapt the few-shot model to k measured archs (issue 22), idle and beside a busy core.

Usage: .venv/bin/python benchmarks/fewshot_fit_timing.py [--k 5,10,20,50,100,200,900] [--repeat 3]

Pretrains on the 25 shared devices without HELP's phones, then adapts to help/pixel3 from k
random archs below index 900 (one thread, as every Eagle default for small models), three times
each, and reports the median; then the same while another process spins on the other core.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

import numpy as np

from eagle.threads import limited_threads


def main() -> None:

    p = argparse.ArgumentParser()
    p.add_argument("--k", default="5,10,20,50,100,200,900")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    with limited_threads(1):
        run(args)


def run(args: argparse.Namespace) -> None:
    import eagle.datasets as D
    from eagle.datasets.catalog import bundled_catalog
    from eagle.fewshot import FewShotPredictor, pretrain

    names = [n for n, m in bundled_catalog().items() if m["file"] in ("eagle.npz", "help.npz")]
    values = {n: D.load(n).by_index("s") for n in names}
    phones = ("help/pixel3", "help/samsung_a50", "help/samsung_s7", "help/essential_ph_1")
    basis = pretrain({n: v for n, v in values.items() if n not in phones})
    v = values["help/pixel3"]
    pool = np.flatnonzero(basis.covered[:900] & np.isfinite(v[:900]))
    out = {}
    for label in ("idle", "beside a busy core"):
        spinner = subprocess.Popen([sys.executable, "-c", "while True: pass"]) if label != "idle" else None
        try:
            for k in (int(x) for x in args.k.split(",")):
                few = np.random.default_rng(0).choice(pool, min(k, len(pool)), replace=False)
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    FewShotPredictor(basis).fit(few, v[few])
                    times.append(time.perf_counter() - t0)
                out[f"{label} k={len(few)}"] = float(np.median(times))
                print(f"{label:20s} k={len(few):4d}: {np.median(times):.2f} s (median of {args.repeat})", flush=True)
        finally:
            if spinner is not None:
                spinner.kill()
                spinner.wait()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
