"""Predictor figures: 25 latency datasets, 1000 random training archs, test on all the rest.

Usage:
  .venv/bin/python benchmarks/predictor_bench.py run [--methods gcn,mlp,...] [--seeds 0,1,2]
        [--devices all|NAME,...] [--threads 2] [--out benchmarks/results/predictors.jsonl]
  .venv/bin/python benchmarks/predictor_bench.py curve [--devices ...] [--sizes 50,100,200,500,1000,5000]
  .venv/bin/python benchmarks/predictor_bench.py report [--out ...]   # markdown tables

Methods: gcn (Eagle default; its arch prior is learned from the bundled datasets minus the test
device and its relatives; its op-cost input is fitted to the training archs), gcn-noopcosts (the
same without the op-cost input: the default until 2026-11-27), gcn-noprior (without both),
gcn-val150 (150 epochs, best weights on a 10% validation hold-out) and gcn-e5 (5 members, 100
epochs), both without the op-cost input,
gcn-brp (preset brp-nas: the seed's recipe, batch 1, float64),
mlp, flops, params, lut, ridge, gbt. Results are appended as JSON lines and the run resumes: a
(method, device, seed, n_train) already in the file when its turn comes is skipped, so two
processes (one per core) may share a file; give them disjoint ``--devices`` lists. The split for seed s is the
same for every method: a permutation of the device's archs by numpy default_rng(s), the first
1000 train (neural presets with validation hold 100 of them out), the rest test.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]

METHODS = {
    "gcn": ("gcn", {}),
    "gcn-noopcosts": ("gcn", {"op_costs": False}),
    "gcn-noprior": ("gcn", {"prior": None, "op_costs": False}),
    "gcn-val150": ("gcn", {"epochs": 150, "validation_fraction": 0.1, "op_costs": False}),
    "gcn-e5": ("gcn", {"ensemble": 5, "epochs": 100, "op_costs": False}),
    "gcn-brp": ("gcn", {"preset": "brp-nas"}),
    "mlp": ("mlp", {}),
    "flops": ("flops", {}),
    "params": ("params", {}),
    "lut": ("lut", {}),
    "ridge": ("ridge", {}),
    "gbt": ("gbt", {}),
}


def devices(spec: str) -> list[str]:
    from eagle.datasets.catalog import bundled_catalog

    # the 25 published devices of ../shared/data: the seed's Eagle dataset and HELP
    names = [n for n, meta in bundled_catalog().items() if meta["file"] in ("eagle.npz", "help.npz")]
    return names if spec == "all" else spec.split(",")


def siblings(name: str, names: list[str], twins: bool = True) -> set[str]:
    """The test device and the bundled datasets too close to it to learn from in a strict test.

    HELP's batch-size variants of one GPU, and (``twins``) the seed's i7-7820x and "gtx-1080ti"
    files, which are near-identical upstream.
    """
    out = {name}
    if name.startswith("help/") and "_" in name:
        family = name.rsplit("_", 1)[0]
        out |= {n for n in names if n.startswith("help/") and n.rsplit("_", 1)[0] == family}
    twin_files = {"desktop-cpu-core-i7-7820x-fp32", "desktop-gpu-gtx-1080ti-fp32"}
    if twins and name in twin_files:
        out |= twin_files
    return out


def done_keys(out: Path) -> set[tuple]:
    if not out.exists():
        return set()
    keys = set()
    for line in out.read_text().splitlines():
        r = json.loads(line)
        keys.add((r["method"], r["device"], r["seed"], r["n_train"]))
    return keys


def run_one(method: str, device: str, seed: int, n_train: int) -> dict:
    name, kwargs = METHODS[method]
    return {"method": method, **score(name, kwargs, device, seed, n_train)}


def score(name: str, kwargs: dict, device: str, seed: int, n_train: int) -> dict:
    """Train predictor ``name(**kwargs)`` on the protocol's split of ``device``; metrics and times."""
    import torch

    import eagle.datasets as D
    from eagle import predictors
    from eagle.predictors.metrics import evaluate

    v = D.load(device).by_index("s")
    idx = np.nonzero(np.isfinite(v))[0]
    perm = np.random.default_rng(seed).permutation(idx)
    tr, te = perm[:n_train], perm[n_train:]
    if kwargs.get("prior", "bundled") == "bundled" and name == "gcn" and "preset" not in kwargs:
        # strict: the arch prior learns from no dataset of the device under test or its relatives
        kwargs = {**kwargs, "prior_exclude": sorted(siblings(device, devices("all")))}
    model = predictors.create(name, seed=seed, **kwargs)
    t0 = time.perf_counter()
    model.fit(tr, v[tr])
    train_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    pred_all = model.predict(np.arange(15625))
    predict_s = time.perf_counter() - t0
    m = evaluate(pred_all[te], v[te])
    return {
        "device": device,
        "seed": seed,
        "n_train": n_train,
        "n_test": len(te),
        "train_s": train_s,
        "predict_all_s": predict_s,
        "threads": torch.get_num_threads(),
        **{k: m[k] for k in ("spearman", "kendall_tau", "within_5pct", "within_10pct", "mape")},
    }


