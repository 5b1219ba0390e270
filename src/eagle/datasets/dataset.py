"""A named dataset: one value per architecture of a search space, plus the metadata that says what it is.

Keyed by (space, arch key): ``metadata["space"]`` names the space (NB201 when absent, as in every
file written before spaces were plug-ins). For an enumerable space the values are a dense array by
arch index (NaN where absent): the fast path every predictor uses. A space too large to enumerate
keeps the measured arch keys beside their values."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eagle.errors import EagleError, UsageError
from eagle.spaces.base import Archs

#: Units per metric and their factor to the metric's base unit (seconds, fraction, count, joule).
UNITS: dict[str, dict[str, float]] = {
    "latency": {"s": 1.0, "ms": 1e-3, "us": 1e-6},
    "accuracy": {"%": 0.01, "fraction": 1.0},
    "params": {"count": 1.0},
    "energy": {"J": 1.0, "mJ": 1e-3},
    "flops": {"count": 1.0},
    "proxy": {"score": 1.0},  # zero-cost proxies (eagle.zerocost): unitless, log-scale
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
    "score": "score",
}

METADATA_FIELDS = (
    "name",
    "space",
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


def keys_sha256(keys: list[str], values: np.ndarray) -> str:
    """sha256 of a sparse dataset: its arch keys (one per line) then its values as in :func:`values_sha256`."""
    digest = hashlib.sha256("\n".join(keys).encode())
    digest.update(np.ascontiguousarray(values, dtype="<f8").tobytes())
    return digest.hexdigest()


@dataclass
class Dataset:
    """One value per architecture of ``metadata["space"]`` (NB201 by default).

    Enumerable spaces: ``values`` by arch index (NaN where absent); ``archs`` may be given
    instead, with one value per arch, and the values are scattered to their indices. Other
    spaces: ``archs`` (keys or anything the space parses) and ``values`` side by side.
    ``values`` are in ``metadata["unit"]``; :meth:`to_seed_dict` converts latency to seconds.
    """

    name: str
    values: np.ndarray
    metadata: dict[str, Any] = field(default_factory=dict)
    archs: list[str] | None = None

    def __post_init__(self) -> None:
        from eagle import spaces

        space = spaces.get(str(self.metadata.get("space") or "nasbench201"))
        values = np.asarray(self.values, dtype=np.float64)
        if self.archs is not None:
            if len(self.archs) != len(values) or values.ndim != 1:
                raise EagleError(f"dataset {self.name!r}: {len(self.archs)} archs but {values.shape} values")
            keys = space.keys(list(self.archs))
            if len(set(keys)) != len(keys):
                raise EagleError(f"dataset {self.name!r} lists an arch twice")
            if space.enumerable:
                dense = np.full(int(space.size or 0), np.nan)
                dense[space.indices(keys)] = values
                values, self.archs = dense, None
            else:
                keep = np.isfinite(values)
                self.archs = [k for k, ok in zip(keys, keep) if ok]
                values = values[keep]
        elif values.shape != (space.size,):
            size = space.size if space.enumerable else "one value per listed arch (give archs=)"
            raise EagleError(f"dataset {self.name!r} must hold {size} values by {space.name} index, got {values.shape}")
        self.space = space
        self.values = values
        self.values.setflags(write=False)
        check_unit(self.metric, self.unit)
        self.metadata = {
            **self.metadata,
            "name": self.name,
            "space": spaces.spec(space),
            "num_archs": int(np.isfinite(values).sum()),
        }
        if self.archs is None:
            self.metadata.setdefault("sha256", values_sha256(values))
        else:
            self.metadata.setdefault("sha256", keys_sha256(self.archs, values))

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
        """Arch indices that have a value, ascending (enumerable spaces)."""
        self.space._need_enumerable(f"dataset {self.name!r} by index")
        return np.nonzero(np.isfinite(self.values))[0]

    def by_index(self, unit: str | None = None) -> np.ndarray:
        """float64 array over arch indices (NaN where absent), in ``unit`` (default: the dataset's)."""
        self.space._need_enumerable(f"dataset {self.name!r} by index")
        return self.values * self._factor(unit)

    # -- one way to address archs for every space: "arch ids" --------------------------------------
    def arch_ids(self) -> np.ndarray:
        """The archs with a value: arch indices for an enumerable space, else positions in :attr:`archs`."""
        return self.present() if self.archs is None else np.arange(len(self.archs))

    def values_by_id(self, unit: str | None = None) -> np.ndarray:
        """Values indexable by :meth:`arch_ids` (dense by index, or aligned with :attr:`archs`)."""
        return self.values * self._factor(unit)

    def archs_for(self, ids: np.ndarray) -> Archs:
        """What predictors take for these arch ids: the indices themselves (enumerable) or the keys."""
        ids = np.asarray(ids, dtype=np.int64)
        return ids if self.archs is None else [self.archs[int(i)] for i in ids]

    def ids_of(self, archs: Archs) -> np.ndarray:
        """Arch ids of ``archs`` (keys or indices) that this dataset holds, in the given order."""
        if self.archs is None:
            idx = self.space.indices(archs)
            return idx[np.isfinite(self.values[idx])]
        pos = {k: i for i, k in enumerate(self.archs)}
        return np.array([pos[k] for k in self.space.keys(archs) if k in pos], dtype=np.int64)

    def items(self, unit: str | None = None) -> tuple[list[str], np.ndarray]:
        """(arch keys, values in ``unit``) of every arch with a value: works for every space."""
        if self.archs is not None:
            return list(self.archs), self.values * self._factor(unit)
        idx = self.present()
        return [self.space.arch_at(int(i)) for i in idx], self.values[idx] * self._factor(unit)

    def values_for(self, archs: Archs, unit: str | None = None) -> np.ndarray:
        """Values of ``archs`` (keys, or indices of an enumerable space), NaN where absent."""
        if self.archs is None:
            return self.by_index(unit)[self.space.indices(archs)]
        pos = {k: i for i, k in enumerate(self.archs)}
        vals = self.values * self._factor(unit)
        return np.array([vals[pos[k]] if k in pos else np.nan for k in self.space.keys(archs)])

    def _factor(self, unit: str | None) -> float:
        if unit is None or unit == self.unit:
            return 1.0
        check_unit(self.metric, unit)
        table = UNITS[self.metric]
        return table[self.unit] / table[unit]

    def to_seed_dict(self) -> dict[tuple[int, ...], float]:
        """The seed's format ``{arch_vector: value}`` (NB201 only); latency in seconds, only archs with a value."""
        if self.space.name != "nasbench201":
            raise UsageError(
                f"the seed's pickle format holds NB201 archs; {self.name!r} is a {self.space.name} dataset"
            )
        from eagle.spaces.nasbench201.arch import all_vectors

        factor = self._factor("s") if self.metric == "latency" else 1.0
        vectors = all_vectors()
        out: dict[tuple[int, ...], float] = {}
        for idx in self.present():
            value = float(self.values[idx])
            out[vectors[idx]] = value * factor if factor != 1.0 else value
        return out

    def to_pandas(self):  # noqa: ANN201 - pandas is imported lazily
        """DataFrame of present archs: NB201 ``nb201_index, arch_str, arch_vector, <metric>_<unit>``;
        other spaces ``arch, <metric>_<unit>``."""
        import pandas as pd

        if self.space.name != "nasbench201":
            keys, vals = self.items()
            return pd.DataFrame({"arch": keys, self.value_column: vals})
        from eagle.spaces.nasbench201.arch import all_vectors, format_arch_str

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
