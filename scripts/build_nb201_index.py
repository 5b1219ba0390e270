"""Regenerate src/eagle/spaces/nasbench201/data/nb201_index.npy from the shared NB201 table.

Usage: python scripts/build_nb201_index.py ../shared/data/nasbench201/architectures.csv
The file holds, for each NB201 index in order, the arch's code (base-5, first edge fastest).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import numpy as np

from eagle.spaces.nasbench201.arch import NUM_ARCHS, parse_arch_str, vector_to_code

OUT = Path(__file__).resolve().parents[1] / "src/eagle/spaces/nasbench201/data/nb201_index.npy"


def main(csv_path: str) -> None:
    with open(csv_path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == NUM_ARCHS
    codes = np.empty(NUM_ARCHS, dtype=np.uint16)
    for row in rows:
        codes[int(row["nb201_index"])] = vector_to_code(parse_arch_str(row["arch_str"]))
    assert len(set(codes.tolist())) == NUM_ARCHS, "index order is not a permutation"
    np.save(OUT, codes, allow_pickle=False)
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/nasbench201/architectures.csv")
