"""#18: the rough edges a new user hit, each kept fixed."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from eagle.cli.main import main, run_command
from tests.conftest import REPO


def _eagle(*args, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "eagle", *map(str, args)], capture_output=True, text=True, timeout=timeout
    )


def test_compute_runs_on_one_thread_unless_asked(monkeypatch):
    import torch

    seen = {}

    def record(args):
        seen[args.compute_threads] = torch.get_num_threads()
        return 0

    before = torch.get_num_threads()
    monkeypatch.delenv("EAGLE_THREADS", raising=False)
    run_command(record, argparse.Namespace(compute_threads=None), verbose=False)
    run_command(record, argparse.Namespace(compute_threads=2), verbose=False)
    assert seen == {None: 1, 2: 2}
    assert torch.get_num_threads() == before
    monkeypatch.setenv("EAGLE_THREADS", "abc")
    assert run_command(record, argparse.Namespace(compute_threads=None), verbose=False) == 2


def test_results_store_is_a_measurement(tmp_path, capsys):
    db = tmp_path / "x.sqlite"
    assert main(["measure", "--runtime", "null", "--archs", "30", "--db", str(db), "-q"]) == 0
    assert main(["train", "--predictor", "lut", "--measurement", str(db), "--save", str(tmp_path / "a.pt"), "-q"]) == 0
    assert "30 archs of x" in capsys.readouterr().out
    ok = main(["train", "--predictor", "lut", "--measurement", f"{db}#run=1", "--save", str(tmp_path / "b.pt"), "-q"])
    assert ok == 0
    assert main(["train", "--predictor", "lut", "--measurement", f"{db}#run=9", "--save", str(tmp_path / "c.pt")]) != 0
    assert "has no run 9" in capsys.readouterr().err


def test_search_names_the_best_arch_and_simulate_reports_within_budget(tmp_path, capsys):
    assert main(["search", "--method", "random", "--budget", "10", "--output", str(tmp_path / "t.txt"), "-q"]) == 0
    out = capsys.readouterr().out
    assert "best trained arch: nasbench201 id" in out and "|" in out
    js = tmp_path / "s.json"
    cmd = ["search", "simulate", "--methods", "random,evolution", "--seeds", "2", "--budget", "20"]
    assert main([*cmd, "--json", str(js), "--plot", str(tmp_path / "s.png"), "-q"]) == 0
    summary = json.loads(js.read_text())["methods"]["random"]
    assert "mean_best_at_50" not in summary and "mean_best_at_25" not in summary
    assert (tmp_path / "s.png").stat().st_size > 1000


def test_device_runner_says_where_the_other_archs_come_from(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "eagle.device_runner", "--model", "nasbench201", "--device", "desktop", "--metric",
         "latency", "--cfg", str(REPO / "configs/measurements/desktop_nasbench201_local.yaml"), "--expdir",
         str(tmp_path), "--limit", "2", "--runtime", "null", "--no-progress"],
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert res.returncode == 0, res.stderr
    assert "2 measured now" in res.stdout and "NB201 classes" in res.stdout


@pytest.mark.slow
def test_litert_converter_logs_are_captured(tmp_path):
    from eagle import runtimes

    reason = runtimes.get("litert").unavailable_reason()
    if reason:
        pytest.skip(f"litert is not installed: {reason}")
    res = _eagle("measure", "--runtime", "litert", "--archs", "1", "--db", tmp_path / "l.sqlite", "--no-progress")
    assert res.returncode == 0, res.stderr[-2000:]
    noise = [ln for ln in res.stderr.splitlines() if not ln.startswith("INFO eagle")]
    assert len(noise) <= 2, res.stderr[-2000:]
