"""How much of each device's latency the seed's pruned-graph encoding can express at all.

Usage: .venv/bin/python benchmarks/encoding_ceiling.py [--devices all|NAME,...]

The seed's GCN sees the pruned cell (dead, none and skip nodes are all-zero rows), so archs
that differ only in dead or skip edges get the same input and must get the same prediction.
For each of the 25 shared latency datasets this groups the valid archs by that input and
reports, computed with the test labels themselves: the Spearman of predicting every arch by
its group's mean log latency, and the best ±10% accuracy (the seed's metric) that any one value
per group can reach -- an exact upper bound for every predictor on that encoding. Devices that
time the unpruned network (dead ops still run) fall far below 1. Eagle's encoding flags dead
nodes and carries the one-hot arch, so no two archs share an input there.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def seed_encoding_groups() -> np.ndarray:
    """Group id per NB201 index: archs with the same seed encoding share an id."""
    from eagle.spaces.nasbench201 import NASBench201

    space = NASBench201()
    keys = {}
    out = np.empty(space.num_archs, dtype=np.int64)
    for i in range(space.num_archs):
        adj, feats = space.seed_encoding(i)
        out[i] = keys.setdefault(adj.tobytes() + feats.tobytes(), len(keys))
    return out


def best_within(values: np.ndarray, groups: np.ndarray, leeway: float = 0.10) -> float:
    """Most archs within ±leeway (the seed's rule, relative to the prediction) with one value per group.

    A prediction p covers truth t when t/(1+x) <= p <= t/(1-x): per group, the most such
    intervals that one point can hit (a sweep over the sorted interval ends).
    """
    hit = 0
    order = np.argsort(groups, kind="stable")
    bounds = np.flatnonzero(np.diff(groups[order])) + 1
    for members in np.split(order, bounds):
        t = values[members]
        if len(t) == 1:
            hit += 1
            continue
        ends = np.concatenate([t / (1 + leeway), t / (1 - leeway)])
        step = np.concatenate([np.ones(len(t)), -np.ones(len(t))])
        at = np.lexsort((-step, ends))  # at equal positions, open before closing
        hit += int(np.max(np.cumsum(step[at])))
    return hit / len(values)


def main() -> None:
    from predictor_bench import devices
    from scipy.stats import spearmanr

    import eagle.datasets as D

    p = argparse.ArgumentParser()
    p.add_argument("--devices", default="all")
    args = p.parse_args()
    groups = seed_encoding_groups()
    print("| device | distinct seed inputs / archs | Spearman of the group mean | best possible ±10% |")
    print("| --- | --- | --- | --- |")
    for name in devices(args.devices):
        v = D.load(name).by_index("s")
        ok = np.flatnonzero(np.isfinite(v))
        log_v = np.log(v[ok])
        _, g = np.unique(groups[ok], return_inverse=True)
        mean = np.bincount(g, log_v) / np.bincount(g)
        rho = spearmanr(mean[g], log_v).statistic
        w10 = best_within(v[ok], g)
        print(f"| {name} | {g.max() + 1} / {len(ok)} | {rho:.4f} | {w10:.3f} |", flush=True)


if __name__ == "__main__":
    main()
