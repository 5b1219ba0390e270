"""The timing protocol: warm-up, then ``runs`` rounds of ``avg_between`` timed inferences.

Mirrors the seed's ``target_args`` (``runs``, ``avg_between``, ``interval``) and adds a warm-up
count and a minimum wall time per round (a round keeps going until it has both
``avg_between`` samples and ``min_round_s`` seconds). Every inference is timed on its own with
``time.perf_counter_ns``; all samples are kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from eagle.errors import EagleError


@dataclass(frozen=True)
class Protocol:
    warmup: int = 10
    runs: int = 10
    avg_between: int = 10
    interval_s: float = 0.0
    min_round_s: float = 0.05
    #: cap on samples per round when ``min_round_s`` meets a near-instant model
    max_round_samples: int = 1000

    def __post_init__(self) -> None:
        if self.warmup < 0 or self.runs < 1 or self.avg_between < 1:
            raise EagleError(f"protocol needs warmup >= 0, runs >= 1, avg_between >= 1; got {self}")
        if self.interval_s < 0 or self.min_round_s < 0:
            raise EagleError(f"protocol interval and min_round_s must be >= 0; got {self}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_target_args(cls, target_args: Mapping[str, Any], **overrides: Any) -> Protocol:
        """From the seed's ``target_args`` (``runs``, ``avg_between``, ``interval`` in seconds)."""
        kwargs: dict[str, Any] = {}
        if "runs" in target_args:
            kwargs["runs"] = int(target_args["runs"])
        if "avg_between" in target_args:
            kwargs["avg_between"] = int(target_args["avg_between"])
        if "interval" in target_args:
            kwargs["interval_s"] = float(target_args["interval"])
        for key in ("warmup", "min_round_s"):
            if key in target_args:
                kwargs[key] = type(getattr(cls(), key))(target_args[key])
        kwargs.update(overrides)
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
