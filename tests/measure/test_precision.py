"""#32: the interleaved, converging protocol, interference, the reference clock, the store's new
columns, and eagle doctor."""

from __future__ import annotations

import json
import sqlite3
import time

import numpy as np
import pytest

from eagle import spaces
from eagle.measurement import clock
from eagle.measurement.interleave import (
    drift_factors,
    median_ci,
    relative_halfwidth,
    summarize_timing,
    time_interleaved,
)
from eagle.measurement.protocol import Protocol
from eagle.store import SCHEMA_VERSION, ResultStore
from tests.hardening.conftest import run_cli


@pytest.fixture(autouse=True)
def _own_clock(tmp_path, monkeypatch):
    monkeypatch.setenv("EAGLE_CACHE_DIR", str(tmp_path / "cache"))


def _spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


class Machine:
    """A simulated machine whose speed drifts: every 'inference' spins base * speed(t) seconds."""

    def __init__(self, wobble: float) -> None:
        self.t0 = time.perf_counter()
        self.wobble = wobble

    def speed(self) -> float:
        return 1.0 + self.wobble * np.sin((time.perf_counter() - self.t0) * 20.0)

    def network(self, base_s: float):
        return lambda: _spin(base_s * self.speed())


def test_median_ci_is_distribution_free_and_shrinks():
    rng = np.random.default_rng(0)
    med, lo, hi = median_ci(rng.normal(10, 1, 30))
    assert lo < med < hi
    _, lo2, hi2 = median_ci(rng.normal(10, 1, 300))
    assert hi2 - lo2 < hi - lo
    assert median_ci([3.0]) == (3.0, 3.0, 3.0)


def test_drift_common_to_a_pass_is_divided_out():
    """Networks whose ratio is 1 : 2 : 3 on a machine whose speed swings +-25% within a batch: the
    drift-corrected medians keep the ratio within 3%."""
    machine = Machine(0.25)
    base = {0: 2e-4, 1: 4e-4, 2: 6e-4}
    protocol = Protocol(warmup=1, round_runs=3, min_rounds=12, max_rounds=1000, target_ci=0.002, max_time_s=0.3)
    timings = time_interleaved({k: machine.network(b) for k, b in base.items()}, protocol, check_cpu=False)
    factors = list(drift_factors(list(timings.values())).values())
    assert max(factors) / min(factors) > 1.15  # the machine did drift
    lat = {k: summarize_timing(t, protocol.target_ci)["latency_s"] for k, t in timings.items()}
    assert lat[1] / lat[0] == pytest.approx(2.0, rel=0.03)
    assert lat[2] / lat[0] == pytest.approx(3.0, rel=0.03)


def test_rounds_taken_while_descheduled_are_discarded():
    """A round whose CPU time is well under its wall time (here: a sleep, as when another process
    has the core) is set aside and taken again."""
    calls = {"n": 0}

    def sometimes_off_cpu() -> None:
        calls["n"] += 1
        if calls["n"] % 7 == 0:
            time.sleep(0.003)
        else:
            _spin(3e-4)

    protocol = Protocol(warmup=1, round_runs=2, min_rounds=8, max_rounds=30, target_ci=0.5, max_time_s=0.5)
    timings = time_interleaved({0: sometimes_off_cpu, 1: lambda: _spin(2e-4)}, protocol, check_cpu=True)
    assert timings[0].discarded > 0 and len(timings[0].rounds) >= 8
    kept = np.concatenate([np.asarray(r) for r in timings[0].rounds])
    assert kept.max() < 2.5e-3  # no sleeping round was kept


def test_a_network_never_timed_alone_is_reported_flagged_not_lost():
    """On a machine so busy that no round is clean, the network's latency is still reported,
    flagged as taken under interference and never counted as meeting the target."""
    protocol = Protocol(warmup=1, round_runs=2, min_rounds=4, max_rounds=10, target_ci=0.5, max_time_s=0.05)
    timings = time_interleaved({0: lambda: time.sleep(0.002), 1: lambda: _spin(2e-4)}, protocol, check_cpu=True)
    busy, calm = timings[0], timings[1]
    assert busy.under_interference and busy.rounds and not calm.under_interference
    summary = summarize_timing(busy, protocol.target_ci)
    assert summary["latency_s"] >= 0.002 and summary["conditions"]["under_interference"] is True
    assert summary["met_target"] is False and summary["rounds_discarded"] == len(busy.rounds)


def test_converges_early_when_the_target_is_met():
    protocol = Protocol(warmup=1, round_runs=3, min_rounds=6, max_rounds=200, target_ci=0.5, max_time_s=5.0)
    timings = time_interleaved({0: lambda: _spin(2e-4), 1: lambda: _spin(3e-4)}, protocol, check_cpu=False)
    assert all(6 <= len(t.rounds) < 20 for t in timings.values())
    summary = summarize_timing(timings[0], protocol.target_ci)
    assert summary["met_target"] and summary["n_rounds"] == len(timings[0].rounds)
    assert summary["ci_halfwidth_s"] >= 0 and summary["iqr_mean_s"] > 0 and summary["conditions"]["passes"] >= 6


