"""``eagle doctor``: is this machine fit to time networks on, and what should change?

Like ``pyperf system show``, it reads what Linux exposes (``/proc``, ``/sys``) and says what to
change, one finding per line: the CPU frequency governor and turbo/boost (a CPU that changes
speed with load), SMT siblings of the cores Eagle would use, the load and the processes using
the CPU now, hypervisor steal, thermal throttling; then it times a fixed workload on each core
for a moment and reports how steady each one is (on a cloud VM one vCPU can be much noisier than
another, invisibly to every counter), and which core to ``--pin``.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

OK, WARN, INFO = "ok", "warn", "info"


@dataclass
class Finding:
    """One check: its status (ok | warn | info), what was seen, and what to change."""

    check: str
    status: str
    seen: str
    advice: str = ""


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    cores: list[dict[str, Any]] = field(default_factory=list)
    quietest: int | None = None

    def add(self, check: str, status: str, seen: str, advice: str = "") -> None:
        self.findings.append(Finding(check, status, seen, advice))

    def to_dict(self) -> dict[str, Any]:
        return {"findings": [asdict(f) for f in self.findings], "cores": self.cores, "quietest_core": self.quietest}


def _read(path: str | Path) -> str | None:
    try:
        return Path(path).read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def usable_cores() -> list[int]:
    if hasattr(os, "sched_getaffinity"):
        return sorted(os.sched_getaffinity(0))
    return list(range(os.cpu_count() or 1))


def _cpu(core: int, name: str) -> str | None:
    return _read(f"/sys/devices/system/cpu/cpu{core}/{name}")


def check_cpu(report: Report, cores: list[int]) -> None:
    info = _read("/proc/cpuinfo") or ""
    model = next((ln.split(":", 1)[1].strip() for ln in info.splitlines() if ln.startswith("model name")), "unknown")
    virtual = " hypervisor" in info or "\thypervisor" in info or "hypervisor " in info
    report.add(
        "cpu",
        INFO,
        f"{model}; {len(cores)} cores usable ({','.join(map(str, cores))})"
        + ("; a virtual machine" if virtual else ""),
        "on a VM the host's other guests change its speed by minutes: Eagle's reference clock corrects the level "
        "(README: Measuring latency)"
        if virtual
        else "",
    )


def check_governor(report: Report, cores: list[int]) -> None:
    governors = {c: _cpu(c, "cpufreq/scaling_governor") for c in cores}
    seen = {g for g in governors.values() if g}
    if not seen:
        report.add("governor", INFO, "no cpufreq governor exposed (typical of VMs)")
    elif seen == {"performance"}:
        report.add("governor", OK, "performance on every core")
    else:
        report.add(
            "governor",
            WARN,
            ", ".join(f"cpu{c} {g}" for c, g in governors.items() if g),
            "set the performance governor: sudo cpupower frequency-set -g performance",
        )


def check_turbo(report: Report) -> None:
    no_turbo = _read("/sys/devices/system/cpu/intel_pstate/no_turbo")
    boost = _read("/sys/devices/system/cpu/cpufreq/boost")
    if no_turbo is not None:
        if no_turbo == "0":
            report.add(
                "turbo",
                WARN,
                "Intel turbo on (speed depends on load and temperature)",
                "echo 1 | sudo tee /sys/devices/system/cpu/intel_pstate/no_turbo",
            )
        else:
            report.add("turbo", OK, "Intel turbo off")
    elif boost is not None:
        if boost == "1":
            report.add("turbo", WARN, "CPU boost on", "echo 0 | sudo tee /sys/devices/system/cpu/cpufreq/boost")
        else:
            report.add("turbo", OK, "CPU boost off")
    else:
        report.add("turbo", INFO, "turbo/boost not exposed")


def check_smt(report: Report, cores: list[int], pin: list[int] | None) -> None:
    siblings = {c: _cpu(c, "topology/thread_siblings_list") for c in cores}
    shared = {c: s for c, s in siblings.items() if s and ("," in s or "-" in s)}
    if not any(siblings.values()):
        report.add("smt", INFO, "core topology not exposed")
    elif not shared:
        report.add("smt", OK, "no SMT siblings among the usable cores")
    else:
        where = pin or cores
        busy = [c for c in where if c in shared]
        report.add(
            "smt",
            WARN if busy else OK,
            "; ".join(f"cpu{c} shares a core with {shared[c]}" for c in busy) or "pinned cores have no sibling",
            "pin the worker to one thread of a core and keep its sibling idle (or disable SMT)" if busy else "",
        )


def _jiffies() -> tuple[int, int, int] | None:
    text = _read("/proc/stat")
    if not text:
        return None
    parts = [int(x) for x in text.splitlines()[0].split()[1:]] + [0] * 8
    busy = parts[0] + parts[1] + parts[2] + parts[5] + parts[6]
    return busy, parts[7], sum(parts[:8])


def _process_jiffies() -> dict[int, tuple[str, int]]:
    out = {}
    for entry in Path("/proc").iterdir() if Path("/proc").is_dir() else []:
        if not entry.name.isdigit():
            continue
        text = _read(entry / "stat")
        if not text or ")" not in text:
            continue
        name = text[text.index("(") + 1 : text.rindex(")")]
        fields = text.rsplit(")", 1)[1].split()
        try:
            out[int(entry.name)] = (name, int(fields[11]) + int(fields[12]))
        except (IndexError, ValueError):
            continue
    return out


def check_load(report: Report, cores: list[int], seconds: float = 1.0) -> None:
    """Load average, other processes' CPU use and steal over ``seconds``."""
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else None
    before, procs = _jiffies(), _process_jiffies()
    time.sleep(seconds)
    after, procs2 = _jiffies(), _process_jiffies()
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    noisy = []
    for pid, (name, used) in procs2.items():
        if pid == os.getpid() or pid not in procs:
            continue
        share = (used - procs[pid][1]) / tick / seconds
        if share >= 0.1:
            noisy.append((share, pid, name))
    noisy.sort(reverse=True)
    users = ", ".join(f"{n} (pid {p}) {100 * s:.0f}%" for s, p, n in noisy[:5])
    if load is not None:
        status = WARN if load > 0.5 * len(cores) or noisy else OK
        report.add(
            "load",
            status,
            f"1-minute load {load:.2f} on {len(cores)} cores" + (f"; using the CPU now: {users}" if users else ""),
            "stop other work, or pin Eagle to a core they do not use (--pin); Eagle discards rounds it was "
            "descheduled in, but caches and memory bandwidth are shared"
            if status == WARN
            else "",
        )
    if before and after and after[2] > before[2]:
        steal = (after[1] - before[1]) / (after[2] - before[2])
        report.add(
            "steal",
            WARN if steal > 0.02 else OK,
            f"hypervisor steal {100 * steal:.1f}% of CPU time",
            "the host is overcommitted: measure on a dedicated or larger instance" if steal > 0.02 else "",
        )