def cmd_run(args: argparse.Namespace, sizes: list[int]) -> None:
    import torch

    torch.set_num_threads(args.threads)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    for n_train in sizes:
        for seed in [int(s) for s in args.seeds.split(",")]:
            for device in devices(args.devices):
                for method in args.methods.split(","):
                    # re-read before every run: a second process on the other core may have done it
                    if (method, device, seed, n_train) in done_keys(args.out):
                        continue
                    r = run_one(method, device, seed, n_train)
                    with args.out.open("a") as fh:
                        fh.write(json.dumps(r) + "\n")
                    print(
                        f"{method:8s} {device:44s} s{seed} n{n_train}: rho {r['spearman']:.4f} "
                        f"±10% {r['within_10pct']:.3f} train {r['train_s']:.1f}s",
                        flush=True,
                    )


def cmd_report(args: argparse.Namespace) -> None:
    rows = [json.loads(line) for line in args.out.read_text().splitlines()]
    rows = [r for r in rows if r["n_train"] == 1000]
    methods = [m for m in METHODS if any(r["method"] == m for r in rows)]
    devs = list(dict.fromkeys(r["device"] for r in rows))

    def agg(method: str, device: str, key: str, seeds: set[int] | None = None) -> float | None:
        vals = [
            r[key]
            for r in rows
            if r["method"] == method and r["device"] == device and (seeds is None or r["seed"] in seeds)
        ]
        return float(np.mean(vals)) if vals else None

    print("| device | " + " | ".join(f"{m} ρ / ±10%" for m in methods) + " |")
    print("| --- | " + " | ".join("---" for _ in methods) + " |")
    for d in devs:
        cells = []
        for m in methods:
            rho, acc = agg(m, d, "spearman"), agg(m, d, "within_10pct")
            cells.append("-" if rho is None else f"{rho:.4f} / {acc:.3f}")
        print(f"| {d} | " + " | ".join(cells) + " |")
    print()
    print("| method | devices | seeds | mean Spearman | mean ±5% | mean ±10% | mean train s | mean predict-all s |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for m in methods:
        mine = [r for r in rows if r["method"] == m]
        per_dev = {d: [r for r in mine if r["device"] == d] for d in devs}
        per_dev = {d: rs for d, rs in per_dev.items() if rs}
        means = {
            k: np.mean([np.mean([r[k] for r in rs]) for rs in per_dev.values()])
            for k in ("spearman", "within_5pct", "within_10pct", "train_s", "predict_all_s")
        }
        seeds = sorted({r["seed"] for r in mine})
        print(
            f"| {m} | {len(per_dev)} | {','.join(map(str, seeds))} | {means['spearman']:.4f} | "
            f"{means['within_5pct']:.3f} | {means['within_10pct']:.3f} | {means['train_s']:.1f} | "
            f"{means['predict_all_s']:.2f} |"
        )
    if "gcn" in methods and "gcn-brp" in methods:
        # same devices, same seeds (the seed's recipe is slow: it may have run on fewer)
        wins, both, compared = 0, 0, []
        print("\n| device | seeds | gcn ρ / ±10% / train s | gcn-brp ρ / ±10% / train s | gcn better on both |")
        print("| --- | --- | --- | --- | --- |")
        for d in devs:
            seeds = {r["seed"] for r in rows if r["method"] == "gcn-brp" and r["device"] == d}
            if not seeds or agg("gcn", d, "spearman", seeds) is None:
                continue
            both += 1
            compared.append((d, seeds))
            won = agg("gcn", d, "spearman", seeds) > agg("gcn-brp", d, "spearman", seeds) and agg(
                "gcn", d, "within_10pct", seeds
            ) > agg("gcn-brp", d, "within_10pct", seeds)
            wins += won
            cells = [
                " / ".join(
                    f"{agg(m, d, k, seeds):{f}}"
                    for k, f in (("spearman", ".4f"), ("within_10pct", ".3f"), ("train_s", ".0f"))
                )
                for m in ("gcn", "gcn-brp")
            ]
            print(f"| {d} | {','.join(map(str, sorted(seeds)))} | {cells[0]} | {cells[1]} | {'yes' if won else 'no'} |")
        print(
            f"\nEagle gcn beats the seed's recipe on both Spearman and ±10% on {wins} of {both} devices (same seeds)."
        )
        for m in ("gcn", "gcn-brp"):
            rho = np.mean([agg(m, d, "spearman", seeds) for d, seeds in compared])
            acc = np.mean([agg(m, d, "within_10pct", seeds) for d, seeds in compared])
            print(f"{m} over these {both} devices: mean Spearman {rho:.4f}, mean ±10% {acc:.3f}")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("command", choices=("run", "curve", "report"))
    ap.add_argument("--methods", default="gcn,mlp,flops,params,lut,ridge,gbt")
    ap.add_argument("--seeds", default="0,1,2")
    ap.add_argument("--devices", default="all")
    ap.add_argument("--sizes", default="50,100,200,500,1000,5000")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--out", type=Path, default=REPO / "benchmarks/results/predictors.jsonl")
    args = ap.parse_args()
    if args.command == "run":
        cmd_run(args, [1000])
    elif args.command == "curve":
        cmd_run(args, [int(s) for s in args.sizes.split(",")])
    else:
        cmd_report(args)


if __name__ == "__main__":
    main()
