"""Exception types shared by every Eagle layer.

Every error a user can cause by bad input derives from :class:`EagleError`, so the CLI can
print its message (which says what was wrong and how to fix it) without a traceback.
"""

from __future__ import annotations


class EagleError(Exception):
    """Base class of every error Eagle raises on purpose.

    ``exit_code`` is what the command line exits with: 1 for bad data (a file's contents, a
    store, a checkpoint), 2 for bad usage (:class:`UsageError`: an option's value, a name, an
    address, a config value), as argparse does for its own usage errors.
    """

    exit_code = 1


class NotFittedError(EagleError):
    """A predictor was asked to predict (or be saved) before ``fit``."""


class UsageError(EagleError, ValueError):
    """A value given on the command line or in a config is malformed or out of range."""

    exit_code = 2


class InvalidArchError(UsageError):
    """An architecture description could not be understood (bad string, vector, index...)."""


class UnknownNameError(UsageError, KeyError):
    """A registry lookup used a name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""


def show(value: object, limit: int = 80) -> str:
    """A short, safe ``repr`` for error messages: never huge, never failing (a 5000-digit int,
    a recursive or enormous container)."""
    try:
        text = repr(value)
    except (ValueError, RecursionError, MemoryError):
        if isinstance(value, int):
            return f"<an integer of {value.bit_length()} bits>"
        return f"<a {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def install_hint(extra: str) -> str:
    """How to install one of Eagle's extras (Eagle is not on PyPI: it installs from its clone)."""
    return (
        f"install Eagle's '{extra}' extra into its venv, from the Eagle clone: "
        f".venv/bin/python -m pip install -c constraints.txt -e '.[{extra}]' (make setup installs every extra)"
    )
