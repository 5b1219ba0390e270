"""Summaries of raw timing samples. All inputs and outputs are in seconds.

:func:`calc_stats` is the seed's statistic: in each round keep the samples within the
inclusive [25th, 75th] percentile (numpy's default linear percentile) and average them; then
apply the same filter-and-average to the round averages. This is the value of the seed's
latency datasets.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np


def iqr_mean(values: Sequence[float] | np.ndarray) -> float:
    """Mean of the values within the inclusive [p25, p75] range.

    With very few distinct values (e.g. two) no value may fall inside the interpolated quartiles;
    the median is returned then (the seed's code would return NaN).
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.size == 0:
        raise ValueError("iqr_mean of no values")
    lo, hi = np.percentile(arr, 25), np.percentile(arr, 75)
    kept = arr[(arr >= lo) & (arr <= hi)]
    return float(kept.mean()) if kept.size else float(np.median(arr))


def calc_stats(rounds: Sequence[Sequence[float]]) -> float:
    """The seed's latency statistic of ``rounds`` (a list of per-round sample lists)."""
    if not rounds or any(len(r) == 0 for r in rounds):
        raise ValueError("calc_stats needs at least one non-empty round")
    return iqr_mean([iqr_mean(r) for r in rounds])


def summarize(rounds: Sequence[Sequence[float]]) -> dict[str, Any]:
    """Every summary Eagle stores for one measurement (seconds)."""
    round_means = np.array([np.mean(r) for r in rounds])
    flat = np.concatenate([np.asarray(r, dtype=np.float64) for r in rounds])
    return {
        "latency_s": calc_stats(rounds),
        "median_round_mean_s": float(np.median(round_means)),
        "min_s": float(flat.min()),
        "std_s": float(flat.std(ddof=1)) if flat.size > 1 else 0.0,
        "samples": int(flat.size),
    }
