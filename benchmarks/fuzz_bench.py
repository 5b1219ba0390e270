"""Reliability figures for BENCHMARKS.md: fuzzed inputs and SIGKILL-resume of a measurement sweep.

    .venv/bin/python benchmarks/fuzz_bench.py [--examples 1000] [--kills 10] [--archs 40] [--json OUT]

1. Runs the hardening suite (``tests/hardening``: named regressions + hypothesis fuzzing of arch
   strings, pickles, CSV, YAML configs, checkpoints and command-line values) with
   ``EAGLE_FUZZ_EXAMPLES`` examples per fuzz test, and counts the cases hypothesis ran. The
   suite's oracle fails a case on a traceback, an "internal error", an exit code other than 1/2,
   more than one line on stderr, a changed output file or a created marker file (an executed payload).
2. Starts ``eagle measure --runtime onnxruntime`` on ``--archs`` archs and SIGKILLs it at random
   moments ``--kills`` times, resuming each time, then lets it finish; checks every arch is stored
   exactly once and nothing was lost.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EAGLE = [sys.executable, "-m", "eagle"]


def fuzz(examples: int) -> dict:
    env = {**os.environ, "EAGLE_FUZZ_EXAMPLES": str(examples)}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/hardening",
         "--hypothesis-show-statistics"],
        cwd=REPO, env=env, capture_output=True, text=True,
    )  # fmt: skip
    out = proc.stdout + proc.stderr
    per_test = {}
    current = None
    for line in out.splitlines():
        m = re.match(r"tests/hardening/test_fuzz.py::(\w+):", line.strip())
        if m:
            current = m.group(1)
        m = re.search(r"- (\d+) passing, (\d+) failing", line)
        if m and current:
            per_test[current] = per_test.get(current, 0) + int(m.group(1)) + int(m.group(2))
    last = out.strip().splitlines()[-1] if out.strip() else ""
    passed = int(m.group(1)) if (m := re.search(r"(\d+) passed", last)) else 0
    failed = int(m.group(1)) if (m := re.search(r"(\d+) (?:failed|error)", last)) else 0
    named = passed + failed - len(per_test)
    return {
        "examples_per_fuzz_test": examples,
        "fuzzed_cases": sum(per_test.values()),
        "fuzzed_cases_by_test": per_test,
        "named_regression_tests": named,
        "tests_failed": failed,
        "failed_tests": re.findall(r"^FAILED (\S+)", out, re.M),
        # the oracle fails a case on any traceback or "internal error" line, so with every test
        # passed these are 0; a failing run lists its tests above instead
        "tracebacks_or_internal_errors": out.count("internal error") + out.count("Traceback (most recent call last)"),
        "executed_payloads": out.count("a payload was executed"),
        "pytest_exit": proc.returncode,
        "seconds": round(time.perf_counter() - t0, 1),
    }


def bombs(repeats: int = 5) -> dict:
    """Seconds to refuse a "billion laughs" pickle (2**40 elements by shared references, 257 bytes)
    and a YAML alias bomb, through the readers every command uses (best of ``repeats``)."""
    import pickle

    from eagle.datasets.safe_pickle import safe_loads
    from eagle.errors import EagleError
    from eagle.fileio import load_yaml_text

    laughs: list = [1]
    for _ in range(40):
        laughs = [laughs, laughs]
    blob = pickle.dumps(laughs)
    yaml_bomb = "a: &a [1,2,3,4,5,6,7,8,9]\n" + "".join(
        f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")
    )
    out = {}
    for name, refuse in (("pickle_billion_laughs_s", lambda: safe_loads(blob, "bomb")),
                         ("yaml_alias_bomb_s", lambda: load_yaml_text(yaml_bomb, "bomb"))):  # fmt: skip
        best = float("inf")
        for _ in range(repeats):
            t0 = time.perf_counter()
            try:
                refuse()
            except EagleError:
                best = min(best, time.perf_counter() - t0)
            else:
                raise SystemExit(f"{name}: the bomb was not refused")
        out[name] = best
    out["pickle_bytes"] = len(blob)
    return out


def sigkill_resume(kills: int, archs: int, seed: int = 0) -> dict:
    rng = random.Random(seed)
    folder = Path(tempfile.mkdtemp(prefix="eagle-kill-"))
    db = folder / "k.sqlite"
    cmd = [*EAGLE, "measure", "--runtime", "onnxruntime", "--archs", str(archs), "--db", str(db), "--no-progress",
           "--runs", "3", "--warmup", "2"]  # fmt: skip
    stored_before_each_kill = []
    t0 = time.perf_counter()
    for _ in range(kills):
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        time.sleep(rng.uniform(2.5, 6.0))  # start-up is ~2-3 s; kill somewhere in the sweep
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        stored_before_each_kill.append(_stored(db))
    final = subprocess.run(cmd, capture_output=True, text=True)
    with sqlite3.connect(db) as conn:
        rows = conn.execute("SELECT nb201_index, count(*) FROM measurements GROUP BY run_id, nb201_index").fetchall()
        runs = conn.execute("SELECT count(*) FROM runs").fetchone()[0]
        ok = conn.execute("SELECT count(*) FROM measurements WHERE status = 'ok'").fetchone()[0]
        requested = conn.execute("SELECT count(DISTINCT measure_index) FROM run_archs").fetchone()[0]
    return {
        "kills": kills,
        "archs": archs,
        "stored_after_each_kill": stored_before_each_kill,
        "final_exit": final.returncode,
        "runs": runs,
        "to_measure": requested,
        "stored": len(rows),
        "stored_ok": ok,
        "duplicates": sum(c > 1 for _, c in rows),
        "lost": requested - len(rows),
        "seconds": round(time.perf_counter() - t0, 1),
    }


def _stored(db: Path) -> int:
    try:
        with sqlite3.connect(db) as conn:
            return conn.execute("SELECT count(*) FROM measurements").fetchone()[0]
    except sqlite3.Error:
        return 0


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--examples", type=int, default=1000)
    p.add_argument("--kills", type=int, default=10)
    p.add_argument("--archs", type=int, default=120)
    p.add_argument("--json", type=Path)
    args = p.parse_args()
    report = {"fuzz": fuzz(args.examples), "bombs": bombs(), "sigkill": sigkill_resume(args.kills, args.archs)}
    text = json.dumps(report, indent=1)
    print(text)
    if args.json:
        args.json.write_text(text + "\n")


if __name__ == "__main__":
    main()
