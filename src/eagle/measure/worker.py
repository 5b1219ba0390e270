"""The long-lived measurement worker: builds, converts, loads and times one model at a time.

It runs in its own process (started once per device: a child process locally, through ``ssh``
on a remote host, inside a Ray actor on a cluster), so per-model process start-up is never
timed and a crash or hang of one model cannot take the sweep down: the driver kills and
restarts it. It speaks JSON lines on its stdin/stdout (:func:`stdio_main`): the config first,
then one ``{"index": i}`` per arch of the config's search space, one result line each.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eagle.measure.protocol import Protocol, time_inferences
from eagle.measure.stats import summarize


@dataclass(frozen=True)
class ModelConfig:
    """The measured networks: their search space, its build config, and the input batch.

    ``network`` is the space's build config (:meth:`SearchSpace.network_defaults` lists its
    keys; NB201: the seed's ``model:`` keys ``num_classes, cells_count, stacks_count, channels,
    input_size`` and ``calibration_batch``); what is not given takes the space's default.
    """

    space: str = "nasbench201"
    network: dict[str, Any] = field(default_factory=dict)
    batch_size: int = 1
    channels_last: bool = False
    seed: int = 0

    def resolved_network(self) -> dict[str, Any]:
        """The space's defaults updated with :attr:`network` (unknown keys refused by the space)."""
        from eagle import spaces

        return spaces.get(self.space).network_config(self.network)

    def to_dict(self) -> dict[str, Any]:
        """Flat, JSON-able and stable: NB201 sweeps keep the keys they had before spaces were plug-ins."""
        net = {k: list(v) if isinstance(v, tuple) else v for k, v in self.resolved_network().items()}
        d = {**net, "batch_size": self.batch_size, "channels_last": self.channels_last, "seed": self.seed}
        if self.space != "nasbench201":
            d["space"] = self.space
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        d = dict(d)
        outer = {k: d.pop(k) for k in ("space", "batch_size", "channels_last", "seed") if k in d}
        return cls(network=d, **outer)


@dataclass(frozen=True)
class WorkerConfig:
    runtime: str
    runtime_kwargs: dict[str, Any]
    protocol: Protocol
    model: ModelConfig
    cpu_affinity: tuple[int, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    #: a space too large to enumerate: the sweep's arch keys (an index is a position in this list)
    archs: tuple[str, ...] | None = None


def setup(config: WorkerConfig) -> Any:
    """Prepare this process for timing and return the configured runtime."""
    from eagle import spaces

    spaces.allow(config.model.space)  # the driver chose it
    if config.archs is not None and spaces.get(config.model.space).name == "models":
        from eagle.anynet import allow_code

        for key in config.archs:  # the user named these models to the driver
            allow_code(key)
    for key, value in config.env.items():
        os.environ[key] = value
    if config.cpu_affinity and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, config.cpu_affinity)
    import torch

    from eagle import runtimes

    torch.set_flush_denormal(True)
    runtime = runtimes.create(config.runtime, **config.runtime_kwargs)
    runtime.check_available()
    torch.set_num_threads(runtime.threads)
    runtime.setup_process()
    return runtime


class _Captured:
    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()

    def text(self) -> str:
        self.file.seek(0)
        return self.file.read().decode("utf-8", "replace")


@contextmanager
def captured_output() -> Iterator[_Captured]:
    """Capture what this process writes to fd 1 and 2 (C++ and Python alike) inside the block.

    Shown on stderr afterwards only when ``EAGLE_WORKER_VERBOSE=1`` (``eagle -v measure``); a
    conversion that fails carries its tail in the stored error instead.
    """
    cap = _Captured()
    sys.stdout.flush()
    sys.stderr.flush()
    saved = [os.dup(1), os.dup(2)]
    os.dup2(cap.file.fileno(), 1)
    os.dup2(cap.file.fileno(), 2)
    try:
        yield cap
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for fd in saved:
            os.close(fd)
        if os.environ.get("EAGLE_WORKER_VERBOSE") == "1":
            sys.stderr.write(cap.text())
            sys.stderr.flush()


