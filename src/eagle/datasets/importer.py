"""Turning a user's file into a :class:`Dataset` (and resolving 'file or dataset name' arguments)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from eagle.datasets import readers
from eagle.datasets.catalog import load, names
from eagle.datasets.dataset import UNIT_SUFFIX, UNITS, Dataset, check_unit
from eagle.errors import EagleError, UsageError

_SUFFIX_TO_UNIT = {v: k for k, v in UNIT_SUFFIX.items()}
DEFAULT_UNIT = {"latency": "s", "accuracy": "%", "energy": "mJ", "params": "count", "flops": "count"}


def import_file(
    path: str | Path,
    fmt: str,
    name: str,
    *,
    metric: str = "latency",
    unit: str | None = None,
    column: str | None = None,
    hw_metric: str | None = None,
    hw_dataset: str = "cifar10",
    extra: dict[str, Any] | None = None,
) -> Dataset:
    """Read ``path`` in ``fmt`` (eagle|help|hwnasbench|csv) into a dataset named ``name``.

    The whole file is validated first; nothing is stored here (see ``save_user_dataset``).
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"file not found: {path}")
    if fmt == "eagle":
        values = readers.read_seed_pickle(path, metric)
        unit = unit or DEFAULT_UNIT.get(metric, "s")
    elif fmt == "help":
        if metric != "latency":
            raise EagleError("HELP files hold latency; drop --metric or use --metric latency")
        values = readers.read_help_pt(path)
        unit = unit or "ms"
    elif fmt == "hwnasbench":
        hw_metric = hw_metric or "pixel3_latency"
        values = readers.read_hwnasbench(path, hw_metric, hw_dataset)
        metric, native = readers.HWNASBENCH_METRICS[hw_metric]
        unit = unit or native
    elif fmt == "csv":
        values, suffix = readers.read_csv(path, metric, column)
        found = _SUFFIX_TO_UNIT.get(suffix) if suffix else None
        if suffix and found is None:
            known = ", ".join(f"{metric}_{UNIT_SUFFIX[u]}" for u in UNITS.get(metric, {}))
            raise EagleError(f"{path}: column {metric}_{suffix} names an unknown unit {suffix!r}; use one of {known}")
        if unit and found and unit != found:
            raise EagleError(f"{path}: column says unit {found!r} but --unit says {unit!r}")
        unit = unit or found or DEFAULT_UNIT.get(metric, "s")
    else:
        raise EagleError(f"unknown import format {fmt!r}; valid formats: {', '.join(readers.FORMATS)}")
    check_unit(metric, unit)
    meta = {
        "metric": metric,
        "unit": unit,
        "source": f"imported from {path.name} ({fmt} format)",
        "device": None,
        "device_class": None,
        "runtime": None,
        "precision": None,
        "batch_size": None,
        "licence": None,
        "citation": None,
        "notes": None,
        **(extra or {}),
    }
    return Dataset(name=name, values=values, metadata=meta)


def load_measurement(spec: str, *, metric: str = "latency") -> Dataset:
    """A ``FILE_OR_NAME`` argument: a dataset name, or a seed pickle / HELP .pt / CSV file."""
    if spec in names():
        return load(spec)
    path = Path(spec)
    if not path.exists():
        raise UsageError(f"{spec!r} is neither a dataset name ('eagle dataset list') nor an existing file")
    fmt = {".pt": "help", ".csv": "csv"}.get(path.suffix.lower(), "eagle")
    return import_file(path, fmt, path.stem, metric=metric)
