"""A named dataset: one value per NB201 architecture plus the metadata that says what it is."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eagle.errors import EagleError
from eagle.spaces.nasbench201.arch import NUM_ARCHS, all_vectors, format_arch_str

#: Units per metric and their factor to the metric's base unit (seconds, fraction, count, joule).
UNITS: dict[str, dict[str, float]] = {
    "latency": {"s": 1.0, "ms": 1e-3, "us": 1e-6},
    "accuracy": {"%": 0.01, "fraction": 1.0},
    "params": {"count": 1.0},
    "energy": {"J": 1.0, "mJ": 1e-3},
    "flops": {"count": 1.0},
}
#: Column-name suffix used for each unit (units in names: ``latency_ms``).
UNIT_SUFFIX = {
    "s": "s",
    "ms": "ms",
    "us": "us",
    "%": "pct",
    "fraction": "fraction",
    "count": "count",
    "J": "J",
    "mJ": "mJ",
}

METADATA_FIELDS = (
    "name",
    "device",
    "device_class",
    "runtime",
    "precision",
    "batch_size",
    "metric",
    "unit",
    "num_archs",
    "source",
    "licence",
    "citation",
    "sha256",
    "notes",
)


def check_unit(metric: str, unit: str) -> None:
    """Raise a clear error when ``unit`` is not a unit of ``metric``."""
    if metric not in UNITS:
        raise EagleError(f"unknown metric {metric!r}; valid metrics: {', '.join(UNITS)}")
    if unit not in UNITS[metric]:
        raise EagleError(f"unknown unit {unit!r} for {metric}; valid units: {', '.join(UNITS[metric])}")


def values_sha256(values: np.ndarray) -> str:
    """sha256 of the stored values (little-endian float64, NaN for absent archs)."""
    return hashlib.sha256(np.ascontiguousarray(values, dtype="<f8").tobytes()).hexdigest()


@dataclass
class Dataset:
    """One value per NB201 architecture, indexed by NB201 index (NaN where absent).

    ``values`` are in ``metadata["unit"]``; :meth:`to_seed_dict` converts latency to seconds.
    """

    name: str
    values: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = np.asarray(self.values, dtype=np.float64)
        if values.shape != (NUM_ARCHS,):
            raise EagleError(f"dataset {self.name!r} must hold {NUM_ARCHS} values by NB201 index, got {values.shape}")
        self.values = values
        self.values.setflags(write=False)
        check_unit(self.metric, self.unit)
        self.metadata = {**self.metadata, "name": self.name, "num_archs": int(np.isfinite(values).sum())}
        self.metadata.setdefault("sha256", values_sha256(values))

    @property
    def metric(self) -> str:
        return str(self.metadata.get("metric", "latency"))

    @property
    def unit(self) -> str:
        return str(self.metadata.get("unit", "s"))

    @property
    def num_archs(self) -> int:
        return int(self.metadata["num_archs"])

    @property
    def value_column(self) -> str:
        """Column name with the unit in it, e.g. ``latency_ms``."""
        return f"{self.metric}_{UNIT_SUFFIX[self.unit]}"

    def present(self) -> np.ndarray:
        """NB201 indices that have a value, ascending."""
        return np.nonzero(np.isfinite(self.values))[0]

    def by_index(self, unit: str | None = None) -> np.ndarray:
        """float64 array over NB201 indices (NaN where absent), in ``unit`` (default: the dataset's)."""
        return self.values * self._factor(unit)

    def _factor(self, unit: str | None) -> float:
        if unit is None or unit == self.unit:
            return 1.0
        check_unit(self.metric, unit)
        table = UNITS[self.metric]
        return table[self.unit] / table[unit]

    def to_seed_dict(self) -> dict[tuple[int, ...], float]:
        """The seed's format ``{arch_vector: value}``; latency in seconds, only archs with a value."""
        factor = self._factor("s") if self.metric == "latency" else 1.0
        vectors = all_vectors()
        out: dict[tuple[int, ...], float] = {}
        for idx in self.present():
            value = float(self.values[idx])
            out[vectors[idx]] = value * factor if factor != 1.0 else value
        return out

    def to_pandas(self):  # noqa: ANN201 - pandas is imported lazily
        """DataFrame with ``nb201_index, arch_str, arch_vector, <metric>_<unit>`` for present archs."""
        import pandas as pd

        idx = self.present()
        vectors = all_vectors()
        return pd.DataFrame(
            {
                "nb201_index": idx,
                "arch_str": [format_arch_str(vectors[i]) for i in idx],
                "arch_vector": [str(vectors[i]) for i in idx],
                self.value_column: self.values[idx],
            }
        )

    def describe(self) -> dict[str, Any]:
        """Metadata in the documented field order, plus a value summary."""
        info = {k: self.metadata.get(k) for k in METADATA_FIELDS}
        vals = self.values[np.isfinite(self.values)]
        if len(vals):
            info.update(
                {
                    "min": float(vals.min()),
                    "median": float(np.median(vals)),
                    "max": float(vals.max()),
                }
            )
        return info
