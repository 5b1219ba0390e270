"""``eagle model show`` and ``eagle kernels profile|fit``: networks of your own, kernel by kernel.

``eagle predict --model X --kernels K.pt`` is in :mod:`eagle.cli.predict` and calls
:func:`cmd_predict_kernels` here.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path
from typing import Any

from eagle.cli.argtypes import count, input_shape
from eagle.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    mp = sub.add_parser("model", help="inspect a network of your own (torchvision:NAME, FILE.onnx, pkg.mod:factory)")
    msub = mp.add_subparsers(dest="model_command", metavar="ACTION")
    msub.required = True
    show = msub.add_parser("show", help="layers, MACs, parameters and the kernels ONNX Runtime will run")
    show.add_argument("model", help="torchvision:NAME[(k=v, ...)][@RES], family:NAME(...), FILE.onnx, pkg.mod:factory")
    show.add_argument("--input-shape", help="NxCxHxW (default: the spec's @RES, else 1x3x224x224)")
    show.add_argument("--kernels", type=Path, help="also predict each kernel with this kernel model (KERNELS.pt)")
    show.add_argument("--top", type=count(1), default=15, help="kernels to list, slowest first (default 15)")
    show.add_argument("--json", action="store_true", help="print JSON (every kernel) instead of tables")
    show.set_defaults(func=cmd_model_show)

    kp = sub.add_parser("kernels", help="profile kernels on a device and fit the kernel latency model")
    ksub = kp.add_subparsers(dest="kernels_command", metavar="ACTION")
    ksub.required = True
    prof = ksub.add_parser("profile", help="time sampled kernels on this device into a resumable store")
    prof.add_argument("--runtime", default="onnxruntime", choices=("onnxruntime",))
    prof.add_argument("--device", default="local", choices=("local",), help="where to profile (this machine)")
    prof.add_argument("--db", type=Path, required=True, help="kernel store (SQLite; resumed when it exists)")
    prof.add_argument("--budget-min", type=float, default=20.0, help="minutes to profile (default 20)")
    prof.add_argument("--max-samples", type=count(1), help="stop after this many more samples")
    prof.add_argument("--threads", type=count(1, 1024), default=1, help="runtime threads (default 1)")
    prof.add_argument("--graph-optimization", default="all", choices=("all", "extended", "basic", "disabled"))
    prof.add_argument("--seed", type=count(0), default=0)
    prof.add_argument("--quiet", "-q", action="store_true")
    prof.set_defaults(func=cmd_kernels_profile)
    fit = ksub.add_parser("fit", help="fit one regressor per kernel type on a kernel store")
    fit.add_argument("--db", type=Path, required=True, help="kernel store written by 'eagle kernels profile'")
    fit.add_argument("--save", type=Path, required=True, help="kernel model to write (KERNELS.pt)")
    fit.add_argument("--quiet", "-q", action="store_true")
    fit.set_defaults(func=cmd_kernels_fit)
    cal = ksub.add_parser(
        "calibrate",
        help="calibrate a kernel model on a few measured networks of the family you will predict",
        description="Whole networks run their kernels faster or slower than the profiled samples, by "
        "family. Measure 5-10 networks of the family you will predict ('eagle measure --models FILE "
        "--runtime onnxruntime --threads T', batch 1, the kernel model's threads), then calibrate on them: "
        "a scale, a factor per kernel type and a per-run constant (BENCHMARKS.md, issue 20).",
    )
    cal.add_argument("--kernels", type=Path, required=True, help="kernel model from 'eagle kernels fit'")
    cal.add_argument(
        "--measurement", required=True, help="measured networks: a results store (X.sqlite) or CSV (arch,latency_ms)"
    )
    cal.add_argument("--run", type=count(1), help="with a results store: which run (default: the latest)")
    cal.add_argument("--save", type=Path, required=True, help="calibrated kernel model to write")
    cal.set_defaults(func=cmd_kernels_calibrate)


def _named(model: str | None, models: Path | None, shape_text: str | None) -> tuple[list[tuple[str, str]], int]:
    """((text, key) of each network named on the command line, batch size of --input-shape)."""
    from eagle.anynet.specs import named_specs

    shape = input_shape(shape_text) if shape_text else None
    named = named_specs(model, models, input_shape=shape[1:] if shape else None)
    return [(text, spec.key) for text, spec in named], shape[0] if shape else 1


def cmd_model_show(args: argparse.Namespace) -> int:
    from eagle import spaces
    from eagle.anynet.kernels import kernel_macs, kernel_type
    from eagle.anynet.onnxgraph import graph_sha256
    from eagle.anynet.predict import profile_for

    [(_, key)], batch = _named(args.model, None, args.input_shape)
    space = spaces.get("models")
    macs, params = space.costs([key])[0]
    model = _load_kernel_model(args.kernels) if args.kernels else None
    profile, data = profile_for(model, key, batch_size=batch, runs=SHOW_RUNS)
    pred = model.predict_kernels(profile.kernels) if model is not None else None
    info: dict[str, Any] = {
        "model": key,
        "input_shape": [batch, *space.input_shape(key)],
        "macs": int(macs),
        "params": int(params),
        "graph_sha256": graph_sha256(data),
        "kernels": len(profile.kernels),
    }
    if model is not None and pred is not None:
        info["predicted_latency_ms"] = 1e3 * (float(pred.sum()) + model.overhead_s(len(profile.kernels)))
    rows: list[dict[str, Any]] = []
    for i, k in enumerate(profile.kernels):
        row: dict[str, Any] = {
            "kernel": k.name,
            "type": kernel_type(k),
            "op": k.op + (f"+{k.act}" if k.act else ""),
            "input": k.inputs[0] if k.inputs else [],
            "output": k.outputs[0] if k.outputs else [],
            "macs": kernel_macs(k),
            "measured_here_ms": 1e3 * k.duration_s,
        }
        if pred is not None:
            row["predicted_ms"] = 1e3 * float(pred[i])
        rows.append(row)
    if args.json:
        print(json.dumps({**info, "kernel_list": rows}, indent=2))
        return 0
    width = max(len(name) for name in info)
    for name, value in info.items():
        text = f"{value:,}" if name in ("macs", "params") else f"{value:.3f}" if isinstance(value, float) else value
        print(f"{name:<{width}}  {text}")
    from collections import Counter

    types = Counter(r["type"] for r in rows)
    print("kernel types  " + ", ".join(f"{t} {n}" for t, n in types.most_common()))
    key_col = "predicted_ms" if pred is not None else "measured_here_ms"
    how = "predicted" if pred is not None else f"measured here, median of {SHOW_RUNS} profiled runs"
    print(f"\nslowest {min(args.top, len(rows))} kernels ({how}):")
    print(f"{'ms':>8}  {'op':<20} {'output':<20} kernel")
    for r in sorted(rows, key=lambda r: -float(r[key_col]))[: args.top]:
        shape = "x".join(str(d) for d in r["output"])
        print(f"{r[key_col]:8.3f}  {r['op']:<20} {shape:<20} {r['kernel']}")
    return 0


#: profiled runs of the network behind 'eagle model show' (each kernel's median is shown)
SHOW_RUNS = 5


def cmd_kernels_profile(args: argparse.Namespace) -> int:
    from eagle.workflows.kernels import ProfileSpec, profile_kernels

    if not (0 < args.budget_min <= 24 * 60):
        raise UsageError(f"--budget-min must lie in (0, 1440], got {args.budget_min}")
    spec = ProfileSpec(
        args.db, 60 * args.budget_min, args.max_samples, args.threads, args.graph_optimization, args.seed
    )  # fmt: skip
    last = [0.0]

    def show(done: int, elapsed: float) -> None:
        if not args.quiet and elapsed - last[0] >= 10:
            last[0] = elapsed
            left = max(spec.budget_s - elapsed, 0.0)
            print(
                f"  {done} samples in {elapsed:.0f} s of the {spec.budget_s:.0f} s budget; {left:.0f} s left",
                file=sys.stderr,
                flush=True,
            )

    try:
        out = profile_kernels(spec, on_sample=show)
    except KeyboardInterrupt:
        print("\neagle: interrupted; every finished sample is stored. Run the same command to continue.")
        return 130
    print(
        f"profiled {out.profiled_now} samples now ({out.errors_now} failed) in {out.wall_s:.0f} s; "
        f"{args.db} holds {out.ok} profiled samples"
    )
    return 0


def cmd_kernels_fit(args: argparse.Namespace) -> int:
    from eagle.workflows.kernels import fit_kernels

    fitted = fit_kernels(args.db)
    fitted.model.save(args.save)
    counts = ", ".join(f"{t} {n}" for t, n in sorted(fitted.counts.items(), key=lambda kv: -kv[1]))
    print(f"fitted on {fitted.samples} samples ({counts} kernels) in {fitted.fit_s:.1f} s; wrote {args.save}")
    return 0


def cmd_kernels_calibrate(args: argparse.Namespace) -> int:
    import numpy as np

    from eagle.workflows.kernels import calibrate_kernels

    out = calibrate_kernels(args.kernels, args.measurement, args.run)
    print(f"calibrated on {len(out.networks)} networks of {out.source}")
    out.model.save(args.save)
    c = out.model.correction_ or {}
    factors = ", ".join(f"{t} x{np.exp(c['scale'] + v):.2f}" for t, v in sorted(c.get("types", {}).items()) if v)
    print(
        f"calibrated on {len(out.networks)} measured networks in {out.calibrate_s:.1f} s; wrote {args.save}\n"
        f"scale x{np.exp(c['scale']):.3f}, per-run constant {1e3 * c['constant_s']:.3f} ms; kernel types: {factors}"
    )
    print(
        f"within +-10% on these networks: {out.within_10pct_before:.0%} before, {out.within_10pct_after:.0%} after",
        end="",
    )
    if out.within_10pct_left_out is not None:
        print(f"; each left out in turn: {out.within_10pct_left_out:.0%}")
    else:
        print()
    return 0


def _load_kernel_model(path: Path) -> Any:
    from eagle.workflows.kernels import load_kernel_model

    return load_kernel_model(path)


def cmd_predict_kernels(args: argparse.Namespace) -> int:
    """``eagle predict --kernels K.pt --model X | --models FILE [--output CSV]``."""
    from eagle.anynet.predict import predict_network
    from eagle.fileio import atomic_write_text

    if bool(args.model) == bool(args.models):
        raise UsageError("with --kernels give one network (--model X) or a file of them (--models FILE)")
    model = _load_kernel_model(args.kernels)
    named, batch = _named(args.model, args.models, args.input_shape)
    results = [(text, predict_network(key, model, batch_size=batch)) for text, key in named]
    if model.correction_:
        print(f"(kernel model calibrated on {model.correction_['networks']} measured networks)")
    if args.output:

        def write(fh: Any) -> None:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(["model", "latency_ms", "macs", "kernels"])
            for text, p in results:
                w.writerow([text, repr(1e3 * p.latency_s), p.macs, len(p.kernels)])

        atomic_write_text(args.output, write)
        print(f"wrote {len(results)} predictions (latency_ms) to {args.output}")
    if len(results) == 1 or not args.output:
        for text, p in results:
            print(f"{text}: predicted {1e3 * p.latency_s:.3f} ms ({len(p.kernels)} kernels, {p.macs:,} MACs)")
            if len(results) == 1:
                print(f"{'ms':>8}  {'share':>6}  {'ops':<24} layer")
                for layer, ops, ms, share in p.layers()[: args.top]:
                    print(f"{ms:8.3f}  {100 * share:5.1f}%  {ops:<24} {layer}")
                label = (
                    "(per-run overhead)"
                    if p.overhead_s >= 0
                    else "(taken off: the profiler slows kernels by this much in total; a plain run does not)"
                )
                print(f"{1e3 * p.overhead_s:8.3f}  {100 * p.overhead_s / p.latency_s:5.1f}%  {label}")
    return 0
