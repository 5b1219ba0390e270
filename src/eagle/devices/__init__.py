"""Where models run. ``local`` is this machine; ``ssh://user@host:port`` a remote Linux host."""

from __future__ import annotations

from eagle.devices.identity import local_identity

__all__ = ["local_identity"]
