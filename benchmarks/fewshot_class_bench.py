"""Few-shot on unfamiliar hardware (issue 22): leave-one-device-class-out, k = 5 .. all.

Usage: .venv/bin/python benchmarks/fewshot_class_bench.py [--classes gpu,phone,...] [--k 5,10,20,50,100,200,900]
       [--out benchmarks/results/fewshot_class.jsonl]
       .venv/bin/python benchmarks/fewshot_class_bench.py --report [--out ...]   (tables + reliability plot)

Every bundled NB201 latency dataset is a test device. Its whole device class leaves pretraining
(and the seed's near-identical i7 / "gtx-1080ti" twin files with either): GPUs (desktop and
embedded), phones (mobile CPUs and GPUs), DSPs and TPUs, CPUs (server and desktop), and Eagle's
own sets (this cloud CPU under ONNX Runtime and OpenVINO, the H100 sets). HELP's split: the k
archs come from NB201 indices below 900 (proposed by ``eagle select`` given nothing, or drawn at
random, seed 0), the test archs are 900..1899 without the 10% fastest and slowest (a partial
H100 set: all its archs from 900 on, same trimming). k = 900 means every arch the device has
below index 900 (fewer on the partial sets).

Per (device, k, archs) it fits, on the same archs: the few-shot model (the mixture plus the
residual Gaussian process), the mixture alone (the few-shot model before issue 22: its
prediction is the same fit's mixture part), and Eagle's default GCN (arch prior learned without
the held-out class, op-cost input, seed 0). It records Spearman on the test archs, the share of
true latencies inside the model's central intervals (10%..90%, for the reliability plot), the
rank spread the model predicts, and the seconds each fit took.
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "benchmarks"))
from fewshot_bench import help_test_set  # noqa: E402

KS = (5, 10, 20, 50, 100, 200, 900)
LEVELS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
TWINS = {"desktop-cpu-core-i7-7820x-fp32", "desktop-gpu-gtx-1080ti-fp32"}
CLASSES = ("gpu", "phone", "dsp-tpu", "cpu", "eagle-own")
NB201_FILES = ("eagle.npz", "help.npz", "measured.npz", "measured-gpu.npz")


def device_class(name: str, meta: dict) -> str:
    """The class a bundled NB201 dataset leaves pretraining with."""
    if meta["file"] in ("measured.npz", "measured-gpu.npz"):
        return "eagle-own"
    kind = meta.get("device_class", "")
    if kind in ("desktop GPU", "embedded GPU", "datacenter GPU", "server GPU"):
        return "gpu"
    if kind in ("mobile CPU", "mobile GPU"):
        return "phone"
    if kind in ("mobile DSP", "embedded TPU"):
        return "dsp-tpu"
    if kind in ("server CPU", "desktop CPU", "cloud CPU"):
        return "cpu"
    raise SystemExit(f"{name}: no device class for {kind!r}")


def nb201_devices() -> dict[str, str]:
    from eagle.datasets.catalog import bundled_catalog

    return {n: device_class(n, m) for n, m in bundled_catalog().items() if m["file"] in NB201_FILES}


class Held(NamedTuple):
    """One test device of the benchmark: its class, the datasets left out of its base, the base,
    its latencies by NB201 index, its test archs and the archs below 900 the k come from."""

    cls: str
    device: str
    excluded: set[str]
    basis: Any
    values: np.ndarray
    test: np.ndarray
    pool: np.ndarray


def held_out(wanted: Iterable[str]) -> Iterator[Held]:
    """Every device of the classes ``wanted``, with a base pretrained without its class (and the
    twins with either), HELP's test split and its pool of archs below 900."""
    import eagle.datasets as D
    from eagle.fewshot import pretrain

    classes = nb201_devices()
    values = {n: D.load(n).by_index("s") for n in classes}
    for cls in wanted:
        members = [n for n, c in classes.items() if c == cls]
        excluded = set(members) | (TWINS if TWINS & set(members) else set())
        t0 = time.perf_counter()
        basis = pretrain({n: v for n, v in values.items() if n not in excluded}, rank=8)
        pretrain_s = time.perf_counter() - t0
        print(f"class {cls}: {len(members)} devices; pretrained on {len(values) - len(excluded)} in {pretrain_s:.1f} s")
        for test in members:
            v = values[test]
            pool = np.flatnonzero(np.isfinite(v[:900]) & basis.covered[:900])
            yield Held(cls, test, excluded, basis, v, help_test_set(v), pool)


def coverage(log_true: np.ndarray, mean: np.ndarray, std: np.ndarray) -> dict[str, float]:
    from scipy.stats import norm

    z = np.abs(log_true - mean) / np.maximum(std, 1e-12)
    return {f"{p:.1f}": float(np.mean(z <= norm.ppf(0.5 + p / 2))) for p in LEVELS}


