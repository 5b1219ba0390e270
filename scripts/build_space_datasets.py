"""Bundle HELP's FBNet and OFA-MobileNetV3 latency files (../shared/data/fbnet, ofa) as datasets
of the ``fbnet`` and ``ofa-mbv3`` spaces.

Usage: .venv/bin/python scripts/build_space_datasets.py [SHARED_DATA_DIR] [--measured STORE.sqlite ...]
    [--conditions TEXT]

Writes ``src/eagle/datasets/data/help-{fbnet,ofa}.npz`` (``archs``: the 5000 arch keys in HELP's
order, then one float64 array of milliseconds per device, aligned with ``archs``) and replaces the
``help-fbnet/*`` and ``help-ofa/*`` entries of ``catalog.json`` (other entries are kept). Every arch
string is parsed by its space, so a malformed upstream row stops the build.

``--measured STORE.sqlite``: also bundle each run of Eagle's own sweeps over these spaces as
``eagle-cpu/<space>-<runtime>-<precision>-t<threads>`` (file ``measured-spaces.npz``: the run's
measured arch keys, in the sweep's order, beside seconds), with the run's protocol, runtime,
device, time span and the median coefficient of variation of its rounds in the metadata, and
``--conditions`` (what else ran on the machine meanwhile) in its notes.
Sweeps of the ``models`` space (networks of one's own, ``eagle measure --models FILE``) are
bundled as ``eagle-cpu/<FILE stem>-<runtime>-<precision>-t<threads>`` in ``measured-anynet.npz``.
A file is rewritten only when a given store has runs for it.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
from pathlib import Path

import numpy as np

from eagle import spaces
from eagle.datasets.dataset import keys_sha256

DATA = Path(__file__).resolve().parents[1] / "src/eagle/datasets/data"
HELP_SOURCE = (
    "HELP repository (Lee et al., NeurIPS 2021); the space and pixel3 from HW-NAS-Bench (Li et al., ICLR 2021)"
)
HELP_CITATION = (
    "H. Lee, S. Lee, S. Chong, S. J. Hwang. HELP: Hardware-Adaptive Efficient Latency Prediction for NAS "
    "via Meta-Learning. NeurIPS 2021."
)
# column: (device, device_class, batch size or None)
FBNET_DEVICES = {
    "1080ti_1": ("NVIDIA GTX 1080 Ti", "desktop GPU", 1),
    "1080ti_32": ("NVIDIA GTX 1080 Ti", "desktop GPU", 32),
    "1080ti_64": ("NVIDIA GTX 1080 Ti", "desktop GPU", 64),
    "titanx_1": ("NVIDIA Titan X", "desktop GPU", 1),
    "titanx_32": ("NVIDIA Titan X", "desktop GPU", 32),
    "titanx_64": ("NVIDIA Titan X", "desktop GPU", 64),
    "silver_4114": ("Intel Xeon Silver 4114", "server CPU", None),
    "silver_4210r": ("Intel Xeon Silver 4210R", "server CPU", None),
    "gold_6240": ("Intel Xeon Gold 6240", "server CPU", None),
    "pixel3": ("Google Pixel 3", "mobile CPU", 1),
    "samsung_a50": ("Samsung Galaxy A50", "mobile CPU", 1),
    "samsung_s7": ("Samsung Galaxy S7", "mobile CPU", 1),
    "essential_ph_1": ("Essential Phone PH-1", "mobile CPU", 1),
}


# column: (device, device_class, batch size); HELP timed OFA subnets with PyTorch on these GPUs
OFA_DEVICES = {
    f"{gpu}_{batch}": (label, "desktop GPU" if gpu != "v100" else "server GPU", batch)
    for gpu, label in (("2080ti", "NVIDIA RTX 2080 Ti"), ("titan_xp", "NVIDIA Titan Xp"), ("v100", "NVIDIA V100"))
    for batch in (1, 32, 64)
}


def main(shared: Path, measured: list[Path], conditions: str) -> None:
    catalog = json.loads((DATA / "catalog.json").read_text())
    for folder, space_name, devices in (("fbnet", "fbnet", FBNET_DEVICES), ("ofa", "ofa-mbv3", OFA_DEVICES)):
        entries = build(shared, folder, space_name, devices)
        names = {e["name"] for e in entries}
        catalog = [c for c in catalog if c["name"] not in names] + entries
    if measured:
        entries = build_measured(measured, conditions)
        names = {e["name"] for e in entries}
        catalog = [c for c in catalog if c["name"] not in names] + entries
    (DATA / "catalog.json").write_text(json.dumps(catalog, indent=1) + "\n")


def build_measured(stores: list[Path], conditions: str) -> list[dict]:
    from eagle.datasets.importer import from_results_store
    from eagle.store import ResultStore

    arrays: dict[str, dict[str, np.ndarray]] = {"measured-spaces.npz": {}, "measured-anynet.npz": {}}
    entries = []
    for db in stores:
        with ResultStore(db, readonly=True) as store:
            runs = store.runs()
        for run in runs:
            with ResultStore(db, readonly=True) as store:
                rows = store.measurements(run.id)
                swept = len(store.arch_keys(run.id))
            ds = from_results_store(db, str(run.id))
            runtime = json.loads(run.row["runtime_json"])
            device = json.loads(run.row["device_json"])
            anynet = ds.space.name == "models"
            name = Path(run.row["archs_spec"]).stem if anynet else ds.space.name
            key = f"{name}-{runtime['runtime']}-{runtime['precision']}-t{runtime['threads']}"
            file = "measured-anynet.npz" if anynet else "measured-spaces.npz"
            archs, values = ds.items("s")
            ok = [r for r in rows if r["status"] == "ok"]
            cvs = [r["std_s"] / r["latency_s"] for r in ok if r["std_s"] is not None and r["latency_s"]]
            times = [r["measured_at"] for r in ok]
            span_s = max(1e-9, max(times) - min(times))
            arrays[file][f"{key}__archs"] = np.array(archs)
            arrays[file][key] = values
            order = (
                f"{len(archs)} networks of the {swept} listed in {run.row['archs_spec']} (benchmarks/anynet_models.py)"
                if anynet
                else f"{len(archs)} archs of the sweep's {swept} in HELP's order"
            )
            entries.append(
                {
                    "name": f"eagle-cpu/{key}",
                    "space": ds.space.name,
                    "device": f"{device.get('cpu_model')} ({device.get('logical_cores')} cores; worker pinned to one)",
                    "device_class": "cloud CPU",
                    "runtime": f"{runtime['runtime']} {runtime.get('version', '')}".strip(),
                    "precision": runtime["precision"],
                    "batch_size": json.loads(run.row["model_json"]).get("batch_size", 1),
                    "metric": "latency",
                    "unit": "s",
                    "source": "measured by Eagle (eagle measure)",
                    "licence": "Apache-2.0",
                    "citation": "Eagle: measure and predict neural-network latency (this repository)",
                    "notes": (
                        f"{order}; "
                        f"median CV of the rounds {statistics.median(cvs):.4f}; measured over "
                        f"{span_s / 60:.0f} min ({len(ok) / span_s:.2f} archs/s); "
                        f"protocol {run.row['protocol_json']}; runtime {run.row['runtime_json']}; "
                        f"{conditions.rstrip('.')}."
                    ),
                    "file": file,
                    "key": key,
                    "archs_key": f"{key}__archs",
                    "num_archs": len(archs),
                    "sha256": keys_sha256(archs, values),
                }
            )
            print(f"eagle-cpu/{key}: {len(archs)} archs, median CV {statistics.median(cvs):.4f}")
    for file, content in arrays.items():
        if content:
            np.savez_compressed(DATA / file, **content)
    return entries


def build(shared: Path, folder: str, space_name: str, devices: dict) -> list[dict]:
    space = spaces.get(space_name)
    with (shared / folder / "latency_ms.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["help_index"]) for r in rows] == list(range(len(rows)))
    archs = [space.parse(r["arch"]) for r in rows]
    arrays: dict[str, np.ndarray] = {"archs": np.array(archs)}
    entries = []
    for column, (device, dclass, batch) in devices.items():
        values = np.array([float(r[column]) for r in rows])
        assert np.isfinite(values).all() and (values > 0).all(), column
        arrays[column] = values
        notes = "Upstream values in milliseconds, HELP's arch order (help_index = position)."
        if column in ("samsung_a50", "samsung_s7", "essential_ph_1"):
            notes += " Integer milliseconds upstream."
        entries.append(
            {
                "name": f"help-{folder}/{column}",
                "space": space_name,
                "device": device,
                "device_class": dclass,
                "runtime": "TFLite"
                if column == "pixel3"
                else "PyTorch"
                if folder == "ofa"
                else "not recorded upstream",
                "precision": "fp32",
                "batch_size": batch,
                "metric": "latency",
                "unit": "ms",
                "source": HELP_SOURCE,
                "licence": "MIT",
                "citation": HELP_CITATION,
                "notes": notes,
                "file": f"help-{folder}.npz",
                "key": column,
                "archs_key": "archs",
                "num_archs": len(values),
                "sha256": keys_sha256(archs, values),
            }
        )
    np.savez_compressed(DATA / f"help-{folder}.npz", **arrays)
    size = (DATA / f"help-{folder}.npz").stat().st_size
    print(f"wrote {len(entries)} {space_name} datasets of {len(archs)} archs ({size / 1e6:.2f} MB)")
    return entries


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("shared", nargs="?", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "data")
    ap.add_argument("--measured", nargs="*", type=Path, default=[])
    ap.add_argument(
        "--conditions",
        default="what else ran on the machine was not recorded",
        help="what else ran on the machine during the measured runs (goes into their notes)",
    )
    args = ap.parse_args()
    main(args.shared, args.measured, args.conditions)