def check_throttling(report: Report, cores: list[int]) -> None:
    counts = {c: _cpu(c, "thermal_throttle/core_throttle_count") for c in cores}
    seen = {c: int(v) for c, v in counts.items() if v and v.isdigit()}
    if not seen:
        report.add("thermal", INFO, "throttle counters not exposed")
    elif any(seen.values()):
        report.add(
            "thermal",
            WARN,
            ", ".join(f"cpu{c} throttled {n} times" for c, n in seen.items() if n),
            "improve cooling or lower the load; throttled cores slow down mid-measurement",
        )
    else:
        report.add("thermal", OK, "no thermal throttling recorded")


def probe_core(core: int, seconds: float) -> dict[str, Any]:
    """Time a fixed small matrix workload on ``core`` for ``seconds``: median time per step, the
    p90/p10 spread, and the drift between the probe's halves."""
    import numpy as np

    affinity = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    if affinity is not None:
        os.sched_setaffinity(0, {core})
    try:
        a = np.random.default_rng(0).random((48, 48))
        times = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t0 = time.perf_counter_ns()
            for _ in range(10):
                a = a @ a
                a /= a.max()
            times.append(time.perf_counter_ns() - t0)
    finally:
        if affinity is not None:
            os.sched_setaffinity(0, affinity)
    t = np.array(times, dtype=np.float64) / 1e3
    half = len(t) // 2
    return {
        "core": core,
        "median_us": float(np.median(t)),
        "spread_p90_p10": float(np.quantile(t, 0.9) / np.quantile(t, 0.1)),
        "drift_halves": float(np.median(t[half:]) / np.median(t[:half])) if half else 1.0,
    }


def check_cores(report: Report, cores: list[int], seconds: float) -> None:
    if not hasattr(os, "sched_setaffinity"):
        report.add("cores", INFO, "cannot pin a probe to a core on this system")
        return
    probes = [probe_core(c, seconds) for c in cores]
    report.cores = probes
    best = min(probes, key=lambda p: (p["spread_p90_p10"], p["median_us"]))
    report.quietest = int(best["core"])
    lines = "; ".join(
        f"cpu{p['core']} {p['median_us']:.0f} us/step, p90/p10 {p['spread_p90_p10']:.2f}, drift {p['drift_halves']:.2f}"
        for p in probes
    )
    noisy = best["spread_p90_p10"] > 1.15 or abs(best["drift_halves"] - 1) > 0.05
    uneven = len(probes) > 1 and max(p["spread_p90_p10"] for p in probes) > 1.3 * best["spread_p90_p10"]
    advice = []
    if uneven:
        advice.append(f"cpu{best['core']} is the steadiest: measure with --pin {best['core']}")
    if noisy:
        advice.append(
            "even the steadiest core varies: keep Eagle's interleaved protocol (the default) and expect wider "
            "CIs; a bare-metal or dedicated machine measures tighter"
        )
    report.add("cores", WARN if (noisy or uneven) else OK, lines, "; ".join(advice))


def diagnose(*, pin: list[int] | None = None, seconds: float = 1.0) -> Report:
    """Every check, in order (takes about ``seconds`` per usable core plus a second)."""
    report = Report()
    cores = usable_cores()
    check_cpu(report, cores)
    check_governor(report, cores)
    check_turbo(report)
    check_smt(report, cores, pin)
    check_load(report, cores)
    check_throttling(report, cores)
    check_cores(report, pin or cores, seconds)
    return report
