"""Any-network latency prediction (issue 20): the kernel model against measured networks.

    .venv/bin/python benchmarks/anynet_bench.py --kernels KERNELS.pt [--profiles CACHE.jsonl]
        [--datasets eagle-cpu/anynet-variants-onnxruntime-fp32-t1,eagle-cpu/anynet-torchvision-onnxruntime-fp32-t1]
        [--nb201 1000]

For every network of the bundled any-network datasets (measured with ``eagle measure``: ONNX
Runtime, fp32, one thread, batch 1, on this machine) it reads the network's kernels from one
ORT-profiled session (cached in ``--profiles``: the profile also gives each kernel's measured
time) and compares, per family and overall (Spearman, share within +-10% and +-5%, mean
absolute percentage error):

* ``kernels``: the kernel model (``eagle kernels fit``): trained on sampled kernels only, it
  has never seen these networks;
* ``layer_sum``: the sum of the network's per-kernel measurements (ORT's profiler, same
  session) plus the kernel model's per-run overhead: what a kernel model approaches at best;
* ``flops_linear``: latency = a + b * MACs, fitted on the dataset itself (5-fold out-of-fold
  predictions): the baseline everyone has.

``--repeat STORE.sqlite``: a second measurement of some of the same networks (``eagle measure
--models benchmarks/data/anynet-repeat.txt``, at another time): how well two measurements agree
(the noise ceiling of any predictor on this machine), and the kernel model against it.

``--nb201 N``: also the kernel model on N NAS-Bench-201 networks (no NB201 training data) against
the GCN trained on 1000 archs of ``eagle-cpu/onnxruntime-fp32-t1``, both tested on the same archs.
Writes ``benchmarks/results/anynet_bench.json``.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from machine import describe
from scipy.stats import spearmanr

import eagle
from eagle.anynet.kernels.model import KernelModel
from eagle.anynet.onnxgraph import Kernel, onnx_costs, profile_kernels
from eagle.anynet.predict import network_profile
from eagle.anynet.specs import parse_spec
from eagle.spaces.counting import count_macs_params

OUT = Path(__file__).resolve().parent / "results" / "anynet_bench.json"
DATASETS = "eagle-cpu/anynet-variants-onnxruntime-fp32-t1,eagle-cpu/anynet-torchvision-onnxruntime-fp32-t1"


def load_profiles(paths: list[Path]) -> dict[str, dict]:
    out = {}
    for path in paths:
        if path.exists():
            for line in path.read_text().splitlines():
                if line.strip():
                    d = json.loads(line)
                    out[d["spec"]] = d
    return out


def profile_all(specs: list[str], paths: list[Path], threads: int, optimization: str) -> dict[str, dict]:
    """Kernels (with measured times), MACs of every network; appended to the first of ``paths``
    as they come (the others: caches written by other shards)."""
    have = load_profiles(paths)
    todo = [s for s in specs if s not in have]
    path = paths[0]
    t0 = time.perf_counter()
    with path.open("a") as fh:
        for n, spec in enumerate(todo, 1):
            prof, data = network_profile(spec, threads=threads, optimization=optimization, runs=5, warmup=2)
            d = {
                "spec": spec,
                "macs": onnx_costs(data)[0],
                "kernels": [k.to_dict() for k in prof.kernels],
                "wall_s": float(np.median(prof.wall_s)),
            }
            fh.write(json.dumps(d) + "\n")
            fh.flush()
            have[spec] = d
            if n % 50 == 0:
                print(f"  profiled {n}/{len(todo)} networks in {time.perf_counter() - t0:.0f} s", flush=True)
    return have


def kernels_of(d: dict) -> list[Kernel]:
    return [Kernel(**k) for k in d["kernels"]]


def metrics(pred: np.ndarray, y: np.ndarray) -> dict[str, float]:
    rel = pred / y - 1
    return {
        "n": len(y),
        "spearman": float(spearmanr(pred, y).statistic) if len(y) > 2 else float("nan"),
        "within_10pct": float(np.mean(np.abs(rel) <= 0.10)),
        "within_5pct": float(np.mean(np.abs(rel) <= 0.05)),
        "mape": float(np.mean(np.abs(rel))),
    }


def flops_linear_oof(macs: np.ndarray, y: np.ndarray, seed: int = 0) -> np.ndarray:
    fold = np.random.default_rng(seed).integers(0, 5, len(y))
    pred = np.empty_like(y)
    for f in range(5):
        tr = fold != f
        A = np.stack([np.ones(tr.sum()), macs[tr]], 1)
        coef, *_ = np.linalg.lstsq(A, y[tr], rcond=None)
        pred[~tr] = coef[0] + coef[1] * macs[~tr]
    return np.maximum(pred, 1e-6)


def dataset_items(name: str, sample: int | None) -> tuple[list[str], np.ndarray]:
    specs, y = eagle.load_dataset(name).items("s")
    keep = np.arange(len(y))
    if sample and sample < len(y):
        keep = np.sort(np.random.default_rng(0).choice(len(y), sample, replace=False))
    return [str(specs[i]) for i in keep], np.asarray(y)[keep]


def profiled_dataset(
    name: str, profiles: dict[str, dict], sample: int | None = None
) -> tuple[list[str], np.ndarray, np.ndarray, list[list[Kernel]]]:
    """(specs, latency in s, family of each, its profiled kernels) of a bundled any-network dataset."""
    specs, y = dataset_items(name, sample)
    families = np.array([parse_spec(s).family for s in specs])
    return specs, y, families, [kernels_of(profiles[s]) for s in specs]


def analysis_parser(doc: str, output: Path) -> argparse.ArgumentParser:
    """The options of the scripts that study a kernel model on a profiled dataset."""
    ap = argparse.ArgumentParser(description=doc.splitlines()[0])
    ap.add_argument("--kernels", type=Path, required=True)
    ap.add_argument("--profiles", required=True, help="anynet_bench.py's profile caches, comma-separated")
    ap.add_argument("--dataset", default="eagle-cpu/anynet-variants-onnxruntime-fp32-t1")
    ap.add_argument("--output", type=Path, default=output)
    return ap


def evaluate_dataset(name: str, model: KernelModel, profiles: dict[str, dict], sample: int | None = None) -> dict:
    specs, y, fams, ks = profiled_dataset(name, profiles, sample)
    kern = np.array([model.predict(k) for k in ks])
    layer = np.array([sum(k.duration_s for k in kk) + model.overhead_s(len(kk)) for kk in ks])
    macs = np.array([profiles[s]["macs"] for s in specs], dtype=np.float64)
    flops = flops_linear_oof(macs, y)
    preds = {"kernels": kern, "layer_sum": layer, "flops_linear": flops}
    out: dict = {"overall": {p: metrics(v, y) for p, v in preds.items()}, "families": {}}
    for fam in sorted(set(fams)):
        m = fams == fam
        out["families"][fam] = {p: metrics(v[m], y[m]) for p, v in preds.items()}
    out["latency_ms_range"] = [float(1e3 * y.min()), float(1e3 * y.max())]
    if len(specs) <= 60:
        out["models"] = {
            s: {"measured_ms": 1e3 * float(t), "kernels_ms": 1e3 * float(p)} for s, t, p in zip(specs, y, kern)
        }
    return out


def repeat(db: Path, model: KernelModel, profiles: dict[str, dict]) -> dict:
    """Agreement of a second measurement with the dataset, and the kernel model against both."""
    from eagle.store import ResultStore

    with ResultStore(db, readonly=True) as store:
        run = store.runs()[0]
        keys = store.arch_keys(run.id)
        again = {keys[r["nb201_index"]]: r["latency_s"] for r in store.measurements(run.id) if r["status"] == "ok"}
    specs, y = dataset_items(DATASETS.split(",")[0], None)
    first = dict(zip(specs, y))
    common = [s for s in again if s in first]
    a = np.array([first[s] for s in common])
    b = np.array([again[s] for s in common])
    kern = np.array([model.predict(kernels_of(profiles[s])) for s in common])
    return {
        "networks": len(common),
        "agreement": metrics(b, a),  # the repeat as a "prediction" of the dataset
        "kernels_vs_dataset": metrics(kern, a),
        "kernels_vs_repeat": metrics(kern, b),
        "median_repeat_over_dataset": float(np.median(b / a)),
    }


def nb201(model: KernelModel, n: int, seed: int = 0) -> dict:
    """The kernel model on NB201 networks vs the GCN trained on 1000 archs of the same CPU dataset."""
    import torch

    from eagle.runtimes.onnx_export import export_onnx

    ds = eagle.load_dataset("eagle-cpu/onnxruntime-fp32-t1")
    archs, y = ds.items("s")
    perm = np.random.default_rng(seed).permutation(len(archs))
    train, test = perm[:1000], perm[1000 : 1000 + n]
    t0 = time.perf_counter()
    gcn = eagle.create_predictor("gcn").fit([archs[i] for i in train], y[train])
    gcn_fit_s = time.perf_counter() - t0
    gcn_pred = gcn.predict([archs[i] for i in test])
    from eagle import spaces

    space = spaces.get("nasbench201")
    net = space.network_config({})
    kern = []
    macs = []
    for i in test:
        m = space.build_for_measurement(archs[i], net, seed=0)
        x = torch.randn(1, *space.input_shape(archs[i], **net))
        with torch.no_grad():
            data = export_onnx(m, x)
        ks = profile_kernels(data, runs=1, warmup=0).kernels
        kern.append(model.predict(ks))
        macs.append(count_macs_params(m, (1, *space.input_shape(archs[i], **net)))[0])
    kern_a = np.array(kern)
    return {
        "test_archs": int(n),
        "kernels": metrics(kern_a, y[test]),
        "gcn_1000": metrics(gcn_pred, y[test]),
        "gcn_fit_s": gcn_fit_s,
        "flops_linear_fit_on_1000": metrics(
            _flops_fit(space, [archs[i] for i in train], y[train], np.array(macs, dtype=np.float64)), y[test]
        ),
    }


def _flops_fit(space: object, train_archs: list, y_train: np.ndarray, test_macs: np.ndarray) -> np.ndarray:
    tr_macs = space.costs(train_archs)[:, 0]  # type: ignore[attr-defined]
    A = np.stack([np.ones(len(tr_macs)), tr_macs], 1)
    coef, *_ = np.linalg.lstsq(A, y_train, rcond=None)
    return np.maximum(coef[0] + coef[1] * test_macs, 1e-6)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--kernels", type=Path, required=True)
    ap.add_argument(
        "--profiles",
        default="anynet-profiles.jsonl",
        help="profile caches, comma-separated (new profiles go to the first)",
    )
    ap.add_argument("--shard", help="K/N: only profile every N-th network from the K-th, then stop (parallel runs)")
    ap.add_argument("--datasets", default=DATASETS)
    ap.add_argument("--nb201", type=int, default=0)
    ap.add_argument("--repeat", type=Path, action="append", help="a store re-measuring some of the networks")
    ap.add_argument("--sample", type=int, help="only this many random networks per dataset (quick looks)")
    ap.add_argument("--output", type=Path, default=OUT)
    args = ap.parse_args()
    import torch

    torch.set_num_threads(1)
    model = KernelModel.load(args.kernels)
    report: dict = {
        **describe(),
        "kernel_model": {
            "file": str(args.kernels),
            "samples": model.n_samples_,
            "kernels": model.counts_,
            "runtime": model.runtime_,
        },
        "datasets": {},
    }
    names = [n for n in args.datasets.split(",") if n]
    specs = [s for n in names for s in dataset_items(n, args.sample)[0]]
    rt = model.runtime_
    paths = [Path(p) for p in args.profiles.split(",")]
    if args.shard:
        k, n = (int(v) for v in args.shard.split("/"))
        profile_all(specs[k::n], paths, int(rt.get("threads", 1)), str(rt.get("optimization", "all")))
        return
    profiles = profile_all(specs, paths, int(rt.get("threads", 1)), str(rt.get("optimization", "all")))
    for name in names:
        r = evaluate_dataset(name, model, profiles, args.sample)
        report["datasets"][name] = r
        o = r["overall"]
        print(name, " ".join(f"{p}: rho {v['spearman']:.4f} ±10% {v['within_10pct']:.3f}" for p, v in o.items()))
        for fam, v in r["families"].items():
            k = v["kernels"]
            print(f"  {fam:<14} n={k['n']:<4} kernels rho {k['spearman']:.4f} ±10% {k['within_10pct']:.3f} "
                  f"mape {k['mape']:.3f} | layer_sum ±10% {v['layer_sum']['within_10pct']:.3f} "
                  f"| flops ±10% {v['flops_linear']['within_10pct']:.3f}")  # fmt: skip
    for db in args.repeat or []:
        report.setdefault("repeats", {})[str(db)] = repeat(db, model, profiles)
        print("repeat", db, json.dumps(report["repeats"][str(db)]["agreement"]))
    if args.nb201:
        report["nb201"] = nb201(model, args.nb201)
        print("nb201", json.dumps(report["nb201"], indent=1))
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(report, indent=1) + "\n")
    print(f"wrote {args.output}")


if __name__ == "__main__":
    main()
