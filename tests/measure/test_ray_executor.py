"""``--executor ray`` against a real Ray cluster on this machine: a head and a second node, each one device.

Both nodes run here (Ray binds them to this host's address); nothing leaves the machine.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

ray = pytest.importorskip("ray", reason="Ray is not installed (pip install 'eagle-latency[ray]')")

DEVICE = "nulldev"
# ~0.3 s per arch: 3 rounds of 10 inferences sleeping 10 ms, so a node can be killed mid-run
SLOW_NULL = [
    "--runtime",
    "null",
    "--runtime-option",
    "sleep_s=0.01",
    "--runs",
    "3",
    "--warmup",
    "1",
    "--interleave",
    "2",
]


@pytest.fixture()
def cluster():
    from ray.cluster_utils import Cluster

    c = Cluster(
        initialize_head=True,
        head_node_args={"num_cpus": 1, "resources": {f"device:{DEVICE}": 1}},
    )
    worker = c.add_node(num_cpus=1, resources={f"device:{DEVICE}": 1})
    c.wait_for_nodes()
    try:
        yield c, worker
    finally:
        c.shutdown()


def eagle(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "eagle", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw
    )


def stored(db: Path) -> list[int]:
    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        try:
            return [r[0] for r in con.execute("SELECT nb201_index FROM measurements")]
        except sqlite3.OperationalError:
            return []


def ray_measure(address: str, db: Path, archs: int, *extra: str) -> list[str]:
    """The ``eagle measure --executor ray`` arguments for the test device on the slow null runtime."""
    return [
        "measure",
        "--executor",
        "ray",
        "--address",
        address,
        "--device",
        DEVICE,
        "--archs",
        str(archs),
        "--db",
        str(db),
        "--no-progress",
        *SLOW_NULL,
        *extra,
    ]


def wait_until(pred, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out waiting"
        time.sleep(0.1)


def test_node_and_driver_deaths_lose_nothing_and_store_nothing_twice(cluster, tmp_path):
    c, worker_node = cluster
    db = tmp_path / "ray.sqlite"
    cmd = ray_measure(c.address, db, 40)

    # cluster status sees both devices
    st = eagle("cluster", "status", "--address", c.address, "--json")
    out, err = st.communicate(timeout=120)
    assert st.returncode == 0, err
    assert json.loads(out)["devices"][DEVICE]["total"] == 2

    # 1) kill the second node (and its actor) mid-run
    proc = eagle(*cmd)
    wait_until(lambda: len(stored(db)) >= 5)
    c.remove_node(worker_node, allow_graceful=False)
    # 2) then kill the driver itself
    wait_until(lambda: len(stored(db)) >= 15 or proc.poll() is not None)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    assert len(stored(db)) < 40, "the run ended before the driver could be killed; slow the null runtime"
    # 3) the same command resumes on the surviving device
    again = eagle(*cmd)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert "complete" in out

    rows = stored(db)
    assert len(rows) == len(set(rows)) == 40  # exactly once
    with sqlite3.connect(db) as con:
        assert [r[0] for r in con.execute("SELECT status FROM measurements")] == ["ok"] * 40
        (runs,) = con.execute("SELECT COUNT(*) FROM runs").fetchone()
        pids = {r[0] for r in con.execute("SELECT worker_pid FROM measurements")}
    assert runs == 1  # the resumed command continued the same run
    assert len(pids) >= 2  # more than one device worker measured

    # the same archs as a local run of the same command
    local_db = tmp_path / "local.sqlite"
    local = subprocess.run(
        [
            sys.executable,
            "-m",
            "eagle",
            "measure",
            "--runtime",
            "null",
            "--archs",
            "40",
            "--db",
            str(local_db),
            "--no-progress",
            "--runs",
            "1",
            "--warmup",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert local.returncode == 0, local.stderr
    assert sorted(stored(local_db)) == sorted(rows)


def test_losing_every_device_stops_with_a_clear_error_and_resumes(tmp_path):
    """The only device's node dies: the run stops (no hang), keeps what it stored, and resumes."""
    from ray.cluster_utils import Cluster

    c = Cluster(initialize_head=True, head_node_args={"num_cpus": 1})
    node = c.add_node(num_cpus=1, resources={f"device:{DEVICE}": 1})
    c.wait_for_nodes()
    try:
        db = tmp_path / "ray.sqlite"
        cmd = ray_measure(c.address, db, 30)
        proc = eagle(*cmd, env={**os.environ, "EAGLE_RAY_START_TIMEOUT_S": "30"})
        wait_until(lambda: len(stored(db)) >= 3 or proc.poll() is not None)
        assert proc.poll() is None, proc.communicate()[1]
        c.remove_node(node, allow_graceful=False)
        _, err = proc.communicate(timeout=180)
        assert proc.returncode == 1 and "has been able to start" in err and "re-run" in err
        before = stored(db)
        assert 3 <= len(before) < 30 and len(before) == len(set(before))
        c.add_node(num_cpus=1, resources={f"device:{DEVICE}": 1})
        c.wait_for_nodes()
        again = eagle(*cmd)
        _out, err = again.communicate(timeout=300)
        assert again.returncode == 0, err
        rows = stored(db)
        assert len(rows) == len(set(rows)) == 30 and set(before) <= set(rows)
    finally:
        c.shutdown()


def test_unknown_device_and_bad_device_are_clear_errors(cluster, tmp_path):
    c, _ = cluster
    base = [
        "measure",
        "--executor",
        "ray",
        "--address",
        c.address,
        "--runtime",
        "null",
        "--archs",
        "3",
        "--db",
        str(tmp_path / "x.sqlite"),
        "--no-progress",
    ]
    p = eagle(*base, "--device", "pixel9")
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2 and "no 'device:pixel9'" in err and DEVICE in err
    p = eagle(*base, "--device", "ssh://me@host:22")
    _, err = p.communicate(timeout=120)
    assert p.returncode == 2 and "names a device resource" in err
    # a worker that cannot set up on the device's node is reported, not retried forever
    import torch

    if torch.cuda.is_available():
        return
    torch_cuda = [a if a != "null" else "torch" for a in base]
    p = eagle(*torch_cuda, "--device", DEVICE, "--runtime-device", "cuda")
    _, err = p.communicate(timeout=180)
    assert p.returncode == 1 and "actor could not start" in err


def test_no_cluster_is_a_clear_error(tmp_path):
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    p = eagle("cluster", "status", "--address", "127.0.0.1:1", env=env)
    _, err = p.communicate(timeout=180)
    assert p.returncode == 1 and "cannot reach a Ray cluster" in err


def test_missing_ray_is_a_clear_error(monkeypatch):
    from eagle.errors import EagleError
    from eagle.measurement.ray_executor import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(EagleError, match="pip install"):
        import_ray()
