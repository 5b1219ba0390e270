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
import time
import traceback
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any

from eagle.measurement.protocol import Protocol, time_inferences
from eagle.measurement.stats import summarize
from eagle.stdio import captured_output


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
    #: modules whose model factories the user allowed on the driver (``--model``, ``--allow-module``)
    allowed_modules: tuple[str, ...] = ()


def setup(config: WorkerConfig) -> Any:
    """Prepare this process for timing and return the configured runtime."""
    from eagle import spaces

    spaces.allow(config.model.space)  # the driver chose it
    if config.allowed_modules:
        from eagle.anynet.specs import allow_module

        for name in config.allowed_modules:  # the user allowed these on the driver; never the arch keys
            allow_module(name)
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


@dataclass
class _Loaded:
    """A network ready to time: its runner and what preparing it cost."""

    index: int
    run_once: Any
    times: dict[str, float]


def _prepare(runtime: Any, config: WorkerConfig, index: int, arch: str | None) -> _Loaded | dict[str, Any]:
    """Build, convert and load one arch (``arch`` key, or the space's arch at ``index``): a
    :class:`_Loaded`, or the failure's result (``status='error'``)."""
    import torch

    from eagle import spaces

    m = config.model
    stage = "build"
    log = None
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
        verbose = os.environ.get("EAGLE_WORKER_VERBOSE") == "1"
        with captured_output(echo=verbose) as log:  # converters (LiteRT, torchao, ...) print pages of logs
            artifact = runtime.convert(model, example)
            t2 = time.perf_counter()
            stage = "load"
            run_once = runtime.load(artifact, example)
        t3 = time.perf_counter()
    except Exception as exc:  # recorded, never fatal for the sweep
        tail = log.text()[-2000:] if log is not None and stage in ("convert", "load") else ""
        return {
            "nb201_index": index,
            "worker_pid": os.getpid(),
            "status": "error",
            "error": f"{stage} failed: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}"
            + (f"\nconverter output (last 2000 characters):\n{tail}" if tail else ""),
        }
    return _Loaded(index, run_once, {"build_s": t1 - t0, "convert_s": t2 - t1, "load_s": t3 - t2})


def _failed_run(index: int, exc: BaseException) -> dict[str, Any]:
    return {
        "nb201_index": index,
        "worker_pid": os.getpid(),
        "status": "error",
        "error": f"run failed: {type(exc).__name__}: {exc}\n{traceback.format_exc(limit=4)}",
    }


def measure_one(runtime: Any, config: WorkerConfig, index: int, arch: str | None = None) -> dict[str, Any]:
    """Build, convert, load and time one arch; failures come back as ``status='error'``."""
    return measure_batch(runtime, config, [(index, arch)])[0]


def measure_batch(
    runtime: Any,
    config: WorkerConfig,
    items: list[tuple[int, str | None]],
    heartbeat: Any = None,
) -> list[dict[str, Any]]:
    """Measure ``items`` ((index, arch key or None)) by the config's protocol: one result each, in
    order. Interleaved: as many as memory allows are loaded at once and timed together
    (:mod:`eagle.measurement.interleave`); the rest in further groups. ``heartbeat()`` is called as
    work progresses (the worker tells its driver it is alive)."""
    protocol = config.protocol
    results: dict[int, dict[str, Any]] = {}
    pending = list(items)
    while pending:
        group: list[_Loaded] = []
        while pending and (not group or (protocol.mode == "interleaved" and _memory_left())):
            index, arch = pending.pop(0)
            prepared = _prepare(runtime, config, index, arch)
            if isinstance(prepared, _Loaded):
                group.append(prepared)
            else:
                results[index] = prepared
            if heartbeat is not None:
                heartbeat()
            if protocol.mode != "interleaved":
                break
        if group:
            results.update(_time_group(runtime, config, group, heartbeat))
        del group  # release the sessions before loading the next group
    return [results[index] for index, _ in items]


