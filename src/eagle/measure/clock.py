"""The reference clock: latencies in seconds at a device's nominal speed.

A cloud VM's speed moves by +-10-20% between minutes (other guests on the host), and nothing
inside the guest sees it: the process gets all its CPU time, no steal is reported, the frequency
reads the same. Interleaving (:mod:`eagle.measure.interleave`) makes the networks of one batch
consistent with each other, but two sweeps minutes apart still differ by the machine's level
(on this project's VM: every network of a second sweep 7-15% faster than the first).

So every batch also times fixed *reference* networks (:func:`reference_models`: dense
convolutions, depthwise blocks, matrix products; the same runtime and settings) among its
networks. How slow they ran in the batch against their *nominal* times on this device is the
batch's *level* (:func:`level`, 1.1 = 10% slow), and every latency of the batch is divided by
it: seconds at the device's nominal speed. The nominal time of each reference network is the
median of its first :data:`CALIBRATION` batch times on this device with this runtime
configuration (the first run on a device calibrates it; later runs are held to that standard),
kept in ``$EAGLE_CACHE_DIR`` (default ``$XDG_CACHE_HOME/eagle``, i.e. ``~/.cache/eagle``) in
``reference-clock.json``. A run fixes its nominal when it starts, so its latencies are
consistent with each other and with every earlier run on the device; each row also keeps its
raw seconds and the batch's level (``raw_latency_s``, ``clock_level``), and the reference times
in its conditions, so nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch
    from torch import nn

#: bump when the reference network changes: its nominal times start again
REFERENCE_VERSION = 2
#: batch reference times kept per device and reference network (the most recent)
KEEP = 2000
#: the nominal time of a reference network is the median of its first this many batch times
CALIBRATION = 64
FILE = "reference-clock.json"


def reference_models() -> dict[str, nn.Module]:
    """The fixed reference networks, one per kind of work a network does, so their mean speed
    follows a machine's slowdowns as a typical network feels them: ``conv`` (dense 3x3
    convolutions), ``mobile`` (inverted residual blocks: 1x1 and depthwise convolutions, memory
    bound) and ``dense`` (matrix products and a softmax over 64 tokens, as in a transformer),
    each half a millisecond or so on one CPU thread, on :func:`reference_example`; weights from seed 0,
    BatchNorm statistics from one random batch."""
    import torch
    from torch import nn

    from eagle.spaces.counting import calibrate_batchnorm

    torch.manual_seed(0)

    def cbr(cin: int, cout: int, k: int = 3, stride: int = 1, groups: int = 1) -> list[nn.Module]:
        return [nn.Conv2d(cin, cout, k, stride, k // 2, groups=groups, bias=False), nn.BatchNorm2d(cout), nn.ReLU()]

    def inverted(c: int) -> list[nn.Module]:
        return [
            *cbr(c, 4 * c, 1),
            *cbr(4 * c, 4 * c, 3, 1, 4 * c),
            nn.Conv2d(4 * c, c, 1, bias=False),
            nn.BatchNorm2d(c),
        ]

    class Dense(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.embed = nn.Conv2d(3, 128, 8, 8)  # 64 tokens of width 128
            self.qkv = nn.Linear(128, 384)
            self.mlp = nn.Sequential(nn.Linear(128, 512), nn.GELU(), nn.Linear(512, 128))
            self.norm = nn.LayerNorm(128)
            self.head = nn.Linear(128, 10)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            t = self.embed(x).flatten(2).transpose(1, 2)
            q, k, v = self.qkv(self.norm(t)).chunk(3, dim=-1)
            t = t + torch.softmax(q @ k.transpose(1, 2) / 128**0.5, dim=-1) @ v
            t = t + self.mlp(self.norm(t))
            return self.head(t.mean(1))

    models: dict[str, nn.Module] = {
        "conv": nn.Sequential(
            *cbr(3, 16), *cbr(16, 32, 3, 2), *cbr(32, 32), *cbr(32, 64, 3, 2),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10),
        ),
        "mobile": nn.Sequential(
            *cbr(3, 16, 3, 2), *inverted(16), *cbr(16, 32, 3, 2), *inverted(32), *inverted(32),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
        ),
        "dense": Dense(),
    }  # fmt: skip
    for model in models.values():
        calibrate_batchnorm(model, reference_example(batch=2))
        model.eval()
    return models


def reference_example(batch: int = 1) -> torch.Tensor:
    import torch

    return torch.randn(batch, 3, 64, 64, generator=torch.Generator().manual_seed(0))


def cache_dir() -> Path:
    if os.environ.get("EAGLE_CACHE_DIR"):
        return Path(os.environ["EAGLE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "eagle"


def device_key(identity: dict[str, Any], runtime: dict[str, Any]) -> str:
    """Which reference history a run belongs to: the device (where it is reached, its host name
    and CPU) and the runtime configuration (name, version, threads, precision, options)."""
    ident = {
        "reference": REFERENCE_VERSION,
        "device": {k: identity.get(k) for k in ("target", "hostname", "cpu_model")},
        "runtime": {k: runtime.get(k) for k in ("runtime", "version", "threads", "precision", "device", "options")},
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:24]


def _load() -> dict[str, Any]:
    path = cache_dir() / FILE
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def history(key: str) -> dict[str, list[float]]:
    """The batch times (seconds) of each reference network recorded for ``key``, oldest first;
    damaged entries dropped."""
    entry = _load().get(key)
    raw = entry.get("reference_s") if isinstance(entry, dict) else None
    if not isinstance(raw, dict):
        return {}
    out: dict[str, list[float]] = {}
    for name, values in raw.items():
        if isinstance(values, list):
            out[str(name)] = [float(v) for v in values if isinstance(v, (int, float)) and 0 < float(v) < 1e4]
    return out


def nominal(key: str) -> dict[str, float]:
    """Each reference network's nominal time on the device: the median of its first
    :data:`CALIBRATION` batch times (then frozen: later runs are measured against the same
    standard). Empty: the device was never timed."""
    import numpy as np

    return {name: float(np.median(v[:CALIBRATION])) for name, v in history(key).items() if v}


def level(reference_s: dict[str, float], nominal_s: dict[str, float]) -> float | None:
    """How slow the machine ran in a batch against its nominal speed: the geometric mean over the
    reference networks of batch time / nominal time (1.1: 10% slow). None without a reference."""
    import math

    ratios = [reference_s[n] / nominal_s[n] for n in reference_s if n in nominal_s and nominal_s[n] > 0]
    ratios = [r for r in ratios if r > 0 and math.isfinite(r)]
    if not ratios:
        return None
    return math.exp(sum(math.log(r) for r in ratios) / len(ratios))


def record(key: str, batches: list[dict[str, float]], label: str = "") -> None:
    """Add batches' reference times to ``key``'s history (best effort: a cache that cannot be
    written is skipped; the measurements are stored either way)."""
    from eagle.errors import EagleError
    from eagle.fileio import write_json

    if not batches:
        return
    data = _load()
    found = data.get(key)
    entry: dict[str, Any] = found if isinstance(found, dict) else {}
    kept = history(key)
    for batch in batches:
        for name, value in batch.items():
            if value and value > 0:
                kept.setdefault(name, []).append(float(value))
    data[key] = {
        **entry,
        "reference_s": {n: v[-KEEP:] for n, v in kept.items()},
        "label": label or entry.get("label", ""),
    }
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        write_json(cache_dir() / FILE, data)
    except (OSError, EagleError):
        pass
