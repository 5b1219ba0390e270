"""Measurement sweeps end to end: store, resume, dedupe, failures, SIGKILL, exports, seed tools."""

from __future__ import annotations

import os
import pickle
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from eagle.cli.main import main
from eagle.datasets.safe_pickle import safe_load
from eagle.errors import EagleError
from eagle.measurement.protocol import Protocol
from eagle.measurement.runner import SweepConfig, run_sweep
from eagle.spaces import get
from eagle.store import ResultStore

SPACE = get("nasbench201")
FAST = Protocol(warmup=1, round_runs=2, min_rounds=2, max_rounds=3, max_time_s=0.1)
REPO = Path(__file__).resolve().parents[2]


def _cfg(tmp_path, **kw):
    base = dict(runtime="null", runtime_kwargs={"threads": 1}, protocol=FAST, archs="12", db=tmp_path / "r.sqlite")
    base.update(kw)
    return SweepConfig(**base)


def _rows(db):
    con = sqlite3.connect(db)
    return con.execute("SELECT nb201_index, status FROM measurements ORDER BY nb201_index").fetchall()


def test_sweep_stores_every_arch_once_and_resumes(tmp_path):
    cfg = _cfg(tmp_path, limit=5)
    first = run_sweep(cfg, progress=False)
    assert first.measured_now == 5 and not first.complete
    second = run_sweep(_cfg(tmp_path), progress=False)
    assert second.run_id == first.run_id
    assert second.already_done == 5 and second.measured_now == second.to_measure - 5 and second.complete
    third = run_sweep(_cfg(tmp_path), progress=False)
    assert third.measured_now == 0
    rows = _rows(cfg.db)
    assert len(rows) == len({r[0] for r in rows}) == second.to_measure
    with ResultStore(cfg.db) as store:
        run = store.run(first.run_id)
        assert run.status == "complete" and run.row["finished_at"] is not None
        assert run.row["eagle_version"] and "cpu_model" in run.row["device_json"]
        m = store.measurements(run.id)[0]
        assert 2 <= len(m["samples"]) <= 3 and len(m["samples"][0]) == 2 and m["latency_s"] >= 0


def test_same_archs_with_a_different_seed_is_a_different_run(tmp_path):
    a = run_sweep(_cfg(tmp_path, archs="3", seed=1), progress=False)
    b = run_sweep(_cfg(tmp_path, archs="3", seed=2), progress=False)
    assert a.run_id != b.run_id


def test_dedupe_measures_one_arch_per_class_and_broadcasts(tmp_path):
    a = "|nor_conv_1x1~0|+|avg_pool_3x3~0|skip_connect~1|+|avg_pool_3x3~0|skip_connect~1|skip_connect~2|"
    b = "|avg_pool_3x3~0|+|nor_conv_1x1~0|skip_connect~1|+|nor_conv_1x1~0|skip_connect~1|skip_connect~2|"
    archs = tmp_path / "archs.txt"
    archs.write_text(f"# two members of one NB201 class\n{a}\n{b}\n1\n")
    summary = run_sweep(_cfg(tmp_path, archs=str(archs)), progress=False)
    assert summary.requested == 3 and summary.to_measure == 2
    out = tmp_path / "x.pickle"
    assert (
        main(["measure", "export", "--db", str(tmp_path / "r.sqlite"), "--format", "pickle", "--output", str(out)]) == 0
    )
    data = safe_load(out)
    assert set(data) == {SPACE.vector(a), SPACE.vector(b), SPACE.vector(1)}
    assert data[SPACE.vector(a)] == data[SPACE.vector(b)]
    nodedupe = run_sweep(_cfg(tmp_path, archs=str(archs), dedupe=False, db=tmp_path / "n.sqlite"), progress=False)
    assert nodedupe.to_measure == 3


def test_failures_are_recorded_and_the_sweep_goes_on(tmp_path):
    idx = sorted(SPACE.index(SPACE.representative(i)) for i in range(0, 400, 37) if SPACE.is_valid(i))
    archs = tmp_path / "a.txt"
    archs.write_text("\n".join(map(str, idx)))
    cfg = _cfg(
        tmp_path,
        archs=str(archs),
        runtime_kwargs={"threads": 1, "fail": [idx[1]], "hang": [idx[3]], "crash": [idx[5]]},
        timeout_s=8,
    )
    summary = run_sweep(cfg, progress=False)
    assert summary.complete and summary.failed == 3 and summary.ok == len(idx) - 3
    with ResultStore(cfg.db) as store:
        by = {m["nb201_index"]: m for m in store.measurements(summary.run_id)}
    assert by[idx[1]]["status"] == "error" and "injected conversion failure" in by[idx[1]]["error"]
    assert by[idx[3]]["status"] == "timeout"
    assert by[idx[5]]["status"] == "error" and "worker crashed" in by[idx[5]]["error"]
    assert by[idx[6]]["status"] == "ok"


