"""Would interpolating the clock level by network size beat one level per batch? (issue 32)

    .venv/bin/python benchmarks/precision_interpolation.py WORKDIR [PROTOCOL]

On a precision benchmark's stores (``benchmarks/precision_bench.py --workdir WORKDIR``: the
sweeps ``<protocol>-a``, ``-b``, ``-busy``), every latency re-divided three ways against the first
sweep's first batch of reference times: ``scalar`` (Eagle's: the geometric mean of the
references' slowdowns), ``interp`` (their slowdowns interpolated in log latency between the light
and the heavy reference) and ``fit`` (a line through them, clamped to their range). Prints how
sweep b and the busy sweep then agree with sweep a.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from eagle.store import ResultStore


def load(db: Path) -> dict[object, dict]:
    with ResultStore(db, readonly=True) as store:
        run = store.runs()[-1]
        keys = store.arch_keys(run.id)
        rows = [r for r in store.measurements(run.id) if r["status"] == "ok"]
    return {(keys[r["nb201_index"]] if keys else r["nb201_index"]): r for r in rows}


def main() -> None:
    workdir = Path(sys.argv[1])
    protocol = sys.argv[2] if len(sys.argv) > 2 else "interleaved"
    a, b, busy = (load(workdir / f"{protocol}-{s}.sqlite") for s in ("a", "b", "busy"))
    nominal = next(r for r in a.values() if r.get("clock_level") == 1.0)["conditions"]["reference_s"]
    names = sorted(nominal, key=lambda n: nominal[n])
    x = np.log([nominal[n] for n in names])

    def slowdowns(refs: dict[str, float]) -> np.ndarray:
        return np.log([refs[n] / nominal[n] for n in names])

    def scalar(refs: dict[str, float], _lat: float) -> float:
        return float(np.exp(slowdowns(refs).mean()))

    def interp(refs: dict[str, float], lat: float) -> float:
        return float(np.exp(np.interp(np.log(lat), x, slowdowns(refs))))

    def fit(refs: dict[str, float], lat: float) -> float:
        slope, icpt = np.polyfit(x, slowdowns(refs), 1)
        return float(np.exp(icpt + slope * np.clip(np.log(lat), x.min(), x.max())))

    for label, other in (("back to back", b), ("beside a busy core", busy)):
        common = [k for k in other if k in a]
        for fn in (scalar, interp, fit):

            def value(r: dict, fn=fn) -> float:
                return r["raw_latency_s"] / fn(r["conditions"]["reference_s"], r["raw_latency_s"])

            ratio = np.array([value(other[k]) / value(a[k]) for k in common])
            print(
                f"{label:20s} {fn.__name__:7s} within 5%: {np.mean(abs(ratio - 1) <= 0.05):.3f}  "
                f"within 10%: {np.mean(abs(ratio - 1) <= 0.10):.3f}  ratio {ratio.min():.3f}..{ratio.max():.3f}"
            )


if __name__ == "__main__":
    main()
