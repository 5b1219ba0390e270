"""What every benchmark report starts with: the machine and the date."""

from __future__ import annotations

import os
import platform
import time


def describe() -> dict[str, str]:
    """``{"machine": "<processor>, <n> cores", "date": "YYYY-MM-DD"}``."""
    return {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "date": time.strftime("%Y-%m-%d"),
    }
