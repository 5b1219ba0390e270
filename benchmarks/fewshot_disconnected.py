"""Few-shot on HELP's devices with HELP's full test set: disconnected cells included.

Usage: .venv/bin/python benchmarks/fewshot_disconnected.py [--shared ../shared/data]

HELP's files time every NB201 network, also the 341 whose cell has no input->output path (12 of
its 13 devices hold real latencies for them; pixel3 holds placeholders). The bundled datasets
and the main few-shot protocol drop them; here the test set is HELP's own: indices 900..1899 of
the raw file minus the 10% fastest and slowest, disconnected cells included. Same pretraining
(the 25 shared devices minus the test device's siblings) and the same 10 archs (``eagle select``
among the connected ones below 900). Disconnected cells lie outside the basis; the model predicts
them from its per-op cost models alone. The other column mixes every component for them, as
Eagle did before (the linear components then give every disconnected cell the same value).
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

from fewshot_bench import shared_devices, siblings  # noqa: E402


def main() -> None:
    from scipy.stats import spearmanr

    import eagle.datasets as D
    from eagle.datasets.readers import read_help_pt
    from eagle.fewshot import FewShotPredictor, pretrain, select_archs
    from eagle.spaces import get

    p = argparse.ArgumentParser()
    p.add_argument("--shared", type=Path, default=REPO.parent / "shared" / "data")
    args = p.parse_args()
    valid = np.asarray(get("nasbench201").valid_mask())
    names = shared_devices()
    values = {n: D.load(n).by_index("s") for n in names}
    rows = []
    print(f"{'device':22s} disconnected in test | op-cost models for them | every component")
    for test in [n for n in names if n.startswith("help/")]:
        raw = read_help_pt(args.shared / "help" / f"{test.split('/', 1)[1]}.pt", drop_invalid=False)
        basis = pretrain({n: values[n] for n in names if n not in siblings(test, names)})
        idx = np.arange(900, 1900)
        lo, hi = np.quantile(raw[idx], [0.1, 0.9])
        te = idx[(raw[idx] >= lo) & (raw[idx] <= hi)]
        few = select_archs(basis, 10, candidates=np.flatnonzero(valid[:900]))
        model = FewShotPredictor(basis).fit(few, raw[few])
        now = spearmanr(model.predict(te), raw[te]).statistic
        before = spearmanr(model.mixture(te, model.weights_)[0], raw[te]).statistic
        rows.append((now, before))
        print(f"{test:22s} {int((~valid[te]).sum()):20d} | {now:.4f}                  | {before:.4f}", flush=True)
    m = np.mean(rows, axis=0)
    print(f"{'mean':22s} {'':20s} | {m[0]:.4f}                  | {m[1]:.4f}")


if __name__ == "__main__":
    main()
