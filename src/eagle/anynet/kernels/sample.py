"""One profiled sample of the kernel store: a small network built from a kernel config, timed
whole (``wall_s``, ``run_s``) and kernel by kernel (ORT's profiler)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from eagle.anynet.onnxgraph import Kernel


@dataclass
class Sample:
    idx: int
    kind: str
    config: dict[str, Any]
    origin: str
    wall_s: float
    run_s: float
    kernels: list[Kernel]