def _time_group(runtime: Any, config: WorkerConfig, group: list[_Loaded], heartbeat: Any) -> dict[int, dict[str, Any]]:
    from eagle.measurement.interleave import summarize_timing, time_interleaved

    protocol = config.protocol
    out: dict[int, dict[str, Any]] = {}
    if protocol.mode == "sequential":
        for loaded in group:
            t0 = time.perf_counter()
            try:
                rounds = time_inferences(loaded.run_once, protocol)
            except Exception as exc:
                out[loaded.index] = _failed_run(loaded.index, exc)
                continue
            result = {"nb201_index": loaded.index, "worker_pid": os.getpid(), **summarize(rounds)}
            result.update(status="ok", samples=rounds, measure_s=time.perf_counter() - t0, **loaded.times)
            out[loaded.index] = result
        return out
    runners: dict[Hashable, Any] = {}
    for loaded in group:  # one trial run each: a network that fails to run is recorded, not timed
        try:
            loaded.run_once()
            runners[loaded.index] = loaded.run_once
        except Exception as exc:
            out[loaded.index] = _failed_run(loaded.index, exc)
    if not runners:
        return out
    references = _reference_runners(runtime, config)
    runners.update({k: run_once for k, (_, run_once) in references.items()})
    t0 = time.perf_counter()
    timings = time_interleaved(
        runners,
        protocol,
        threads=int(getattr(runtime, "threads", 1) or 1),
        check_cpu=bool(getattr(runtime, "computes_on_cpu", False)),
        seed=config.model.seed,
        heartbeat=heartbeat,
    )
    measure_s = (time.perf_counter() - t0) / max(len(runners), 1)
    reference_s = {
        name: summarize_timing(timings[k], protocol.target_ci)["latency_s"]
        for k, (name, _) in references.items()
        if timings[k].rounds
    }
    for loaded in group:
        if loaded.index in out:
            continue
        timing = timings[loaded.index]
        if not timing.rounds:
            out[loaded.index] = {
                "nb201_index": loaded.index,
                "worker_pid": os.getpid(),
                "status": "error",
                "error": f"every round was taken under interference ({timing.discarded} discarded); the machine "
                "is too busy to time this network: see 'eagle doctor'",
            }
            continue
        summary = summarize_timing(timing, protocol.target_ci)
        if (
            reference_s
        ):  # the driver turns latency_s into seconds at the device's nominal speed (eagle.measurement.clock)
            summary["reference_s"] = reference_s
        result = {"nb201_index": loaded.index, "worker_pid": os.getpid(), **summary}
        result.update(status="ok", samples=timing.rounds, measure_s=measure_s, **loaded.times)
        out[loaded.index] = result
    return out


_REFERENCES: dict[int, dict[int, tuple[str, Any]]] = {}


def _reference_runners(runtime: Any, config: WorkerConfig) -> dict[int, tuple[str, Any]]:
    """The space's reference archs (:meth:`SearchSpace.reference_archs`), built and loaded as the
    sweep's own archs are, once per worker, by negative key: (arch key, runner). One the runtime
    cannot run is left out (with none, results stay in raw seconds)."""
    key = id(runtime)
    if key not in _REFERENCES:
        from eagle import spaces

        found: dict[int, tuple[str, Any]] = {}
        for i, arch in enumerate(spaces.get(config.model.space).reference_archs(), start=1):
            with captured_output():
                loaded = _prepare(runtime, config, -i, arch)
            if isinstance(loaded, _Loaded):
                try:
                    loaded.run_once()
                except Exception:
                    continue
                found[-i] = (arch, loaded.run_once)
        _REFERENCES[key] = found
    return _REFERENCES[key]


#: keep loading networks of a batch while this share of the machine's memory is still available
MIN_AVAILABLE_SHARE = 0.25


def _memory_left() -> bool:
    """Whether another network may be loaded beside those held (MemAvailable over a quarter of
    MemTotal; True where /proc/meminfo does not say)."""
    try:
        with open("/proc/meminfo") as fh:
            info = {ln.split(":")[0]: int(ln.split()[1]) for ln in fh if ln.split()[1:2] and ln.split()[1].isdigit()}
    except (OSError, ValueError, IndexError):
        return True
    total, avail = info.get("MemTotal"), info.get("MemAvailable")
    return not (total and avail is not None) or avail > MIN_AVAILABLE_SHARE * total


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
        "allowed_modules": list(config.allowed_modules),
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
        allowed_modules=tuple(str(m) for m in d.get("allowed_modules") or ()),
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


#: seconds between the "alive" lines a worker sends while it measures a batch
HEARTBEAT_S = 1.0


def stdio_main() -> None:
    """Worker over stdin/stdout JSON lines (used locally and through ssh).

    Protocol: the first line in is the config; the worker answers ``{"ready": true, "runtime":
    ..., "identity": ...}`` (or ``{"ready": false, "error": ...}``); then each ``{"index": i}``
    line gets one result line, and each ``{"batch": [i, ...]}`` line gets ``{"alive": true}``
    lines every few seconds while it works and then ``{"results": [...]}`` (one per index, in
    order), until EOF or ``null``. Libraries that print to stdout cannot
    corrupt the stream: fd 1 is redirected to stderr and the protocol uses a private copy.
    """
    import json
    import signal

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
    last = [time.monotonic()]

    def alive() -> None:
        if time.monotonic() - last[0] >= HEARTBEAT_S:
            last[0] = time.monotonic()
            send({"alive": True})

    for line in sys.stdin:
        msg = json.loads(line)
        if msg is None:
            return
        if "batch" in msg:
            items: list[tuple[int, str | None]] = [(int(i), None) for i in msg["batch"]]
            try:
                results = measure_batch(runtime, config, items, heartbeat=alive)
            except Exception as exc:  # a bug here must not take the sweep down: each arch records it
                results = [_failed_run(i, exc) for i, _ in items]
            send({"results": results})
        else:
            send(measure_one(runtime, config, int(msg["index"]), msg.get("arch")))


if __name__ == "__main__":
    stdio_main()
