"""Readers for latency/accuracy files users already have; each returns values by NB201 index.

Every reader validates the whole file before returning: a bad entry raises
:class:`eagle.errors.EagleError` naming it, and nothing is half-imported.
Pickles are read with :mod:`eagle.datasets.safe_pickle`, never plain ``pickle.load``.
"""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np

from eagle.datasets.safe_pickle import safe_load
from eagle.errors import EagleError, InvalidArchError, show
from eagle.spaces.nasbench201.arch import NUM_ARCHS, check_vector, resolve, vector_to_index
from eagle.spaces.nasbench201.space import NASBench201

FORMATS = ("eagle", "help", "hwnasbench", "csv")
_INDEX_RE = re.compile(r"[0-9]{1,6}")  # ASCII digits only ('²'.isdigit() is True)
HWNASBENCH_METRICS = {
    "edgegpu_latency": ("latency", "ms"),
    "raspi4_latency": ("latency", "ms"),
    "edgetpu_latency": ("latency", "ms"),
    "pixel3_latency": ("latency", "ms"),
    "eyeriss_latency": ("latency", "ms"),
    "fpga_latency": ("latency", "ms"),
    "edgegpu_energy": ("energy", "mJ"),
    "eyeriss_energy": ("energy", "mJ"),
    "fpga_energy": ("energy", "mJ"),
}
HWNASBENCH_DATASETS = ("cifar10", "cifar100", "ImageNet16-120")


