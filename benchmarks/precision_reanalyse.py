"""Re-divide a precision benchmark's stored sweeps by another nominal (issue 32's clock fix).

    .venv/bin/python benchmarks/precision_reanalyse.py WORKDIR [PROTOCOL]

``benchmarks/precision_bench.py`` leaves its three stores in ``WORKDIR`` (``<protocol>-a``,
``-b``, ``-busy``); each row keeps its raw seconds and its batch's reference times. This prints
how the sweeps agree (a~b, a~busy) as stored, raw (no clock), and with every batch divided by its
level against the *first* sweep's first batch (the frozen nominal Eagle uses since 2026-12-07;
before, a run's nominal was the median of all earlier runs' batches, so it moved from run to run).
Two alternatives to Eagle's one level per batch (the geometric mean of the references'
slowdowns), against the same frozen nominal: the slowdown interpolated in log latency between the
light and the heavy reference ("by size"), and a line through the references' slowdowns clamped
to their range ("line fit"): would a level by network size do better? And the ceiling of any
scalar level: the raw ratios divided by their own median ("best scalar"), which no clock can beat
because it needs the answer (every network of both sweeps) to set the level.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from eagle.store import ResultStore


def load(db: Path) -> dict[object, dict]:
    with ResultStore(db, readonly=True) as store:
        run = store.runs()[-1]
        keys = store.arch_keys(run.id)
        rows = [r for r in store.measurements(run.id) if r["status"] == "ok"]
    return {(keys[r["nb201_index"]] if keys else r["nb201_index"]): r for r in rows}


def level(refs: dict[str, float], nominal: dict[str, float]) -> float:
    return math.exp(float(np.mean([math.log(refs[n] / nominal[n]) for n in nominal])))


def size_levels(nominal: dict[str, float]) -> tuple[Callable[[dict, float], float], Callable[[dict, float], float]]:
    """(by size, line fit): a batch's level for a network of ``latency`` seconds from the
    references' slowdowns, interpolated or fitted in log latency over the references' range."""
    names = sorted(nominal, key=lambda n: nominal[n])
    x = np.log([nominal[n] for n in names])

    def slowdowns(refs: dict[str, float]) -> np.ndarray:
        return np.log([refs[n] / nominal[n] for n in names])

    def by_size(refs: dict[str, float], latency: float) -> float:
        return float(np.exp(np.interp(np.log(latency), x, slowdowns(refs))))

    def line_fit(refs: dict[str, float], latency: float) -> float:
        slope, intercept = np.polyfit(x, slowdowns(refs), 1)
        return float(np.exp(intercept + slope * np.clip(np.log(latency), x.min(), x.max())))

    return by_size, line_fit


def main() -> None:
    workdir = Path(sys.argv[1])
    protocol = sys.argv[2] if len(sys.argv) > 2 else "interleaved"
    a, b, busy = (load(workdir / f"{protocol}-{s}.sqlite") for s in ("a", "b", "busy"))
    # the first sweep's first batch was its own standard (level 1.0): its reference times
    nominal = next(r for r in a.values() if r.get("clock_level") == 1.0)["conditions"]["reference_s"]

    by_size, line_fit = size_levels(nominal)

    def divided(how: Callable[[dict, float], float]) -> Callable[[dict], float]:
        return lambda r: r["raw_latency_s"] / how(r["conditions"]["reference_s"], r["raw_latency_s"])

    for label, other in (("back to back", b), ("beside a busy core", busy)):
        common = sorted(set(a) & set(other), key=str)
        for name, value in (
            ("as stored", lambda r: r["latency_s"]),
            ("raw", lambda r: r["raw_latency_s"]),
            ("frozen nominal", divided(lambda refs, _latency: level(refs, nominal))),
            ("  by size", divided(by_size)),
            ("  line fit", divided(line_fit)),
        ):
            ratio = np.array([value(other[k]) / value(a[k]) for k in common])
            report(label, name, ratio)
        raw = np.array([other[k]["raw_latency_s"] / a[k]["raw_latency_s"] for k in common])
        report(label, "best scalar", raw / np.median(raw))


def report(label: str, name: str, ratio: np.ndarray) -> None:
    print(
        f"{label:20s} {name:15s} within 5%: {np.mean(abs(ratio - 1) <= 0.05):.3f}  "
        f"within 10%: {np.mean(abs(ratio - 1) <= 0.10):.3f}  ratio {ratio.min():.3f}..{ratio.max():.3f}"
    )


if __name__ == "__main__":
    main()
