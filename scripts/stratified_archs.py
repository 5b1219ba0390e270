"""Write N NB201 class representatives spread evenly over the MACs range (a stratified sample).

Usage: python scripts/stratified_archs.py N OUTPUT.txt   (one NB201 index per line)
Measuring these first gives a dataset that already covers the whole cost range when a time
budget ends a sweep early; `eagle measure --archs valid` afterwards fills in the rest.
"""

from __future__ import annotations

import sys

import numpy as np

from eagle.spaces import get


def main(n: int, output: str) -> None:
    space = get("nasbench201")
    reps = [space.index(r) for r in space.representatives(valid_only=True)]
    macs = np.array([space.cost(i, mode="pruned")[1] for i in reps])
    order = np.argsort(macs, kind="stable")
    pick = order[np.linspace(0, len(order) - 1, num=min(n, len(order))).round().astype(int)]
    chosen = sorted({reps[int(i)] for i in pick})
    with open(output, "w") as fh:
        fh.write("\n".join(map(str, chosen)) + "\n")
    print(f"wrote {len(chosen)} class representatives to {output}")


if __name__ == "__main__":
    main(int(sys.argv[1]), sys.argv[2])
