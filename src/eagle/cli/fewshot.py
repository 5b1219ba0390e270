"""``eagle pretrain``, ``eagle select``, ``eagle calibrate``: latency prediction for a new device from k archs.

``eagle train --init BASE.pt --measurement FEW.pickle --save T.pt`` (in :mod:`eagle.cli.predict`)
adapts a pretrained base to the archs measured in FEW.pickle.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

import numpy as np

from eagle.cli.argtypes import add_compute_options, count
from eagle.errors import UsageError
from eagle.workflows.calibrate import CALIBRATION_POOL, MAX_K


def spread_target(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number; give a rank spread such as 0.05") from None
    if not 0.0 < value < 0.3:
        raise argparse.ArgumentTypeError(f"{text}: a rank spread lies between 0 and 0.29 (no idea); try 0.05")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    pt = sub.add_parser("pretrain", help="pretrain the few-shot latency model on many devices' datasets")
    pt.add_argument(
        "--measurement",
        nargs="+",
        help="dataset names or files (seed pickle, HELP .pt, CSV); default: every bundled latency dataset",
    )
    pt.add_argument("--exclude", nargs="+", default=[], help="dataset names to leave out (e.g. the target device)")
    pt.add_argument("--rank", type=count(1, 64), default=None, help="size of the learned device basis (default 8)")
    pt.add_argument("--space", help="search space of the datasets (default: that of --measurement, else nasbench201)")
    pt.add_argument("--save", type=Path, required=True, help="base checkpoint to write (BASE.pt)")
    add_compute_options(pt)
    pt.set_defaults(func=cmd_pretrain)

    se = sub.add_parser("select", help="the k archs to measure on a new device for the best few-shot adaptation")
    se.add_argument("--k", type=count(1, 15625), default=10)
    se.add_argument("--base", type=Path, help="base checkpoint (default: pretrain on the bundled datasets now)")
    se.add_argument("--below", type=count(1), help="only arch indices below this (HELP's NB201 protocol uses 900)")
    se.add_argument(
        "--candidates",
        type=Path,
        help="choose among these archs (CSV 'arch' column or one per line); large spaces need it",
    )
    se.add_argument(
        "--given",
        type=Path,
        help="archs already measured on the device (a measurement file: seed pickle, CSV, store): "
        "propose the next batch",
    )
    se.add_argument("--space", help="check that the base is of this search space")
    se.add_argument("--output", "-o", type=Path, help="write the archs (CSV, column arch) for 'eagle measure --archs'")
    se.add_argument(
        "--criterion", default="v", choices=("v", "d"), help="v: representative archs (default); d: extreme archs"
    )
    add_compute_options(se)
    se.set_defaults(func=cmd_select)

    ca = sub.add_parser(
        "calibrate", help="measure k proposed archs on a device and adapt the few-shot model to it, end to end"
    )
    from eagle.cli.measure import add_sweep_arguments

    add_sweep_arguments(ca)
    ca.add_argument("--k", type=count(1, 15625), default=10, help="archs to measure (per round with --until)")
    ca.add_argument(
        "--until",
        type=spread_target,
        help="keep measuring rounds of --k archs until the predicted rank spread (the posterior std of each "
        "arch's rank as a share of the list, averaged) falls to this, e.g. 0.05",
    )
    ca.add_argument(
        "--max-k", type=count(1, 15625), help=f"measure at most this many archs in all (default with --until: {MAX_K})"
    )
    ca.add_argument("--base", type=Path, help="base checkpoint (default: pretrain on the space's bundled datasets now)")
    ca.add_argument(
        "--candidates",
        type=Path,
        help=f"choose among these archs (default: the whole space; a large one: {CALIBRATION_POOL} random archs)",
    )
    ca.add_argument("--save", type=Path, required=True, help="adapted checkpoint to write (T.pt)")
    ca.set_defaults(func=cmd_calibrate, db=None)


def pretrain_from(
    specs: list[str] | None, exclude: list[str], rank: int | None = None, space: str | None = None
) -> Any:
    from eagle.costmodels.bundled import pretrain_base

    return pretrain_base(specs, exclude, space, rank)


def cmd_pretrain(args: argparse.Namespace) -> int:
    from eagle import predictors

    t0 = time.perf_counter()
    basis = pretrain_from(args.measurement, args.exclude, args.rank, args.space)
    predictors.save(basis, args.save)
    from eagle.fewshot import OpDeviceBasis

    per_op = isinstance(basis, OpDeviceBasis)
    covered = basis.num_archs if per_op else int(basis.covered.sum())
    how = ", each device as a per-op cost model" if per_op else ""
    print(
        f"pretrained a rank-{basis.rank} device basis on {len(basis.devices)} {basis.space} latency datasets "
        f"({covered} archs{how}) in {time.perf_counter() - t0:.1f} s; saved {args.save}"
    )
    print("devices: " + ", ".join(basis.devices))
    if per_op:
        print(f"plus {len(basis.references)} analytic reference devices (FLOPs-bound, size-bound)")
    elif basis.references or basis.op_cost_models:
        print(
            f"plus {len(basis.references)} analytic reference devices (FLOPs-bound, kernel-launch-bound and "
            f"mixes) and {len(basis.op_cost_models)} per-op cost models (latency = a sum of one cost per op, "
            "fitted to the device) for hardware unlike any of them"
        )
    if not per_op and basis.op_cost_priors:
        learned = ", ".join(sorted(basis.op_cost_priors))
        print(f"per-op cost priors learned from the devices each model fits best: {learned}")
    return 0


def write_arch_file(path: Path, archs: list[Any], space: Any) -> None:
    """A CSV with an ``arch`` column, one key per row (``eagle measure --archs`` and ``eagle predict
    --archs`` read it); ``archs`` are keys, or indices of an enumerable space."""
    from eagle.workflows.select import write_arch_csv

    write_arch_csv(path, [a if isinstance(a, str) else space.arch_at(int(a)) for a in archs])


def cmd_select(args: argparse.Namespace) -> int:
    from eagle.workflows import SelectSpec, select

    spec = SelectSpec(
        k=args.k,
        base=args.base,
        space=args.space,
        candidates=args.candidates,
        below=args.below,
        given=args.given,
        criterion=args.criterion,
    )
    chosen = select(spec)
    if args.given is not None:
        print(f"given {chosen.given} measured archs of {args.given}; the next {len(chosen.keys)}:")
    for i, key in enumerate(chosen.keys):
        print(key if chosen.indices is None else f"{int(chosen.indices[i]):6d}  {key}")
    if args.output:
        chosen.write(args.output)
        where = "" if chosen.space.name == "nasbench201" else f" --space {chosen.space.name}"
        how = f"eagle measure{where} --archs {args.output}"
        print(f"wrote {len(chosen.keys)} archs to {args.output} (measure them: {how})")
    return 0


def report_adapted(model: Any, save: Path, seconds: float) -> None:
    near = ", ".join(f"{name} {w:.2f}" for name, w in model.closest_devices(3))
    took = f"{seconds:.1f} s" if seconds >= 1 else f"{seconds * 1e3:.0f} ms"
    print(f"adapted to {len(model.trained_on_)} measured archs in {took}; saved {save}")
    print(f"closest known devices (posterior weight): {near}")
    blend = model.blend_
    if blend.used:
        print(
            f"a GCN trained on these {len(model.values_)} archs carries {blend.weight_:.0%} of the prediction "
            "(the share its out-of-fold error earns)"
        )
    from eagle.costmodels.opcost import OpCostPosterior

    top = model.components_[int(np.argmax(model.weights_))]
    if isinstance(top, OpCostPosterior):  # a per-op cost model leads: say what each op costs on this device
        costs = ", ".join(f"{op} {c:.2f}" for op, c in top.costs().items())
        print(f"per-op costs relative to nor_conv_3x3 (op-costs/{top.model}): {costs}")


def cmd_calibrate(args: argparse.Namespace) -> int:
    from eagle import spaces
    from eagle.cli.measure import sweep_config_from_args
    from eagle.workflows.calibrate import CalibrateSpec, calibrate_device
    from eagle.workflows.select import load_base

    if args.max_k is not None and args.max_k < args.k:  # before pretraining, which takes seconds
        raise UsageError(f"--max-k {args.max_k} is below --k {args.k}: give a --k of at most {args.max_k}")
    t0 = time.perf_counter()
    base = load_base(args.base, args.model or args.space)
    space = spaces.get(base.space)
    # the measurement, as 'eagle measure' would build it from these options; each round sets the archs
    options = argparse.Namespace(**{**vars(args), "space": spaces.spec(space), "model": None, "archs": "1"})
    if options.db is None:
        options.db = args.save.with_suffix(".sqlite")
    spec = CalibrateSpec(
        sweep=sweep_config_from_args(options, None),
        k=args.k,
        until=args.until,
        max_k=args.max_k,
        base=base,
        candidates=args.candidates,
        seed=args.seed,
        progress=not (args.no_progress or args.quiet),
    )
    try:
        out = calibrate_device(spec, say=print)
    except KeyboardInterrupt:
        print(
            f"\neagle: interrupted; every arch measured so far is stored in {spec.sweep.db}. Run the same command "
            "to resume: it proposes the same archs and measures only those not yet measured."
        )
        raise
    out.save(args.save)
    report_adapted(out.model, args.save, out.adapt_s)
    print(f"calibrated end to end in {time.perf_counter() - t0:.1f} s")
    return 0
