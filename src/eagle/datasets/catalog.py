"""Where named datasets live: bundled in the package, or imported by the user (XDG data dir).

Bundled datasets are compressed arrays (``data/*.npz``, values by NB201 index) described by
``data/catalog.json``; each load checks the stored sha256. User datasets are one ``.npz`` +
``.json`` pair per name in ``$EAGLE_DATA_DIR`` or ``$XDG_DATA_HOME/eagle/datasets``
(default ``~/.local/share/eagle/datasets``), written atomically.
"""

from __future__ import annotations

import io
import json
import os
import re
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from eagle.datasets.dataset import Dataset, keys_sha256, values_sha256
from eagle.errors import EagleError, UnknownNameError, UsageError

#: A user dataset name: letters, digits and ``._-``, optionally one ``namespace/`` in front; each
#: part starts with a letter or digit. ``lab/phone`` is stored as ``lab/phone.npz`` in the user
#: data folder and ``lab__phone`` as ``lab__phone.npz``: names and files map one to one.
_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
_NAME_RE = re.compile(rf"{_PART}(/{_PART})?")
NAME_RULE = "letters, digits, '.', '_', '-', with at most one '/' (namespace/name), each part starting alphanumeric"


def check_name(name: str) -> str:
    """``name`` if it is a valid user dataset name, else a usage error saying the rule."""
    if not isinstance(name, str) or not _NAME_RE.fullmatch(name):
        raise UsageError(f"invalid dataset name {name!r}: use {NAME_RULE}")
    return name


def user_data_dir() -> Path:
    """Folder of user-imported datasets."""
    if os.environ.get("EAGLE_DATA_DIR"):
        return Path(os.environ["EAGLE_DATA_DIR"])
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "eagle" / "datasets"


@lru_cache(maxsize=1)
def bundled_catalog() -> dict[str, dict[str, Any]]:
    """Metadata of every bundled dataset, by name, in catalogue order."""
    text = resources.files("eagle.datasets").joinpath("data/catalog.json").read_text()
    return {entry["name"]: entry for entry in json.loads(text)}


@lru_cache(maxsize=8)
def _bundled_arrays(file: str) -> dict[str, np.ndarray]:
    raw = resources.files("eagle.datasets").joinpath(f"data/{file}").read_bytes()
    with np.load(io.BytesIO(raw), allow_pickle=False) as npz:
        return {k: npz[k] for k in npz.files}


def _user_file(name: str, suffix: str) -> Path:
    """Where the user dataset ``name`` lives: one file per name, a namespace is a subfolder."""
    return user_data_dir() / f"{check_name(name)}{suffix}"  # at most one '/': the namespace folder


def _legacy_file(name: str, suffix: str) -> Path:
    """Eagle <= 0.x stored ``ns/name`` as ``ns__name``; such files are still read (never written)."""
    return user_data_dir() / (name.replace("/", "__") + suffix)


def user_catalog() -> dict[str, dict[str, Any]]:
    """Metadata of every user dataset, by name (with its file in ``_npz``)."""
    folder = user_data_dir()
    out: dict[str, dict[str, Any]] = {}
    if not folder.is_dir():
        return out
    for meta_path in sorted([*folder.glob("*.json"), *folder.glob("*/*.json")]):
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, UnicodeDecodeError, json.JSONDecodeError):
            continue  # a foreign or damaged file is not a dataset; never fail the listing
        if not isinstance(meta, dict) or not isinstance(meta.get("name"), str) or not _NAME_RE.fullmatch(meta["name"]):
            continue
        name = meta["name"]
        if meta_path == _user_file(name, ".json"):
            out[name] = {**meta, "_npz": str(_user_file(name, ".npz"))}
        elif meta_path == _legacy_file(name, ".json") and name not in out:
            out[name] = {**meta, "_npz": str(_legacy_file(name, ".npz"))}
    return out


def names() -> list[str]:
    """Every dataset name: bundled first (catalogue order), then user datasets (sorted)."""
    return list(bundled_catalog()) + [n for n in user_catalog() if n not in bundled_catalog()]