def measure_one(runtime: Any, config: WorkerConfig, index: int, arch: str | None = None) -> dict[str, Any]:
    """Build, convert, load and time one arch (``arch`` key, or the space's arch at ``index``);
    failures come back as ``status='error'``."""
    import torch

    from eagle import spaces

    m = config.model
    result: dict[str, Any] = {"nb201_index": index, "worker_pid": os.getpid()}
    stage = "build"
    try:
        t0 = time.perf_counter()
        space = spaces.get(m.space)
        if arch is not None:
            key = space.parse(arch)
        elif config.archs is not None:
            key = config.archs[index]
        else:
            key = space.arch_at(index)
        network = m.resolved_network()
        model = space.build_for_measurement(key, network, seed=m.seed)
        model.eagle_index = index  # type: ignore[assignment]  # which arch: for harness runtimes (null's faults)
        gen = torch.Generator().manual_seed(m.seed)
        example = torch.randn(m.batch_size, *space.input_shape(key, **network), generator=gen)
        if m.channels_last:
            model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
            example = example.contiguous(memory_format=torch.channels_last)
        t1 = time.perf_counter()
        stage = "convert"
        with captured_output() as log:  # converters (LiteRT, torchao, ...) print pages of logs
            artifact = runtime.convert(model, example)
            t2 = time.perf_counter()
            stage = "load"
            run_once = runtime.load(artifact, example)
        t3 = time.perf_counter()
        stage = "run"
        rounds = time_inferences(run_once, config.protocol)
        t4 = time.perf_counter()
    except Exception as exc:  # recorded, never fatal for the sweep
        tail = log.text()[-2000:] if stage in ("convert", "load") else ""
        result.update(
            status="error",
            error=f"{stage} failed: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}"
            + (f"\nconverter output (last 2000 characters):\n{tail}" if tail else ""),
        )
        return result
    result.update(summarize(rounds))
    result.update(
        status="ok",
        samples=rounds,
        build_s=t1 - t0,
        convert_s=t2 - t1,
        load_s=t3 - t2,
        measure_s=t4 - t3,
    )
    return result


def config_to_json(config: WorkerConfig) -> dict[str, Any]:
    return {
        "runtime": config.runtime,
        "runtime_kwargs": config.runtime_kwargs,
        "protocol": config.protocol.to_dict(),
        "model": {
            "space": config.model.space,
            "network": config.model.resolved_network(),
            "batch_size": config.model.batch_size,
            "channels_last": config.model.channels_last,
            "seed": config.model.seed,
        },
        "cpu_affinity": list(config.cpu_affinity) if config.cpu_affinity else None,
        "env": config.env,
        "archs": list(config.archs) if config.archs is not None else None,
    }


def config_from_json(d: dict[str, Any]) -> WorkerConfig:
    return WorkerConfig(
        runtime=d["runtime"],
        runtime_kwargs=dict(d["runtime_kwargs"]),
        protocol=Protocol(**d["protocol"]),
        model=ModelConfig(**d["model"]),
        cpu_affinity=tuple(d["cpu_affinity"]) if d.get("cpu_affinity") else None,
        env=dict(d.get("env") or {}),
        archs=tuple(d["archs"]) if d.get("archs") is not None else None,
    )


def _die_with_parent() -> None:
    """Linux: get SIGKILL when the parent (driver, or the sshd session) goes away, so a hung
    model on a remote host does not outlive a killed connection."""
    try:
        import ctypes
        import signal

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, int(signal.SIGKILL), 0, 0, 0)
    except (OSError, AttributeError):  # not Linux: the driver still kills what it started locally
        pass


def stdio_main() -> None:
    """Worker over stdin/stdout JSON lines (used locally and through ssh).

    Protocol: the first line in is the config; the worker answers ``{"ready": true, "runtime":
    ..., "identity": ...}`` (or ``{"ready": false, "error": ...}``); then each ``{"index": i}``
    line gets one result line, until EOF or ``null``. Libraries that print to stdout cannot
    corrupt the stream: fd 1 is redirected to stderr and the protocol uses a private copy.
    """
    import json
    import signal
    import sys

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the driver's to handle
    _die_with_parent()
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr

    def send(obj: dict[str, Any]) -> None:
        proto.write(json.dumps(obj) + "\n")
        proto.flush()

    from eagle.devices.identity import local_identity

    try:
        config = config_from_json(json.loads(sys.stdin.readline()))
        runtime = setup(config)
        send({"ready": True, "runtime": runtime.describe(), "identity": local_identity()})
    except Exception as exc:
        send({"ready": False, "error": f"{type(exc).__name__}: {exc}"})
        return
    for line in sys.stdin:
        msg = json.loads(line)
        if msg is None:
            return
        send(measure_one(runtime, config, int(msg["index"]), msg.get("arch")))


if __name__ == "__main__":
    stdio_main()