def test_a_network_known_within_the_target_sits_out_while_others_converge():
    """Four steady networks and one whose every inference takes 1-3x as long: the steady ones reach
    the target and stop taking rounds (three still take part in each pass, for the drift
    correction), the noisy one goes on to the round cap."""
    rng = np.random.default_rng(0)
    steady = {k: (lambda d=d: _spin(d)) for k, d in enumerate((2e-4, 2.5e-4, 3e-4, 3.5e-4))}
    runners = {**steady, 9: lambda: _spin(2e-4 * rng.uniform(1.0, 3.0))}
    protocol = Protocol(warmup=1, round_runs=1, min_rounds=6, max_rounds=60, target_ci=0.1, max_time_s=20.0)
    timings = time_interleaved(runners, protocol, check_cpu=False)
    assert len(timings[9].rounds) == 60 and relative_halfwidth(timings[9].corrected) > 0.1
    steady_rounds = [len(timings[k].rounds) for k in steady]
    assert min(steady_rounds) < 60 and sum(steady_rounds) <= 3 * 60  # the steady ones shared the fill-in
    assert all(relative_halfwidth(timings[k].corrected) <= 0.1 for k in steady)
    assert all(len(t.rounds) <= protocol.max_rounds for t in timings.values())  # fill-in never passes the cap


def test_reference_clock_holds_later_runs_to_the_first_runs_standard():
    runtime = {"runtime": "onnxruntime", "threads": 1}
    key = clock.device_key({"target": "local", "hostname": "h"}, runtime, {"archs": []})
    assert clock.nominal(key) == {}
    clock.record(key, [{"conv": 1e-3, "mobile": 5e-4}, {"conv": 1.2e-3, "mobile": 6e-4}])
    nominal = clock.nominal(key)
    assert nominal == pytest.approx({"conv": 1.1e-3, "mobile": 5.5e-4})
    assert clock.level({"conv": 1.21e-3, "mobile": 6.05e-4}, nominal) == pytest.approx(1.1)
    assert clock.level({"other": 1.0}, nominal) is None
    clock.record(key, [{"conv": 0.8e-3, "mobile": 4e-4}] * 3)  # a second run, on a faster day
    clock.record(key, [{"conv": 9e-3, "mobile": 9e-3}] * 128)  # a slow spell
    # calibrated by the first run, then frozen: later runs never move the standard they are held to
    assert clock.nominal(key) == pytest.approx({"conv": 1.1e-3, "mobile": 5.5e-4})
    assert len(clock.history(key)["conv"]) == 2 + 3 + 128
    (clock.cache_dir() / clock.FILE).write_text("{not json")
    assert clock.nominal(key) == {}  # a damaged cache is ignored, never fatal


def test_sweep_stores_precision_columns_and_exports_them(tmp_path, capsys):
    db = tmp_path / "x.sqlite"
    res = run_cli(capsys, "measure", "--archs", "6", "--runtime", "onnxruntime", "--db", db, "--no-progress",
                  "--max-time", "0.3", "--target-ci", "0.05")  # fmt: skip
    assert res.code == 0, res.err
    assert "precision:" in res.out and "of 6 networks known within ±5%" in res.out
    with ResultStore(db, readonly=True) as store:
        rows = store.measurements(store.runs()[-1].id)
    for r in rows:
        assert r["status"] == "ok" and r["n_rounds"] >= 8 and r["ci_halfwidth_s"] >= 0
        assert r["raw_latency_s"] > 0 and r["clock_level"] > 0
        assert r["latency_s"] == pytest.approx(r["raw_latency_s"] / r["clock_level"])
        assert set(r["conditions"]["reference_s"]) == set(spaces.get("nasbench201").reference_archs())
        assert len(r["samples"]) == r["n_rounds"]
    assert clock.history(clock.device_key(*_identity(db)))  # the run's reference times were recorded
    out = tmp_path / "x.csv"
    assert run_cli(capsys, "measure", "export", "--db", db, "--format", "csv", "--output", out).code == 0
    header = out.read_text().splitlines()[0].split(",")
    for col in ("latency_s", "ci_halfwidth_s", "iqr_mean_s", "n_rounds", "n_samples", "met_target", "clock_level"):
        assert col in header


def _identity(db):
    with ResultStore(db, readonly=True) as store:
        run = store.runs()[-1].row
    references = {"archs": spaces.get("nasbench201").reference_archs(), "model": json.loads(run["model_json"])}
    return json.loads(run["device_json"]), json.loads(run["runtime_json"]), references


def test_sequential_protocol_is_still_there(tmp_path, capsys):
    db = tmp_path / "s.sqlite"
    res = run_cli(capsys, "measure", "--archs", "2", "--runtime", "null", "--protocol", "sequential", "--runs", "3",
                  "--db", db, "--no-progress")  # fmt: skip
    assert res.code == 0 and "precision:" not in res.out
    with ResultStore(db, readonly=True) as store:
        run = store.runs()[-1]
        rows = store.measurements(run.id)
    assert json.loads(run.row["protocol_json"])["mode"] == "sequential"
    assert all(len(r["samples"]) == 3 and r["ci_halfwidth_s"] is None for r in rows)


