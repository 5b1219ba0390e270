"""Executors: who measures a sweep's archs. ``local`` drives one worker; ``ray`` a pool of device actors.

Every executor satisfies :class:`Executor`: the device identity and runtime description that key
the run in the store, and ``results(indices, timeout_s)``, an iterator of ``(index, result)`` in
completion order that yields every index exactly once. The runner alone writes the store.
Executors are registered by name in :data:`EXECUTORS` (a factory ``(sweep config, worker config)
-> Executor``); ``ray``'s module, and Ray itself, are imported only when that executor is used.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, Protocol

from eagle.devices.workers import StdioWorker, WorkerCrashed, WorkerTimeout
from eagle.measurement.worker import WorkerConfig
from eagle.registry import Registry


class Executor(Protocol):
    """What the sweep runner needs from whoever measures."""

    def start(self) -> None: ...

    def close(self) -> None: ...

    def identity(self) -> dict[str, Any]: ...

    def runtime_description(self) -> dict[str, Any]: ...

    def results(self, indices: list[int], timeout_s: float) -> Iterator[tuple[int, dict[str, Any]]]:
        """``(index, result)`` for every index exactly once, in completion order."""
        ...

    def status(self) -> str:
        """A short progress note (e.g. actors alive), or ""."""
        ...


ExecutorFactory = Callable[[Any, WorkerConfig], Executor]
EXECUTORS: Registry[ExecutorFactory] = Registry("executor")


def _lazy(module: str, name: str) -> ExecutorFactory:
    """A factory that imports ``module`` only when called (optional extras such as Ray)."""

    def factory(cfg: Any, config: WorkerConfig) -> Executor:
        made: Executor = getattr(importlib.import_module(module), name)(cfg, config)
        return made

    return factory


def measure_safely(worker: StdioWorker, index: int, timeout_s: float) -> dict[str, Any]:
    """One arch on ``worker``; a hang or crash becomes a recorded result (worker restarted)."""
    try:
        return worker.measure(index, timeout_s)
    except WorkerTimeout:
        return {"status": "timeout", "error": f"no result within {timeout_s:g} s; worker killed"}
    except WorkerCrashed as exc:
        return {"status": "error", "error": f"worker crashed: {exc}"}


def measure_batch_safely(worker: StdioWorker, indices: list[int], timeout_s: float) -> list[dict[str, Any]]:
    """A batch of archs on ``worker``, timed together (one result each, in order). When the
    batch hangs or crashes the worker, its archs are measured again one at a time, so the one
    to blame is recorded as such and the others are measured."""
    if len(indices) == 1:
        return [measure_safely(worker, indices[0], timeout_s)]
    try:
        return worker.measure_batch(indices, timeout_s)
    except (WorkerTimeout, WorkerCrashed):
        return [measure_safely(worker, i, timeout_s) for i in indices]


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
        size = self.worker.config.protocol.batch
        for start in range(0, len(indices), size):
            batch = indices[start : start + size]
            yield from zip(batch, measure_batch_safely(self.worker, batch, timeout_s))

    def status(self) -> str:
        return ""


EXECUTORS.add("local", lambda cfg, config: LocalExecutor(cfg.device, config))
EXECUTORS.add("ray", _lazy("eagle.measurement.ray_executor", "make_executor"))


@contextmanager
def open_executor(cfg: Any, config: WorkerConfig) -> Iterator[Executor]:
    """The started executor registered as ``cfg.executor``, closed on exit."""
    executor = EXECUTORS.get(cfg.executor)(cfg, config)
    executor.start()
    try:
        yield executor
    finally:
        executor.close()
