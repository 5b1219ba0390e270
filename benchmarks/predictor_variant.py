"""One predictor variant on one device, on predictor_bench.py's split (seed 0) and strict prior.

Usage: .venv/bin/python benchmarks/predictor_variant.py DEVICE '{"epochs": 150, "validation_fraction": 0.1}'
Prints Spearman, ±10% accuracy and training seconds of ``gcn`` with those hyper-parameters.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    import torch
    from predictor_bench import score

    torch.set_num_threads(1)
    device, overrides = sys.argv[1], json.loads(sys.argv[2])
    r = score("gcn", overrides, device, seed=0, n_train=1000)
    print(
        f"{device} {overrides} rho {r['spearman']:.4f} w10 {r['within_10pct']:.3f} train {r['train_s']:.1f}", flush=True
    )


if __name__ == "__main__":
    main()
