"""How well can a spread learned from k measurements be calibrated on each device? (issue 22)

Usage: .venv/bin/python benchmarks/fewshot_calibration_bound.py [--k 5,10,20,50] [--draws 400]
           [--out benchmarks/results/fewshot_calibration_bound.json]

Issue 22 asks that, on each benchmark device, 80% +- 10% of the held-out archs' true latencies fall
inside the model's 80% interval. With k measurements the device's own data say how wide that
interval must be through k errors only. This script measures what that allows, on the benchmark
of ``fewshot_class_bench.py`` (leave-one-device-class-out, ``eagle select``'s archs, HELP's
split): per device it fits the few-shot model and takes its standardised errors ``z`` on the test
archs, then an *oracle* that sets the spread's scale from k of those very test errors, drawn at
random (the 80% quantile of ``|z|``, as the model's own held-out scale does with its archs), and
records how often the resulting coverage on all test archs lands in 0.7..0.9. Its expected share
of devices is an upper bound on what any spread learned from k archs of the device can reach
(the oracle's k errors come from the test distribution itself, which real measurements do not).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from fewshot_class_bench import CLASSES, held_out  # noqa: E402

Z80 = 1.2815515655446004  # the 80% central interval of a normal is mean +- Z80 std


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--k", default="5,10,20,50")
    p.add_argument("--draws", type=int, default=400)
    p.add_argument("--out", type=Path, default=REPO / "benchmarks/results/fewshot_calibration_bound.json")
    args = p.parse_args()

    from eagle.fewshot import FewShotPredictor, select_archs
    from eagle.threads import limited_threads

    ks = [int(k) for k in args.k.split(",")]
    rows = []
    with limited_threads(1):
        for cls, test, _, basis, v, te, pool in held_out(sorted(CLASSES)):
            for k in (k for k in ks if k <= len(pool)):
                few = np.asarray(select_archs(basis, k, candidates=pool))
                mean, std = FewShotPredictor(basis).fit(few, v[few]).predict_log(te)
                z = np.abs(np.log(v[te]) - mean) / std
                rng = np.random.default_rng(0)
                inside = []
                for _ in range(args.draws):
                    scale = np.quantile(z[rng.choice(len(z), k, replace=False)], 0.8) / Z80
                    inside.append(0.7 <= np.mean(z <= Z80 * scale) <= 0.9)
                row = {"device": test, "class": cls, "k": k, "model_cover80": float(np.mean(z <= Z80))}
                row["oracle_in_range"] = float(np.mean(inside))
                rows.append(row)
                cover, oracle = row["model_cover80"], row["oracle_in_range"]
                print(f"{test[:44]:44s} k={k:3d} model {cover:.2f} oracle {oracle:.2f}")
    summary = {}
    for k in ks:
        at = [r for r in rows if r["k"] == k]
        summary[k] = {
            "devices": len(at),
            "model_in_range": float(np.mean([0.7 <= r["model_cover80"] <= 0.9 for r in at])),
            "oracle_in_range": float(np.mean([r["oracle_in_range"] for r in at])),
        }
        print(
            f"k={k}: devices whose 80% coverage is in 0.7..0.9: model {summary[k]['model_in_range']:.2f}, "
            f"oracle scale from k test errors {summary[k]['oracle_in_range']:.2f} (expected share, {len(at)} devices)"
        )
    args.out.write_text(json.dumps({"summary": summary, "rows": rows}, indent=1) + "\n")


if __name__ == "__main__":
    main()
