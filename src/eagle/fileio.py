"""Writing output files safely: a failed or interrupted write never leaves a half file."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO

from eagle.errors import EagleError


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> None:
    """Write ``path`` through a temporary file in the same folder, then rename it into place."""
    path = Path(path)
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise EagleError(f"cannot write {path}: folder {folder} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, path)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise EagleError(f"cannot write {path}: {exc.strerror or exc}; nothing was written") from exc
        raise


def atomic_write_text(path: Path, write: Callable[[IO[str]], None]) -> None:
    """Text-mode :func:`atomic_write` (UTF-8)."""
    import io

    def wrapped(raw: IO[bytes]) -> None:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        write(text)
        text.flush()
        text.detach()

    atomic_write(path, wrapped)


def read_yaml_mapping(path: Path, what: str) -> dict:
    """A YAML file that must hold a mapping; clear errors for a missing or malformed file."""
    import yaml

    try:
        data = yaml.safe_load(Path(path).read_text())
    except FileNotFoundError:
        raise EagleError(f"config file not found: {path}") from None
    except yaml.YAMLError as exc:
        raise EagleError(f"{path} is not valid YAML: {exc}") from None
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise EagleError(f"{path}: expected a mapping with {what}")
    return data
