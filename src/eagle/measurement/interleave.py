"""The interleaved, converging timing protocol (Eagle's default since issue 32).

A machine's speed drifts on a scale of seconds (other guests on the host, frequency, the other
core's work). Timing each network inside its own window of seconds puts that drift into the
differences between networks: on a 2-core cloud VM two back-to-back sweeps of the old protocol
agreed within +-5% for a few networks in ten. So a batch of networks is held loaded at once and
timed in *passes*: each pass gives every network one *round* (a few inferences back to back, the
round's statistic their minimum, robust to a preempted run), the networks in a new random order
each pass, so drift hits all of them alike. A network's latency is the median of its rounds'
minima; rounds continue until the 95% confidence interval of that median (distribution-free,
from order statistics) is within ``target_ci`` of it for every network of the batch, or a cap
is reached.

Interleaving makes drift common to the networks of a pass, so it can be divided out: each pass
gets a speed factor, the median over its networks of how far their round minimum lies from their
own median (:func:`drift_factors`; on this project's VM the factor moved by +-20% within a minute),
and each round minimum is divided by its pass's factor before the median is taken.

A network whose latency is already known within the target sits out the following passes (it
joins again if they widen its interval), so a batch spends its time on the networks still
uncertain rather than timing every one until the last converges.

Rounds taken under interference are discarded and taken again: the process got less CPU time
than the wall time of the round (it was descheduled: another process or thread took its core),
or the hypervisor stole more than :data:`MAX_STEAL_SHARE` of the machine during the pass. The
load, the other processes' share of the CPUs, steal and frequency of the passes a network took
part in are returned with it (:mod:`eagle.measurement.conditions`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eagle.measurement.conditions import Meter, Shares, summarize_shares
from eagle.measurement.protocol import Protocol

#: a round whose process CPU time is under this share of its wall time (per runtime thread) was
#: descheduled: it is discarded
MIN_CPU_SHARE = 0.9
#: a pass during which the hypervisor stole more than this share of the CPUs is discarded
MAX_STEAL_SHARE = 0.05
#: a round is at most this long (fewer inferences per round for slow networks; at least one)
MAX_ROUND_S = 0.5
#: passes with fewer networks than this are not corrected for drift
MIN_DRIFT_NETWORKS = 3


@dataclass
class Timing:
    """One network's rounds: the samples (seconds) of every kept round, the pass each was taken
    in, what was set aside, and (after :func:`time_interleaved`) the round minima corrected for
    the machine's drift."""

    rounds: list[list[float]] = field(default_factory=list)
    pass_ids: list[int] = field(default_factory=list)
    discarded: int = 0
    #: rounds whose timer gave no time (0, negative, NaN): a broken runner, given up after min_rounds
    invalid: int = 0
    #: rounds set aside (taken under interference) and their passes: used only when a machine
    #: too busy to keep any round leaves nothing else (``under_interference``)
    set_aside: list[tuple[int, list[float]]] = field(default_factory=list)
    under_interference: bool = False
    seconds: float = 0.0  # wall time spent in this network's rounds
    passes: list[Shares] = field(default_factory=list)
    per_round: int = 1
    corrected: np.ndarray = field(default_factory=lambda: np.zeros(0))
    drift: tuple[float, float] = (1.0, 1.0)  # the machine's speed factor over its passes: p10, p90

    def minima(self) -> np.ndarray:
        return np.array([min(r) for r in self.rounds])


