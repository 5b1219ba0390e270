"""The search-space contract every Eagle space implements, and what predictors get from it.

A search space is a plug-in: the core (datasets, predictors, few-shot, measurement, search) sees
architectures only through this contract, so a new space needs no change outside its own module.

Invariants every space keeps (:func:`eagle.testing.check_space` checks them; the test suite runs
it over each registered space and the toy space in ``tests/spaces/toy.py``):

* ``parse(x)`` returns the arch's **key**: a canonical string, equal for equal inputs, that
  datasets and result stores are keyed by; ``parse(parse(x)) == parse(x)``. Anything it cannot
  read raises :class:`eagle.errors.InvalidArchError` saying what a valid arch looks like.
* ``canonical(x)`` is the key of the network that actually runs: two archs with the same
  ``canonical`` compute the same function at the same cost (NB201: the computation class;
  spaces without redundancy: ``parse``).
* Enumerable spaces (``size`` is an int) number their archs ``0..size-1``: ``index`` and
  ``arch_at`` are inverse, and integer arrays are accepted wherever archs are (the dense fast
  path). Spaces too large to enumerate have ``size = None`` and take arch strings only.
* ``encode`` and ``op_counts`` return one row per arch in input order, finite float32/float64.
* ``build_model(arch, **network)`` returns a deterministic (``seed``) PyTorch module in eval mode
  that takes a tensor of ``input_shape(**network)`` with the batch size in front.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from eagle.errors import InvalidArchError, UsageError

if TYPE_CHECKING:
    from torch import nn

#: what the core accepts as archs: keys / arch strings, or indices of an enumerable space
Archs = Sequence[object] | np.ndarray


def take_archs(archs: Archs, which: np.ndarray) -> Archs:
    """The archs at positions ``which`` (indices, or a boolean mask over ``archs``), in that order;
    an index array stays an array, anything else becomes a list."""
    which = np.asarray(which)
    if which.dtype == bool:
        which = np.flatnonzero(which)
    if isinstance(archs, np.ndarray):
        return archs[which]
    return [archs[int(i)] for i in which]


@dataclass(frozen=True)
class Encoded:
    """A batch of archs as a predictor sees them: a graph per arch plus global features.

    ``adjacency`` (n, N, N) and ``nodes`` (n, N, F) float32 describe a fixed-size graph (padded
    with empty nodes); ``globals`` (n, G) float32 are per-arch numbers (costs, one-hot choices).
    """

    adjacency: np.ndarray
    nodes: np.ndarray
    globals: np.ndarray

    def __len__(self) -> int:
        return len(self.globals)


class SearchSpace(ABC):
    """One search space; see the module docstring for the invariants."""

    #: registry name (``eagle.spaces.get(name)``)
    name: ClassVar[str]
    #: number of archs, or None when the space is too large to enumerate
    size: ClassVar[int | None] = None
    #: encodings :meth:`encode` accepts; the first is the default GCN input
    encodings: ClassVar[tuple[str, ...]] = ()
    #: names of the :meth:`op_counts` columns (what per-op cost models give a cost to)
    op_vocabulary: ClassVar[tuple[str, ...]] = ()

    # -- arch strings -------------------------------------------------------------------------
    @abstractmethod
    def parse(self, arch: object) -> str:
        """The arch's key (canonical string); :class:`InvalidArchError` when it is not one."""

    def keys(self, archs: Archs) -> list[str]:
        """:meth:`parse` of each arch (indices of an enumerable space are accepted)."""
        arr = np.asarray(archs) if isinstance(archs, np.ndarray) else None
        if arr is not None and arr.dtype.kind in "iu":
            return [self.arch_at(int(i)) for i in arr]
        return [self.parse(a) for a in archs]

    def canonical(self, arch: object) -> str:
        """Key of the network that actually runs (archs with equal ``canonical`` are the same network)."""
        return self.parse(arch)

    # -- enumeration (enumerable spaces) --------------------------------------------------------
    @property
    def enumerable(self) -> bool:
        return self.size is not None

    def _need_enumerable(self, what: str) -> int:
        if self.size is None:
            raise UsageError(f"{what} needs an enumerable search space; {self.name} is too large: use arch strings")
        return int(self.size)

    def index(self, arch: object) -> int:
        """Position of ``arch`` in the enumeration (enumerable spaces only)."""
        self._need_enumerable("an arch index")
        return self._index(self.parse(arch))

    def _index(self, key: str) -> int:
        raise NotImplementedError(f"{self.name} does not number its archs")

    def indices(self, archs: Archs) -> np.ndarray:
        """int64 positions of ``archs`` (integer sequences and arrays are range-checked, anything
        else goes through :meth:`index`)."""
        size = self._need_enumerable("arch indices")
        arr = np.asarray(archs) if isinstance(archs, np.ndarray) or len(archs) else np.zeros(0, dtype=np.int64)
        if arr.dtype.kind in "iu" and arr.ndim == 1:
            if len(arr) and (arr.min() < 0 or arr.max() >= size):
                raise InvalidArchError(f"{self.name} arch indices must be in 0..{size - 1}")
            return arr.astype(np.int64)
        out = []
        for a in archs:
            if isinstance(a, int | np.integer) and not isinstance(a, bool):
                if not 0 <= int(a) < size:
                    raise InvalidArchError(f"{self.name} arch index {int(a)} is outside 0..{size - 1}")
                out.append(int(a))
            else:
                out.append(self.index(a))
        return np.asarray(out, dtype=np.int64)

    def arch_at(self, index: int) -> str:
        """The key of the arch at ``index`` (enumerable spaces only)."""
        size = self._need_enumerable("arch_at")
        if isinstance(index, bool) or not 0 <= int(index) < size:
            raise InvalidArchError(f"{self.name} arch index {index!r} is outside 0..{size - 1}")
        return self._arch_at(int(index))

    def _arch_at(self, index: int) -> str:
        raise NotImplementedError(f"{self.name} does not number its archs")

    def enumerate(self) -> list[str]:
        """Every arch's key in index order (enumerable spaces only)."""
        size = self._need_enumerable("enumerate()")
        return [self._arch_at(i) for i in range(size)]

    def valid_mask(self) -> np.ndarray:
        """bool per index: archs that compute something (all of them unless the space says otherwise)."""
        return np.ones(self._need_enumerable("valid_mask()"), dtype=bool)

    @abstractmethod
    def sample(self, n: int, rng: np.random.Generator) -> list[str]:
        """``n`` distinct valid archs drawn uniformly at random (keys)."""

    def mutate(self, arch: object, rng: np.random.Generator) -> str:
        """A neighbour of ``arch``: one choice changed at random (regularised evolution's mutation)."""
        raise UsageError(f"{self.name} does not define a mutation: evolution cannot search it")

    # -- networks -------------------------------------------------------------------------------
    @abstractmethod
    def build_model(self, arch: object, *, seed: int = 0, **network: object) -> nn.Module:
        """The PyTorch network of ``arch`` in eval mode; ``network`` is the space's build config."""

    def reference_archs(self) -> list[str]:
        """Three fixed archs that every interleaved measurement batch also times, as the clock
        its latencies are put on (:mod:`eagle.measurement.clock`): networks like the space's own, so
        they feel a machine's slowdowns as its archs do. By default three seeded samples."""
        return self.keys(self.sample(3, np.random.default_rng(20261207)))

    def graph_features(self, archs: Archs) -> np.ndarray:
        """Cheap features of each arch's graph for accuracy predictors (NAS): by default the per-op
        counts of :meth:`op_counts`; a space with a richer graph says more (NB201: path features)."""
        return np.asarray(self.op_counts(archs), dtype=np.float64)

    def proxy_network(self, arch: object, *, seed: int = 0) -> nn.Module:
        """The untrained network zero-cost proxies look at (:mod:`eagle.zerocost`): by default
        :meth:`build_model`; a space overrides it when its measurement build differs from the
        network as trained (NB201: the pruned cell, without activation calibration)."""
        return self.build_model(arch, seed=seed)

    @abstractmethod
    def input_shape(self, arch: object | None = None, **network: object) -> tuple[int, ...]:
        """Input shape without the batch dimension (e.g. ``(3, 32, 32)``)."""

    def network_defaults(self) -> dict[str, object]:
        """The build config's keys and defaults (what ``build_model`` takes besides ``seed``)."""
        return {}

    def network_config(self, overrides: dict[str, object] | None = None) -> dict[str, object]:
        """:meth:`network_defaults` updated with ``overrides``; unknown keys are refused."""
        defaults = self.network_defaults()
        unknown = sorted(set(overrides or {}) - set(defaults))
        if unknown:
            valid = ", ".join(defaults) or "none"
            raise UsageError(f"{self.name} networks have no setting {', '.join(unknown)}; valid: {valid}")
        return {**defaults, **(overrides or {})}

    def build_for_measurement(self, arch: object, network: dict[str, object], *, seed: int = 0) -> nn.Module:
        """The network a measurement times (default: :meth:`build_model`)."""
        return self.build_model(arch, seed=seed, **network)

    @abstractmethod
    def costs(self, archs: Archs) -> np.ndarray:
        """(n, 2) float64: MACs and parameters of each arch's network at the default build config."""

    # -- what predictors use -----------------------------------------------------------------------
    @abstractmethod
    def encode(self, archs: Archs, encoding: str | None = None) -> Encoded:
        """The archs as graphs plus global features (``encoding`` one of :attr:`encodings`)."""

    @abstractmethod
    def op_counts(self, archs: Archs) -> np.ndarray:
        """(n, len(op_vocabulary)) float64: how often each op of the vocabulary runs in each arch."""

    def features(self, archs: Archs) -> np.ndarray:
        """(n, d) float64 flat features for linear and tree models: the op counts by default."""
        return self.op_counts(archs)

    def describe(self, arch: object) -> dict[str, object]:
        """Facts about one arch for ``eagle arch``."""
        macs, params = self.costs([self.parse(arch)])[0]
        return {
            "space": self.name,
            "arch": self.parse(arch),
            "canonical": self.canonical(arch),
            "macs": int(macs),
            "params": int(params),
        }

    def check_encoding(self, encoding: str | None) -> str:
        enc = encoding or self.encodings[0]
        if enc not in self.encodings:
            raise UsageError(f"{self.name} has no encoding {enc!r}; valid: {', '.join(self.encodings)}")
        return enc


def distinct_sample(n: int, size: int, rng: np.random.Generator, valid: np.ndarray | None = None) -> np.ndarray:
    """``n`` distinct indices of ``0..size-1`` (valid ones only when ``valid`` is given)."""
    pool = np.flatnonzero(valid) if valid is not None else np.arange(size)
    if not 1 <= n <= len(pool):
        raise UsageError(f"cannot draw {n} distinct archs: choose between 1 and {len(pool)}")
    return np.sort(rng.choice(pool, size=n, replace=False))
