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

from eagle.datasets.dataset import Dataset, values_sha256
from eagle.errors import EagleError, UnknownNameError

_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]*(/[A-Za-z0-9][A-Za-z0-9._+-]*)?$")


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
    return user_data_dir() / (name.replace("/", "__") + suffix)


def user_catalog() -> dict[str, dict[str, Any]]:
    """Metadata of every user dataset, by name."""
    folder = user_data_dir()
    out = {}
    if folder.is_dir():
        for meta_path in sorted(folder.glob("*.json")):
            try:
                meta = json.loads(meta_path.read_text())
            except (OSError, json.JSONDecodeError):
                continue  # a foreign or damaged file is not a dataset; never fail the listing
            if isinstance(meta, dict) and "name" in meta:
                out[meta["name"]] = meta
    return out


def names() -> list[str]:
    """Every dataset name: bundled first (catalogue order), then user datasets (sorted)."""
    return list(bundled_catalog()) + [n for n in user_catalog() if n not in bundled_catalog()]


def metadata(name: str) -> dict[str, Any]:
    if name in bundled_catalog():
        return dict(bundled_catalog()[name])
    user = user_catalog()
    if name in user:
        return dict(user[name])
    raise UnknownNameError(
        f"unknown dataset {name!r}; 'eagle dataset list' shows the {len(names())} known names"
        + (f" (close: {', '.join(_close(name))})" if _close(name) else "")
    )


def _close(name: str) -> list[str]:
    import difflib

    return difflib.get_close_matches(name, names(), n=3, cutoff=0.6)


def load(name: str) -> Dataset:
    """Load the dataset registered as ``name`` (bundled or user-imported)."""
    meta = metadata(name)
    if name in bundled_catalog():
        values = _bundled_arrays(meta["file"])[meta["key"]]
    else:
        path = _user_file(name, ".npz")
        try:
            with np.load(path, allow_pickle=False) as npz:
                values = npz["values"]
        except (OSError, KeyError, ValueError) as exc:
            raise EagleError(f"user dataset {name!r} is damaged ({path}: {exc}); import it again") from None
    if values_sha256(values) != meta.get("sha256"):
        raise EagleError(f"dataset {name!r} does not match its recorded sha256: the stored file is damaged")
    meta = {k: v for k, v in meta.items() if k not in ("file", "key")}
    return Dataset(name=name, values=values, metadata=meta)


def save_user_dataset(dataset: Dataset, *, overwrite: bool = False) -> Path:
    """Store ``dataset`` under its name in the user data dir (atomically); returns the .npz path."""
    from eagle.fileio import atomic_write

    name = dataset.name
    if not _NAME_RE.match(name):
        raise EagleError(f"invalid dataset name {name!r}: use letters, digits, '.', '_', '-', '+' and at most one '/'")
    if name in bundled_catalog():
        raise EagleError(f"{name!r} is a bundled dataset; choose another name for your import")
    if name in user_catalog() and not overwrite:
        raise EagleError(f"a user dataset named {name!r} exists already; pass --force to replace it")
    folder = user_data_dir()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise EagleError(f"cannot create the user data folder {folder}: {exc.strerror or exc}") from None
    npz_path, meta_path = _user_file(name, ".npz"), _user_file(name, ".json")
    atomic_write(npz_path, lambda fh: np.savez_compressed(fh, values=dataset.values))
    meta = {**dataset.metadata, "name": name}
    atomic_write(meta_path, lambda fh: fh.write((json.dumps(meta, indent=1) + "\n").encode()))
    return npz_path
