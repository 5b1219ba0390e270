"""``eagle space info|export``: facts about a search space, and its full table."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path
from typing import IO

import numpy as np

from eagle import spaces
from eagle.fileio import atomic_write_text
from eagle.spaces.nasbench201 import NASBench201

EXPORT_COLUMNS = (
    "nb201_index",
    "arch_str",
    "arch_vector",
    "valid",
    "canonical_class",
    "params_reference",
    "params_deployed",
    "macs_deployed",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("space", help="search-space facts and tables")
    ssub = p.add_subparsers(dest="space_command", metavar="ACTION")
    ssub.required = True
    info = ssub.add_parser("info", help="size, encodings and ops of a search space")
    info.add_argument("space", help=f"one of {', '.join(spaces.names())} (or module:Class)")
    info.set_defaults(func=cmd_info)
    exp = ssub.add_parser("export", help="one CSV row per architecture, in index order")
    exp.add_argument("space", help=f"one of {', '.join(spaces.names())} (or module:Class)")
    exp.add_argument("--output", "-o", required=True, type=Path, help="CSV file to write")
    exp.set_defaults(func=cmd_export)


def cmd_info(args: argparse.Namespace) -> int:
    space = spaces.get(args.space)
    print(f"search space      {space.name}")
    print(f"architectures     {space.size if space.enumerable else 'too many to enumerate'}")
    if isinstance(space, NASBench201):
        valid = int(space.valid_mask().sum())
        reps = space.representatives()
        valid_classes = sum(space.is_valid(r) for r in reps)
        print(f"valid             {valid} (connected input->output)")
        print(f"disconnected      {space.num_archs - valid}")
        print(f"canonical classes {space.num_classes} ({valid_classes} of them valid)")
        print(f"edges             {', '.join(f'{s}->{d}' for s, d in space.edges)}")
        print(f"ops (id: name)    {', '.join(f'{i}: {op}' for i, op in enumerate(space.ops))}")
    print(f"encodings         {', '.join(space.encodings)}")
    print(f"op vocabulary     {len(space.op_vocabulary)} entries (per-op cost models)")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    space = spaces.get(args.space)
    if isinstance(space, NASBench201):
        rows = space.table()
        columns: tuple[str, ...] = EXPORT_COLUMNS
    else:
        size = space._need_enumerable("eagle space export")
        costs = space.costs(np.arange(size))
        rows = [
            {"arch_index": i, "arch": space.arch_at(i), "macs": int(c[0]), "params": int(c[1])}
            for i, c in enumerate(costs)
        ]
        columns = ("arch_index", "arch", "macs", "params")

    def render(fh: IO[str]) -> None:
        writer = csv.DictWriter(fh, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            if "valid" in row:
                row = {**row, "valid": "true" if row["valid"] else "false"}
            writer.writerow(row)

    atomic_write_text(args.output, render)
    print(f"wrote {len(rows)} architectures to {args.output}")
    return 0
