"""Predictors on the H100 datasets (issue 9): train on 70% of the measured NB201 classes, test on the rest.

Usage: .venv/bin/python benchmarks/gpu_predictor_bench.py [--seeds 0,1,2] [--methods gcn,mlp,gbt,flops]

The GPU datasets are partial (a stratified sample of classes) and broadcast one measurement to
every arch of an NB201 class, so a split by arch would leak a test value into training through a
class sibling. This splits by class: each class representative is one point. It also prints the
Spearman correlation between the GPU configurations and our CPU dataset on the classes they share.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

DATASETS = [
    "gpu-h100-torch-fp32-b1",
    "gpu-h100-torch-fp32-b1-cudagraph",
    "gpu-h100-torch-fp16-b1",
    "gpu-h100-torch-fp32-b64",
]


def representatives(values: np.ndarray) -> np.ndarray:
    from eagle.spaces.nasbench201.space import NASBench201

    space = NASBench201()
    present = np.flatnonzero(np.isfinite(values))
    return np.array(sorted({space.index(space.representative(int(i))) for i in present}))


def main() -> None:
    import torch
    from scipy.stats import spearmanr

    import eagle.datasets as D
    from eagle import predictors
    from eagle.predictors.metrics import evaluate

    parser = argparse.ArgumentParser()
    parser.add_argument("--seeds", default="0,1,2")
    parser.add_argument("--methods", default="gcn,mlp,gbt,flops")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print("| dataset | classes | train / test | method | Spearman | ±5% | ±10% | train s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for name in DATASETS:
        v = D.load(name).by_index("s")
        reps = representatives(v)
        for method in args.methods.split(","):
            rows = []
            for seed in (int(s) for s in args.seeds.split(",")):
                perm = np.random.default_rng(seed).permutation(reps)
                n_train = round(0.7 * len(perm))
                tr, te = perm[:n_train], perm[n_train:]
                model = predictors.create(method, seed=seed)
                t0 = time.perf_counter()
                model.fit(tr, v[tr])
                train_s = time.perf_counter() - t0
                m = evaluate(model.predict(te), v[te])
                rows.append((m["spearman"], m["within_5pct"], m["within_10pct"], train_s))
            mean = np.mean(rows, axis=0)
            print(
                f"| {name} | {len(reps)} | {n_train} / {len(te)} | {method} | {mean[0]:.4f} | {mean[1]:.3f} "
                f"| {mean[2]:.3f} | {mean[3]:.1f} |",
                flush=True,
            )
    print()
    names = [*DATASETS, "eagle-cpu/onnxruntime-fp32-t1"]
    vals = {n: D.load(n).by_index("s") for n in names}
    print("Spearman between configurations on the classes both measured:")
    print("| | " + " | ".join(names) + " |")
    print("| --- " * (len(names) + 1) + "|")
    for a in names:
        cells = []
        for b in names:
            common = np.flatnonzero(np.isfinite(vals[a]) & np.isfinite(vals[b]))
            common = representatives(np.where(np.isin(np.arange(15625), common), vals[a], np.nan))
            rho = spearmanr(vals[a][common], vals[b][common]).statistic
            cells.append(f"{rho:.3f} (n={len(common)})")
        print(f"| {a} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
