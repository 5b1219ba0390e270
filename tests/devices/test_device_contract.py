"""The same contract for every device: local, and ssh to a real sshd on loopback."""

from __future__ import annotations

import pytest

from eagle.devices.workers import open_worker, worker_command
from eagle.errors import EagleError
from eagle.measurement.protocol import Protocol
from eagle.measurement.runner import SweepConfig, run_sweep
from eagle.measurement.worker import ModelConfig, WorkerConfig
from eagle.spaces import get
from eagle.store import ResultStore

SPACE = get("nasbench201")
FAST = Protocol(warmup=1, round_runs=3, min_rounds=2, max_rounds=3, max_time_s=0.2)


@pytest.fixture(params=["local", "ssh"])
def device(request):
    if request.param == "local":
        return "local"
    return request.getfixturevalue("ssh_device")


def test_worker_reports_identity_and_measures(device):
    cfg = WorkerConfig("onnxruntime", {"threads": 1}, FAST, ModelConfig())
    with open_worker(device, cfg) as worker:
        ident = worker.identity()
        assert ident["cpu_model"] and ident["logical_cores"] >= 1 and ident["os"]
        assert "onnxruntime" in ident["packages"]
        assert ident["target"].startswith("ssh://" if device != "local" else "local")
        assert worker.runtime_description()["runtime"] == "onnxruntime"
        result = worker.measure(1, timeout_s=120)
    assert result["status"] == "ok", result.get("error")
    assert 2 <= len(result["samples"]) <= 3 and 1e-5 < result["latency_s"] < 0.5
    assert result["n_rounds"] == len(result["samples"]) and result["ci_halfwidth_s"] >= 0


def test_sweep_resume_and_failures(device, tmp_path):
    idx = sorted({SPACE.index(SPACE.representative(i)) for i in range(1, 300, 29) if SPACE.is_valid(i)})
    archs = tmp_path / "a.txt"
    archs.write_text("\n".join(map(str, idx)))
    kw = dict(
        runtime="null",
        runtime_kwargs={"threads": 1, "fail": [idx[0]], "hang": [idx[2]], "crash": [idx[4]]},
        device=device,
        protocol=FAST,
        archs=str(archs),
        db=tmp_path / "r.sqlite",
        timeout_s=8,
    )
    first = run_sweep(SweepConfig(**kw, limit=3), progress=False)
    assert first.measured_now == 3
    second = run_sweep(SweepConfig(**kw), progress=False)
    assert second.complete and second.already_done == 3
    with ResultStore(tmp_path / "r.sqlite") as store:
        rows = {m["nb201_index"]: m for m in store.measurements(second.run_id)}
        run = store.run(second.run_id)
    assert sorted(rows) == idx
    assert rows[idx[0]]["status"] == "error"
    assert rows[idx[2]]["status"] == "timeout"
    assert rows[idx[4]]["status"] == "error" and "crashed" in rows[idx[4]]["error"]
    assert sum(r["status"] == "ok" for r in rows.values()) == len(idx) - 3
    assert ("ssh://" in run.row["device_json"]) == (device != "local")


def test_unknown_device_and_unreachable_host():
    with pytest.raises(EagleError, match="unknown device"):
        worker_command("bluetooth://phone")
    cfg = WorkerConfig("null", {"threads": 1}, FAST, ModelConfig())
    with (
        pytest.raises(EagleError, match=r"did not start|could not set up"),
        open_worker("ssh://nobody@127.0.0.1:1?option=ConnectTimeout=2", cfg),
    ):
        pass
