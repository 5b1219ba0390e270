"""Turn Eagle's own measurement runs into bundled datasets (src/eagle/datasets/data/measured.npz).

Usage: .venv/bin/python scripts/build_measured_datasets.py benchmarks/results/cpu-datasets.sqlite

Each complete run becomes ``eagle-cpu/<runtime>-<precision>-t<threads>``: latency in seconds by
NB201 index (every valid arch gets its NB201 class representative's measurement; disconnected
archs are absent), with the run's device identity, runtime version, protocol, model config,
eagle version and git revision in the metadata. The catalogue entries are merged into
catalog.json (replacing older entries of the same name).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np

from eagle.datasets.dataset import values_sha256
from eagle.spaces.nasbench201.space import NASBench201
from eagle.store import ResultStore

DATA = Path(__file__).resolve().parents[1] / "src/eagle/datasets/data"


def main(db: Path) -> None:
    space = NASBench201()
    valid = space.valid_mask()
    catalog = json.loads((DATA / "catalog.json").read_text())
    arrays: dict[str, np.ndarray] = {}
    entries = []
    with ResultStore(db) as store:
        for run in store.runs():
            runtime = json.loads(run.row["runtime_json"])
            device = json.loads(run.row["device_json"])
            by_arch = store.results_by_arch(run.id)
            values = np.full(space.num_archs, np.nan)
            for idx, res in by_arch.items():
                if res["status"] == "ok" and valid[idx]:
                    values[idx] = res["latency_s"]
            n = int(np.isfinite(values).sum())
            if n < int(valid.sum()):
                print(f"run {run.id} ({run.runtime}) covers {n} of {int(valid.sum())} valid archs: skipped")
                continue
            name = f"eagle-cpu/{run.runtime}-{runtime['precision']}-t{runtime['threads']}"
            key = name.split("/", 1)[1]
            arrays[key] = values
            protocol = json.loads(run.row["protocol_json"])
            builds = len({r["nb201_index"] for r in by_arch.values()})
            model = json.loads(run.row["model_json"])
            entries.append(
                {
                    "name": name,
                    "device": f"{device.get('cpu_model')} ({device.get('logical_cores')} cores; worker pinned to one)",
                    "device_class": "cloud CPU",
                    "runtime": f"{run.runtime} {runtime['version']}",
                    "precision": runtime["precision"],
                    "batch_size": model["batch_size"],
                    "metric": "latency",
                    "unit": "s",
                    "num_archs": n,
                    "source": "measured by Eagle (eagle measure), this project's CI machine",
                    "licence": "Apache-2.0",
                    "citation": "Eagle: measure and predict neural-network latency (this repository)",
                    "sha256": values_sha256(values),
                    "notes": (
                        f"One measurement per NB201 class representative ({builds} builds), broadcast to the "
                        f"class. Protocol {protocol}; model {model}; threads {runtime['threads']}; "
                        f"os {device.get('os')}; eagle {run.row['eagle_version']} git {run.row['git_rev']}; "
                        f"measured {run.row['started_at']:.0f}..{run.row['finished_at'] or 0:.0f} (unix time)."
                    ),
                    "file": "measured.npz",
                    "key": key,
                }
            )
            print(f"{name}: {n} archs")
    if not entries:
        print("no complete run")
        return
    np.savez_compressed(DATA / "measured.npz", **arrays)
    names = {e["name"] for e in entries}
    catalog = [c for c in catalog if c["name"] not in names] + entries
    (DATA / "catalog.json").write_text(json.dumps(catalog, indent=1) + "\n")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "benchmarks/results/cpu-datasets.sqlite"))
