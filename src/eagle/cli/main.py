"""Entry point of the ``eagle`` command: builds the parser from the subcommand modules."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from typing import NoReturn

from eagle import __version__
from eagle.errors import EagleError

# Each module exposes ``register(subparsers)``; the handler is stored as ``func`` on the args.
_SUBCOMMAND_MODULES = (
    "eagle.cli.space",
    "eagle.cli.arch",
    "eagle.cli.dataset",
    "eagle.cli.measure",
    "eagle.cli.anynet",
    "eagle.cli.cluster",
    "eagle.cli.predict",
    "eagle.cli.fewshot",
    "eagle.cli.search",
    "eagle.cli.demo",
)


#: Arguments that name an output file; ``-`` there means standard output.
OUTPUT_ARGS = ("output", "save", "json", "plot", "log")


class Parser(argparse.ArgumentParser):
    """argparse, with a usage error in one line that says where to look (exit 2)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    quiet = getattr(args, "quiet", False)
    logging.getLogger("eagle").setLevel(logging.DEBUG if args.verbose else logging.WARNING if quiet else logging.INFO)
    return run_command(args.func, args, verbose=args.verbose)


def run_command(
    func: Callable[[argparse.Namespace], int | None], args: argparse.Namespace, *, verbose: bool, prog: str = "eagle"
) -> int:
    """Run a command handler; every failure ends in one line on stderr and an exit code.

    Eagle's own errors say what was wrong and how to fix it (exit 1 for data, 2 for usage). Anything
    else is a bug in Eagle: it is reported in one line too (the traceback with ``-v``), as an
    internal error, exit 1, never as a raw traceback.
    """
    try:
        from eagle.progress import reporting
        from eagle.threads import limited_threads

        with contextlib.ExitStack() as stack:
            stack.enter_context(limited_threads(getattr(args, "compute_threads", None)))
            stack.enter_context(reporting(not getattr(args, "quiet", False)))
            if any(str(getattr(args, name, None)) == "-" for name in OUTPUT_ARGS):
                # the data goes to stdout: every message the command prints goes to stderr instead
                stack.enter_context(contextlib.redirect_stdout(sys.stderr))
            from eagle import spaces

            spaces.allow(getattr(args, "space", None))  # a --space the user typed may be imported
            return int(func(args) or 0)
    except EagleError as exc:
        print(f"{prog}: error: {one_line(str(exc))}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of our output went away ('| head'): end quietly, as cat does
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except MemoryError:
        print(f"{prog}: error: out of memory; the input is too large for this machine", file=sys.stderr)
        return 1
    except OSError as exc:
        from eagle.fileio import describe_os_error

        print(f"{prog}: error: {one_line(describe_os_error(exc))}", file=sys.stderr)
        return 1
    except Exception as exc:  # a bug: one line, never a traceback (unless -v)
        if verbose:
            traceback.print_exc()
        print(
            f"{prog}: internal error: {type(exc).__name__}: {one_line(str(exc))[:300]} "
            "(a bug in Eagle: please report it with the command; run with -v for details)",
            file=sys.stderr,
        )
        return 1


def one_line(text: str) -> str:
    """A message folded onto one line."""
    return " ".join(text.split())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
