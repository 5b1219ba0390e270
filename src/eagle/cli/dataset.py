"""``eagle dataset list|info|export|compare|import``."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from eagle import datasets
from eagle.datasets.readers import FORMATS, HWNASBENCH_DATASETS, HWNASBENCH_METRICS
from eagle.datasets.writers import EXPORT_FORMATS, export
from eagle.errors import EagleError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dataset", help="bundled and user latency/accuracy datasets")
    dsub = p.add_subparsers(dest="dataset_command", metavar="ACTION")
    dsub.required = True

    lst = dsub.add_parser("list", help="table of every dataset: name, device, metric, unit, archs")
    lst.add_argument("--json", action="store_true")
    lst.set_defaults(func=cmd_list)

    info = dsub.add_parser("info", help="metadata and value summary of one dataset")
    info.add_argument("name")
    info.set_defaults(func=cmd_info)

    exp = dsub.add_parser("export", help="write a dataset as the seed's pickle, CSV or Parquet")
    exp.add_argument("name", help="dataset name or file")
    exp.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    exp.add_argument("--output", "-o", required=True, type=Path)
    exp.set_defaults(func=cmd_export)

    cmp_ = dsub.add_parser("compare", help="rank correlation of two datasets over their common archs")
    cmp_.add_argument("a")
    cmp_.add_argument("b")
    cmp_.add_argument("--plot", type=Path, help="write a log-log scatter plot PNG")
    cmp_.set_defaults(func=cmd_compare)

    imp = dsub.add_parser("import", help="validate a file and register it by name for every command")
    imp.add_argument("file", type=Path)
    imp.add_argument("--format", required=True, choices=FORMATS)
    imp.add_argument("--name", required=True)
    imp.add_argument("--metric", default="latency", choices=sorted(datasets.UNITS))
    imp.add_argument("--unit", help="unit of the values (latency: s, ms, us; accuracy: %%, fraction)")
    imp.add_argument("--column", help="CSV: the value column (default: the one named like the metric)")
    imp.add_argument("--hw-metric", choices=sorted(HWNASBENCH_METRICS), help="HW-NAS-Bench metric")
    imp.add_argument("--hw-dataset", default="cifar10", choices=HWNASBENCH_DATASETS)
    imp.add_argument("--device", help="device name to record in the metadata")
    imp.add_argument("--force", action="store_true", help="replace a user dataset of the same name")
    imp.set_defaults(func=cmd_import)


def cmd_list(args: argparse.Namespace) -> int:
    rows = []
    for name in datasets.names():
        meta = datasets.metadata(name)
        rows.append(
            {
                "name": name,
                "device": meta.get("device") or "-",
                "metric": meta.get("metric"),
                "unit": meta.get("unit"),
                "archs": meta.get("num_archs"),
            }
        )
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    cols = ("name", "device", "metric", "unit", "archs")
    widths = {c: max(len(c), *(len(str(r[c])) for r in rows)) for c in cols}
    print("  ".join(c.ljust(widths[c]) for c in cols))
    for r in rows:
        print("  ".join(str(r[c]).ljust(widths[c]) for c in cols))
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    info = datasets.load(args.name).describe()
    width = max(len(k) for k in info)
    for key, value in info.items():
        shown = "-" if value is None else f"{value:.6g}" if isinstance(value, float) else value
        print(f"{key:<{width}}  {shown}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    ds = datasets.load_measurement(args.name)
    n = export(ds, args.format, args.output)
    print(f"wrote {n} archs of {ds.name} to {args.output} ({args.format})")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    import numpy as np
    from scipy import stats

    a, b = datasets.load_measurement(args.a), datasets.load_measurement(args.b)
    same_metric = a.metric == b.metric
    unit_a = unit_b = "ms" if same_metric and a.metric == "latency" else None
    va, vb = a.by_index(unit_a), b.by_index(unit_b)
    unit_a, unit_b = unit_a or a.unit, unit_b or b.unit
    common = np.isfinite(va) & np.isfinite(vb)
    n = int(common.sum())
    if n < 3:
        raise EagleError(f"{a.name} and {b.name} share {n} archs; at least 3 are needed to compare")
    rho = stats.spearmanr(va[common], vb[common]).statistic
    tau = stats.kendalltau(va[common], vb[common]).statistic
    positive = bool((va[common] > 0).all() and (vb[common] > 0).all())
    pearson_log = np.corrcoef(np.log(va[common]), np.log(vb[common]))[0, 1] if positive else float("nan")
    print(f"common archs   {n}")
    print(f"spearman       {rho:.4f}")
    print(f"kendall_tau    {tau:.4f}")
    print(f"pearson_log    {pearson_log:.4f}")
    if args.plot:
        from eagle.plots import scatter

        scatter(
            va[common],
            vb[common],
            args.plot,
            xlabel=f"{a.name} [{a.metric}, {unit_a}]",
            ylabel=f"{b.name} [{b.metric}, {unit_b}]",
            title=f"Spearman {rho:.3f}, Kendall {tau:.3f} over {n} archs",
            identity=same_metric and unit_a == unit_b,
        )
        print(f"plot           {args.plot}")
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    extra = {"device": args.device} if args.device else {}
    ds = datasets.import_file(
        args.file,
        args.format,
        args.name,
        metric=args.metric,
        unit=args.unit,
        column=args.column,
        hw_metric=args.hw_metric,
        hw_dataset=args.hw_dataset,
        extra=extra,
    )
    path = datasets.save_user_dataset(ds, overwrite=args.force)
    print(f"imported {ds.num_archs} archs as {ds.name!r} ({ds.metric}, {ds.unit}) into {path.parent}")
    return 0
