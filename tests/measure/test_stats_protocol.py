"""The seed's statistic and the timing protocol."""

from __future__ import annotations

import numpy as np
import pytest

from eagle.errors import EagleError
from eagle.measurement.protocol import Protocol, time_inferences
from eagle.measurement.stats import calc_stats, iqr_mean, summarize


def test_iqr_mean_keeps_inclusive_quartile_range():
    # p25 = 2.0 and p75 = 4.0 for 1..5: keeps 2, 3, 4
    assert iqr_mean([1, 2, 3, 4, 5]) == 3.0
    # an outlier does not move it
    assert iqr_mean([1.0, 1.0, 1.0, 1.0, 100.0]) == 1.0


def test_calc_stats_is_iqr_mean_of_round_iqr_means():
    rng = np.random.default_rng(0)
    rounds = [list(rng.normal(1e-3, 1e-5, 10)) for _ in range(7)]
    per_round = []
    for r in rounds:
        arr = np.array(r)
        lo, hi = np.percentile(arr, 25), np.percentile(arr, 75)
        per_round.append(arr[(arr >= lo) & (arr <= hi)].mean())
    arr = np.array(per_round)
    lo, hi = np.percentile(arr, 25), np.percentile(arr, 75)
    assert calc_stats(rounds) == pytest.approx(arr[(arr >= lo) & (arr <= hi)].mean(), rel=0, abs=0)


def test_summarize_units_and_fields():
    s = summarize([[1.0, 2.0, 3.0], [2.0, 2.0, 2.0]])
    assert set(s) == {"latency_s", "median_round_mean_s", "min_s", "std_s", "samples"}
    assert s["min_s"] == 1.0 and s["samples"] == 6 and s["median_round_mean_s"] == 2.0


def test_calc_stats_rejects_empty():
    with pytest.raises(ValueError):
        calc_stats([])
    with pytest.raises(ValueError):
        calc_stats([[]])


def test_protocol_counts_every_inference():
    calls = []
    rounds = time_inferences(lambda: calls.append(1), Protocol(warmup=3, runs=4, avg_between=5, min_round_s=0))
    assert len(calls) == 3 + 4 * 5
    assert [len(r) for r in rounds] == [5, 5, 5, 5]
    assert all(t >= 0 for r in rounds for t in r)


def test_min_round_time_extends_rounds():
    import time

    rounds = time_inferences(lambda: time.sleep(0.001), Protocol(warmup=0, runs=2, avg_between=1, min_round_s=0.02))
    # each round is extended until it has lasted the minimum round time, and stops then (timing
    # bounds that hold on a loaded machine too: a 1 ms sleep may take far longer there)
    assert all(sum(r) >= 0.9 * 0.02 for r in rounds)
    assert all(sum(r[:-1]) < 0.02 for r in rounds)
    assert all(t > 0.0009 for r in rounds for t in r)


def test_self_timed_run_once_supplies_its_own_samples():
    """A runtime that times itself (CUDA events) gives the samples; warm-up still plain calls."""
    calls = []

    class SelfTimed:
        def __call__(self):
            calls.append("plain")

        def timed(self):
            calls.append("timed")
            return 0.004

    rounds = time_inferences(SelfTimed(), Protocol(warmup=2, runs=3, avg_between=4, min_round_s=0))
    assert rounds == [[0.004] * 4] * 3
    assert calls == ["plain"] * 2 + ["timed"] * 12


def test_protocol_from_seed_target_args():
    p = Protocol.from_target_args({"runs": 100, "avg_between": 10, "interval": 0.01, "device": "cpu"})
    assert (p.runs, p.avg_between, p.interval_s) == (100, 10, 0.01)
    with pytest.raises(EagleError):
        Protocol(runs=0)


def test_iqr_mean_of_two_values_is_their_median():
    assert iqr_mean([1.0, 3.0]) == 2.0
