"""Write NB201 class representatives in a stratified order: every prefix spreads over the cost range.

Usage: python scripts/stratified_archs.py OUTPUT.txt [N]   (one NB201 index per line; all valid
classes by default, or the first N of the order)

The representatives are sorted by MACs and then visited in bit-reversed rank order (a van der
Corput sequence), so the first 100, 1000, ... of the file are each spread evenly from the
cheapest to the most expensive network. A time-budgeted sweep over this file (which keeps the
file's order) therefore leaves a stratified sample whenever it stops, and resumes from there.
"""

from __future__ import annotations

import sys

import numpy as np

from eagle.spaces import get


def stratified_order(n: int) -> list[int]:
    """Ranks 0..n-1 in bit-reversed order (prefixes are evenly spaced over the ranks)."""
    bits = max(1, int(np.ceil(np.log2(max(n, 2)))))
    ranks = np.arange(1 << bits)
    reversed_ = np.zeros_like(ranks)
    for b in range(bits):
        reversed_ |= ((ranks >> b) & 1) << (bits - 1 - b)
    return [int(r) for r in reversed_ if r < n]


def main(output: str, n: int | None = None) -> None:
    space = get("nasbench201")
    reps = [space.index(r) for r in space.representatives(valid_only=True)]
    macs = np.array([space.cost(i, mode="pruned")[1] for i in reps])
    by_cost = [reps[int(i)] for i in np.argsort(macs, kind="stable")]
    chosen = [by_cost[r] for r in stratified_order(len(by_cost))][:n]
    with open(output, "w") as fh:
        fh.write("\n".join(map(str, chosen)) + "\n")
    print(f"wrote {len(chosen)} class representatives in stratified order to {output}")


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]) if len(sys.argv) > 2 else None)
