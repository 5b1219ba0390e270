"""Where the kernel model's per-family bias comes from: profiled kernels vs unprofiled runs.

    .venv/bin/python benchmarks/anynet_profiler_gap.py --kernels K.pt --store K.sqlite \\
        --profiles P0.jsonl,P1.jsonl [--dataset eagle-cpu/anynet-variants-onnxruntime-fp32-t1]

Per family of the any-network dataset (median over its networks): the measured latency over the
sum of the network's kernels as ORT's profiler reports them (``anynet_bench.py``'s profile
caches), the kernel model's sum over that profiled sum, and the same measured / profiled ratio
on the kernel store's own samples by number of kernels. Writes
``benchmarks/results/anynet_profiler_gap.json``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from anynet_bench import analysis_parser, load_profiles, profiled_dataset

from eagle.anynet.kernels.model import KernelModel
from eagle.anynet.kernels.profile import KernelStore

OUT = Path(__file__).resolve().parent / "results" / "anynet_profiler_gap.json"


def main() -> None:
    ap = analysis_parser(__doc__, OUT)
    ap.add_argument("--store", type=Path, required=True, help="the kernel store the model was fitted on")
    args = ap.parse_args()
    model = KernelModel.load(args.kernels)
    profiles = load_profiles([Path(p) for p in args.profiles.split(",")])
    _, y, families, kernels = profiled_dataset(args.dataset, profiles)
    profiled = np.array([sum(k.duration_s for k in ks) for ks in kernels])
    predicted = np.array([model.predict_kernels(ks).sum() for ks in kernels])
    report: dict = {"dataset": args.dataset, "families": {}, "samples": {}}
    for fam in sorted(set(families)):
        m = families == fam
        report["families"][fam] = {
            "networks": int(m.sum()),
            "median_kernels": float(np.median([len(kernels[i]) for i in np.flatnonzero(m)])),
            "measured_over_profiled": float(np.median(y[m] / profiled[m])),
            "model_over_profiled": float(np.median(predicted[m] / profiled[m])),
        }
        print(fam, json.dumps(report["families"][fam]))
    with KernelStore(args.store) as store:
        samples = [s for s in store.samples() if s.kernels and s.wall_s]
    n = np.array([len(s.kernels) for s in samples])
    ratio = np.array([s.wall_s / sum(k.duration_s for k in s.kernels) for s in samples])
    for lo, hi in ((1, 2), (2, 4), (4, 8), (8, 1000)):
        m = (n >= lo) & (n < hi)
        report["samples"][f"{lo}-{hi - 1} kernels"] = {
            "samples": int(m.sum()),
            "measured_over_profiled": float(np.median(ratio[m])),
        }
    print("samples", json.dumps(report["samples"]))
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
