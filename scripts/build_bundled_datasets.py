"""Convert ../shared/data into the datasets bundled in the package (src/eagle/datasets/data).

Usage: python scripts/build_bundled_datasets.py [SHARED_DATA_DIR]

Writes one compressed array file per source (values by NB201 index, NaN where absent) and
catalog.json with each dataset's metadata and the sha256 of its values. Readers are the same
ones users get (eagle.datasets.readers), so the conversion is checked like any import.
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import numpy as np

from eagle.datasets.dataset import values_sha256
from eagle.datasets.readers import read_help_pt, read_seed_pickle
from eagle.spaces.nasbench201.arch import NUM_ARCHS
from eagle.spaces.nasbench201.space import NASBench201

OUT = Path(__file__).resolve().parents[1] / "src/eagle/datasets/data"

SEED_SOURCE = "Eagle latency dataset released with BRP-NAS (Dudziak et al., NeurIPS 2020)"
SEED_CITATION = (
    "L. Dudziak, T. Chau, M. S. Abdelfattah, R. Lee, H. Kim, N. D. Lane. BRP-NAS: Prediction-based NAS "
    "using GCNs. NeurIPS 2020. arXiv:2007.08668"
)
HELP_SOURCE = "HELP repository (Lee et al., NeurIPS 2021); pixel3 originates from HW-NAS-Bench (Li et al., ICLR 2021)"
HELP_CITATION = (
    "H. Lee, S. Lee, S. Chong, S. J. Hwang. HELP: Hardware-Adaptive Efficient Latency Prediction for NAS "
    "via Meta-Learning. NeurIPS 2021."
)
NB201_CITATION = "X. Dong, Y. Yang. NAS-Bench-201: Extending the Scope of Reproducible NAS. ICLR 2020."

# name: (device, device_class, precision)
SEED_DEVICES = {
    "desktop-cpu-core-i7-7820x-fp32": ("Intel Core i7-7820X", "desktop CPU", "fp32"),
    "desktop-gpu-gtx-1080ti-fp32": ("NVIDIA GTX 1080 Ti", "desktop GPU", "fp32"),
    "embedded-gpu-jetson-nono-fp16": ("NVIDIA Jetson Nano", "embedded GPU", "fp16"),
    "embeeded-tpu-edgetpu-int8": ("Google Edge TPU", "embedded TPU", "int8"),
    "mobile-cpu-snapdragon-450-contex-a53-int8": ("Snapdragon 450, Cortex-A53", "mobile CPU", "int8"),
    "mobile-cpu-snapdragon-675-kryo-460-int8": ("Snapdragon 675, Kryo 460", "mobile CPU", "int8"),
    "mobile-cpu-snapdragon-855-kryo-485-int8": ("Snapdragon 855, Kryo 485", "mobile CPU", "int8"),
    "mobile-dsp-snapdragon-675-hexagon-685-int8": ("Snapdragon 675, Hexagon 685", "mobile DSP", "int8"),
    "mobile-dsp-snapdragon-855-hexagon-690-int8": ("Snapdragon 855, Hexagon 690", "mobile DSP", "int8"),
    "mobile-gpu-snapdragon-450-adreno-506-int8": ("Snapdragon 450, Adreno 506", "mobile GPU", "int8"),
    "mobile-gpu-snapdragon-675-adren0-612-int8": ("Snapdragon 675, Adreno 612", "mobile GPU", "int8"),
    "mobile-gpu-snapdragon-855-adren0-640-int8": ("Snapdragon 855, Adreno 640", "mobile GPU", "int8"),
}
# name: (device, device_class, batch size or None)
HELP_DEVICES = {
    "1080ti_1": ("NVIDIA GTX 1080 Ti", "desktop GPU", 1),
    "1080ti_32": ("NVIDIA GTX 1080 Ti", "desktop GPU", 32),
    "1080ti_256": ("NVIDIA GTX 1080 Ti", "desktop GPU", 256),
    "titanx_1": ("NVIDIA Titan X", "desktop GPU", 1),
    "titanx_32": ("NVIDIA Titan X", "desktop GPU", 32),
    "titanx_256": ("NVIDIA Titan X", "desktop GPU", 256),
    "silver_4114": ("Intel Xeon Silver 4114", "server CPU", None),
    "silver_4210r": ("Intel Xeon Silver 4210R", "server CPU", None),
    "gold_6240": ("Intel Xeon Gold 6240", "server CPU", None),
    "pixel3": ("Google Pixel 3", "mobile CPU", 1),
    "samsung_a50": ("Samsung Galaxy A50", "mobile CPU", 1),
    "samsung_s7": ("Samsung Galaxy S7", "mobile CPU", 1),
    "essential_ph_1": ("Essential Phone PH-1", "mobile CPU", 1),
}


def main(shared: Path) -> None:
    space = NASBench201()
    catalog: list[dict] = []
    arrays: dict[str, dict[str, np.ndarray]] = {"eagle": {}, "help": {}, "nasbench201": {}}

    def add(group: str, key: str, values: np.ndarray, meta: dict) -> None:
        arrays[group][key] = values
        count = int(np.isfinite(values).sum())
        meta.update({"file": f"{group}.npz", "key": key, "num_archs": count, "sha256": values_sha256(values)})
        catalog.append(meta)

    for name, (device, dclass, precision) in SEED_DEVICES.items():
        values = read_seed_pickle(shared / "eagle" / f"{name}.pickle")
        notes = "Upstream file name kept (typos included). Disconnected archs are absent upstream."
        if name == "desktop-gpu-gtx-1080ti-fp32":
            notes += " Almost identical to the i7-7820X CPU file (Pearson 0.998): may be mislabelled upstream."
        add(
            "eagle",
            name,
            values,
            {
                "name": name,
                "device": device,
                "device_class": dclass,
                "runtime": "not recorded upstream",
                "precision": precision,
                "batch_size": 1,
                "metric": "latency",
                "unit": "s",
                "source": SEED_SOURCE,
                "licence": "Apache-2.0",
                "citation": SEED_CITATION,
                "notes": notes,
            },
        )
    for name, (device, dclass, batch) in HELP_DEVICES.items():
        values = read_help_pt(shared / "help" / f"{name}.pt")
        notes = "Upstream values in milliseconds; disconnected archs (placeholder values upstream) dropped."
        if name in ("samsung_a50", "samsung_s7", "essential_ph_1"):
            notes += " Integer milliseconds upstream."
        add(
            "help",
            name,
            values,
            {
                "name": f"help/{name}",
                "device": device,
                "device_class": dclass,
                "runtime": "not recorded upstream",
                "precision": "fp32",
                "batch_size": batch,
                "metric": "latency",
                "unit": "ms",
                "source": HELP_SOURCE,
                "licence": "MIT",
                "citation": HELP_CITATION,
                "notes": notes,
            },
        )
    with (shared / "nasbench201" / "architectures.csv").open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["nb201_index"]) for r in rows] == list(range(NUM_ARCHS))
    for column, name, label in (
        ("cifar10_valid_acc", "nasbench201/cifar10-valid-accuracy", "CIFAR-10 (cifar10-valid split)"),
        ("cifar100_valid_acc", "nasbench201/cifar100-valid-accuracy", "CIFAR-100"),
        ("imagenet16_120_valid_acc", "nasbench201/imagenet16-120-valid-accuracy", "ImageNet16-120"),
    ):
        values = np.array([float(r[column]) for r in rows])
        add(
            "nasbench201",
            column,
            values,
            {
                "name": name,
                "device": None,
                "device_class": None,
                "runtime": None,
                "precision": None,
                "batch_size": None,
                "metric": "accuracy",
                "unit": "%",
                "source": "NAS-Bench-201 via NASLib's NB201 export (Apache-2.0)",
                "licence": "Apache-2.0",
                "citation": NB201_CITATION,
                "notes": f"Final validation accuracy on {label} after 200 epochs.",
            },
        )
    params = np.array([space.cost(v, mode="reference")[0] for v in space.archs()], dtype=np.float64)
    add(
        "nasbench201",
        "params_cifar10",
        params,
        {
            "name": "nasbench201/params",
            "device": None,
            "device_class": None,
            "runtime": None,
            "precision": None,
            "batch_size": None,
            "metric": "params",
            "unit": "count",
            "source": "computed by Eagle's NB201 builder (reference mode, 10 classes)",
            "licence": "Apache-2.0",
            "citation": NB201_CITATION,
            "notes": "Equals NB201's parameter counts; the NAS-without-training export differs on 204 archs "
            "whose values no NB201 network can have.",
        },
    )
    OUT.mkdir(parents=True, exist_ok=True)
    for group, arrs in arrays.items():
        np.savez_compressed(OUT / f"{group}.npz", **arrs)
    (OUT / "catalog.json").write_text(json.dumps(catalog, indent=1) + "\n")
    total = sum((OUT / f"{g}.npz").stat().st_size for g in arrays)
    print(f"wrote {len(catalog)} datasets, {total / 1e6:.2f} MB")


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else Path(__file__).resolve().parents[2] / "shared" / "data"))
