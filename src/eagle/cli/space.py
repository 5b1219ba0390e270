"""``eagle space info|export``: facts about a search space, and its full table."""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

from eagle import spaces
from eagle.fileio import atomic_write_text

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
    info = ssub.add_parser("info", help="sizes, ops and class counts of a search space")
    info.add_argument("space", choices=spaces.names())
    info.set_defaults(func=cmd_info)
    exp = ssub.add_parser("export", help="one CSV row per architecture, in NB201 index order")
    exp.add_argument("space", choices=spaces.names())
    exp.add_argument("--output", "-o", required=True, type=Path, help="CSV file to write")
    exp.set_defaults(func=cmd_export)


def cmd_info(args: argparse.Namespace) -> int:
    space = spaces.get(args.space)
    valid = int(space.valid_mask().sum())
    reps = space.representatives()
    valid_classes = sum(space.is_valid(r) for r in reps)
    print(f"search space      {space.name}")
    print(f"architectures     {space.num_archs}")
    print(f"valid             {valid} (connected input->output)")
    print(f"disconnected      {space.num_archs - valid}")
    print(f"canonical classes {space.num_classes} ({valid_classes} of them valid)")
    print(f"edges             {', '.join(f'{s}->{d}' for s, d in space.edges)}")
    print(f"ops (id: name)    {', '.join(f'{i}: {op}' for i, op in enumerate(space.ops))}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    space = spaces.get(args.space)
    rows = space.table()

    def render(fh) -> None:  # noqa: ANN001 - text file handle
        writer = csv.DictWriter(fh, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({**row, "valid": "true" if row["valid"] else "false"})

    atomic_write_text(args.output, render)
    print(f"wrote {len(rows)} architectures to {args.output}")
    return 0
