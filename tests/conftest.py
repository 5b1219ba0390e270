from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = Path(os.environ.get("EAGLE_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_path(*parts: str) -> Path:
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"reference data {path} not found (set EAGLE_SHARED_DATA to the shared/data folder)")
    return path


@pytest.fixture(scope="session")
def nb201_table() -> list[dict[str, str]]:
    """The shared NB201 architecture table, in NB201 index order."""
    with shared_path("nasbench201", "architectures.csv").open(newline="") as fh:
        return list(csv.DictReader(fh))


def ctrl_c_once_stored(cmd: list[str], db: Path, query: str, at_least: int, wait_s: float) -> tuple[int, str, str]:
    """Run ``cmd`` as a terminal user would, press Ctrl-C once ``query`` on the SQLite store ``db``
    counts ``at_least`` rows (or after ``wait_s`` seconds), and return (exit status, stdout, stderr).

    A shell that starts jobs in the background makes them ignore SIGINT; a terminal user's Ctrl-C
    does not, so the child gets the default handler back."""
    import signal
    import sqlite3
    import subprocess
    import time

    proc = subprocess.Popen(
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.time() + wait_s
    while time.time() < deadline:
        time.sleep(0.2)
        try:
            if db.exists() and sqlite3.connect(db).execute(query).fetchone()[0] >= at_least:
                break
        except sqlite3.OperationalError:  # the store is being created
            continue
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out, err


class Exploit:
    """A pickle payload: unpickling it would create ``marker`` via os.system (it must never run)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        import os

        return (os.system, (f"touch {self.marker}",))


@pytest.fixture(autouse=True)
def _floating_point_state_restored():
    """A test that runs the measurement worker's set-up in this process (``worker.setup`` flushes
    denormals to zero for the worker's life) must not leave that on for the tests after it:
    hypothesis's float strategies refuse to run under flush-to-zero."""
    from eagle.anynet.onnxgraph import denormals_flushed

    before = denormals_flushed()
    yield
    if denormals_flushed() != before:
        import torch

        torch.set_flush_denormal(before)


@pytest.fixture(autouse=True)
def _model_factories_allowed_per_test(monkeypatch):
    """Each test starts with no module allowed to give model factories (eagle.anynet.allow_module)."""
    from eagle.anynet import specs

    monkeypatch.setattr(specs, "_ALLOWED_MODULES", set())
