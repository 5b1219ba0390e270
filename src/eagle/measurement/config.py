"""Sweep configuration from the seed's YAML and/or explicit options (options win).

:class:`MeasureOptions` is what a caller (the CLI, ``eagle.device_runner``, a script) decides;
:func:`sweep_config` merges it with the seed's measurement YAML into a :class:`SweepConfig`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from eagle.errors import EagleError, UsageError
from eagle.measurement.protocol import Protocol
from eagle.measurement.runner import SweepConfig
from eagle.measurement.worker import ModelConfig


@dataclass
class MeasureOptions:
    """One sweep's options; None means "the YAML's value, else the default"."""

    runtime: str | None = None
    device: str = "local"
    space: str = "nasbench201"
    archs: str = "valid"
    seed: int = 0
    threads: int = 1
    precision: str | None = None
    runtime_device: str | None = None
    runtime_option: list[str] = field(default_factory=list)  # KEY=VALUE
    no_dedupe: bool = False
    warmup: int | None = None
    runs: int | None = None
    avg_between: int | None = None
    interval: float | None = None
    min_round: float | None = None
    protocol: str | None = None  # interleaved | sequential
    target_ci: float | None = None
    interleave: int | None = None
    max_time: float | None = None
    batch_size: int | None = None
    timeout: float = 300.0
    pin: str | None = None  # "0" or "0,1"
    limit: int | None = None
    retry_failed: bool = False
    db: Path = Path("eagle-results.sqlite")
    order: str = "index"
    executor: str = "local"
    address: str | None = None
    ray_actors: int | None = None

    @classmethod
    def from_mapping(cls, values: dict[str, Any]) -> MeasureOptions:
        """The options among ``values`` (e.g. ``vars(argparse_namespace)``); other keys are ignored."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


def load_yaml(path: Path) -> dict[str, Any]:
    from eagle.fileio import read_yaml_mapping
    from eagle.schemas import MeasurementYaml, validate

    data = read_yaml_mapping(path, "'device' and 'model' keys")
    validate(MeasurementYaml, data, str(path))
    return data


def model_config_from_yaml(model: dict[str, Any], seed: int) -> ModelConfig:
    """The seed's ``model:`` block: cells_count, stacks_count, input_size, data_format, num_classes."""
    fmt = str(model.get("data_format", "channels_first"))
    if fmt not in ("channels_last", "channels_first"):
        raise EagleError(f"model.data_format must be channels_last or channels_first, got {fmt!r}")
    size = model.get("input_size", [1, 3, 32, 32] if fmt == "channels_first" else [1, 32, 32, 3])
    if not isinstance(size, (list, tuple)) or len(size) != 4:
        raise EagleError(f"model.input_size must be [batch, H, W, C] or [batch, C, H, W], got {size!r}")
    if fmt == "channels_last":
        batch, h, w, c = size
    else:
        batch, c, h, w = size
    if int(c) != 3:
        raise EagleError(f"model.input_size has {c} channels; NB201 networks take 3")
    return ModelConfig(
        network={
            "num_classes": int(model.get("num_classes", 10)),
            "cells_count": int(model.get("cells_count", 5)),
            "stacks_count": int(model.get("stacks_count", 3)),
            "input_size": (int(h), int(w)),
        },
        batch_size=int(batch),
        channels_last=fmt == "channels_last",
        seed=seed,
    )


def device_from_yaml(device: dict[str, Any]) -> str:
    addr = device.get("device_addr")
    if not addr or str(addr) in ("localhost", "127.0.0.1", "local"):
        return "local"
    from eagle.devices.address import ssh_address_from_fields

    return ssh_address_from_fields(addr, device.get("device_user"), device.get("device_port", 22))


def parse_pin(text: str) -> tuple[int, ...]:
    """``--pin 0,1``: CPU core numbers this machine has."""
    import os

    try:
        cores = tuple(int(c) for c in text.split(","))
    except ValueError:
        raise UsageError(f"pin takes CPU core numbers separated by commas (e.g. 0 or 0,1), got {text!r}") from None
    have = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else list(range(os.cpu_count() or 1))
    bad = [c for c in cores if c not in have]
    if bad:
        raise UsageError(f"pin {text}: core(s) {bad} are not available here (available: {have})")
    return cores


def _option_value(text: str) -> Any:
    from eagle.fileio import load_yaml_text

    return load_yaml_text(text, f"runtime option value {text!r}")


def sweep_config(args: MeasureOptions, yaml_cfg: dict[str, Any] | None) -> SweepConfig:
    yaml_cfg = yaml_cfg or {}
    dev = yaml_cfg.get("device") or {}
    target = dev.get("target_args") or {}
    extra = yaml_cfg.get("eagle") or {}
    overrides = {
        "warmup": args.warmup,
        "runs": args.runs,
        "avg_between": args.avg_between,
        "interval_s": args.interval,
        "min_round_s": args.min_round,
        "mode": args.protocol,
        "target_ci": args.target_ci,
        "interleave": args.interleave,
        "max_time_s": args.max_time,
    }
    protocol = Protocol.from_target_args({**target, **extra.get("protocol", {})}, **overrides)
    model = model_config_from_yaml(yaml_cfg["model"], args.seed) if "model" in yaml_cfg else ModelConfig(seed=args.seed)
    if args.batch_size:
        model = dataclasses.replace(model, batch_size=args.batch_size)
    runtime_device = args.runtime_device or (str(target.get("device")) if target.get("device") else None)
    if runtime_device == "gpu":
        runtime_device = "cuda"
    runtime_kwargs: dict[str, Any] = {"threads": args.threads}
    if args.precision:
        runtime_kwargs["precision"] = args.precision
    if runtime_device:
        runtime_kwargs["device"] = runtime_device
    for item in args.runtime_option or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"a runtime option is KEY=VALUE, got {item!r}")
        runtime_kwargs[key] = _option_value(value)
    device = args.device if args.device != "local" or not dev else device_from_yaml(dev)
    from eagle.devices.address import check_device

    check_device(device, args.executor)  # refuse a bad address before anything starts
    pin = parse_pin(args.pin) if args.pin else None
    if not math.isfinite(args.timeout) or args.timeout <= 0:
        raise UsageError(f"timeout must be a positive number of seconds, got {args.timeout}")
    from eagle import spaces

    space = spaces.spec(spaces.get(args.space or "nasbench201"))  # an unknown space is refused here
    return SweepConfig(
        runtime=args.runtime or extra.get("runtime", "onnxruntime"),
        runtime_kwargs=runtime_kwargs,
        device=device,
        protocol=protocol,
        model=model,
        archs=str(args.archs),
        seed=args.seed,
        dedupe=not args.no_dedupe,
        timeout_s=args.timeout,
        cpu_affinity=pin,
        db=args.db,
        limit=args.limit,
        retry_failed=args.retry_failed,
        order=args.order,
        executor=args.executor,
        ray_address=args.address,
        ray_actors=args.ray_actors,
        space=space,
    )
