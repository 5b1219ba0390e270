"""``python -m eagle.device_runner``: the seed's measurement entry point (see :mod:`eagle.compat.device_runner`)."""

from __future__ import annotations

import sys

from eagle.compat.device_runner import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
