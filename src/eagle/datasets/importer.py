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
    space: str | None = None,
) -> Dataset:
    """Read ``path`` in ``fmt`` (eagle|help|hwnasbench|csv) into a dataset named ``name``.

    A CSV with an ``arch`` column holds archs of any search space: ``space`` names it, or it is
    the one registered space that reads every arch string. The whole file is validated first;
    nothing is stored here (see ``save_user_dataset``).
    """
    path = Path(path)
    if not path.exists():
        raise UsageError(f"file not found: {path}")
    archs: list[str] | None = None
    if fmt == "csv":
        found_archs = readers.read_arch_csv(path, metric, column)
        if found_archs is not None:
            archs, values, suffix = found_archs
            space = infer_space(archs, path, space)
    if archs is not None:
        unit = _csv_unit(path, metric, unit, suffix)
    elif fmt == "eagle":
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
        unit = _csv_unit(path, metric, unit, suffix)
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
    if archs is not None:
        meta["space"] = space
        from eagle.errors import InvalidArchError

        try:
            return Dataset(name=name, values=values, metadata=meta, archs=archs)
        except InvalidArchError as exc:
            raise EagleError(f"{path}: {exc}") from None
    return Dataset(name=name, values=values, metadata=meta)


def _csv_unit(path: Path, metric: str, unit: str | None, suffix: str | None) -> str:
    found = _SUFFIX_TO_UNIT.get(suffix) if suffix else None
    if suffix and found is None:
        known = ", ".join(f"{metric}_{UNIT_SUFFIX[u]}" for u in UNITS.get(metric, {}))
        raise EagleError(f"{path}: column {metric}_{suffix} names an unknown unit {suffix!r}; use one of {known}")
    if unit and found and unit != found:
        raise EagleError(f"{path}: column says unit {found!r} but --unit says {unit!r}")
    return unit or found or DEFAULT_UNIT.get(metric, "s")


def infer_space(archs: list[str], path: Path, space: str | None = None) -> str:
    """``space`` checked against the arch strings, or the one registered space that reads them all."""
    from eagle import spaces
    from eagle.errors import InvalidArchError

    def reads_all(candidate: spaces.SearchSpace) -> int | None:
        for line, arch in enumerate(archs, start=2):
            try:
                candidate.parse(arch)
            except InvalidArchError:
                return line
        return None

    if space is not None:
        chosen = spaces.get(space)
        bad = reads_all(chosen)
        if bad is not None:
            try:
                chosen.parse(archs[bad - 2])
            except InvalidArchError as exc:
                raise EagleError(f"{path}: line {bad}: {exc}") from None
        return spaces.spec(chosen)
    fits = [name for name in spaces.names() if reads_all(spaces.get(name)) is None]
    if len(fits) == 1:
        return fits[0]
    if not fits:
        if len(archs) == 1:  # say what each space found wrong with it
            reasons = []
            for name in spaces.names():
                try:
                    spaces.get(name).parse(archs[0])
                except InvalidArchError as exc:
                    reasons.append(f"{name}: {exc}")
            raise EagleError(f"{path}: no search space reads {archs[0]!r}; " + "; ".join(reasons))
        raise EagleError(
            f"{path}: no search space reads every arch in its 'arch' column (spaces: {', '.join(spaces.names())}); "
            "check the strings, or name the space (--space)"
        )
    raise UsageError(f"{path}: the archs read as {' and '.join(fits)}; name the space with --space")


def load_measurement(spec: str, *, metric: str = "latency", space: str | None = None) -> Dataset:
    """A ``FILE_OR_NAME`` argument: a dataset name, a seed pickle / HELP .pt / CSV file, or an
    Eagle results store (``X.sqlite``: its latest run; ``X.sqlite#run=N``: run N). With ``space``
    the data must be archs of that space (a CSV's ``arch`` column is read as such)."""
    ds = _load_measurement(spec, metric, space)
    if space is not None:
        from eagle import spaces

        if ds.space is not spaces.get(space):
            raise UsageError(f"{spec} holds {ds.space.name} archs, not {space}")
    return ds


def _load_measurement(spec: str, metric: str, space: str | None) -> Dataset:
    if spec in names():
        return load(spec)
    store_path, _, run = spec.partition("#run=")
    if is_sqlite(Path(store_path)):
        return from_results_store(Path(store_path), run or None)
    path = Path(spec)
    if not path.exists():
        raise UsageError(f"{spec!r} is neither a dataset name ('eagle dataset list') nor an existing file")
    fmt = {".pt": "help", ".csv": "csv"}.get(path.suffix.lower(), "eagle")
    return import_file(path, fmt, path.stem, metric=metric, space=space)


def is_sqlite(path: Path) -> bool:
    """Whether ``path`` is a regular file that starts as an SQLite database does."""
    if not path.is_file():  # never open a FIFO or device here: opening a FIFO blocks
        return False
    try:
        with open(path, "rb") as fh:
            return fh.read(16) == b"SQLite format 3\x00"
    except OSError:
        return False


def from_results_store(path: Path, run: str | None = None) -> Dataset:
    """The ok latencies of one run of a results store (``eagle measure --db``) as a dataset, in seconds."""
    import numpy as np

    from eagle import spaces
    from eagle.store import ResultStore

    if run is not None and not (run.isascii() and run.isdigit()):
        raise UsageError(f"{path}#run={run}: the run is a number (see 'eagle measure runs --db {path}')")
    with ResultStore(path, readonly=True) as store:
        runs = store.runs()
        if not runs:
            raise EagleError(f"{path} holds no measurement runs")
        info = store.run(int(run)) if run is not None else runs[-1]
        results = store.results_by_arch(info.id)
        keys = store.arch_keys(info.id)
    space_name = str(info.row.get("space") or "nasbench201")
    size = spaces.get(space_name).size
    values = np.full(size if size is not None else len(keys), np.nan)
    for idx, res in results.items():
        if res["status"] == "ok" and res["latency_s"] is not None and res["latency_s"] > 0:
            values[idx] = float(res["latency_s"])
    if not np.isfinite(values).any():
        raise EagleError(f"run {info.id} of {path} has no successful measurement yet")
    meta = {
        "space": space_name,
        "metric": "latency",
        "unit": "s",
        "source": f"results store {path.name}, run {info.id}",
        "device": info.device,
        "device_class": None,
        "runtime": info.runtime,
        "precision": None,
        "batch_size": None,
        "licence": None,
        "citation": None,
        "notes": f"{len(runs)} run(s) in the store" if len(runs) > 1 else None,
    }
    name = f"{path.stem}#run={info.id}" if len(runs) > 1 else path.stem
    if size is None:  # a space too large to enumerate: the run's keys give the archs
        return Dataset(name=name, values=values, metadata=meta, archs=keys)
    return Dataset(name=name, values=values, metadata=meta)
