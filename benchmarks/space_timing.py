"""Training and prediction time of the default GCN on the FBNet and OFA spaces (one thread).

    taskset -c 0 .venv/bin/python benchmarks/space_timing.py

Fits on 1000 random archs of one bundled device per space (seed 0), predicts the other 4000, and
times the space's encoding of those 4000 alone. Public API only.
"""

from __future__ import annotations

import time

import numpy as np

import eagle

for name in ("help-fbnet/gold_6240", "help-ofa/v100_1"):
    ds = eagle.load_dataset(name)
    keys, y = ds.items("s")
    perm = np.random.default_rng(0).permutation(len(keys))
    train, test = [keys[i] for i in perm[:1000]], [keys[i] for i in perm[1000:]]
    t0 = time.perf_counter()
    model = eagle.create_predictor("gcn", space=ds.space).fit(train, y[perm[:1000]])
    fit_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.predict(test)
    predict_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    ds.space.encode(test)
    encode_s = time.perf_counter() - t0
    print(f"{name}: fit {fit_s:.1f} s, predict 4000 archs {predict_s:.2f} s (of which encoding {encode_s:.2f} s)")
