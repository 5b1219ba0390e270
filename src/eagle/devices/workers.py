"""Worker handles: a long-lived ``eagle.measurement.worker`` process on a device, spoken to over
JSON lines on its stdin/stdout. ``local`` starts it as a child process; ``ssh://user@host:port``
starts it on the remote host through ``ssh`` (Eagle must be installed there; the remote Python is
``python3`` or the ``python=`` query parameter, e.g. ``ssh://me@pi:22?python=/opt/eagle/bin/python``);
:mod:`eagle.devices.address` says what an address may hold.
"""

from __future__ import annotations

import json
import os
import select
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eagle.devices.address import HELP, DeviceAddressError, parse_ssh
from eagle.errors import EagleError
from eagle.measurement.worker import WorkerConfig, config_to_json

READY_TIMEOUT_S = 120.0


class WorkerTimeout(Exception):
    """The worker gave no answer in time (it has been killed)."""


class WorkerCrashed(Exception):
    """The worker process ended while a model was in flight."""


def worker_command(device: str) -> tuple[list[str], dict[str, Any]]:
    """The command line that starts a worker on ``device`` and the device's static description.

    ``device`` is validated by :mod:`eagle.devices.address` first: an address that asks ssh to run
    a local program (``ProxyCommand`` ...) or smuggles an option into the destination is refused.
    """
    if device == "local":
        return [sys.executable, "-m", "eagle.measurement.worker"], {"target": "local"}
    if device.startswith("ssh://"):
        addr = parse_ssh(device)
        return addr.command("eagle.measurement.worker"), {"target": addr.target}
    raise DeviceAddressError(f"unknown device {device!r}; {HELP}")


class StdioWorker:
    """One worker process; restarted transparently after a timeout or crash."""

    def __init__(self, device: str, config: WorkerConfig) -> None:
        self.device = device
        self.config = config
        self.cmd, self.static = worker_command(device)
        self.proc: subprocess.Popen[bytes] | None = None
        self._buf = b""
        self._ready: dict[str, Any] = {}

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        env = dict(os.environ)
        self.proc = subprocess.Popen(
            self.cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=None, env=env, start_new_session=True
        )
        self._buf = b""
        try:
            self._send(config_to_json(self.config))
            msg = self._recv(READY_TIMEOUT_S)
        except (WorkerTimeout, WorkerCrashed) as exc:
            self.kill()
            raise EagleError(
                f"the worker on {self.device} did not start ({exc}); command: {shlex.join(self.cmd)}"
            ) from None
        if not msg.get("ready"):
            self.kill()
            raise EagleError(f"the worker on {self.device} could not set up: {msg.get('error')}")
        self._ready = msg

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            self._send(None)
            self.proc.stdin.close()  # type: ignore[union-attr]
            self.proc.wait(timeout=10)
        except (OSError, subprocess.TimeoutExpired, WorkerCrashed):
            self.kill()
        self.proc = None

    def kill(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, 9)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:  # pragma: no cover
            pass
        self.proc = None

    # -- requests -----------------------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        """The device's identity as the worker reported it, plus how it is reached."""
        return {**self._ready.get("identity", {}), **self.static}

    def runtime_description(self) -> dict[str, Any]:
        return dict(self._ready.get("runtime", {}))

    def measure(self, nb201_index: int, timeout_s: float) -> dict[str, Any]:
        """One arch's result dict (a batch of one); raises WorkerTimeout/WorkerCrashed (worker
        restarted after)."""
        return self.measure_batch([nb201_index], timeout_s)[0]

    def measure_batch(self, indices: list[int], timeout_s: float) -> list[dict[str, Any]]:
        """One result per index, in order, timed together by the worker's protocol; ``timeout_s``
        is how long the worker may go without a sign of life (it sends one every few seconds).
        Raises WorkerTimeout/WorkerCrashed (worker restarted after)."""
        if self.proc is None:
            self.start()
        try:
            self._send({"batch": [int(i) for i in indices]})
            while True:
                msg = self._recv(timeout_s)
                if "results" in msg:
                    results = msg["results"]
                    if not isinstance(results, list) or len(results) != len(indices):
                        raise WorkerCrashed(f"the worker answered {len(results)} results for {len(indices)} archs")
                    return results
        except (WorkerTimeout, WorkerCrashed):
            self.kill()
            self.start()
            raise

    # -- plumbing -----------------------------------------------------------------------------
    def _send(self, obj: Any) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        try:
            self.proc.stdin.write((json.dumps(obj) + "\n").encode())
            self.proc.stdin.flush()
        except (BrokenPipeError, OSError) as exc:
            raise WorkerCrashed(f"cannot write to the worker: {exc}") from None

    def _recv(self, timeout_s: float) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdout is not None
        deadline = time.monotonic() + timeout_s
        fd = self.proc.stdout.fileno()
        while b"\n" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise WorkerTimeout(f"no answer within {timeout_s:g} s")
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                continue
            chunk = os.read(fd, 1 << 20)
            if not chunk:
                code = self.proc.poll()
                raise WorkerCrashed(f"worker exited (code {code})")
            self._buf += chunk
        line, self._buf = self._buf.split(b"\n", 1)
        return json.loads(line)


@contextmanager
def open_worker(device: str, config: WorkerConfig) -> Iterator[StdioWorker]:
    """A started worker for ``device``, stopped on exit."""
    worker = StdioWorker(device, config)
    worker.start()
    try:
        yield worker
    finally:
        worker.stop()
