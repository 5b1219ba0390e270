"""The long-lived measurement worker: builds, converts, loads and times one model at a time.

It runs in its own process (spawned once per device), so per-model process start-up is never
timed and a crash or hang of one model cannot take the sweep down: the driver kills and
restarts it. Messages are plain dicts over a ``multiprocessing`` pipe.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Any

from eagle.measure.protocol import Protocol, time_inferences
from eagle.measure.stats import summarize


@dataclass(frozen=True)
class ModelConfig:
    """The measured network: NB201 macro skeleton and input (the seed's ``model:`` keys)."""

    num_classes: int = 10
    cells_count: int = 5
    stacks_count: int = 3
    channels: int = 16
    input_size: tuple[int, int] = (32, 32)
    batch_size: int = 1
    channels_last: bool = False
    seed: int = 0
    calibration_batch: int = 4

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["input_size"] = list(self.input_size)
        return d


@dataclass(frozen=True)
class WorkerConfig:
    runtime: str
    runtime_kwargs: dict[str, Any]
    protocol: Protocol
    model: ModelConfig
    cpu_affinity: tuple[int, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)


def setup(config: WorkerConfig) -> Any:
    """Prepare this process for timing and return the configured runtime."""
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


def measure_one(runtime: Any, config: WorkerConfig, nb201_index: int) -> dict[str, Any]:
    """Build, convert, load and time one arch; failures come back as ``status='error'``."""
    import torch

    from eagle.spaces.nasbench201.builder import build_model

    m = config.model
    result: dict[str, Any] = {"nb201_index": nb201_index, "worker_pid": os.getpid()}
    stage = "build"
    try:
        t0 = time.perf_counter()
        model = build_model(
            nb201_index,
            m.num_classes,
            mode="pruned",
            cells_count=m.cells_count,
            stacks_count=m.stacks_count,
            channels=m.channels,
            input_size=m.input_size,
            seed=m.seed,
            calibration_batch=m.calibration_batch,
        )
        gen = torch.Generator().manual_seed(m.seed)
        example = torch.randn(m.batch_size, 3, *m.input_size, generator=gen)
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
        "model": config.model.to_dict(),
        "cpu_affinity": list(config.cpu_affinity) if config.cpu_affinity else None,
        "env": config.env,
    }


def config_from_json(d: dict[str, Any]) -> WorkerConfig:
    model = dict(d["model"])
    model["input_size"] = tuple(model["input_size"])
    return WorkerConfig(
        runtime=d["runtime"],
        runtime_kwargs=dict(d["runtime_kwargs"]),
        protocol=Protocol(**d["protocol"]),
        model=ModelConfig(**model),
        cpu_affinity=tuple(d["cpu_affinity"]) if d.get("cpu_affinity") else None,
        env=dict(d.get("env") or {}),
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
        send(measure_one(runtime, config, int(msg["index"])))


if __name__ == "__main__":
    stdio_main()
