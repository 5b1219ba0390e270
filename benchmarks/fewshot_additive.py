"""Few-shot on synthetic op-cost devices: latency = a sum of one cost per op (as accelerator simulators).

Usage: .venv/bin/python benchmarks/fewshot_additive.py [--devices 16] [--noise 0.01] [--draws 5]

Each synthetic device has a fixed cost plus random per-op costs (relative to a 3x3 conv: 1x1 conv
0.1-1, pool 0.02-0.5, skip 0-0.05, fixed 0.3-5, log-uniform except skip), counted over the whole
cell, over its live part, or over its live part plus 0.3-3 times the cell's costliest
input->output path (a runtime that runs branches concurrently), in turn, times log-normal noise. Pretraining on the 25
shared devices; HELP's protocol (k archs below index 900, test on 900..1899 without the 10%
fastest and slowest); Spearman at k = 10 from ``eagle select``'s archs and from random ones,
with and without the per-op cost models in the mixture. The costs are drawn independently of
the models' prior (centred on 1x1 0.3, pool 0.1, skip 0.03, fixed 1, path weight 1).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

from fewshot_bench import help_test_set, shared_devices  # noqa: E402


def synthetic_devices(n: int, noise: float, covered: np.ndarray, seed: int = 0) -> list[tuple[str, np.ndarray]]:
    from eagle.costmodels.analytic import op_counts
    from eagle.costmodels.opcost import path_counts

    rng = np.random.default_rng(seed)
    out = []
    kinds = ("all-edges", "live-edges", "critical-path")  # free Zero ops, as a simulator
    for j in range(n):
        model = kinds[j % len(kinds)]
        c = op_counts()["all-edges" if model == "all-edges" else "live-edges"]  # by op id: none, skip, 1x1, 3x3, pool
        r1 = np.exp(rng.uniform(np.log(0.1), np.log(1.0)))
        rp = np.exp(rng.uniform(np.log(0.02), np.log(0.5)))
        rs = rng.uniform(0, 0.05)
        fixed = np.exp(rng.uniform(np.log(0.3), np.log(5)))
        cost = np.array([0.0, rs, r1, 1.0, rp])
        lat = fixed + c @ cost
        name = f"{model} 1x1 {r1:.2f} pool {rp:.2f} skip {rs:.3f} fixed {fixed:.2f}"
        if model == "critical-path":
            counts, present = path_counts()
            lam = np.exp(rng.uniform(np.log(0.3), np.log(3)))
            lat = lat + lam * np.where(present, counts @ cost, 0.0).max(axis=1)
            name += f" path {lam:.2f}"
        out.append((name, np.where(covered, 1e-3 * lat * np.exp(rng.normal(0, noise, len(c))), np.nan)))
    return out


def main() -> None:
    from scipy.stats import spearmanr

    import eagle.datasets as D
    from eagle.fewshot import FewShotPredictor, pretrain, select_archs

    p = argparse.ArgumentParser()
    p.add_argument("--devices", type=int, default=18)
    p.add_argument("--noise", type=float, default=0.01, help="log-normal noise std of each latency")
    p.add_argument("--draws", type=int, default=5, help="random draws of k archs")
    p.add_argument("--k", type=int, default=10)
    args = p.parse_args()
    basis = pretrain({n: D.load(n).by_index("s") for n in shared_devices()})
    countings = list(basis.op_cost_models)
    rows = []
    print(f"{'synthetic device':68s} select: with / without op-cost models | random: with / without")
    for name, v in synthetic_devices(args.devices, args.noise, basis.covered):
        te = help_test_set(v)
        pool = np.flatnonzero(np.isfinite(v[:900]))
        draws = [np.array(select_archs(basis, args.k, candidates=pool))]
        draws += [np.random.default_rng(s).choice(pool, args.k, replace=False) for s in range(args.draws)]
        row = []
        for models in (countings, []):
            basis.op_cost_models = models
            rhos = [spearmanr(FewShotPredictor(basis).fit(f, v[f]).predict(te), v[te]).statistic for f in draws]
            row += [rhos[0], float(np.mean(rhos[1:]))]
        basis.op_cost_models = countings
        rows.append(row)
        print(f"{name:68s} {row[0]:.4f} / {row[2]:.4f} | {row[1]:.4f} / {row[3]:.4f}", flush=True)
    m, lo = np.mean(rows, axis=0), np.min(rows, axis=0)
    print(f"{'mean':68s} {m[0]:.4f} / {m[2]:.4f} | {m[1]:.4f} / {m[3]:.4f}")
    print(f"{'min':68s} {lo[0]:.4f} / {lo[2]:.4f} | {lo[1]:.4f} / {lo[3]:.4f}")


if __name__ == "__main__":
    main()
