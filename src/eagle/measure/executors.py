"""Executors: who measures a sweep's archs. ``local`` drives one worker; ``ray`` a pool of device actors.

Both give the runner the same three things: the device identity and runtime description that key
the run in the store, and ``results(indices, timeout_s)``, an iterator of ``(index, result)``
in completion order that yields every index exactly once. The runner alone writes the store.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from eagle.devices.workers import StdioWorker, WorkerCrashed, WorkerTimeout
from eagle.errors import EagleError
from eagle.measure.worker import WorkerConfig


def measure_safely(worker: StdioWorker, index: int, timeout_s: float) -> dict[str, Any]:
    """One arch on ``worker``; a hang or crash becomes a recorded result (worker restarted)."""
    try:
        return worker.measure(index, timeout_s)
    except WorkerTimeout:
        return {"status": "timeout", "error": f"no result within {timeout_s:g} s; worker killed"}
    except WorkerCrashed as exc:
        return {"status": "error", "error": f"worker crashed: {exc}"}


class LocalExecutor:
    """One long-lived worker for ``device`` (local process or over ssh), one arch at a time."""

    def __init__(self, device: str, config: WorkerConfig) -> None:
        self.worker = StdioWorker(device, config)

    def start(self) -> None:
        self.worker.start()

    def close(self) -> None:
        self.worker.stop()

    def identity(self) -> dict[str, Any]:
        return self.worker.identity()

    def runtime_description(self) -> dict[str, Any]:
        return self.worker.runtime_description()

    def results(self, indices: list[int], timeout_s: float) -> Iterator[tuple[int, dict[str, Any]]]:
        for idx in indices:
            yield idx, measure_safely(self.worker, idx, timeout_s)

    def status(self) -> str:
        return ""


@contextmanager
def open_executor(cfg: Any, config: WorkerConfig) -> Iterator[Any]:
    """The started executor that ``cfg.executor`` names, closed on exit."""
    if cfg.executor == "local":
        executor: Any = LocalExecutor(cfg.device, config)
    elif cfg.executor == "ray":
        from eagle.measure.ray_executor import RayExecutor

        executor = RayExecutor(cfg.device, config, address=cfg.ray_address, actors=cfg.ray_actors)
    else:
        raise EagleError(f"--executor {cfg.executor!r}: choose local or ray")
    executor.start()
    try:
        yield executor
    finally:
        executor.close()