def metadata(name: str) -> dict[str, Any]:
    return {k: v for k, v in _entry(name).items() if k != "_npz"}


def _entry(name: str) -> dict[str, Any]:
    """The catalogue entry of ``name``: bundled, or a user dataset (with its file in ``_npz``)."""
    if name in bundled_catalog():
        return dict(bundled_catalog()[name])
    user = user_catalog()
    if name in user:
        return user[name]
    raise UnknownNameError(
        f"unknown dataset {name!r}; 'eagle dataset list' shows the {len(names())} known names"
        + (f" (close: {', '.join(_close(name))})" if _close(name) else "")
    )


def _close(name: str) -> list[str]:
    import difflib

    return difflib.get_close_matches(name, names(), n=3, cutoff=0.6)


def _redo(name: str, path: Path) -> str:
    """How to recover a damaged user dataset: Eagle's own caches are recomputed once deleted."""
    if name.startswith("proxy/"):
        return f"delete {path} and its .json beside it: the zero-cost proxies are computed again"
    return "import it again"


def load(name: str) -> Dataset:
    """Load the dataset registered as ``name`` (bundled or user-imported)."""
    meta = _entry(name)
    archs: list[str] | None = None
    if "_npz" not in meta:  # bundled
        arrays = _bundled_arrays(meta["file"])
        values = arrays[meta["key"]]
        if "archs_key" in meta:  # a space too large to enumerate: arch keys beside the values
            archs = [str(a) for a in arrays[meta["archs_key"]]]
    else:
        path = Path(meta["_npz"])
        try:
            with np.load(path, allow_pickle=False) as npz:
                values = npz["values"]
                if "archs" in npz.files:
                    archs = [str(a) for a in npz["archs"]]
        except (OSError, KeyError, ValueError) as exc:
            raise EagleError(f"user dataset {name!r} is damaged ({path}: {exc}); {_redo(name, path)}") from None
        if values.dtype.kind not in "fiu" or values.ndim != 1:
            raise EagleError(
                f"user dataset {name!r} is damaged ({path}: values of type {values.dtype}, not numbers); "
                + _redo(name, path)
            )
    digest = values_sha256(values) if archs is None else keys_sha256(archs, values)
    if digest != meta.get("sha256"):
        where = f" ({meta['_npz']}); {_redo(name, Path(meta['_npz']))}" if "_npz" in meta else ""
        raise EagleError(f"dataset {name!r} does not match its recorded sha256: the stored file is damaged{where}")
    meta = {k: v for k, v in meta.items() if k not in ("file", "key", "_npz", "archs_key")}
    return Dataset(name=name, values=values, metadata=meta, archs=archs)


def save_user_dataset(dataset: Dataset, *, overwrite: bool = False) -> Path:
    """Store ``dataset`` under its name in the user data dir (atomically); returns the .npz path."""
    from eagle.fileio import atomic_write

    name = check_name(dataset.name)
    if name in bundled_catalog():
        raise UsageError(f"{name!r} is a bundled dataset; choose another name for your import")
    npz_path, meta_path = _user_file(name, ".npz"), _user_file(name, ".json")
    if (name in user_catalog() or npz_path.exists() or meta_path.exists()) and not overwrite:
        raise UsageError(f"a user dataset named {name!r} exists already; pass --force to replace it")
    folder = npz_path.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EagleError(f"cannot create the user data folder {folder}: {exc.strerror or exc}") from None
    if dataset.archs is None:
        atomic_write(npz_path, lambda fh: np.savez_compressed(fh, values=dataset.values))
    else:
        archs = np.array(dataset.archs)
        atomic_write(npz_path, lambda fh: np.savez_compressed(fh, values=dataset.values, archs=archs))
    meta = {**dataset.metadata, "name": name}
    atomic_write(meta_path, lambda fh: fh.write((json.dumps(meta, indent=1) + "\n").encode()))
    return npz_path