def run(args: argparse.Namespace) -> None:
    from scipy.stats import spearmanr

    from eagle import predictors
    from eagle.fewshot import FewShotPredictor, select_archs
    from eagle.fewshot.blend import GCNBlend

    done = set()
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            r = json.loads(line)
            done.add((r["device"], r["k_asked"], r["archs"]))
    ks = [int(k) for k in args.k.split(",")]
    gcn_cache: dict[tuple, tuple] = {}  # (device, k, archs) -> (the archs, Spearman, seconds) of an earlier run
    if args.gcn_cache is not None:
        for line in args.gcn_cache.read_text().splitlines():
            r = json.loads(line)
            if "gcn" in r and "few" in r:
                gcn_cache[(r["device"], r["k_asked"], r["archs"])] = (r["few"], r["gcn"], r["gcn_s"])
    for cls, test, excluded, basis, v, te, pool in held_out(args.classes.split(",")):
        for k in ks:
            kk = min(k, len(pool))
            for how in args.archs.split(","):
                if (test, k, how) in done or (how == "random" and kk == len(pool)):
                    continue  # every arch below 900: the same set either way
                if how == "select":
                    few = np.asarray(select_archs(basis, kk, candidates=pool))
                else:
                    few = np.random.default_rng(args.seed).choice(pool, kk, replace=False)
                row = {"device": test, "class": cls, "k_asked": k, "k": kk, "archs": how, "n_test": len(te)}
                if how == "random":
                    row["seed"] = args.seed
                row["few"] = sorted(few.tolist())
                t1 = time.perf_counter()
                model = FewShotPredictor(basis).fit(few, v[few])
                row["fewshot_s"] = time.perf_counter() - t1
                log_true = np.log(v[te])
                mean, std = model.predict_log(te)
                mix_mean, mix_std = model._mixture_log(te)
                row["fewshot"] = float(spearmanr(mean, v[te]).statistic)
                row["blend_weight"] = model.blend_.weight_  # the GCN's share of the mean (k >= 50)
                if model.blend_.used:  # the same fit without the GCN: the model before the blend
                    unblended = copy.copy(model)
                    unblended.blend_ = GCNBlend()
                    row["fewshot_unblended"] = float(spearmanr(unblended.predict_log(te)[0], v[te]).statistic)
                else:
                    row["fewshot_unblended"] = row["fewshot"]
                row["mixture"] = float(spearmanr(mix_mean, v[te]).statistic)
                row["fewshot_cover"] = coverage(log_true, mean, std)
                row["mixture_cover"] = coverage(log_true, mix_mean, mix_std)
                rest = np.setdiff1d(pool, few)  # archs below 900 not fitted: the same measurement session
                if len(rest) >= 20:
                    lo, hi = np.quantile(v[rest], [0.1, 0.9])
                    rest = rest[(v[rest] >= lo) & (v[rest] <= hi)]
                    rest_mean, rest_std = model.predict_log(rest)
                    row["fewshot_cover_below900"] = coverage(np.log(v[rest]), rest_mean, rest_std)
                    row["n_below900"] = len(rest)
                row["rank_spread"] = model.rank_spread(te[:: max(1, len(te) // 400)])
                cached = gcn_cache.get((test, k, how))
                if cached is not None and cached[0] == sorted(few.tolist()):
                    row["gcn"], row["gcn_s"], row["gcn_cached"] = cached[1], cached[2], True
                elif not args.no_gcn:
                    t1 = time.perf_counter()
                    gcn = predictors.create("gcn", seed=0, prior_exclude=sorted(excluded)).fit(few, v[few])
                    row["gcn_s"] = time.perf_counter() - t1
                    row["gcn"] = float(spearmanr(gcn.predict(te), v[te]).statistic)
                with args.out.open("a") as fh:
                    fh.write(json.dumps(row) + "\n")
                print(
                    f"{test[:44]:44s} k={kk:4d} {how:6s} fewshot {row['fewshot']:.3f} mixture {row['mixture']:.3f}"
                    + (f" gcn {row['gcn']:.3f}" if "gcn" in row else "")
                    + f" cover80 {row['fewshot_cover']['0.8']:.2f} spread {row['rank_spread']:.3f}",
                    flush=True,
                )


def report(args: argparse.Namespace) -> None:
    rows = [json.loads(line) for line in args.out.read_text().splitlines()]
    ks = sorted({r["k_asked"] for r in rows})

    def pick(how: str, k: int) -> list[dict]:
        # k = 900 has one fit per device (every arch below 900): it stands for both ways of choosing
        return [r for r in rows if r["k_asked"] == k and (r["archs"] == how or r["k"] != k)]

    for how in ("select", "random"):
        print(f"\n#### archs: {how}\n")
        print(
            "| k | few-shot (new) | min | without the GCN blend | mixture alone (before) | min | GCN, same archs | min "
            "| best of the two | GCN's weight (mean) |"
        )
        print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for k in ks:
            sel = [r for r in pick(how, k) if "gcn" in r]
            if not sel:
                continue
            f, m, g = (np.array([r[c] for r in sel]) for c in ("fewshot", "mixture", "gcn"))
            u = np.array([r.get("fewshot_unblended", r["fewshot"]) for r in sel])  # rows before the blend: none
            w = np.array([r.get("blend_weight", 0.0) for r in sel])
            print(
                f"| {k} | **{f.mean():.3f}** | {f.min():.3f} | {u.mean():.3f} | {m.mean():.3f} | {m.min():.3f} | "
                f"{g.mean():.3f} | {g.min():.3f} | {np.maximum(m, g).mean():.3f} | {w.mean():.2f} |"
            )
    print("\n#### per class, eagle select's archs: few-shot (new) / mixture alone / GCN\n")
    classes = sorted({r["class"] for r in rows})
    print("| class | devices | " + " | ".join(f"k={k}" for k in ks) + " |")
    print("| --- | --- | " + " | ".join("---" for _ in ks) + " |")
    for cls in classes:
        cells = []
        for k in ks:
            sel = [r for r in pick("select", k) if r["class"] == cls and "gcn" in r]
            cells.append(
                " / ".join(f"{np.mean([r[c] for r in sel]):.3f}" for c in ("fewshot", "mixture", "gcn")) if sel else ""
            )
        n = len({r["device"] for r in rows if r["class"] == cls})
        print(f"| {cls} | {n} | " + " | ".join(cells) + " |")
    print("\n#### 80% interval coverage per device (eagle select's archs): new / mixture alone\n")
    print("| device | " + " | ".join(f"k={k}" for k in ks) + " |")
    print("| --- | " + " | ".join("---" for _ in ks) + " |")
    for dev in sorted({r["device"] for r in rows}):
        cells = []
        for k in ks:
            sel = [r for r in pick("select", k) if r["device"] == dev]
            cells.append(f"{sel[0]['fewshot_cover']['0.8']:.2f} / {sel[0]['mixture_cover']['0.8']:.2f}" if sel else "")
        print(f"| {dev} | " + " | ".join(cells) + " |")
    for how in ("select", "random"):
        for key, where in (("fewshot_cover", "test archs"), ("fewshot_cover_below900", "unmeasured archs below 900")):
            shares = []
            for k in ks:
                cover = [r[key]["0.8"] for r in pick(how, k) if key in r]
                if cover:
                    inside = np.mean([0.7 <= c <= 0.9 for c in cover])
                    shares.append(f"k={k} {inside:.2f} (mean {np.mean(cover):.2f})")
            print(f"devices with 80% coverage in 0.7..0.9, {how} archs, {where}: " + ", ".join(shares))
    print("\n#### rank spread the model predicts vs the Spearman it gets (eagle select's archs)\n")
    print("| k | mean rank spread | Spearman it implies (1 - 6 s^2) | Spearman measured | corr(spread, 1 - Spearman) |")
    print("| --- | --- | --- | --- | --- |")
    for k in ks:
        sel = pick("select", k)
        spread = np.array([r["rank_spread"] for r in sel])
        rho = np.array([r["fewshot"] for r in sel])
        corr = np.corrcoef(spread, 1 - rho)[0, 1] if len(sel) > 2 else float("nan")
        print(f"| {k} | {spread.mean():.3f} | {np.mean(1 - 6 * spread**2):.3f} | {rho.mean():.3f} | {corr:.2f} |")
    _reliability_plot(rows, ks, args.plot)
    print(f"\nreliability plot: {args.plot}")


def _reliability_plot(rows: list[dict], ks: list[int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4.5), sharey=True)
    for ax, key, title in zip(axes, ("fewshot_cover", "mixture_cover"), ("few-shot (new)", "mixture alone (before)")):
        ax.plot([0, 1], [0, 1], "k:", lw=1)
        for k in ks:
            sel = [r for r in rows if r["k_asked"] == k and r["archs"] == "select"] or [
                r for r in rows if r["k_asked"] == k
            ]
            obs = [np.mean([r[key][f"{p:.1f}"] for r in sel]) for p in LEVELS]
            ax.plot(LEVELS, obs, "o-", label=f"k={k}")
        ax.set_title(f"{title}: mean over {len({r['device'] for r in rows})} held-out devices")
        ax.set_xlabel("nominal central interval")
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("share of true latencies inside")
    axes[1].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--classes", default=",".join(CLASSES))
    p.add_argument("--k", default=",".join(str(k) for k in KS))
    p.add_argument("--no-gcn", action="store_true")
    p.add_argument("--archs", default="select,random", help="which ways of choosing the k archs to run")
    p.add_argument("--seed", type=int, default=0, help="the random archs' seed (other seeds: another --out)")
    p.add_argument("--gcn-cache", type=Path, help="an earlier run's file: its GCN scores on the same archs are reused")
    p.add_argument("--out", type=Path, default=REPO / "benchmarks/results/fewshot_class.jsonl")
    p.add_argument("--plot", type=Path, default=REPO / "benchmarks/results/fewshot_reliability.png")
    p.add_argument("--report", action="store_true")
    args = p.parse_args()
    from eagle.threads import limited_threads

    with limited_threads(1):  # one thread per process, as Eagle computes by default
        report(args) if args.report else run(args)


if __name__ == "__main__":
    main()
