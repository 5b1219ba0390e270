"""Which architectures a measurement covers: ``all``, ``valid``, ``N`` random valid, or a FILE."""

from __future__ import annotations

import random
from pathlib import Path

from eagle.errors import EagleError, InvalidArchError, UsageError
from eagle.spaces.nasbench201.space import NASBench201


def select_archs(spec: str, seed: int = 0) -> list[int]:
    """NB201 indices for ``spec`` (sorted for all/valid/N; file order for a FILE).

    ``N`` means N valid archs drawn at random with ``seed`` (same seed, same archs). A FILE holds
    one arch per line (arch_str, NB201 index or vector); a CSV with an ``nb201_index`` or
    ``arch_str`` column also works. Blank lines and ``#`` comments are ignored.
    """
    space = NASBench201()
    spec = str(spec).strip()
    if spec == "all":
        return list(range(space.num_archs))
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


def _read_arch_file(path: Path, space: NASBench201) -> list[int]:
    from eagle.fileio import read_text_file

    text = read_text_file(path, "file of archs")
    lines = text.splitlines()
    header = lines[0].split(",") if lines else []
    column = next((c for c in ("nb201_index", "arch_str") if c in header), None)
    if column is not None:
        import csv
        import io

        try:
            items = [row[column] or "" for row in csv.DictReader(io.StringIO(text, newline=""))]
        except csv.Error as exc:
            raise EagleError(f"{path} is not a readable CSV file: {exc}") from None
        start = 2
    else:
        items, start = lines, 1
    out: list[int] = []
    seen: set[int] = set()
    for n, item in enumerate(items, start=start):
        text = item.split("#", 1)[0].strip()
        if not text:
            continue
        try:
            idx = space.index(text)
        except InvalidArchError as exc:
            raise EagleError(f"{path}: line {n}: {exc}") from None
        if idx not in seen:
            seen.add(idx)
            out.append(idx)
    if not out:
        raise EagleError(f"{path} lists no architectures")
    return out
