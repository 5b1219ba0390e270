"""``--executor ray``: measure on a Ray cluster, one actor per physical device, exactly-once results.

Devices are Ray custom resources that a worker node declares when it joins the cluster::

    ray start --address HEAD:6379 --resources '{"device:pixel3": 1}'

``eagle measure --executor ray --device pixel3`` starts one actor per unit of ``device:pixel3``
in the cluster (``--ray-actors`` to use fewer); each actor holds one unit for its lifetime, so
two timing loops never share a device, and runs Eagle's usual measurement worker on its node.
The driver keeps the queue: each actor has one batch of archs in flight (timed together by the
worker's interleaved protocol); results stream back and the runner writes them to the SQLite
store in the driver. When an actor or its node dies, its batch goes back to the front of the
queue and a replacement actor is requested (it starts wherever a unit of the device is free);
an arch is yielded once, so nothing is stored twice. Resume after the driver dies is the
store's: the same command skips what is stored.
"""

from __future__ import annotations

import logging
import os
import time
from collections import deque
from collections.abc import Iterator
from typing import Any

from eagle.errors import EagleError, UsageError, install_hint
from eagle.measurement.worker import WorkerConfig, config_from_json, config_to_json

RESOURCE_PREFIX = "device:"
_START_HINT = "Start one with 'ray start --head --resources '{\"device:NAME\": 1}'' and pass --address HOST:PORT"
#: seconds to wait for an actor of the device to start (first one, or any when none is left)
START_TIMEOUT_S = float(os.environ.get("EAGLE_RAY_START_TIMEOUT_S", "180"))


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise EagleError(f"the Ray executor needs Ray: {install_hint('ray')}") from None
    return ray


def connect(address: str | None) -> Any:
    """Connect this process to a running cluster as a driver (no-op when already connected)."""
    ray = import_ray()
    if ray.is_initialized():
        return ray
    _check_reachable(address)
    try:
        ray.init(address=address or "auto", log_to_driver=False, logging_level=logging.ERROR)
    except (ConnectionError, RuntimeError, ValueError) as exc:
        first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        raise EagleError(f"cannot reach a Ray cluster at {address or 'auto'} ({first}). {_START_HINT}") from None
    return ray


def _check_reachable(address: str | None) -> None:
    """Fail in seconds, not minutes, when nothing listens at a HOST:PORT address."""
    import socket

    if not address or address == "auto":
        return
    hostport = address.removeprefix("ray://")
    host, _, port = hostport.rpartition(":")
    if not host or not (port.isascii() and port.isdigit()) or len(port) > 5:
        raise EagleError(f"--address {address!r}: expected auto, HOST:PORT or ray://HOST:PORT")
    try:
        socket.create_connection((host, int(port)), timeout=5).close()
    except OSError as exc:
        raise EagleError(f"cannot reach a Ray cluster at {address} ({exc.strerror or exc}). {_START_HINT}") from None


def device_resources(ray: Any) -> dict[str, dict[str, Any]]:
    """``{device name: {"total": units, "available": units, "nodes": [node ip, ...]}}`` of live nodes."""
    out: dict[str, dict[str, Any]] = {}
    available = ray.available_resources()
    for node in ray.nodes():
        if not node.get("Alive"):
            continue
        for key, units in node.get("Resources", {}).items():
            if key.startswith(RESOURCE_PREFIX):
                entry = out.setdefault(key[len(RESOURCE_PREFIX) :], {"total": 0, "available": 0, "nodes": []})
                entry["total"] += int(units)
                entry["nodes"].append(node.get("NodeManagerAddress"))
    for name, entry in out.items():
        entry["available"] = int(available.get(RESOURCE_PREFIX + name, 0))
    return out


def _first_error_line(exc: BaseException) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    eagle = [ln for ln in lines if "EagleError" in ln]
    return (eagle or lines or [type(exc).__name__])[-1][:300]


