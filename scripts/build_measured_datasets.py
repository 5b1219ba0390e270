"""Turn Eagle's own measurement runs into bundled datasets (src/eagle/datasets/data/*.npz).

Usage:
  .venv/bin/python scripts/build_measured_datasets.py benchmarks/results/cpu-datasets.sqlite
  .venv/bin/python scripts/build_measured_datasets.py benchmarks/results/gpu-h100.sqlite --min-archs 100

Names: CPU runs become ``eagle-cpu/<runtime>-<precision>-t<threads>`` (file measured.npz), CUDA
runs ``gpu-<gpu>-<runtime>-<precision>-b<batch>[-cudagraph]`` (file measured-gpu.npz), e.g.
``gpu-h100-torch-fp32-b1``. Values are latency in seconds by NB201 index: every arch of a
measured NB201 class gets its representative's measurement; disconnected and unmeasured archs
are absent (NaN). A run must cover every valid arch unless ``--min-archs`` allows a partial
(stratified) one; the metadata says how many archs and classes it covers. Existing arrays in the
same file and catalogue entries of other names are kept; same-name entries are replaced.
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import numpy as np

from eagle.datasets.dataset import values_sha256
from eagle.spaces.nasbench201.space import NASBench201
from eagle.store import ResultStore

DATA = Path(__file__).resolve().parents[1] / "src/eagle/datasets/data"


def gpu_short_name(device: dict[str, Any]) -> str:
    """'NVIDIA H100 80GB HBM3' -> 'h100'."""
    gpus = device.get("gpus") or ["gpu"]
    match = re.search(r"\b([A-Z]+\d+[A-Za-z]*)\b", gpus[0].replace("NVIDIA", ""))
    return (match.group(1) if match else gpus[0]).lower()


def dataset_name(runtime: dict[str, Any], device: dict[str, Any], model: dict[str, Any]) -> tuple[str, str]:
    """(catalogue name, npz file) of a run."""
    if runtime.get("device") == "cuda":
        name = f"gpu-{gpu_short_name(device)}-{runtime['runtime']}-{runtime['precision']}-b{model['batch_size']}"
        if runtime.get("options", {}).get("cuda_graph"):
            name += "-cudagraph"
        return name, "measured-gpu.npz"
    return f"eagle-cpu/{runtime['runtime']}-{runtime['precision']}-t{runtime['threads']}", "measured.npz"


def describe_device(runtime: dict[str, Any], device: dict[str, Any]) -> tuple[str, str]:
    if runtime.get("device") == "cuda":
        gpus = ", ".join(device.get("gpus") or ["unknown GPU"])
        return f"{gpus} (host CPU {device.get('cpu_model')})", "datacenter GPU"
    return f"{device.get('cpu_model')} ({device.get('logical_cores')} cores; worker pinned to one)", "cloud CPU"


def main(db: Path, min_archs: int | None) -> None:
    space = NASBench201()
    valid = space.valid_mask()
    reps = {int(i): space.index(space.representative(int(i))) for i in np.flatnonzero(valid)}
    catalog = json.loads((DATA / "catalog.json").read_text())
    files: dict[str, dict[str, np.ndarray]] = {}
    entries = []
    with ResultStore(db) as store:
        for run in store.runs():
            runtime = json.loads(run.row["runtime_json"])
            device = json.loads(run.row["device_json"])
            model = json.loads(run.row["model_json"])
            by_arch = store.results_by_arch(run.id)
            measured = {r["nb201_index"]: r["latency_s"] for r in by_arch.values() if r["status"] == "ok"}
            values = np.full(space.num_archs, np.nan)
            for idx in np.flatnonzero(valid):
                values[idx] = measured.get(reps[idx], np.nan)
            n = int(np.isfinite(values).sum())
            builds = len(measured)
            needed = int(valid.sum()) if min_archs is None else min_archs
            if n < needed:
                print(f"run {run.id} ({run.runtime}) covers {n} archs, fewer than {needed}: skipped")
                continue
            name, file = dataset_name(runtime, device, model)
            key = name.split("/", 1)[-1]
            files.setdefault(file, {})[key] = values
            protocol = json.loads(run.row["protocol_json"])
            device_text, device_class = describe_device(runtime, device)
            coverage = (
                f"Covers all {n} valid archs"
                if n == int(valid.sum())
                else f"Partial: {n} of {int(valid.sum())} valid archs ({builds} of 6466 NB201 classes, a sample "
                "stratified over the MACs range: scripts/stratified_archs.py order; the rest is NaN)"
            )
            entries.append(
                {
                    "name": name,
                    "device": device_text,
                    "device_class": device_class,
                    "runtime": f"{run.runtime} {runtime['version']}",
                    "precision": runtime["precision"],
                    "batch_size": model["batch_size"],
                    "metric": "latency",
                    "unit": "s",
                    "num_archs": n,
                    "source": "measured by Eagle (eagle measure)",
                    "licence": "Apache-2.0",
                    "citation": "Eagle: measure and predict neural-network latency (this repository)",
                    "sha256": values_sha256(values),
                    "notes": (
                        f"{coverage}. One measurement per NB201 class representative ({builds} builds), broadcast "
                        f"to the class. Runtime {runtime}; protocol {protocol}; model {model}; "
                        f"os {device.get('os')}; packages {device.get('packages')}; eagle {run.row['eagle_version']} "
                        f"git {run.row['git_rev']}; measured from {run.row['started_at']:.0f} (unix time)."
                    ),
                    "file": file,
                    "key": key,
                }
            )
            print(f"{name}: {n} archs ({builds} classes)")
    if not entries:
        print("no run qualifies")
        return
    for file, arrays in files.items():
        path = DATA / file
        if path.exists():
            with np.load(path, allow_pickle=False) as old:
                arrays = {**{k: old[k] for k in old.files}, **arrays}
        np.savez_compressed(path, **arrays)
    names = {e["name"] for e in entries}
    catalog = [c for c in catalog if c["name"] not in names] + entries
    (DATA / "catalog.json").write_text(json.dumps(catalog, indent=1) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("db", type=Path, nargs="?", default=Path("benchmarks/results/cpu-datasets.sqlite"))
    parser.add_argument("--min-archs", type=int, help="accept partial runs covering at least this many archs")
    args = parser.parse_args()
    main(args.db, args.min_archs)
