"""Writing output files safely: a failed or interrupted write never leaves a half file."""

from __future__ import annotations

import os
import stat
import tempfile
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

from eagle.errors import EagleError, UsageError

STDOUT = "-"


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name the same file (through links; by path where either is missing)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
    except OSError:
        return False
    return os.path.realpath(a) == os.path.realpath(b)


def refuse_overwriting(path: Path, inputs: tuple[Path, ...] | list[Path]) -> None:
    """A library output is never written onto one of its inputs (the command line's rule too)."""
    for source in inputs:
        if same_file(path, source):
            raise UsageError(
                f"{path} is an input of this result ({source}); write it somewhere else (nothing was written)"
            )


def describe_os_error(exc: OSError, what: str = "") -> str:
    """One line for an OSError; a full disk says "disk full" whatever the errno's wording."""
    import errno

    where = what or (str(exc.filename) if getattr(exc, "filename", None) else "")
    where = f" ({where})" if where else ""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"disk full{where}: free some space and run the command again; nothing was half-written"
    return f"{exc.strerror or exc}{where}"


def ensure_folder(path: Path, option: str) -> Path:
    """Create the folder ``path`` (and parents); one clear error naming ``option`` when it cannot be."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create the folder {path} ({option}): {describe_os_error(exc)}") from None
    return Path(path)


def output_kind(path: Path) -> str:
    """How :func:`atomic_write` writes ``path``: "stdout", "stream" (FIFO, character device,
    socket: written in place), "file" (a regular file or a new name: temp file + rename; through
    a symlink, beside its target). A folder is refused."""
    if str(path) == STDOUT:
        return "stdout"
    try:
        st = os.stat(path)  # follows symlinks: what the path points to is what gets written
    except FileNotFoundError:
        return "file"
    except OSError as exc:
        raise EagleError(f"cannot write {path}: {describe_os_error(exc)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise UsageError(f"cannot write {path}: it is a folder; give a file name (e.g. {Path(path) / 'out'})")
    if stat.S_ISREG(st.st_mode):
        return "file"
    return "stream"


def _open_stream(path: Path) -> IO[bytes]:
    """Open a FIFO, device or socket for writing without blocking: a FIFO nobody reads is an
    error at once (it would hang the command), not a wait."""
    import errno
    import fcntl

    try:
        fd = os.open(path, os.O_WRONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        if exc.errno == errno.ENXIO:
            raise EagleError(f"cannot write {path}: it is a FIFO that nobody reads; start its reader first") from None
        raise
    flags = fcntl.fcntl(fd, fcntl.F_GETFL)
    fcntl.fcntl(fd, fcntl.F_SETFL, flags & ~getattr(os, "O_NONBLOCK", 0))  # then write as usual, waiting for it
    return os.fdopen(fd, "wb")


def atomic_write(path: Path, write: Callable[[IO[bytes]], object]) -> None:
    """Write ``path`` so that a failed or interrupted write never leaves a half file.

    A regular file (or a new name) is written through a temporary file in the same folder, then
    renamed into place; a symlink is followed and its target replaced that way, so the link stays
    a link. ``-`` is standard output; a FIFO, character device (``/dev/null``, a terminal) or
    socket is written in place, never replaced. A folder is refused.
    """
    path = Path(path)
    kind = output_kind(path)
    if kind != "file":
        try:
            if kind == "stdout":
                with os.fdopen(os.dup(1), "wb") as fh:  # the real stdout, whatever sys.stdout is now
                    write(fh)
            else:
                with _open_stream(path) as fh:
                    write(fh)
        except BrokenPipeError:
            raise  # the reader went away (e.g. '| head'): the command line ends quietly
        except OSError as exc:
            raise EagleError(f"cannot write {path}: {describe_os_error(exc)}") from None
        return
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    folder = target.parent if str(target.parent) else Path(".")
    if not folder.is_dir():
        raise UsageError(f"cannot write {path}: folder {folder} does not exist")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise EagleError(f"cannot write {path}: {describe_os_error(exc, str(folder))}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600 files; give the usual permissions
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError):
            raise EagleError(f"cannot write {path}: {describe_os_error(exc)}; nothing was written") from exc
        raise


def atomic_write_text(path: Path, write: Callable[[IO[str]], object]) -> None:
    """Text-mode :func:`atomic_write` (UTF-8)."""
    import io

    def wrapped(raw: IO[bytes]) -> None:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        write(text)
        text.flush()
        text.detach()

    atomic_write(path, wrapped)


def write_json(path: Path, data: Any) -> None:
    """``data`` as indented JSON, written through :func:`atomic_write_text`."""
    import json

    text = json.dumps(data, indent=1)
    atomic_write_text(path, lambda fh: fh.write(text))


def read_yaml_mapping(path: Path, what: str) -> dict:
    """A YAML config file that must hold a mapping: bounded in size, no aliases, UTF-8."""
    data = load_yaml_text(read_text_file(path, "YAML config", MAX_CONFIG_BYTES), str(path))
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise UsageError(f"{path}: expected a mapping with {what}, found a {type(data).__name__}")
    return data


def load_yaml_text(text: str, source: str) -> Any:
    """``yaml.safe_load`` without anchors/aliases (a config never needs them; they make YAML bombs)."""
    import yaml

    class _NoAliasLoader(yaml.SafeLoader):
        def compose_node(self, parent: Any, index: Any) -> Any:
            if self.check_event(yaml.AliasEvent):
                event = self.peek_event()
                raise UsageError(
                    f"{source}: line {event.start_mark.line + 1}: YAML aliases (*{event.anchor}) are not "
                    "accepted in Eagle configs; write the value out"
                )
            return super().compose_node(parent, index)

    try:
        return yaml.load(text, Loader=_NoAliasLoader)
    except yaml.YAMLError as exc:
        raise UsageError(f"{source} is not valid YAML: {' '.join(str(exc).split())}") from None
    except RecursionError:
        raise UsageError(f"{source}: YAML nested too deeply") from None


#: Upper bounds on what Eagle reads as one input file (each far above any real file of that kind).
MAX_TEXT_BYTES = 256 << 20  # CSV, arch lists
MAX_CONFIG_BYTES = 1 << 20  # YAML configs
MAX_DATA_BYTES = 1 << 30  # pickles, checkpoints


def read_regular_file(path: str | Path, what: str = "file", max_bytes: int = MAX_TEXT_BYTES) -> bytes:
    """The bytes of ``path``, which must be a regular file of at most ``max_bytes``.

    A FIFO, device (``/dev/zero``), socket or folder is refused at once (opened without
    blocking, so a FIFO with no writer cannot hang the command), as is a file over the limit.
    """
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise UsageError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"{path} is a folder, not a {what}") from None
    except OSError as exc:
        raise EagleError(f"cannot read {path}: {describe_os_error(exc)}") from None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(f"{path} is a folder, not a {what}")
        raise UsageError(f"{path} is not a regular file (a device, FIFO or socket); give a {what} on disk")
    with os.fdopen(fd, "rb") as fh:
        if st.st_size > max_bytes:
            raise EagleError(f"{path} is {st.st_size} bytes; a {what} is at most {max_bytes} bytes")
        try:
            data = fh.read(max_bytes + 1)
        except OSError as exc:
            raise EagleError(f"cannot read {path}: {describe_os_error(exc)}") from None
    if len(data) > max_bytes:
        raise EagleError(f"{path} grew past {max_bytes} bytes while being read; a {what} is at most that")
    return data


def read_text_file(path: str | Path, what: str = "text file", max_bytes: int = MAX_TEXT_BYTES) -> str:
    """A UTF-8 regular file as text (a BOM is dropped); a binary file is refused with a clear error."""
    data = read_regular_file(path, what, max_bytes)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise EagleError(
            f"{path} is not UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r}); a {what} is UTF-8 text"
        ) from None
    if "\0" in text:
        raise EagleError(f"{path} holds NUL bytes: it is a binary file, not a {what}")
    return text


def load_torch_file(path: str | Path, what: str) -> Any:
    """The object in a ``torch.save`` file, read with ``torch.load(weights_only=True)`` (never runs
    code); anything unreadable is an :class:`EagleError` naming ``what`` it should have been."""
    import io
    import pickle

    import torch

    raw = read_regular_file(path, what, MAX_DATA_BYTES)
    _check_torch_archive(raw, path, what)
    try:
        with warnings.catch_warnings():  # torch's notes on pickle protocols: the error below says enough
            warnings.simplefilter("ignore", UserWarning)
            return torch.load(io.BytesIO(raw), weights_only=True, map_location="cpu")
    except (pickle.UnpicklingError, RuntimeError, EOFError, ValueError, TypeError, AttributeError, KeyError) as exc:
        raise EagleError(f"{path} is not a loadable {what} ({_torch_load_reason(exc)})") from None
    except (RecursionError, MemoryError, OverflowError) as exc:
        raise EagleError(f"{path} is not a loadable {what} ({type(exc).__name__})") from None


def _check_torch_archive(raw: bytes, path: str | Path, what: str) -> None:
    """Refuse a ``torch.save`` file before torch reads it when it would expand past
    :data:`MAX_DATA_BYTES` (a small archive whose entries claim gigabytes: a decompression bomb)
    or is not the zip archive every torch since 1.6 writes (the legacy format allocates whatever
    sizes its pickle declares)."""
    import io
    import zipfile

    try:
        archive = zipfile.ZipFile(io.BytesIO(raw))
        entries = archive.infolist()
    except (zipfile.BadZipFile, ValueError, OSError, EOFError):
        if raw[:2] == b"\x80\x02" or raw[:1] == b"\x80":
            raise EagleError(
                f"{path} is not a loadable {what} (written in torch's legacy format, before torch 1.6: load it "
                "with that torch and save it again)"
            ) from None
        if not raw or raw[:2] == b"PK":
            raise EagleError(f"{path} is not a loadable {what} (empty, cut short or damaged: write it again)") from None
        raise EagleError(f"{path} is not a loadable {what} (not a file torch.save wrote)") from None
    if len(entries) > 1_000_000:
        raise EagleError(f"{path} is not a loadable {what} ({len(entries)} archive entries)")
    total = sum(e.file_size for e in entries)
    if total > MAX_DATA_BYTES:
        raise EagleError(
            f"{path} is not a loadable {what}: its entries expand to {total} bytes (at most {MAX_DATA_BYTES}); "
            "refused before reading them"
        )
    packed = [e for e in entries if e.compress_type != zipfile.ZIP_STORED and e.file_size > 100 * e.compress_size]
    if packed:
        raise EagleError(
            f"{path} is not a loadable {what}: entry {packed[0].filename[:60]!r} expands {packed[0].file_size} "
            f"bytes from {packed[0].compress_size} (torch.save never compresses); refused"
        )


def _torch_load_reason(exc: Exception) -> str:
    """What was wrong, from ``torch.load``'s error, without its advice to retry with
    ``weights_only=False`` (which would run whatever code the file holds)."""
    import re

    text = str(exc)
    found = re.search(r"unsupported GLOBAL (\S+)", text)
    if found:
        return f"it asks to run or build {found.group(1)}, which a data file never needs: refused, nothing was run"
    if isinstance(exc, EOFError) or "zip archive" in text:
        return "empty, cut short or damaged: write it again"
    if "Unsupported operand" in text or "invalid load key" in text or "magic number" in text:
        return "not a file torch.save wrote"
    lines = [line.strip() for line in text.splitlines() if line.strip() and "weights_only" not in line]
    return (lines[0] if lines else type(exc).__name__)[:200]
