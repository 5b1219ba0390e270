"""Entry point of the ``eagle`` command: builds the parser from the subcommand modules."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence

from eagle import __version__
from eagle.errors import EagleError

# Each module exposes ``register(subparsers)``; the handler is stored as ``func`` on the args.
_SUBCOMMAND_MODULES = (
    "eagle.cli.space",
    "eagle.cli.arch",
    "eagle.cli.dataset",
    "eagle.cli.measure",
    "eagle.cli.cluster",
    "eagle.cli.predict",
    "eagle.cli.fewshot",
    "eagle.cli.search",
    "eagle.cli.demo",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="eagle",
        description="Measure and predict the latency of neural networks on hardware (NAS-Bench-201).",
    )
    parser.add_argument("--version", action="version", version=f"eagle {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    import importlib

    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    # argparse lists a sub-command added with help=SUPPRESS as "==SUPPRESS==": drop those rows
    # (the internal "measure-export" style aliases of "measure export"); they still parse
    sub._choices_actions = [a for a in sub._choices_actions if a.help != argparse.SUPPRESS]
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    from eagle.cli import measure, search

    parser = build_parser()
    args = parser.parse_args(search.rewrite_argv(measure.rewrite_argv(list(sys.argv[1:] if argv is None else argv))))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    logging.getLogger("eagle").setLevel(logging.DEBUG if args.verbose else logging.INFO)
    try:
        return int(args.func(args) or 0)
    except EagleError as exc:
        print(f"eagle: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("eagle: interrupted", file=sys.stderr)
        return 130
    except OSError as exc:
        print(f"eagle: error: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
