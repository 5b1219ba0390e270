"""``eagle arch show``: every representation and fact of one architecture."""

from __future__ import annotations

import argparse
import json

from eagle import spaces


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("arch", help="inspect one architecture")
    asub = p.add_subparsers(dest="arch_command", metavar="ACTION")
    asub.required = True
    show = asub.add_parser("show", help="print every representation of an arch (arch_str, NB201 index or vector)")
    show.add_argument("arch", help="an arch string of any space; for NB201 also an index (0..15624) or a vector")
    show.add_argument("--space", help=f"one of {', '.join(spaces.names())} (default: the space that reads the arch)")
    show.add_argument("--json", action="store_true", help="print JSON instead of a table")
    show.set_defaults(func=cmd_show)


def cmd_show(args: argparse.Namespace) -> int:
    from pathlib import Path

    from eagle.datasets.importer import infer_space
    from eagle.errors import EagleError, UsageError

    try:  # the arch is an argument: what is wrong with it is a usage error (exit 2)
        space = args.space or infer_space([args.arch], Path("the arch"))
        info = spaces.get(space).describe(args.arch)
    except UsageError:
        raise
    except EagleError as exc:
        raise UsageError(str(exc)) from None
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    width = max(len(k) for k in info)
    for key, value in info.items():
        if isinstance(value, int) and not isinstance(value, bool) and key.startswith(("params", "macs")):
            value = f"{value:,}"
        print(f"{key:<{width}}  {value}")
    return 0