def _number(value: Any, where: str, metric: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise EagleError(f"{where}: value {show(value)} is not a number")
    try:
        v = float(value)
    except OverflowError:
        raise EagleError(f"{where}: value {show(value)} is too large to be a {metric}") from None
    if not math.isfinite(v):
        raise EagleError(f"{where}: value {v} is not finite (NaN or inf); remove the entry or fix its value")
    if v < 0:
        raise EagleError(f"{where}: value {v} is negative; a {metric} cannot be negative")
    if metric == "latency" and v == 0:
        raise EagleError(f"{where}: latency 0 is not a measurement; remove the entry or fix its value")
    return v


def values_from_pairs(pairs: Iterable[tuple[Any, Any]], source: str, metric: str) -> np.ndarray:
    """Fill a by-index array from (arch, value) pairs; duplicates and bad entries are errors."""
    values = np.full(NUM_ARCHS, np.nan)
    count = 0
    for arch, value in pairs:
        try:
            idx = vector_to_index(resolve(arch))
        except InvalidArchError as exc:
            raise EagleError(f"{source}: entry {show(arch)}: {exc}") from None
        if not math.isnan(values[idx]):
            raise EagleError(f"{source}: architecture {show(arch)} (NB201 index {idx}) appears more than once")
        values[idx] = _number(value, f"{source}: entry {show(arch)}", metric)
        count += 1
    if count == 0:
        raise EagleError(f"{source} holds no entries")
    return values


def read_seed_pickle(path: str | Path, metric: str = "latency") -> np.ndarray:
    """The seed's ``{arch_vector: value}`` pickle (latency in seconds)."""
    data = safe_load(path)
    if not isinstance(data, dict):
        raise EagleError(
            f"{path} holds a {type(data).__name__}, not the seed's dict {{arch_vector: value}}"
            + ("; it looks like raw measurement results: use 'eagle measure stats'" if isinstance(data, list) else "")
        )
    for key in data:
        if not isinstance(key, tuple):
            raise EagleError(f"{path}: key {show(key)} is not an arch_vector tuple of 6 op ids")
        try:
            check_vector(key)
        except InvalidArchError as exc:
            raise EagleError(f"{path}: key {show(key)}: {exc}") from None
    return values_from_pairs(data.items(), str(path), metric)


def read_seed_raw_results(path: str | Path) -> list[tuple[tuple[int, ...], Any]]:
    """The seed's raw ``results{N}.pickle``: a list of ``(arch_vector_list, value)``.

    ``value`` is the nested list of timings (seconds), ``'invalid'``, or an error string.
    """
    data = safe_load(path)
    if not isinstance(data, list):
        raise EagleError(f"{path} holds a {type(data).__name__}, not the seed's raw list of (point, timings)")
    out: list[tuple[tuple[int, ...], Any]] = []
    for n, item in enumerate(data):
        if not isinstance(item, (tuple, list)) or len(item) != 2:
            raise EagleError(f"{path}: item {n} is not a (point, value) pair: {show(item)}")
        point, value = item
        try:
            vec = check_vector(point)
        except InvalidArchError as exc:
            raise EagleError(f"{path}: item {n}: {exc}") from None
        if not isinstance(value, str):
            if not isinstance(value, (list, tuple)) or not all(isinstance(r, (list, tuple)) for r in value):
                raise EagleError(f"{path}: item {n} ({vec}): value must be a list of timing lists or a string")
            if not value or not all(value):
                raise EagleError(
                    f"{path}: item {n} ({vec}): a round holds no timings (each round is a non-empty list of "
                    "seconds); remove the entry or measure it again"
                )
            for r in value:
                for t in r:
                    _number(t, f"{path}: item {n} ({vec})", "latency")
        out.append((vec, value))
    return out


def read_help_pt(path: str | Path, *, drop_invalid: bool = True) -> np.ndarray:
    """HELP's ``torch.save``d list of 15625 values (ms) by NB201 index, via ``weights_only=True``."""
    import torch

    from eagle.fileio import load_torch_file

    data = load_torch_file(path, "HELP latency file (torch.save of 15625 values)")
    if isinstance(data, torch.Tensor):
        data = data.tolist()
    if not isinstance(data, (list, tuple)) or len(data) != NUM_ARCHS:
        size = len(data) if isinstance(data, (list, tuple)) else type(data).__name__
        raise EagleError(f"{path}: a HELP file is a list of {NUM_ARCHS} values by NB201 index, got {size}")
    valid = NASBench201().valid_mask()
    pairs = ((i, v) for i, v in enumerate(data) if valid[i] or not drop_invalid)
    return values_from_pairs(pairs, str(path), "latency")


def read_hwnasbench(
    path: str | Path, metric: str, dataset: str = "cifar10", *, drop_invalid: bool = True
) -> np.ndarray:
    """One metric of HW-NAS-Bench v1.0's pickle: ``data["nasbench201"][dataset][metric][index]``."""
    if metric not in HWNASBENCH_METRICS:
        raise EagleError(f"unknown HW-NAS-Bench metric {metric!r}; valid: {', '.join(HWNASBENCH_METRICS)}")
    if dataset not in HWNASBENCH_DATASETS:
        raise EagleError(f"unknown HW-NAS-Bench dataset {dataset!r}; valid: {', '.join(HWNASBENCH_DATASETS)}")
    data = safe_load(path)
    try:
        column = data["nasbench201"][dataset][metric]
    except (KeyError, TypeError, IndexError):
        raise EagleError(f"{path} is not HW-NAS-Bench v1.0: no ['nasbench201'][{dataset!r}][{metric!r}]") from None
    if not isinstance(column, (list, tuple, np.ndarray)) or np.ndim(column) != 1:
        raise EagleError(
            f"{path}: ['nasbench201'][{dataset!r}][{metric!r}] is a {type(column).__name__}, not a list of "
            f"{NUM_ARCHS} numbers by NB201 index"
        )
    if len(column) != NUM_ARCHS:
        raise EagleError(f"{path}: {metric} has {len(column)} values, expected {NUM_ARCHS}")
    valid = NASBench201().valid_mask()
    pairs = ((i, v) for i, v in enumerate(column) if valid[i] or not drop_invalid)
    return values_from_pairs(pairs, str(path), HWNASBENCH_METRICS[metric][0])


def read_csv(path: str | Path, metric: str, column: str | None = None) -> tuple[np.ndarray, str | None]:
    """A CSV with an ``nb201_index``, ``arch_str`` or ``arch_vector`` column and one value column.

    Returns (values, unit suffix found in the value column name or None), e.g. ``latency_ms``
    gives ``"ms"``.
    """
    path = Path(path)
    rows, fields = _csv_rows(path)
    if not rows:
        raise EagleError(f"{path} holds no rows")
    key = next((k for k in ("nb201_index", "arch_str", "arch_vector") if k in fields), None)
    if key is None:
        raise EagleError(
            f"{path} needs a column arch (any search space), nb201_index, arch_str or arch_vector; "
            f"it has {', '.join(fields)}"
        )
    column, same = _value_column(path, fields, metric, column)
    pairs = []
    for line, row in enumerate(rows, start=2):
        if None in row:
            raise EagleError(
                f"{path}: line {line} has {len(row[None])} more field(s) than the header's {len(fields)}; "
                "quote values that hold commas"
            )
        if any(v is None for v in row.values()):
            raise EagleError(f"{path}: line {line} has fewer fields than the header")
        arch: Any = row[key]
        if key == "nb201_index":
            if not _INDEX_RE.fullmatch(str(arch).strip()):
                raise EagleError(
                    f"{path}: line {line}: nb201_index {show(arch)} is not a whole number 0..{NUM_ARCHS - 1}"
                )
            arch = int(arch)
        try:
            value = float(row[column])
        except (TypeError, ValueError):
            raise EagleError(f"{path}: line {line}: {column} {show(row[column])} is not a number") from None
        _check_same(path, line, row, metric, column, same)
        pairs.append((arch, value))
    unit = column.split("_", 1)[1] if "_" in column and column.startswith(f"{metric}_") else None
    return values_from_pairs(pairs, str(path), metric), unit


def read_arch_csv(
    path: str | Path, metric: str, column: str | None = None
) -> tuple[list[str], np.ndarray, str | None] | None:
    """A CSV with an ``arch`` column (arch strings of any search space) and one value column:
    (arch texts, values, unit suffix of the value column or None); None when there is no ``arch``
    column (then it is an NB201 CSV for :func:`read_csv`)."""
    path = Path(path)
    rows, fields = _csv_rows(path)
    if "arch" not in fields:
        return None
    if not rows:
        raise EagleError(f"{path} holds no rows")
    column, same = _value_column(path, fields, metric, column)
    archs, values = [], []
    for line, row in enumerate(rows, start=2):
        if None in row or any(v is None for v in row.values()):
            raise EagleError(f"{path}: line {line} does not have one field per header column; quote values with commas")
        try:
            value = float(row[column])
        except (TypeError, ValueError):
            raise EagleError(f"{path}: line {line}: {column} {show(row[column])} is not a number") from None
        if not math.isfinite(value) or (metric == "latency" and value <= 0):
            raise EagleError(f"{path}: line {line}: {column} {show(row[column])} is not a valid {metric}")
        _check_same(path, line, row, metric, column, same)
        archs.append(str(row["arch"]).strip())
        values.append(value)
    unit = column.split("_", 1)[1] if "_" in column and column.startswith(f"{metric}_") else None
    return archs, np.array(values), unit


def _csv_rows(path: Path) -> tuple[list[dict[Any, Any]], list[str]]:
    """(rows as dicts, header fields) of a CSV file read with the bounded reader."""
    from eagle.fileio import read_text_file

    text = read_text_file(path, "CSV file")
    try:
        reader = csv.DictReader(io.StringIO(text, newline=""))
        rows = list(reader)
        return rows, [f for f in (reader.fieldnames or []) if f is not None]
    except csv.Error as exc:
        raise EagleError(f"{path} is not a readable CSV file: {exc}") from None


def _value_column(
    path: Path, fields: list[str], metric: str, column: str | None
) -> tuple[str, list[tuple[str, float]]]:
    """(the column holding ``metric``, (other column, factor to the first's unit) of the columns
    holding the same values in other units): ``column`` if given (and present), else the one named
    for it (``_std`` columns are not values). Several columns of one metric in different units
    (``eagle predict`` writes ``latency_ms`` and ``latency_s``) are one value column when they
    agree, row by row."""
    if column is None:
        candidates = [
            f for f in fields if (f.startswith(f"{metric}_") and not f.endswith("_std")) or f in (metric, "value")
        ]
        factors = _unit_factors(metric)
        if len(candidates) > 1 and all(c in factors for c in candidates):
            first = factors[candidates[0]]
            return candidates[0], [(c, factors[c] / first) for c in candidates[1:]]
        if len(candidates) != 1:
            raise EagleError(
                f"{path}: cannot tell which column holds the {metric} (columns: {', '.join(fields)}); keep one "
                "value column, or import the file with 'eagle dataset import --column NAME'"
            )
        return candidates[0], []
    if column not in fields:
        raise EagleError(f"{path} has no column {column!r}; columns: {', '.join(fields)}")
    return column, []


def _unit_factors(metric: str) -> dict[str, float]:
    """Column name ``{metric}_{unit}`` -> the unit's factor to the metric's base unit."""
    from eagle.datasets.dataset import UNIT_SUFFIX, UNITS

    return {f"{metric}_{UNIT_SUFFIX[u]}": f for u, f in UNITS.get(metric, {}).items()}


def _check_same(
    path: Path, line: int, row: dict[Any, Any], metric: str, column: str, others: list[tuple[str, float]]
) -> None:
    """Stop when a row's value in another unit's column is not the same quantity (the value
    column itself is already known to be a number)."""
    base = float(row[column])
    for other, factor in others:
        try:
            again = float(row[other]) * factor
        except (TypeError, ValueError):
            raise EagleError(f"{path}: line {line}: {other} {show(row[other])} is not a number") from None
        if not math.isclose(base, again, rel_tol=1e-6, abs_tol=0.0):
            raise EagleError(
                f"{path}: line {line}: {column} {show(row[column])} and {other} {show(row[other])} are not the "
                f"same {metric}; keep one of the columns"
            )
