"""``null``: a runtime that does nothing, for fast tests of the measurement harness.

Options (for harness tests; all take NB201 indices of the *measured* arch):
``sleep_s`` adds a fixed delay per inference; ``fail`` raises during conversion; ``hang``
sleeps forever during conversion; ``crash`` kills the worker process during conversion.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from eagle import __version__
from eagle.runtimes.base import Runtime


class NullRuntime(Runtime):
    name = "null"

    def version(self) -> str:
        return __version__

    def convert(self, model: Any, example: Any) -> Any:
        from eagle.spaces.nasbench201.arch import vector_to_index

        index = vector_to_index(model.arch_vector)
        if index in self.options.get("fail", ()):
            raise RuntimeError(f"injected conversion failure for arch {index}")
        if index in self.options.get("hang", ()):
            while True:
                time.sleep(1)
        if index in self.options.get("crash", ()):
            os._exit(17)
        return b""

    def load(self, artifact: Any, example: Any) -> Callable[[], Any]:
        delay = float(self.options.get("sleep_s", 0.0))
        if delay > 0:
            return lambda: time.sleep(delay)
        return lambda: None