def test_a_store_of_schema_1_is_migrated_and_still_read(tmp_path):
    db = tmp_path / "old.sqlite"
    with ResultStore(db) as store:  # make a current store, then turn it back into schema 1
        store.get_or_create_run("k", {"space": "nasbench201", "runtime": "null", "runtime_json": "{}",
                                      "device": "local", "device_json": "{}", "protocol_json": "{}",
                                      "model_json": "{}", "archs_spec": "1", "seed": 0, "dedupe": 1,
                                      "eagle_version": "old", "started_at": 0.0})  # fmt: skip
        store.add_measurement(1, 5, {"status": "ok", "latency_s": 1e-3, "samples": [[1e-3]]})
    con = sqlite3.connect(db)
    for column in ("iqr_mean_s", "ci_halfwidth_s", "n_samples", "n_rounds", "rounds_discarded", "met_target",
                   "conditions_json", "raw_latency_s", "clock_level"):  # fmt: skip
        con.execute(f"ALTER TABLE measurements DROP COLUMN {column}")
    con.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    con.commit()
    con.close()
    with ResultStore(db, readonly=True) as store:  # read as it is
        (row,) = store.measurements(1)
        assert row["latency_s"] == 1e-3 and row["ci_halfwidth_s"] is None
    with ResultStore(db) as store:  # migrated on a writable open
        store.add_measurement(1, 6, {"status": "ok", "latency_s": 2e-3, "ci_halfwidth_s": 1e-5, "met_target": True})
        rows = store.measurements(1)
    assert [r["ci_halfwidth_s"] for r in rows] == [None, 1e-5]
    assert sqlite3.connect(db).execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION)


def test_a_batch_isolates_the_network_that_hangs(tmp_path, capsys):
    """A hung conversion stops the batch; its networks are measured again one by one, so only the
    culprit is recorded as timed out."""
    models = tmp_path / "models.txt"
    models.write_text("".join(f"torchvision:squeezenet1_1(num_classes={n})@32\n" for n in (2, 3, 4, 5)))
    db = tmp_path / "h.sqlite"
    res = run_cli(capsys, "measure", "--models", models, "--runtime", "null", "--runtime-option", "hang=[2]",
                  "--db", db, "--no-progress", "--timeout", "3", "--runs", "2")  # fmt: skip
    assert res.code == 0, res.err
    with ResultStore(db, readonly=True) as store:
        statuses = {r["nb201_index"]: r["status"] for r in store.measurements(store.runs()[-1].id)}
    assert statuses == {0: "ok", 1: "ok", 2: "timeout", 3: "ok"}


def test_doctor_reports_every_check(capsys):
    res = run_cli(capsys, "doctor", "--seconds", "0.2")
    assert res.code == 0, res.err
    for check in ("cpu", "governor", "turbo", "smt", "load", "thermal", "cores"):
        assert any(line.split()[1:2] == [check] for line in res.out.splitlines()), res.out
    res = run_cli(capsys, "doctor", "--seconds", "0.1", "--json", "--pin", "0")
    data = json.loads(res.out)
    assert data["quietest_core"] == 0 and data["cores"][0]["median_us"] > 0


def test_a_damaged_or_hostile_clock_cache_is_never_trusted_nor_written_through(tmp_path):
    key = clock.device_key({"target": "local"}, {"runtime": "onnxruntime"}, {"archs": ["a"]})
    path = clock.cache_dir() / clock.FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({key: {"nominal_s": {"a": 10**400, "b": "x", "c": -1, "d": True}}}))
    assert clock.nominal(key) == {}  # huge ints, strings, negatives, booleans: dropped, no crash
    path.write_text("[" * 200_000)
    assert clock.nominal(key) == {}  # deep nesting: ignored
    assert clock.level({"a": 1e-3}, {"a": 1e-9}) is None  # a level no machine drifts by: not applied
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    path.unlink()
    path.symlink_to(victim)
    clock.record(key, [{"a": 1e-3}])
    assert victim.read_text() == "precious" and clock.nominal(key) == {}  # never written through a link


def test_a_timer_that_gives_no_time_never_poisons_the_batch():
    """Attacker review: one runner whose timer returns NaN (or 0) must not turn every other
    network's drift-corrected latency into NaN; its rounds are discarded."""

    class Broken:
        def __call__(self):
            return None

        def timed(self):
            return float("nan")

    runners = {0: lambda: _spin(2e-4), 1: lambda: _spin(3e-4), 2: lambda: _spin(4e-4), 9: Broken()}
    protocol = Protocol(warmup=1, round_runs=2, min_rounds=6, max_rounds=30, target_ci=0.2, max_time_s=1.0)
    timings = time_interleaved(runners, protocol, check_cpu=False)
    assert not timings[9].rounds and timings[9].discarded > 0
    for k in (0, 1, 2):
        assert np.isfinite(summarize_timing(timings[k], protocol.target_ci)["latency_s"])
