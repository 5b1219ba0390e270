"""Writing datasets in the seed's pickle format, CSV and Parquet (atomically)."""

from __future__ import annotations

import pickle
from pathlib import Path

from eagle.datasets.dataset import Dataset
from eagle.errors import EagleError, install_hint
from eagle.fileio import atomic_write, atomic_write_text

EXPORT_FORMATS = ("pickle", "csv", "parquet")


def export(dataset: Dataset, fmt: str, output: str | Path) -> int:
    """Write ``dataset`` to ``output`` in ``fmt``; returns the number of archs written."""
    output = Path(output)
    if fmt == "pickle":
        data = dataset.to_seed_dict()
        atomic_write(output, lambda fh: pickle.dump(data, fh, protocol=4))
        return len(data)
    frame = dataset.to_pandas()
    if fmt == "csv":
        atomic_write_text(output, lambda fh: frame.to_csv(fh, index=False, lineterminator="\n"))
    elif fmt == "parquet":
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise EagleError(f"Parquet export needs pyarrow: {install_hint('parquet')}") from None
        atomic_write(output, lambda fh: frame.to_parquet(fh, index=False))
    else:
        raise EagleError(f"unknown export format {fmt!r}; valid formats: {', '.join(EXPORT_FORMATS)}")
    return len(frame)