class DeviceActor:
    """Runs on the node that holds the device: Eagle's measurement worker, local to that node."""

    def __init__(self, config_json: dict[str, Any]) -> None:
        from eagle.devices.workers import StdioWorker

        self.worker = StdioWorker("local", config_from_json(config_json))
        self.worker.start()

    def describe(self) -> dict[str, Any]:
        import ray

        return {
            "identity": self.worker.identity(),
            "runtime": self.worker.runtime_description(),
            "node_id": ray.get_runtime_context().get_node_id(),
        }

    def measure(self, indices: list[int], timeout_s: float) -> list[dict[str, Any]]:
        """A batch of archs, timed together by the worker's protocol (one result each, in order)."""
        from eagle.measurement.executors import measure_batch_safely

        return measure_batch_safely(self.worker, indices, timeout_s)


class RayExecutor:
    """A pool of device actors fed one arch at a time; see the module docstring."""

    def __init__(self, device: str, config: WorkerConfig, *, address: str | None, actors: int | None) -> None:
        if device.startswith(("ssh://", "local")):
            raise EagleError(
                "with --executor ray, --device names a device resource of the cluster (e.g. pixel3 for "
                f"'device:pixel3'), not {device!r}; see 'eagle cluster status'"
            )
        self.device = device.removeprefix(RESOURCE_PREFIX)
        self.config = config
        self.address = address
        self.requested = actors
        self.ray: Any = None
        self.actor_cls: Any = None
        self.ready: list[Any] = []  # started actors, idle
        self.starting: dict[Any, Any] = {}  # describe() ref -> actor
        self.inflight: dict[Any, tuple[Any, list[int], float]] = {}  # measure() ref -> (actor, batch, sent at)
        self.first: dict[str, Any] | None = None
        self.deaths = 0
        self.replacements_left = 0
        self.last_error = ""

    # -- lifecycle ----------------------------------------------------------------------------
    def start(self) -> None:
        ray = self.ray = connect(self.address)
        offered = device_resources(ray)
        if self.device not in offered:
            names = ", ".join(sorted(offered)) or "none"
            raise UsageError(
                f"the Ray cluster offers no 'device:{self.device}' resource (devices: {names}); declare it on a "
                f"worker with: ray start --address HEAD:PORT --resources '{{\"device:{self.device}\": 1}}'"
            )
        total = offered[self.device]["total"]
        n = total if self.requested is None else max(1, min(int(self.requested), total))
        self.actor_cls = ray.remote(DeviceActor)
        self.replacements_left = max(3, 2 * n)
        for _ in range(n):
            self._spawn()
        deadline = time.monotonic() + START_TIMEOUT_S
        while self.first is None:
            if time.monotonic() > deadline:
                raise EagleError(f"no actor for device:{self.device} started within {START_TIMEOUT_S:g} s")
            self._poll_starting(timeout=1.0)

    def close(self) -> None:
        if self.ray is None:
            return
        for actor in self.ready + list(self.starting.values()) + [a for a, _, _ in self.inflight.values()]:
            self.ray.kill(actor)
        self.ready, self.starting, self.inflight = [], {}, {}

    def _spawn(self) -> None:
        actor = self.actor_cls.options(
            num_cpus=0, resources={RESOURCE_PREFIX + self.device: 1}, max_restarts=0, max_task_retries=0
        ).remote(config_to_json(self.config))
        self.starting[actor.describe.remote()] = actor

    def _replace(self, actor: Any) -> None:
        self.deaths += 1
        try:
            self.ray.kill(actor)
        except Exception:  # already gone
            pass
        if self.replacements_left <= 0:
            if not self.ready and not self.starting and not self.inflight:
                raise EagleError(
                    f"every actor for device:{self.device} died and the replacement budget is spent; "
                    f"last error: {self.last_error}"
                )
            return
        self.replacements_left -= 1
        self._spawn()

    def _poll_starting(self, timeout: float) -> None:
        if not self.starting:
            time.sleep(timeout)
            return
        done, _ = self.ray.wait(list(self.starting), num_returns=1, timeout=timeout)
        for ref in done:
            actor = self.starting.pop(ref)
            try:
                desc = self.ray.get(ref)
            except self.ray.exceptions.RayError as exc:
                self.last_error = _first_error_line(exc)
                if "EagleError" in str(exc):  # the worker could not set up (e.g. runtime missing): say so now
                    raise EagleError(f"device:{self.device} actor could not start: {self.last_error}") from None
                self._replace(actor)
                continue
            if self.first is None:
                self.first = desc
            self.ready.append(actor)

    # -- the runner's interface ---------------------------------------------------------------
    def identity(self) -> dict[str, Any]:
        assert self.first is not None
        # keyed by the device name, not the node that answered first: resume works from any node
        return {
            "target": f"ray:{RESOURCE_PREFIX}{self.device}",
            "hostname": None,
            "cpu_model": None,
            "executor": "ray",
            "first_actor": self.first["identity"],
        }

    def runtime_description(self) -> dict[str, Any]:
        assert self.first is not None
        return dict(self.first["runtime"])

    def status(self) -> str:
        live = len(self.ready) + len(self.starting) + len(self.inflight)
        return f"{live} actors" + (f", {self.deaths} died" if self.deaths else "")

    def results(self, indices: list[int], timeout_s: float) -> Iterator[tuple[int, dict[str, Any]]]:
        ray = self.ray
        queue = deque(indices)
        inflight = self.inflight  # ref -> (actor, batch of indices, sent at)
        protocol = self.config.protocol
        size = protocol.batch
        # the actor's own worker times a silent model out at timeout_s; a batch also times its networks
        guard_s = timeout_s + 120.0 + size * 3 * protocol.max_time_s
        stalled_since: float | None = None
        while queue or inflight:
            if inflight or self.ready:
                stalled_since = None
            elif stalled_since is None:
                stalled_since = time.monotonic()
            elif time.monotonic() - stalled_since > START_TIMEOUT_S:
                raise EagleError(
                    f"no actor for device:{self.device} has been able to start for {START_TIMEOUT_S:g} s "
                    f"({len(queue)} archs left; last error: {self.last_error or 'none'}); "
                    "check 'eagle cluster status', then re-run the same command to resume"
                )
            while queue and self.ready:
                actor = self.ready.pop()
                batch = [queue.popleft() for _ in range(min(size, len(queue)))]
                inflight[actor.measure.remote(batch, timeout_s)] = (actor, batch, time.monotonic())
            waiting = list(inflight) + list(self.starting)
            if not waiting:
                raise EagleError(f"no live actor for device:{self.device} is left to measure the remaining archs")
            done, _ = ray.wait(waiting, num_returns=1, timeout=1.0)
            for ref in done:
                if ref in self.starting:
                    self._poll_starting(timeout=0)
                    continue
                actor, batch, _ = inflight.pop(ref)
                try:
                    results = ray.get(ref)
                except ray.exceptions.RayError as exc:  # actor or node died: its archs go back to the queue
                    self.last_error = _first_error_line(exc)
                    queue.extendleft(reversed(batch))
                    self._replace(actor)
                    continue
                self.ready.append(actor)
                yield from zip(batch, results)
            now = time.monotonic()
            for ref, (actor, batch, sent) in list(inflight.items()):
                if now - sent > guard_s:  # the actor itself hangs: record it, replace the actor
                    del inflight[ref]
                    self._replace(actor)
                    for idx in batch:
                        yield (
                            idx,
                            {"status": "timeout", "error": f"actor gave no answer within {guard_s:g} s; replaced"},
                        )


def make_executor(cfg: Any, config: WorkerConfig) -> RayExecutor:
    """The ``ray`` entry of :data:`eagle.measurement.executors.EXECUTORS`."""
    return RayExecutor(cfg.device, config, address=cfg.ray_address, actors=cfg.ray_actors)
