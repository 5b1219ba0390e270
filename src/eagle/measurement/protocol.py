"""The timing protocol: how each network's inferences are timed.

``interleaved`` (the default; :mod:`eagle.measurement.interleave`): a batch of up to ``interleave``
networks is loaded at once and timed in passes, one round of ``round_runs`` back-to-back
inferences per network per pass (its minimum is the round's statistic), until the 95% confidence
interval of the median of a network's round minima is within ``target_ci`` (relative) of it, or
``max_rounds`` rounds or ``max_time_s`` seconds of timing; at least ``min_rounds`` rounds. Rounds
taken under interference are discarded and repeated.

``sequential`` (Eagle before issue 32, and the seed's ``target_args``): one network at a time,
``warmup`` inferences, then ``runs`` rounds that each keep going until they have ``avg_between``
samples and ``min_round_s`` seconds; ``interval_s`` between rounds.

Every inference is timed on its own with ``time.perf_counter_ns`` (or the runtime's own timer,
e.g. CUDA events); all samples are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from eagle.errors import EagleError

MODES = ("interleaved", "sequential")


@dataclass(frozen=True)
class Protocol:
    warmup: int = 10
    runs: int = 10
    avg_between: int = 10
    interval_s: float = 0.0
    min_round_s: float = 0.05
    #: cap on samples per round when ``min_round_s`` meets a near-instant model
    max_round_samples: int = 1000
    mode: str = "interleaved"
    #: interleaved: networks held at once (fewer where memory is short)
    interleave: int = 64
    round_runs: int = 5
    min_rounds: int = 8
    max_rounds: int = 100
    target_ci: float = 0.01
    max_time_s: float = 2.0

    def __post_init__(self) -> None:
        if self.warmup < 0 or self.runs < 1 or self.avg_between < 1:
            raise EagleError(f"protocol needs warmup >= 0, runs >= 1, avg_between >= 1; got {self}")
        if self.interval_s < 0 or self.min_round_s < 0:
            raise EagleError(f"protocol interval and min_round_s must be >= 0; got {self}")
        if self.mode not in MODES:
            raise EagleError(f"protocol mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        if not (1 <= self.interleave <= 4096 and 1 <= self.round_runs <= 1000):
            raise EagleError(f"protocol needs interleave in 1..4096 and round_runs in 1..1000; got {self}")
        if not (1 <= self.min_rounds <= self.max_rounds <= 100_000):
            raise EagleError(f"protocol needs 1 <= min_rounds <= max_rounds; got {self}")
        if not (0 < self.target_ci < 1 and 0 < self.max_time_s <= 86_400):
            raise EagleError(f"protocol needs target_ci in (0, 1) and max_time_s in (0, 86400]; got {self}")

    @property
    def batch(self) -> int:
        """Networks a worker takes at once: ``interleave``, or 1 for the sequential protocol."""
        return self.interleave if self.mode == "interleaved" else 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_target_args(cls, target_args: Mapping[str, Any], **overrides: Any) -> Protocol:
        """From the seed's ``target_args`` (``runs``, ``avg_between``, ``interval`` in seconds:
        the seed's protocol, ``sequential``) and Eagle's own keys; then ``overrides`` (None: not
        given). In the interleaved protocol ``runs`` is the least number of rounds and
        ``avg_between`` the inferences per round."""
        kwargs: dict[str, Any] = {}
        seed_keys = {"runs", "avg_between", "interval"} & set(target_args)
        if seed_keys:
            kwargs["mode"] = "sequential"
        if "runs" in target_args:
            kwargs["runs"] = int(target_args["runs"])
        if "avg_between" in target_args:
            kwargs["avg_between"] = int(target_args["avg_between"])
        if "interval" in target_args:
            kwargs["interval_s"] = float(target_args["interval"])
        for key in ("warmup", "min_round_s", "mode", "interleave", "round_runs", "min_rounds", "max_rounds",
                    "target_ci", "max_time_s"):  # fmt: skip
            if key in target_args:
                kwargs[key] = type(getattr(cls(), key))(target_args[key])
        kwargs.update({k: v for k, v in overrides.items() if v is not None})
        if kwargs.get("mode", cls.mode) == "interleaved":
            if "runs" in overrides and overrides["runs"] is not None:
                kwargs["min_rounds"] = int(overrides["runs"])
                kwargs["max_rounds"] = max(int(overrides["runs"]), int(kwargs.get("max_rounds", cls.max_rounds)))
            if overrides.get("avg_between") is not None:
                kwargs["round_runs"] = int(overrides["avg_between"])
        return cls(**kwargs)


def time_inferences(run_once: Callable[[], Any], protocol: Protocol) -> list[list[float]]:
    """Run the protocol on ``run_once``; returns ``runs`` lists of per-inference seconds.

    A ``run_once`` with a ``timed()`` method (CUDA events) measures itself: each sample is what
    ``timed()`` returns; otherwise each sample is the host clock around one call.
    """
    clock = time.perf_counter_ns

    def host_timed() -> float:
        t0 = clock()
        run_once()
        return (clock() - t0) * 1e-9

    sample: Callable[[], float] = getattr(run_once, "timed", None) or host_timed
    for _ in range(protocol.warmup):
        run_once()
    rounds: list[list[float]] = []
    min_ns = int(protocol.min_round_s * 1e9)
    for r in range(protocol.runs):
        samples: list[float] = []
        start = clock()
        while len(samples) < protocol.avg_between or (
            clock() - start < min_ns and len(samples) < protocol.max_round_samples
        ):
            samples.append(float(sample()))
        rounds.append(samples)
        if protocol.interval_s > 0 and r + 1 < protocol.runs:
            time.sleep(protocol.interval_s)
    return rounds
