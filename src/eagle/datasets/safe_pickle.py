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


#: Bounds on what a data pickle may expand to: elements counted as a tree (a shared reference
#: counts every time it is reached, as a consumer walking the data would), nesting depth, and
#: items on the unpickler's stack. Real files are far inside them (the seed's raw results: ~2M
#: elements, depth 5); a "billion laughs" or a 200,000-deep nest is refused before it is built.
MAX_ELEMENTS = 5_000_000
MAX_DEPTH = 64
MAX_STACK = 1_000_000

# Opcodes that add items to the container below them on the stack (the container is not new).
_IN_PLACE = frozenset({"APPEND", "APPENDS", "SETITEM", "SETITEMS", "ADDITEMS", "BUILD"})


def check_shape(data: bytes, source: str) -> None:
    """Simulate the pickle's stack on its opcodes (nothing is built or called) and refuse one
    whose data would exceed :data:`MAX_ELEMENTS`, :data:`MAX_DEPTH` or :data:`MAX_STACK`."""
    import pickletools

    # Each stack item is a mutable [elements, depth] shared with the memo, so that items added
    # to a container after it was memoized count wherever it is referenced again.
    stack: list[list[int]] = []
    marks: list[int] = []
    memo: dict[int, list[int]] = {}
    try:
        for op, arg, _pos in pickletools.genops(data):
            name = op.name
            if name == "MARK":
                marks.append(len(stack))
            elif name in ("PUT", "BINPUT", "LONG_BINPUT", "MEMOIZE"):
                memo[len(memo) if name == "MEMOIZE" else int(arg)] = stack[-1]  # type: ignore[arg-type]
            elif name in ("GET", "BINGET", "LONG_BINGET"):
                stack.append(memo[int(arg)])  # type: ignore[arg-type]
            elif name in ("PROTO", "FRAME", "STOP"):
                pass
            elif name == "POP_MARK":
                del stack[marks.pop() :]
            else:
                items: list[list[int]] = []
                before = op.stack_before
                if pickletools.markobject in before:
                    start = marks.pop()
                    items = stack[start:]
                    del stack[start:]
                    n_plain = before.index(pickletools.markobject)
                else:
                    n_plain = len(before)
                plain = stack[len(stack) - n_plain :] if n_plain else []
                del stack[len(stack) - n_plain :]
                if not op.stack_after:
                    continue
                if name in _IN_PLACE:
                    item, children = plain[0], plain[1:] + items
                    item[0] += sum(c[0] for c in children)
                    item[1] = max([item[1], *(c[1] + 1 for c in children)])
                else:
                    children = plain + items
                    item = [1 + sum(c[0] for c in children), max((c[1] + 1 for c in children), default=0)]
                if item[0] > MAX_ELEMENTS:
                    raise UnsafePickleError(
                        f"refused to load {source}: it expands to over {MAX_ELEMENTS} elements (shared "
                        "references counted each time they are reached); a data file is never that large"
                    )
                if item[1] > MAX_DEPTH:
                    raise UnsafePickleError(
                        f"refused to load {source}: values nested over {MAX_DEPTH} deep; a data file is flatter"
                    )
                stack.extend([item] * len(op.stack_after))
            if len(stack) > MAX_STACK:
                raise UnsafePickleError(f"refused to load {source}: over {MAX_STACK} values pending on its stack")
    except (ValueError, KeyError, IndexError) as exc:
        raise EagleError(f"{source} is not a readable pickle ({type(exc).__name__}: {exc})") from None


def safe_loads(data: bytes, source: str = "<bytes>") -> Any:
    """Unpickle ``data`` with the restricted unpickler, after :func:`check_shape`."""
    if not data:
        raise EagleError(f"{source} is empty or truncated: not a pickle")
    check_shape(data, source)
    return _load(io.BytesIO(data), source)


def safe_load(path: str | Path) -> Any:
    """Unpickle the regular file at ``path`` (bounded in size and shape) with the restricted unpickler."""
    from eagle.fileio import MAX_DATA_BYTES, read_regular_file

    return safe_loads(read_regular_file(path, "pickle file", MAX_DATA_BYTES), str(path))


def _load(fh: BinaryIO, source: str) -> Any:
    try:
        return _RestrictedUnpickler(fh, source).load()
    except UnsafePickleError:
        raise
    except EOFError:
        raise EagleError(f"{source} is empty or truncated: not a complete pickle") from None
    except (pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError, KeyError) as exc:
        raise EagleError(f"{source} is not a readable pickle ({type(exc).__name__}: {exc})") from None
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise EagleError(f"{source} cannot be loaded ({type(exc).__name__}); it is not an Eagle data file") from None
