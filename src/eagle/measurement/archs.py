"""Which architectures a measurement covers: ``all``, ``valid``, ``N`` random valid, or a FILE.

Archs are indices of an enumerable search space (NB201 by default)."""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple, TypeVar

from eagle import spaces
from eagle.errors import EagleError, InvalidArchError, UsageError
from eagle.spaces.base import SearchSpace

T = TypeVar("T")


def select_archs(spec: str, seed: int = 0, space: str | SearchSpace | None = None) -> list[int]:
    """Arch indices for ``spec`` (sorted for all/valid/N; file order for a FILE).

    ``N`` means N valid archs drawn at random with ``seed`` (same seed, same archs). A FILE holds
    one arch per line (any form the space parses: NB201 arch_str, index or vector); a CSV with an
    ``arch``, ``nb201_index`` or ``arch_str`` column also works. Blank lines and ``#`` comments
    are ignored.
    """
    space = spaces.resolve(space)
    size = space._need_enumerable("arch indices")
    spec = str(spec).strip()
    if spec == "all":
        return list(range(size))
    if spec == "valid":
        return [i for i, ok in enumerate(space.valid_mask()) if ok]
    if spec.isascii() and spec.isdigit():
        n = int(spec)
        valid = [i for i, ok in enumerate(space.valid_mask()) if ok]
        if not 1 <= n <= len(valid):
            raise UsageError(f"--archs {n}: choose between 1 and {len(valid)} random valid archs")
        return sorted(random.Random(seed).sample(valid, n))
    path = Path(spec)
    if not spec or not path.exists():
        raise UsageError(f"--archs {spec!r}: expected all, valid, a number, or an existing file of archs")
    return _read_arch_file(path, space)


def _read_arch_file(path: Path, space: SearchSpace) -> list[int]:
    return _unique_archs(path, space.index)


def _unique_archs(path: Path, parse: Callable[[str], T]) -> list[T]:
    """Each arch of a file of archs (:func:`read_arch_table`), parsed, in file order, without repeats;
    a row that does not parse stops with its line number."""
    table = read_arch_table(path)
    out: dict[T, None] = {}
    for line, item in zip(table.lines, table.archs):
        text = item.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            out.setdefault(parse(text), None)
        except InvalidArchError as exc:
            raise EagleError(f"{path}: line {line}: {exc}") from None
    if not out:
        raise EagleError(f"{path} lists no architectures")
    return list(out)


class ArchTable(NamedTuple):
    """A file of archs as :func:`read_arch_table` reads it: every column kept."""

    column: str  # the arch column's name ("" for a plain file)
    header: list[str]  # the CSV's columns (a plain file: ``[""]``)
    rows: list[list[str]]
    lines: list[int]  # each row's line number in the file

    @property
    def archs(self) -> list[str]:
        """The arch text of every row, in order."""
        at = self.header.index(self.column) if self.column else 0
        return [row[at] for row in self.rows]


def read_arch_table(path: Path) -> ArchTable:
    """A CSV with an ``arch`` (or ``arch_str``, ``nb201_index``) column, or a plain file with one arch
    per line (blank lines and ``#`` comments skipped): every row in order, duplicates too, every
    column kept, with each row's line number."""
    from eagle.fileio import read_text_file

    text = read_text_file(path, "file of archs")
    lines = text.splitlines()
    header = lines[0].split(",") if lines else []
    column = next((c for c in ("arch", "arch_str", "nb201_index") if c in header), None)
    if column is None:
        plain = [(n, line.split("#", 1)[0].strip()) for n, line in enumerate(lines, start=1)]
        return ArchTable("", [""], [[r] for _, r in plain if r], [n for n, r in plain if r])
    import csv
    import io

    try:
        reader = csv.reader(io.StringIO(text, newline=""))
        header = next(reader)
        width = len(header)
        rows: list[list[str]] = []
        numbers: list[int] = []
        for row in reader:
            if row:
                rows.append((row + [""] * width)[:width])
                numbers.append(reader.line_num)
        return ArchTable(column, header, rows, numbers)
    except csv.Error as exc:
        raise EagleError(f"{path} is not a readable CSV file: {exc}") from None


def select_keys(spec: str, seed: int, space: SearchSpace) -> list[str]:
    """Arch keys for ``spec`` in a space too large to enumerate: ``N`` distinct random archs (by
    ``seed``), one arch, or a FILE of archs (a CSV ``arch`` column, or one per line), in file order, without
    repeats."""
    spec = str(spec).strip()
    if spec.isascii() and spec.isdigit():
        n = int(spec)
        if not 1 <= n <= 1_000_000:
            raise UsageError(f"--archs {n}: choose between 1 and 1000000 random archs")
        import numpy as np

        return space.sample(n, np.random.default_rng(seed))
    try:
        return [space.parse(spec)]  # one arch (an arch string, a model spec, an ONNX file's path)
    except InvalidArchError:
        pass
    path = Path(spec)
    if not spec or not path.is_file():
        raise UsageError(
            f"--archs {spec!r}: {space.name} is too large for all/valid; give a number, an arch or a file of archs"
        )
    return _unique_archs(path, space.parse)
