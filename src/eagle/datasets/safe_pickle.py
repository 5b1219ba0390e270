"""Loading pickles without executing them.

A pickle can run arbitrary code on load. Eagle's data files only ever need plain containers and
numbers (and numpy scalars/arrays), so :func:`safe_load` uses an unpickler whose ``find_class``
admits exactly those and refuses everything else before anything is called.
"""

from __future__ import annotations

import io
import pickle
from pathlib import Path
from typing import Any, BinaryIO

from eagle.errors import EagleError


class UnsafePickleError(EagleError):
    """The pickle asked for something a data file never needs (it may be malicious)."""


_ALLOWED: frozenset[tuple[str, str]] = frozenset(
    {
        ("builtins", "set"),
        ("builtins", "frozenset"),
        ("builtins", "complex"),
        ("__builtin__", "set"),  # protocol 0-2 pickles name the builtins module this way
        ("__builtin__", "frozenset"),
        ("__builtin__", "complex"),
        ("collections", "OrderedDict"),
        ("_codecs", "encode"),  # numpy arrays pickled with protocol 2 carry their bytes this way
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.numeric", "_frombuffer"),  # protocol-5 arrays
        ("numpy._core.numeric", "_frombuffer"),
    }
)


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, fh: BinaryIO, source: str) -> None:
        super().__init__(fh)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise UnsafePickleError(
            f"refused to load {self._source}: it asks to import {module}.{name}, which a data file never "
            "needs (only containers, numbers, strings and numpy arrays are allowed). The file may be "
            "malicious; nothing in it was executed."
        )


def safe_loads(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` with the restricted unpickler."""
    return _load(io.BytesIO(data), source)


def safe_load(path: str | Path) -> Any:
    """Unpickle the file at ``path`` with the restricted unpickler."""
    path = Path(path)
    try:
        with path.open("rb") as fh:
            return _load(fh, str(path))
    except FileNotFoundError:
        raise EagleError(f"file not found: {path}") from None
    except IsADirectoryError:
        raise EagleError(f"{path} is a folder, not a pickle file") from None


def _load(fh: BinaryIO, source: str) -> Any:
    try:
        return _RestrictedUnpickler(fh, source).load()
    except UnsafePickleError:
        raise
    except EOFError:
        raise EagleError(f"{source} is empty or truncated: not a complete pickle") from None
    except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise EagleError(f"{source} is not a readable pickle ({type(exc).__name__}: {exc})") from None
