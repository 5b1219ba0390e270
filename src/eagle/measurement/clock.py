"""The reference clock: latencies in seconds at a device's nominal speed.

A cloud VM's speed moves by +-10-20% between minutes (other guests on the host), and nothing
inside the guest sees it: the process gets all its CPU time, no steal is reported, the frequency
reads the same. Interleaving (:mod:`eagle.measurement.interleave`) makes the networks of one batch
consistent with each other, but two sweeps minutes apart still differ by the machine's level
(on this project's VM: every network of a second sweep 7-15% faster than the first).

So every batch also times three fixed *reference* archs of the space being measured
(:meth:`~eagle.spaces.base.SearchSpace.reference_archs`: a light, a medium and a heavy NB201
cell; three small torchvision networks for networks of one's own), built and run exactly as the
sweep's archs are. How slow they ran in the batch against their *nominal* times on this device is
the batch's *level* (:func:`level`, 1.1 = 10% slow), and every latency of the batch is divided by
it: seconds at the device's nominal speed. The nominal time of each reference is its time in the
first batch of the *first* run on this device with this runtime and model configuration, then
frozen: every later run is held to that one standard (a nominal that kept moving as runs
accumulated, e.g. a median over them, would shift each run against the ones before it). Kept in
``$EAGLE_CACHE_DIR`` (default ``$XDG_CACHE_HOME/eagle``, i.e. ``~/.cache/eagle``) in
``reference-clock.json``. A run fixes its nominal when it starts, so its latencies are
consistent with each other and with every earlier run on the device; each row also keeps its raw
seconds and the batch's level (``raw_latency_s``, ``clock_level``), and the reference times in
its conditions, so nothing is lost.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

#: bump when the reference networks or how the nominal is set change: nominal times start again
REFERENCE_VERSION = 4
#: batch reference times kept per device and reference network (the most recent)
KEEP = 2000
FILE = "reference-clock.json"


def cache_dir() -> Path:
    if os.environ.get("EAGLE_CACHE_DIR"):
        return Path(os.environ["EAGLE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "eagle"


def device_key(identity: dict[str, Any], runtime: dict[str, Any], references: dict[str, Any]) -> str:
    """Which reference history a run belongs to: the device (where it is reached, its host name
    and CPU), the runtime configuration (name, version, threads, precision, options) and the
    reference networks (the space's reference archs and the model config they are built with)."""
    ident = {
        "reference": REFERENCE_VERSION,
        "device": {k: identity.get(k) for k in ("target", "hostname", "cpu_model")},
        "runtime": {k: runtime.get(k) for k in ("runtime", "version", "threads", "precision", "device", "options")},
        "references": references,
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()).hexdigest()[:24]


#: the cache is a few hundred KB; a larger one is not Eagle's and is ignored
MAX_CACHE_BYTES = 16 * 2**20
#: a batch level outside these bounds is not a machine's drift but a damaged nominal: ignored
LEVEL_BOUNDS = (0.2, 5.0)


def _load() -> dict[str, Any]:
    path = cache_dir() / FILE
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > MAX_CACHE_BYTES:
            return {}
        data = json.loads(path.read_text())
    except (OSError, ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _seconds(value: object) -> float | None:
    """A stored time as seconds (0 < s < 1e4), or None for anything else (a damaged cache)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        v = float(value)
    except OverflowError:
        return None
    return v if 0 < v < 1e4 else None


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
            out[str(name)] = [v for v in map(_seconds, values) if v is not None]
    return out


def nominal(key: str) -> dict[str, float]:
    """Each reference network's nominal time on the device: the median of its batch times in
    the first run recorded for ``key``, frozen since. Empty: the device was never timed (or the
    cache is damaged: the next run calibrates it again)."""
    entry = _load().get(key)
    raw = entry.get("nominal_s") if isinstance(entry, dict) else None
    if not isinstance(raw, dict):
        return {}
    found = {str(n): _seconds(v) for n, v in raw.items()}
    return {n: v for n, v in found.items() if v is not None}


def level(reference_s: dict[str, float], nominal_s: dict[str, float]) -> float | None:
    """How slow the machine ran in a batch against its nominal speed: the geometric mean over the
    reference networks of batch time / nominal time (1.1: 10% slow). None without a reference."""
    import math

    ratios = [reference_s[n] / nominal_s[n] for n in reference_s if n in nominal_s and nominal_s[n] > 0]
    ratios = [r for r in ratios if r > 0 and math.isfinite(r)]
    if not ratios:
        return None
    value = math.exp(sum(math.log(r) for r in ratios) / len(ratios))
    return value if LEVEL_BOUNDS[0] <= value <= LEVEL_BOUNDS[1] else None


def record(
    key: str, batches: list[dict[str, float]], label: str = "", nominal_s: dict[str, float] | None = None
) -> None:
    """Add batches' reference times to ``key``'s history (best effort: a cache that cannot be
    written is skipped; the measurements are stored either way). The first run on a device also
    sets its nominal: ``nominal_s``, the standard that run held its own latencies to (default: the
    median of its batch times)."""
    import numpy as np

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
    fixed = nominal(key)
    if not fixed:  # the first run on the device calibrates it
        fixed = dict(nominal_s) if nominal_s else {
            n: float(np.median([b[n] for b in batches if b.get(n, 0) > 0])) for n in batches[0]
        }  # fmt: skip
    data[key] = {
        **entry,
        "nominal_s": fixed,
        "reference_s": {n: v[-KEEP:] for n, v in kept.items()},
        "label": label or entry.get("label", ""),
    }
    path = cache_dir() / FILE
    if path.is_symlink() or (path.exists() and not path.is_file()):
        return  # never written through a link or onto something else: the cache is skipped
    try:
        cache_dir().mkdir(parents=True, exist_ok=True)
        write_json(path, data)
    except (OSError, EagleError):
        pass
