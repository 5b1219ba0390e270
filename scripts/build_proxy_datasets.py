"""Compute NB201's zero-cost proxies for all 15625 archs and bundle them as datasets.

Usage: python scripts/build_proxy_datasets.py [--workers 2]

One computation per NB201 computation class (6466 networks; every member of a class computes the
same function), in ``--workers`` processes of one thread each, with the product code
(:func:`eagle.zerocost.network_scores`, seed 0). Writes ``src/eagle/datasets/data/proxies.npz``
and the ``nasbench201/proxy-<name>`` entries of ``catalog.json`` (other entries are kept), and
prints how long it took.
"""

from __future__ import annotations

import argparse
import json
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

from eagle.datasets.dataset import values_sha256

DATA = Path(__file__).resolve().parents[1] / "src/eagle/datasets/data"
NB201_CITATION = "X. Dong, Y. Yang. NAS-Bench-201: Extending the Scope of Reproducible NAS. ICLR 2020."
CITATIONS = {
    "synflow": "H. Tanaka et al. Pruning neural networks without any data by iteratively conserving synaptic flow. "
    "NeurIPS 2020; M. S. Abdelfattah et al. Zero-Cost Proxies for Lightweight NAS. ICLR 2021.",
    "naswot": "J. Mellor et al. Neural Architecture Search without Training. ICML 2021.",
    "snip": "N. Lee et al. SNIP: Single-shot Network Pruning based on Connection Sensitivity. ICLR 2019.",
}


def _chunk(keys: list[str]) -> list[dict[str, float]]:
    import torch

    from eagle import spaces
    from eagle.zerocost import network_scores

    torch.set_num_threads(1)
    space = spaces.get("nasbench201")
    return [network_scores(space, k) for k in keys]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    from eagle import spaces
    from eagle.zerocost import NAMES

    space = spaces.get("nasbench201")
    archs = [space.arch_at(i) for i in range(space.size or 0)]
    canon = [space.canonical(a) for a in archs]
    todo = list(dict.fromkeys(canon))
    t0 = time.perf_counter()
    chunks = [todo[i : i + 50] for i in range(0, len(todo), 50)]
    found: dict[str, dict[str, float]] = {}
    with ProcessPoolExecutor(args.workers) as pool:
        for n, (chunk, scores) in enumerate(zip(chunks, pool.map(_chunk, chunks)), start=1):
            found.update(zip(chunk, scores))
            if n % 10 == 0:
                print(f"{len(found)} of {len(todo)} networks, {time.perf_counter() - t0:.0f} s", flush=True)
    seconds = time.perf_counter() - t0
    arrays = {name: np.array([found[c][name] for c in canon], dtype=np.float64) for name in NAMES}
    np.savez_compressed(DATA / "proxies.npz", **arrays)
    catalog = json.loads((DATA / "catalog.json").read_text())
    entries = []
    for name, values in arrays.items():
        entries.append(
            {
                "name": f"nasbench201/proxy-{name}",
                "device": None,
                "device_class": None,
                "runtime": None,
                "precision": None,
                "batch_size": None,
                "metric": "proxy",
                "unit": "score",
                "source": f"computed by Eagle (eagle.zerocost.{name}, seed 0) on NB201's pruned cell networks, "
                "3x32x32, 10 classes, untrained",
                "licence": "Apache-2.0",
                "citation": f"{CITATIONS[name]} {NB201_CITATION}",
                "notes": f"zero-cost proxy (log scale, higher predicts higher accuracy; NaN for the "
                f"{int(np.isnan(values).sum())} cells with no path to the output); one computation per NB201 "
                f"class ({len(todo)} networks) in {seconds / 60:.1f} min with {args.workers} one-thread workers",
                "file": "proxies.npz",
                "key": name,
                "num_archs": int(np.isfinite(values).sum()),
                "sha256": values_sha256(values),
            }
        )
    names = {e["name"] for e in entries}
    catalog = [c for c in catalog if c["name"] not in names] + entries
    (DATA / "catalog.json").write_text(json.dumps(catalog, indent=1) + "\n")
    print(f"{len(todo)} networks in {seconds:.0f} s ({seconds / len(todo):.3f} s each, {args.workers} workers)")


if __name__ == "__main__":
    main()
