"""What the machine is doing while Eagle times: load, other processes' CPU time, steal, frequency.

Read from ``/proc`` and ``/sys`` where they exist (Linux); elsewhere every reading is ``None``
and nothing is discarded for it. A :class:`Meter` is read before and after a stretch of timing
(one pass of the interleaved protocol): :meth:`Meter.since` gives the shares of that stretch.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass


def _read(path: str) -> str | None:
    try:
        with open(path) as fh:
            return fh.read()
    except OSError:
        return None


def _cpu_jiffies() -> tuple[int, int, int] | None:
    """(busy, steal, total) jiffies of all CPUs from /proc/stat."""
    text = _read("/proc/stat")
    if not text:
        return None
    for line in text.splitlines():
        if line.startswith("cpu "):
            parts = [int(x) for x in line.split()[1:]]
            parts += [0] * (8 - len(parts))
            user, nice, system, idle, iowait, irq, softirq, steal = parts[:8]
            busy = user + nice + system + irq + softirq
            return busy, steal, busy + idle + iowait + steal
    return None


def _own_jiffies() -> int | None:
    """This process's user + system jiffies (all threads) from /proc/self/stat."""
    text = _read("/proc/self/stat")
    if not text:
        return None
    try:
        fields = text.rsplit(")", 1)[1].split()
        return int(fields[11]) + int(fields[12])
    except (IndexError, ValueError):
        return None


def load_average() -> float | None:
    """The 1-minute load average."""
    try:
        return os.getloadavg()[0]
    except (OSError, AttributeError):
        return None


def cpu_mhz(cpus: tuple[int, ...] | None = None) -> float | None:
    """Mean current frequency (MHz) of ``cpus`` (default: those this process may run on), from
    cpufreq, else /proc/cpuinfo; None where neither says (many VMs)."""
    if cpus is None:
        cpus = tuple(sorted(os.sched_getaffinity(0))) if hasattr(os, "sched_getaffinity") else ()
    values = []
    for cpu in cpus:
        text = _read(f"/sys/devices/system/cpu/cpu{cpu}/cpufreq/scaling_cur_freq")
        if text and text.strip().isdigit():
            values.append(int(text) / 1000.0)
    if values:
        return sum(values) / len(values)
    info = _read("/proc/cpuinfo")
    if info:
        mhz = [float(ln.split(":")[1]) for ln in info.splitlines() if ln.lower().startswith("cpu mhz")]
        wanted = [mhz[c] for c in cpus if c < len(mhz)] or mhz
        if wanted:
            return sum(wanted) / len(wanted)
    return None


@dataclass
class Reading:
    """Machine state at one instant (cumulative counters)."""

    wall: float
    cpu_busy: int | None
    cpu_steal: int | None
    cpu_total: int | None
    own: int | None


@dataclass
class Shares:
    """What happened between two readings: shares of all CPUs' time (0..1), load, frequency."""

    seconds: float
    others_share: float | None  # busy time of other processes, of all CPUs' time
    steal_share: float | None  # time the hypervisor gave to other guests, of all CPUs' time
    load1: float | None
    mhz: float | None

    def to_dict(self) -> dict[str, float | None]:
        return {
            "seconds": round(self.seconds, 4),
            "others_share": None if self.others_share is None else round(self.others_share, 4),
            "steal_share": None if self.steal_share is None else round(self.steal_share, 4),
            "load1": self.load1,
            "mhz": None if self.mhz is None else round(self.mhz, 1),
        }


class Meter:
    """Readings of the machine around stretches of timing."""

    def __init__(self, cpus: tuple[int, ...] | None = None) -> None:
        self.cpus = cpus

    def read(self) -> Reading:
        jiffies = _cpu_jiffies()
        busy, steal, total = jiffies if jiffies else (None, None, None)
        return Reading(time.perf_counter(), busy, steal, total, _own_jiffies())

    def since(self, before: Reading) -> Shares:
        now = self.read()
        others = steal = None
        if None not in (before.cpu_total, now.cpu_total, before.cpu_busy, now.cpu_busy):
            total = max(now.cpu_total - before.cpu_total, 1)  # type: ignore[operator]
            busy = now.cpu_busy - before.cpu_busy  # type: ignore[operator]
            own = (now.own - before.own) if (now.own is not None and before.own is not None) else 0
            others = max(busy - own, 0) / total
            steal = (now.cpu_steal - before.cpu_steal) / total  # type: ignore[operator]
        return Shares(now.wall - before.wall, others, steal, load_average(), cpu_mhz(self.cpus))


def summarize_shares(passes: list[Shares]) -> dict[str, float | None]:
    """Conditions of a measurement over the passes it took part in (stored with each result)."""

    def values(name: str) -> list[float]:
        return [v for p in passes if (v := getattr(p, name)) is not None]

    def mean(name: str) -> float | None:
        v = values(name)
        return round(sum(v) / len(v), 4) if v else None

    def high(name: str) -> float | None:
        v = values(name)
        return round(max(v), 4) if v else None

    mhz = values("mhz")
    return {
        "passes": len(passes),
        "others_share_mean": mean("others_share"),
        "others_share_max": high("others_share"),
        "steal_share_max": high("steal_share"),
        "load1_mean": mean("load1"),
        "mhz_min": round(min(mhz), 1) if mhz else None,
        "mhz_max": round(max(mhz), 1) if mhz else None,
    }
