"""Measuring latency: the timing protocol, the worker, sweeps, executors, exports.

``eagle.measure`` is also the public API's measurement call (:func:`eagle.api.measure`):
``eagle.measure(archs, runtime=..., device=..., db=...)``. This package and that function share
the name, so the package module itself is callable and forwards to :func:`eagle.api.measure`
(whichever of the two Python resolved ``eagle.measure`` to first, the call works the same).
"""

from __future__ import annotations

import sys
import types
from typing import Any


class _CallableModule(types.ModuleType):
    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        from eagle.api import measure

        return measure(*args, **kwargs)


sys.modules[__name__].__class__ = _CallableModule
