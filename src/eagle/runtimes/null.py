"""``null``: a runtime that does nothing, for fast tests of the measurement harness.

Options (for harness tests; ``fail``, ``hang`` and ``crash`` take arch indices of the *measured*
arch, which the worker tags on the model as ``eagle_index``):
``sleep_s`` adds a fixed delay per inference; ``sleep_per_mac_s`` adds a delay proportional to
the network's multiply-accumulates (a simulated compute-bound device, of any search space);
``fail`` raises during conversion; ``hang`` sleeps forever during conversion; ``crash`` kills
the worker process during conversion.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from eagle.runtimes.base import Runtime
from eagle.version import __version__


class NullRuntime(Runtime):
    name = "null"

    def version(self) -> str:
        return __version__

    def convert(self, model: Any, example: Any) -> Any:
        index = getattr(model, "eagle_index", None)
        if index in self.options.get("fail", ()):
            raise RuntimeError(f"injected conversion failure for arch {index}")
        if index in self.options.get("hang", ()):
            while True:
                time.sleep(1)
        if index in self.options.get("crash", ()):
            os._exit(17)
        per_mac = float(self.options.get("sleep_per_mac_s", 0.0))
        if per_mac > 0:
            from eagle.spaces.counting import count_macs_params

            return count_macs_params(model, tuple(example.shape))[0] * per_mac
        return 0.0

    @property
    def computes_on_cpu(self) -> bool:
        return False  # its "inference" is a sleep

    def load(self, artifact: Any, example: Any) -> Callable[[], Any]:
        delay = float(self.options.get("sleep_s", 0.0)) + float(artifact or 0.0)
        if delay > 0:
            return lambda: time.sleep(delay)
        return lambda: None
