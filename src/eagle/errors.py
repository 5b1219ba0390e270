"""Exception types shared by every Eagle layer.

Every error a user can cause by bad input derives from :class:`EagleError`, so the CLI can
print its message (which says what was wrong and how to fix it) without a traceback.
"""

from __future__ import annotations


class EagleError(Exception):
    """Base class of every error Eagle raises on purpose."""


class InvalidArchError(EagleError, ValueError):
    """An architecture description could not be understood (bad string, vector, index...)."""


class UnknownNameError(EagleError, KeyError):
    """A registry lookup used a name that is not registered."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else ""
