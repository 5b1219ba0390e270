"""Does averaging the GCN with a second predictor help? (issue 5; measured: no).

Usage: .venv/bin/python benchmarks/predictor_stack_bench.py [gbt|mlp]

Same splits as predictor_bench.py (25 devices x seeds 0-2, 1000 train, the rest test); prints
each row as JSON, then the means of gcn, the second model, and their geometric means with
weights 0.5/0.5 ("stack") and 0.7/0.3 ("stack73").
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def main(other: str) -> None:
    import torch
    from predictor_bench import devices

    import eagle.datasets as D
    from eagle import predictors
    from eagle.predictors.metrics import evaluate

    torch.set_num_threads(1)
    out = []
    for dev in devices("all"):
        v = D.load(dev).by_index("s")
        idx = np.nonzero(np.isfinite(v))[0]
        for seed in (0, 1, 2):
            perm = np.random.default_rng(seed).permutation(idx)
            tr, te = perm[:1000], perm[1000:]
            g = predictors.create("gcn", seed=seed).fit(tr, v[tr]).predict(te)
            b = predictors.create(other, seed=seed).fit(tr, v[tr]).predict(te)
            row = {"device": dev, "seed": seed}
            for name, p in (
                ("gcn", g),
                (other, b),
                ("stack", np.exp(0.5 * np.log(g) + 0.5 * np.log(b))),
                ("stack73", np.exp(0.7 * np.log(g) + 0.3 * np.log(b))),
            ):
                m = evaluate(p, v[te])
                row[name] = (m["spearman"], m["within_10pct"])
            out.append(row)
            print(json.dumps(row), flush=True)
    for name in ("gcn", other, "stack", "stack73"):
        per: dict[str, list] = {}
        for r in out:
            per.setdefault(r["device"], []).append(r[name])
        rho = np.mean([np.mean([x[0] for x in v]) for v in per.values()])
        acc = np.mean([np.mean([x[1] for x in v]) for v in per.values()])
        print(name, f"mean Spearman {rho:.4f} ±10% {acc:.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "gbt")
