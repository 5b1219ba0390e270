"""The seed's post-processing tools: combine raw result files, calc_stats, normalise."""

from __future__ import annotations

import functools
import math
import pickle
from collections.abc import Sequence
from pathlib import Path
from typing import IO

import numpy as np

from eagle.datasets.readers import read_seed_pickle, read_seed_raw_results
from eagle.datasets.safe_pickle import safe_load
from eagle.errors import EagleError, UsageError
from eagle.fileio import atomic_write
from eagle.measurement.stats import calc_stats
from eagle.spaces.nasbench201.arch import index_to_vector


def combine(files: Sequence[Path], output: Path) -> int:
    """Concatenate raw ``results{N}.pickle`` lists; an arch present twice is an error."""
    combined = []
    seen: dict[tuple[int, ...], Path] = {}
    for path in files:
        for vec, value in read_seed_raw_results(path):
            if vec in seen:
                raise EagleError(f"architecture {vec} is in both {seen[vec]} and {path}")
            seen[vec] = path
            combined.append((list(vec), value))
    atomic_write(output, lambda fh: pickle.dump(combined, fh, protocol=4))
    return len(combined)


def stats_file(path: Path, output: Path) -> tuple[int, int]:
    """calc_stats over a raw results list -> the seed's ``{arch_vector: seconds}``."""
    out = {}
    skipped = 0
    seen: set[tuple[int, ...]] = set()
    for vec, value in read_seed_raw_results(path):
        if vec in seen:
            raise EagleError(
                f"{path}: architecture {vec} appears more than once; combine files with 'eagle measure combine', "
                "which refuses duplicates, or remove one entry"
            )
        seen.add(vec)
        if isinstance(value, str):
            skipped += 1
            continue
        out[vec] = calc_stats(value)
    if not out:
        raise EagleError(f"{path} holds no measured entries")
    atomic_write(output, lambda fh: pickle.dump(out, fh, protocol=4))
    return len(out), skipped


def normalise(path: Path, output: Path, by: str) -> float:
    """Divide every value of a seed-format pickle by its maximum or by a given number."""
    if by == "max":
        factor = None
    else:
        try:
            factor = float(by)
        except ValueError:
            raise UsageError(f"--by must be 'max' or a number, got {by!r}") from None
        if not math.isfinite(factor) or factor <= 0:
            raise UsageError(f"--by must be 'max' or a positive finite number, got {by!r}")
    values = read_seed_pickle(path, metric="accuracy")  # validates every entry (finite, >= 0)
    data = safe_load(path)
    if factor is None:
        factor = float(np.nanmax(values))
        if factor <= 0:
            raise EagleError(f"{path}: every value is 0; there is nothing to normalise by")
    del values
    out = {tuple(k): float(v) / factor for k, v in data.items()}
    atomic_write(output, lambda fh: pickle.dump(out, fh, protocol=4))
    return factor


def raw_results_files(results: Sequence[tuple[int, object]], folder: Path, per_file: int = 1000) -> list[Path]:
    """Write (nb201_index, value) pairs as the seed's raw files ``results{N}.pickle`` (1000 each)."""
    paths = []
    for n in range(0, len(results), per_file):
        chunk = [(list(index_to_vector(i)), v) for i, v in results[n : n + per_file]]
        path = folder / f"results{n // per_file}.pickle"
        atomic_write(path, functools.partial(_dump, chunk))
        paths.append(path)
    return paths


def _dump(obj: object, fh: IO[bytes]) -> None:
    pickle.dump(obj, fh, protocol=4)