def median_ci(values: Sequence[float] | np.ndarray, level: float = 0.95) -> tuple[float, float, float]:
    """(median, lower, upper): a distribution-free confidence interval of the median from order
    statistics (the binomial ranks; conservative); the whole range for fewer than 6 values."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    n = len(x)
    if n == 0:
        raise ValueError("median_ci of no values")
    med = float(np.median(x))
    if n < 6:
        return med, float(x[0]), float(x[-1])
    from scipy.stats import binom

    alpha = (1 - level) / 2
    j = int(binom.ppf(alpha, n, 0.5))  # P(B < j) <= alpha: x[j-1] .. x[n-j] covers the median
    j = max(j, 1)
    return med, float(x[j - 1]), float(x[n - j])


def relative_halfwidth(values: np.ndarray) -> float:
    if len(values) == 0:
        return math.inf
    med, lo, hi = median_ci(values)
    return (hi - lo) / 2 / med if med > 0 else math.inf


def drift_factors(timings: Sequence[Timing]) -> dict[int, float]:
    """The machine's speed in each pass, shared by every network timed in it: per pass, the median
    over the networks of (log round minimum - that network's median log round minimum). A pass
    where the machine ran 10% slow has factor 1.1; dividing each round minimum by its pass's
    factor removes the drift that hit all networks alike. Passes with fewer than
    :data:`MIN_DRIFT_NETWORKS` networks get 1 (nothing to share)."""
    by_pass: dict[int, list[float]] = {}
    for t in timings:
        if not t.rounds:
            continue
        logs = np.log(t.minima())
        centre = float(np.median(logs))
        for p, v in zip(t.pass_ids, logs):
            by_pass.setdefault(p, []).append(float(v) - centre)
    return {p: (math.exp(float(np.median(v))) if len(v) >= MIN_DRIFT_NETWORKS else 1.0) for p, v in by_pass.items()}


def _correct(timings: Sequence[Timing]) -> None:
    factors = drift_factors(timings)
    for t in timings:
        f = np.array([factors.get(p, 1.0) for p in t.pass_ids])
        t.corrected = t.minima() / f if len(f) else np.zeros(0)
        if len(f):
            t.drift = (float(np.quantile(f, 0.1)), float(np.quantile(f, 0.9)))


def time_interleaved(
    runners: dict[Hashable, Callable[[], Any]],
    protocol: Protocol,
    *,
    threads: int = 1,
    check_cpu: bool = True,
    seed: int = 0,
    heartbeat: Callable[[], None] | None = None,
) -> dict[Hashable, Timing]:
    """Time every runner of ``runners`` (loaded networks) interleaved, as the module docstring
    says: passes over all of them until each one's drift-corrected median is known within
    ``protocol.target_ci`` (at least ``min_rounds`` rounds), or ``max_rounds`` passes, or
    ``max_time_s`` seconds per network for the batch. ``heartbeat`` is called after every round
    (the worker tells its driver it is alive)."""
    if not runners:
        return {}
    clock = time.perf_counter
    cpu = time.process_time
    rng = np.random.default_rng(seed)
    keys = list(runners)
    samplers = {k: _sampler(runners[k]) for k in keys}
    timings = {k: Timing() for k in keys}
    for k in keys:  # warm-up, and how many inferences fit in a round
        warm = [samplers[k]() for _ in range(max(int(protocol.warmup), 1))]
        per = float(np.median(warm))
        per = per if math.isfinite(per) and per > 0 else MAX_ROUND_S  # a broken timer: one run per round
        timings[k].per_round = int(max(1, min(protocol.round_runs, MAX_ROUND_S // max(per, 1e-9))))
        if heartbeat is not None:
            heartbeat()
    meter = Meter()
    budget = protocol.max_time_s * len(keys)  # the batch's time cap: max_time_s per network
    started = clock()
    for pass_id in range(protocol.max_rounds * 3):  # rounds under interference are taken again
        before = meter.read()
        kept: list[tuple[Hashable, list[float]]] = []
        active = _active(keys, timings, protocol)
        for k in rng.permutation(len(active)):
            key = active[int(k)]
            t = timings[key]
            w0, c0 = clock(), cpu()
            samples = [samplers[key]() for _ in range(t.per_round)]
            wall, used = clock() - w0, cpu() - c0
            t.seconds += wall
            if not all(math.isfinite(x) and x > 0 for x in samples):
                t.discarded += 1  # a timer that gave no time (0, negative, NaN): never a latency
                t.invalid += 1
            elif check_cpu and used < MIN_CPU_SHARE * wall * max(threads, 1) and wall > 1e-4:
                t.discarded += 1  # descheduled: another process had the core
                t.set_aside.append((pass_id, samples))
            else:
                kept.append((key, samples))
            if heartbeat is not None:
                heartbeat()
        shares = meter.since(before)
        stolen = shares.steal_share is not None and shares.steal_share > MAX_STEAL_SHARE
        for key, samples in kept:
            if stolen:
                timings[key].discarded += 1
                timings[key].set_aside.append((pass_id, samples))
            else:
                timings[key].rounds.append(samples)
                timings[key].pass_ids.append(pass_id)
        for key in active:
            timings[key].passes.append(shares)
        _correct(list(timings.values()))
        if _settled(list(timings.values()), protocol, clock() - started, budget):
            break
    busy = [t for t in timings.values() if not t.rounds and t.set_aside]
    for t in busy:  # nothing kept: report what was timed, flagged, rather than nothing
        t.pass_ids = [p for p, _ in t.set_aside]
        t.rounds = [r for _, r in t.set_aside]
        t.under_interference = True
    if busy:
        _correct(list(timings.values()))
    return timings


def _known(t: Timing, protocol: Protocol) -> bool:
    """Whether a network's latency is known within the target (and it has its minimum rounds), or
    its timer gave no time for ``min_rounds`` rounds and nothing else (given up: nothing to know)."""
    if not t.rounds and t.invalid >= protocol.min_rounds:
        return True
    return len(t.rounds) >= protocol.min_rounds and relative_halfwidth(t.corrected) <= protocol.target_ci


def _active(keys: list[Hashable], timings: dict[Hashable, Timing], protocol: Protocol) -> list[Hashable]:
    """The networks the next pass times: those whose latency is not yet known within the target
    (a network that reached it sits out, so a batch spends its time on the ones still uncertain;
    it joins again if later passes widen its interval), and none past ``max_rounds``. At least
    :data:`MIN_DRIFT_NETWORKS` take part while any does, so every pass can still be corrected for
    drift: the known ones with the fewest rounds fill in."""
    room = [k for k in keys if len(timings[k].rounds) < protocol.max_rounds]  # never past the round cap
    active = [k for k in room if not _known(timings[k], protocol)]
    if active and len(active) < MIN_DRIFT_NETWORKS:
        rest = sorted((k for k in room if k not in active and timings[k].rounds), key=lambda k: len(timings[k].rounds))
        active += rest[: MIN_DRIFT_NETWORKS - len(active)]
    return active or list(keys)


def _settled(timings: list[Timing], protocol: Protocol, elapsed: float, budget: float) -> bool:
    """Whether the batch is done: every network's latency known within the target, or a cap."""
    timed = [len(t.rounds) for t in timings if t.rounds or t.invalid < protocol.min_rounds]
    fewest = min(timed, default=protocol.min_rounds)
    if all(_known(t, protocol) or len(t.rounds) >= protocol.max_rounds for t in timings):
        return True
    if elapsed >= budget and fewest >= protocol.min_rounds:
        return True
    return elapsed >= 3 * budget  # a machine too busy to keep rounds: stop, say so (met_target False)


def _sampler(run_once: Callable[[], Any]) -> Callable[[], float]:
    """Seconds of one inference: the runner's own ``timed()`` (CUDA events) or the host clock."""
    timed = getattr(run_once, "timed", None)
    if timed is not None:
        return lambda: float(timed())
    clock = time.perf_counter_ns

    def host() -> float:
        t0 = clock()
        run_once()
        return (clock() - t0) * 1e-9

    return host


def summarize_timing(t: Timing, target_ci: float) -> dict[str, Any]:
    """What Eagle stores for one network timed by :func:`time_interleaved` (seconds): the
    latency (median of the drift-corrected round minima) with its CI half-width, the seed's IQR
    mean of the raw samples, and how sure it is."""
    from eagle.measurement.stats import calc_stats

    rounds = t.rounds or []
    if not rounds:
        raise ValueError("no round was kept")
    values = t.corrected if len(t.corrected) == len(rounds) else t.minima()
    med, lo, hi = median_ci(values)
    flat = np.concatenate([np.asarray(r, dtype=np.float64) for r in rounds])
    half = (hi - lo) / 2
    return {
        "latency_s": med,
        "ci_halfwidth_s": half,
        "iqr_mean_s": calc_stats(rounds),
        "median_round_mean_s": float(np.median([np.mean(r) for r in rounds])),
        "min_s": float(flat.min()),
        "std_s": float(flat.std(ddof=1)) if flat.size > 1 else 0.0,
        "n_samples": int(flat.size),
        "n_rounds": len(rounds),
        "rounds_discarded": t.discarded,
        "met_target": bool(med > 0 and half / med <= target_ci and len(rounds) >= 6 and not t.under_interference),
        "conditions": {
            **summarize_shares(t.passes),
            **({"under_interference": True} if t.under_interference else {}),
            "drift_p10": round(t.drift[0], 4),
            "drift_p90": round(t.drift[1], 4),
        },
    }
