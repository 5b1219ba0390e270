"""How much the arch design's per-op prior matters (issue 22): leave-one-device-class-out, NB201.

Usage: .venv/bin/python benchmarks/fewshot_design_sensitivity.py [--ratios 0,0.1,0.3,1,3,10]
           [--classes gpu,phone,dsp-tpu,cpu,eagle-own] [--k 5,10,20,50,100] [--out FILE.jsonl]
       .venv/bin/python benchmarks/fewshot_design_sensitivity.py --report [--out FILE.jsonl]

``eagle select`` plans for an unknown effect per op choice of prior variance
``DeviceBasis.op_effect_var``; pretraining sets it to the noise variance (ratio 1). This script
reruns the select arm of ``fewshot_class_bench.py`` (same classes, split and model) with the
prior at ``ratio`` x the noise variance (0 = the design before it existed) and records the
few-shot model's Spearman on the test archs. Resumable: rows already in ``--out`` are skipped.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from fewshot_class_bench import CLASSES, held_out  # noqa: E402

OUT = REPO / "benchmarks/results/fewshot_design_sensitivity.jsonl"


def run(args: argparse.Namespace) -> None:
    from scipy.stats import spearmanr

    from eagle.fewshot import FewShotPredictor, select_archs
    from eagle.threads import limited_threads

    done = set()
    if args.out.exists():
        done = {(r["device"], r["ratio"], r["k"]) for r in map(json.loads, args.out.read_text().splitlines())}
    ratios = [float(r) for r in args.ratios.split(",")]
    with limited_threads(1):
        for cls, test, _, basis, v, te, pool in held_out(args.classes.split(",")):
            for ratio in ratios:
                design = dataclasses.replace(basis, op_effect_var=ratio * basis.noise_var)
                for k in (int(k) for k in args.k.split(",")):
                    if (test, ratio, k) in done or k > len(pool):
                        continue
                    few = np.asarray(select_archs(design, k, candidates=pool))
                    model = FewShotPredictor(basis).fit(few, v[few])
                    rho = float(spearmanr(model.predict(te), v[te]).statistic)
                    row = {"device": test, "class": cls, "ratio": ratio, "k": k, "fewshot": rho}
                    with args.out.open("a") as fh:
                        fh.write(json.dumps(row) + "\n")
                    print(f"{test[:44]:44s} ratio {ratio:5g} k={k:4d} {rho:.3f}", flush=True)


def report(args: argparse.Namespace) -> None:
    rows = [json.loads(line) for line in args.out.read_text().splitlines()]
    by = defaultdict(list)
    for r in rows:
        by[(r["ratio"], r["k"])].append(r["fewshot"])
    ratios = sorted({r for r, _ in by})
    ks = sorted({k for _, k in by})
    print("| prior / noise variance | " + " | ".join(f"k={k}" for k in ks) + " |")
    print("| --- |" + " --- |" * len(ks))
    for ratio in ratios:
        cells = [f"{np.mean(by[ratio, k]):.3f} ({min(by[ratio, k]):.2f})" if by[ratio, k] else "" for k in ks]
        print(f"| {ratio:g} | " + " | ".join(cells) + " |")
    print(f"mean Spearman over the devices (min); devices per cell: {sorted({len(v) for v in by.values()})}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ratios", default="0,0.1,0.3,1,3,10")
    p.add_argument("--classes", default=",".join(CLASSES))
    p.add_argument("--k", default="5,10,20,50,100")
    p.add_argument("--out", type=Path, default=OUT)
    p.add_argument("--report", action="store_true")
    args = p.parse_args()
    report(args) if args.report else run(args)


if __name__ == "__main__":
    main()
