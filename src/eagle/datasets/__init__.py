"""Named latency and accuracy datasets, each of one search space (``metadata["space"]``).

``eagle.datasets.load(name)`` returns a :class:`Dataset` (``.items()``, ``.values_for()``,
``.by_index()`` and ``.to_seed_dict()`` for NB201, ``.to_pandas()``, ``.metadata``). Bundled: the
seed's Eagle dataset (12 devices, upstream names), HELP's 13 NB201 devices (``help/<device>``),
NB201 validation accuracies and parameter counts (``nasbench201/...``), HELP's FBNet and OFA files
(``help-fbnet/<device>``, ``help-ofa/<device>``) and Eagle's own measurements (``eagle-cpu/...``).
Users add their own with :func:`import_file` / ``eagle dataset import``.
"""

from __future__ import annotations

from eagle.datasets.catalog import load, metadata, names, save_user_dataset, user_data_dir
from eagle.datasets.dataset import UNITS, Dataset
from eagle.datasets.importer import import_file, load_measurement

__all__ = [
    "UNITS",
    "Dataset",
    "import_file",
    "load",
    "load_measurement",
    "metadata",
    "names",
    "save_user_dataset",
    "user_data_dir",
]
