"""``eagle demo``: the README's main job on the embedded defaults."""

from __future__ import annotations

import argparse
from pathlib import Path

from eagle import spaces


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="the main job on the embedded defaults (search-space tour)")
    p.add_argument("--output-dir", type=Path, default=Path("eagle-demo"), help="where results go")
    p.set_defaults(func=cmd_demo)


def cmd_demo(args: argparse.Namespace) -> int:
    from eagle.cli import space as space_cli

    space = spaces.get("nasbench201")
    print("== NAS-Bench-201 ==")
    space_cli.cmd_info(argparse.Namespace(space="nasbench201"))
    print("\n== one architecture, every representation ==")
    arch = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    for key, value in space.describe(arch).items():
        print(f"  {key:<24} {value}")
    args.output_dir.mkdir(parents=True, exist_ok=True)
    out = args.output_dir / "nasbench201.csv"
    print()
    space_cli.cmd_export(argparse.Namespace(space="nasbench201", output=out))
    return 0