def test_invalid_archs_are_recorded_not_measured(tmp_path):
    archs = tmp_path / "a.txt"
    archs.write_text("(0, 0, 0, 0, 0, 0)\n1\n")
    summary = run_sweep(_cfg(tmp_path, archs=str(archs)), progress=False)
    with ResultStore(tmp_path / "r.sqlite") as store:
        assert store.results_by_arch(summary.run_id)[SPACE.index((0,) * 6)]["status"] == "invalid"
    assert summary.ok == 1


def _null_sweep_cmd(db, archs):
    """A null-runtime sweep of ``archs`` random archs taking ~0.1 s per arch, interleaved in
    batches of 4 (results are stored batch by batch)."""
    return _measure_cmd(
        db,
        "--runtime",
        "null",
        "--runtime-option",
        "sleep_s=0.01",
        "--archs",
        str(archs),
        "--runs",
        "3",
        "--avg-between",
        "2",
        "--warmup",
        "0",
        "--interleave",
        "4",
    )


def _measure_cmd(db, *extra):
    return [sys.executable, "-m", "eagle", "measure", "--db", str(db), "--no-progress", *extra]


def test_sigkill_mid_run_then_resume_gives_each_arch_exactly_once(tmp_path):
    db = tmp_path / "k.sqlite"
    cmd = _null_sweep_cmd(db, 40)
    proc = subprocess.Popen(cmd, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    while time.time() < deadline:
        time.sleep(0.2)
        if db.exists():
            try:
                n = sqlite3.connect(db).execute("SELECT count(*) FROM measurements").fetchone()[0]
            except sqlite3.OperationalError:
                continue
            if n >= 5:
                break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    before = len(_rows(db))
    assert 5 <= before < 40
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    rows = _rows(db)
    assert len(rows) == len({r[0] for r in rows})
    with ResultStore(db) as store:
        (run,) = store.runs()
        assert len(store.results_by_arch(run.id)) == 40
        assert run.status == "complete"


def test_onnxruntime_acceptance_command(tmp_path):
    db, out = tmp_path / "X.sqlite", tmp_path / "X.pickle"
    res = subprocess.run(
        _measure_cmd(db, "--runtime", "onnxruntime", "--archs", "20"), capture_output=True, text=True, timeout=600
    )
    assert res.returncode == 0, res.stderr
    assert main(["measure", "export", "--db", str(db), "--format", "pickle", "--output", str(out)]) == 0
    data = safe_load(out)
    assert len(data) == 20
    assert all(isinstance(k, tuple) and len(k) == 6 for k in data)
    assert all(1e-5 < v < 0.1 for v in data.values())  # seconds
    for fmt in ("csv", "parquet"):
        assert (
            main(["measure", "export", "--db", str(db), "--format", fmt, "--output", str(tmp_path / f"x.{fmt}")]) == 0
        )


def test_device_runner_seed_interface(tmp_path):
    cfg = tmp_path / "cfg.yaml"
    cfg.write_text(
        (REPO / "configs/measurements/desktop_nasbench201_local.yaml")
        .read_text()
        .replace("runs: 100", "runs: 2")
        .replace("interval: 0.01", "interval: 0.0")
    )
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "eagle.device_runner",
            "--model",
            "nasbench201",
            "--device",
            "desktop",
            "--metric",
            "latency",
            "--cfg",
            str(cfg),
            "--expdir",
            str(tmp_path / "results"),
            "--limit",
            "6",
            "--runtime",
            "null",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert res.returncode == 0, res.stderr
    outdir = tmp_path / "results" / "nasbench201" / "latency" / "desktop"
    raw = safe_load(outdir / "results0.pickle")
    assert isinstance(raw, list) and raw
    statuses = {type(v).__name__ for _, v in raw}
    assert "str" in statuses  # the seed's 'invalid' marker for disconnected cells
    measured = [(p, v) for p, v in raw if isinstance(v, list)]
    assert all(len(v) == 2 and all(len(r) >= 10 for r in v) for _, v in measured)
    data = safe_load(outdir / "results.pickle")
    assert data and all(isinstance(k, tuple) for k in data)
    assert (outdir / "eagle.sqlite").exists()


def test_seed_tools_combine_stats_normalise(tmp_path, capsys):
    f0, f1 = tmp_path / "results0.pickle", tmp_path / "results1.pickle"
    f0.write_bytes(pickle.dumps([([3, 3, 3, 3, 3, 3], [[0.001, 0.002, 0.003], [0.002, 0.002, 0.002]])]))
    f1.write_bytes(pickle.dumps([([0, 0, 0, 0, 0, 0], "invalid"), ([1, 1, 1, 1, 1, 1], [[0.004]])]))
    comb, stats = tmp_path / "c.pickle", tmp_path / "s.pickle"
    assert main(["measure", "combine", str(f0), str(f1), "--output", str(comb)]) == 0
    assert len(safe_load(comb)) == 3
    assert main(["measure", "stats", str(comb), "--output", str(stats)]) == 0
    assert safe_load(stats) == {(3, 3, 3, 3, 3, 3): pytest.approx(0.002), (1, 1, 1, 1, 1, 1): 0.004}
    assert main(["measure", "combine", str(f0), str(f0), "--output", str(comb), "--force"]) == 1
    assert "is in both" in capsys.readouterr().err
    norm = tmp_path / "n.pickle"
    assert main(["measure", "normalise", str(stats), "--by", "max", "--output", str(norm)]) == 0
    assert max(safe_load(norm).values()) == 1.0


def test_measure_tools_refuse_malicious_pickles(tmp_path):
    from tests.conftest import Exploit

    marker = tmp_path / "pwned"
    evil = tmp_path / "results0.pickle"
    evil.write_bytes(pickle.dumps([([1, 1, 1, 1, 1, 1], Exploit(marker))]))
    for args in (["combine", str(evil)], ["stats", str(evil)], ["normalise", str(evil)]):
        res = subprocess.run(
            [sys.executable, "-m", "eagle", "measure", *args, "--output", str(tmp_path / "o")],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert res.returncode != 0 and "refused to load" in res.stderr and not marker.exists()


def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(tmp_path):
    db = tmp_path / "c.sqlite"
    from tests.conftest import ctrl_c_once_stored

    cmd = _null_sweep_cmd(db, 150)
    returncode, out, err = ctrl_c_once_stored(cmd, db, "SELECT count(*) FROM measurements", 3, wait_s=60)
    assert returncode == 130, (returncode, out, err)
    assert "Run the same command to resume" in out
    assert "Traceback" not in err
    with ResultStore(db) as store:
        assert store.runs()[0].status == "interrupted"
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and "complete" in res.stdout
    rows = _rows(db)
    assert len(rows) == len({r[0] for r in rows})


class _InterruptAfter:
    """A store connection that raises KeyboardInterrupt right after ``statement`` ran, as a Ctrl-C
    landing between two statements does."""

    def __init__(self, conn, statement):
        self._conn, self._statement, self.fired = conn, statement, False

    def execute(self, sql, *args):
        cur = self._conn.execute(sql, *args)
        if sql == self._statement and not self.fired:
            self.fired = True
            raise KeyboardInterrupt
        return cur

    def __getattr__(self, name):
        return getattr(self._conn, name)


@pytest.mark.parametrize("statement", ["BEGIN IMMEDIATE", "COMMIT"])
def test_ctrl_c_between_statements_leaves_the_store_usable(tmp_path, statement):
    """A Ctrl-C after COMMIT once made the rollback fail ("no transaction is active") and the
    interrupted sweep exit 1 instead of recording the interruption; after BEGIN it must not leave
    a transaction open."""
    with ResultStore(tmp_path / "s.sqlite") as store:
        fields = dict.fromkeys(["space", "runtime", "runtime_json", "device", "device_json", "protocol_json"], "x")
        fields |= {"model_json": "{}", "archs_spec": "0", "seed": 0, "dedupe": 0, "eagle_version": "0"}
        fields["started_at"] = 0.0
        with pytest.raises(EagleError, match="incomplete"):
            store.get_or_create_run("bad", {"space": "x"})
        run, _ = store.get_or_create_run("k", fields)
        real = store.conn
        store.conn = _InterruptAfter(real, statement)
        with pytest.raises(KeyboardInterrupt):
            store.set_run_status(run.id, "partial")
        assert store.conn.fired and not real.in_transaction
        store.set_run_status(run.id, "interrupted")  # the runner's handler writes next
        store.conn = real
        assert store.run(run.id).status == "interrupted"
