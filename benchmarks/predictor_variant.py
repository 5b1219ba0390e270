"""One predictor variant on one device, on predictor_bench.py's split (seed 0) and strict prior.

Usage: .venv/bin/python benchmarks/predictor_variant.py DEVICE '{"epochs": 150, "validation_fraction": 0.1}'
Prints Spearman, ±10% accuracy and training seconds of ``gcn`` with those hyper-parameters.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "src"))
sys.path.insert(0, str(REPO / "benchmarks"))


def main() -> None:
    import torch
    from predictor_bench import devices, siblings

    import eagle.datasets as D
    from eagle import predictors
    from eagle.predictors.metrics import evaluate

    torch.set_num_threads(1)
    device, overrides = sys.argv[1], json.loads(sys.argv[2])
    v = D.load(device).by_index("s")
    perm = np.random.default_rng(0).permutation(np.flatnonzero(np.isfinite(v)))
    tr, te = perm[:1000], perm[1000:]
    kwargs = {"prior_exclude": sorted(siblings(device, devices("all"))), **overrides}
    t0 = time.perf_counter()
    model = predictors.create("gcn", seed=0, **kwargs).fit(tr, v[tr])
    seconds = time.perf_counter() - t0
    m = evaluate(model.predict(te), v[te])
    print(f"{device} {overrides} rho {m['spearman']:.4f} w10 {m['within_10pct']:.3f} train {seconds:.1f}", flush=True)


if __name__ == "__main__":
    main()
