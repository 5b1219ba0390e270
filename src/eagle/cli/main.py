"""Entry point of the ``eagle`` command: builds the parser from the subcommand modules."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn

from eagle.errors import EagleError
from eagle.version import __version__

# Each module exposes ``register(subparsers)``; the handler is stored as ``func`` on the args.
_SUBCOMMAND_MODULES = (
    "eagle.cli.space",
    "eagle.cli.arch",
    "eagle.cli.dataset",
    "eagle.cli.measure",
    "eagle.cli.doctor",
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
    """argparse, with a usage error in one line that says where to look (exit 2), and no
    abbreviated options: ``--run`` of ``eagle measure export`` must not be read as an ambiguous
    prefix of the sweep's ``--runtime``/``--runs`` (every sub-command's parser is one of these)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {one_line(message)} (see '{self.prog} --help')\n")


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="eagle",
        description="Measure and predict the latency of neural networks on hardware: search spaces (NAS-Bench-201, "
        "FBNet, OFA-MobileNetV3, your own) and any network you bring (torchvision, ONNX, your factory).",
    )
    parser.add_argument("--version", action="version", version=f"eagle {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    import importlib

    for name in _SUBCOMMAND_MODULES:
        importlib.import_module(name).register(sub)
    _add_force(parser)
    return parser


def _add_force(parser: argparse.ArgumentParser) -> None:
    """Give every command that writes an output file (:data:`OUTPUT_ARGS`) a ``--force`` flag:
    an output that exists is replaced only with it (:func:`check_outputs`)."""
    dests = {a.dest for a in parser._actions}
    if dests & set(OUTPUT_ARGS) and "force" not in dests:
        parser.add_argument("--force", action="store_true", help="replace output files that already exist")
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                _add_force(child)


def check_outputs(args: argparse.Namespace) -> None:
    """Before a command runs: no output file may be one of its inputs (a store, a dataset's file,
    a checkpoint, a list: never, even with ``--force``), and an output file that exists is
    replaced only with ``--force``. FIFOs, devices and ``-`` are streams, written in place."""
    import stat

    from eagle.errors import UsageError
    from eagle.fileio import same_file

    outputs = [(name, Path(v)) for name in OUTPUT_ARGS if isinstance(v := getattr(args, name, None), (str, Path))]
    outputs = [(n, p) for n, p in outputs if str(p) != "-"]
    if not outputs:
        return
    inputs = _input_files(args, {n for n, _ in outputs})
    for i, (name, path) in enumerate(outputs):
        for other, other_path in outputs[i + 1 :]:
            if os.path.abspath(path) == os.path.abspath(other_path) or same_file(path, other_path):
                raise UsageError(
                    f"--{name.replace('_', '-')} and --{other.replace('_', '-')} are the same file ({path}): "
                    "give each output its own path (nothing was written)"
                )
    for name, path in outputs:
        for option, source in inputs:
            if same_file(path, source):
                raise UsageError(
                    f"--{name.replace('_', '-')} {path} is an input of this command ({option}); "
                    "write the output somewhere else (nothing was written)"
                )
        try:
            st = os.stat(path)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode) and not getattr(args, "force", False):
            option = f"--{name.replace('_', '-')}"
            raise UsageError(f"{option} {path} exists; add --force to replace it (nothing was written)")


def _input_files(args: argparse.Namespace, outputs: set[str]) -> list[tuple[str, Path]]:
    """(option, file) of every value of ``args`` that names an existing file or a user dataset
    (its files), with a SQLite store's -wal/-shm beside it."""
    from eagle.datasets import catalog

    found: list[tuple[str, Path]] = []
    for dest, value in vars(args).items():
        if dest in outputs or dest == "func":
            continue
        for v in value if isinstance(value, list) else [value]:
            if not isinstance(v, (str, Path)) or not str(v) or len(str(v)) > 4096:
                continue
            option = f"--{dest.replace('_', '-')} {v}"
            path = Path(v)
            with contextlib.suppress(OSError, ValueError):
                if path.exists():
                    found += [(option, path), (option, Path(f"{path}-wal")), (option, Path(f"{path}-shm"))]
                    continue
            with contextlib.suppress(Exception):  # not a dataset name: nothing to protect
                entry = catalog.user_catalog().get(str(v))
                if entry:
                    npz = Path(entry["_npz"])
                    found += [(option, npz), (option, npz.with_suffix(".json"))]
    return found


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

            check_outputs(args)
            spaces.allow(getattr(args, "space", None))  # a --space the user typed may be imported
            if getattr(args, "allow_module", None):
                from eagle.anynet.specs import allow_module

                for module in args.allow_module:  # model factories the user allowed on the command line
                    allow_module(module)
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
