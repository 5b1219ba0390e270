"""A measurement sweep: which archs, on which device and runtime, into which store, resumably.

The driver resolves the requested archs (deduplicated to one representative per NB201 class by
default), opens or resumes the run in the results store, and feeds a long-lived worker one arch
at a time. Each result is committed on arrival; a hung model is killed after ``timeout_s`` and
recorded as ``timeout``; a crashed worker is restarted and the model recorded as ``error``.
Re-running the same sweep resumes it: archs already stored are skipped, none is stored twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from eagle import spaces
from eagle.errors import UsageError
from eagle.measurement import clock
from eagle.measurement.archs import select_archs, select_keys
from eagle.measurement.protocol import Protocol
from eagle.measurement.worker import ModelConfig, WorkerConfig
from eagle.store import ResultStore
from eagle.version import __version__

log = logging.getLogger(__name__)


@dataclass
class SweepConfig:
    runtime: str = "onnxruntime"
    runtime_kwargs: dict[str, Any] = field(default_factory=lambda: {"threads": 1})
    device: str = "local"
    protocol: Protocol = field(default_factory=Protocol)
    model: ModelConfig = field(default_factory=ModelConfig)
    archs: str = "valid"
    seed: int = 0
    dedupe: bool = True
    timeout_s: float = 300.0
    cpu_affinity: tuple[int, ...] | None = None
    db: Path = Path("eagle-results.sqlite")
    limit: int | None = None
    retry_failed: bool = False
    #: the search space (registry name or "module:Class"); the model config follows it
    space: str = "nasbench201"
    #: "index" (the space's index order) or "seed" (NB201 only: the seed's enumeration, first edge fastest)
    order: str = "index"
    #: "local" (one worker for ``device``) or "ray" (actors on the cluster's ``device:<device>``)
    executor: str = "local"
    #: Ray: cluster address ("auto", "HOST:PORT", "ray://HOST:PORT"); actors (None = one per device unit)
    ray_address: str | None = None
    ray_actors: int | None = None

    def __post_init__(self) -> None:
        if self.model.space != self.space:
            self.model = dataclasses.replace(self.model, space=self.space)


@dataclass
class SweepSummary:
    run_id: int
    requested: int
    to_measure: int
    measured_now: int
    already_done: int
    ok: int
    failed: int
    wall_s: float
    complete: bool
    #: interleaved protocol: ok results whose latency is known within the target (CI half-width)
    met_target: int = 0
    target_ci: float | None = None
    #: median relative CI half-width of the ok results (None: the sequential protocol)
    median_ci: float | None = None
    #: ok results timed only under interference (no clean round: a machine too busy; flagged)
    under_interference: int = 0


class _Anchor:
    """Turns a batch's latencies into seconds at the device's nominal speed
    (:mod:`eagle.measurement.clock`): divided by the batch's level. The nominal is fixed for the run
    when it starts (the device's calibration, else the first batch's reference times, which then
    become the device's calibration), and the run's batch reference times join the device's
    history at the end."""

    def __init__(self, key: str, label: str) -> None:
        self.key, self.label = key, label
        self.nominal = clock.nominal(key)
        self.batches: dict[str, dict[str, float]] = {}

    def seconds(self, result: dict[str, Any]) -> dict[str, Any]:
        refs = result.get("reference_s")
        if result.get("status") != "ok" or not isinstance(refs, dict) or not refs:
            return result
        if not self.nominal:
            self.nominal = {str(n): float(v) for n, v in refs.items()}
        self.batches[json.dumps(refs, sort_keys=True)] = refs
        level = clock.level(refs, self.nominal)
        if level is None:  # no shared reference, or a level no machine drifts by (a damaged cache): raw seconds
            note = "no usable reference clock level: raw seconds"
            return dict(result, conditions={**(result.get("conditions") or {}), "reference_s": refs, "clock": note})
        out = dict(result, raw_latency_s=result["latency_s"], clock_level=level)
        out["conditions"] = {**(result.get("conditions") or {}), "reference_s": refs}
        out["latency_s"] = float(result["latency_s"]) / level
        if out.get("ci_halfwidth_s") is not None:
            out["ci_halfwidth_s"] = float(out["ci_halfwidth_s"]) / level
        return out

    def save(self) -> None:
        clock.record(self.key, list(self.batches.values()), self.label, self.nominal)


def git_revision() -> str | None:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5, cwd=Path(__file__).parent
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def arch_keys(cfg: SweepConfig) -> tuple[str, ...] | None:
    """The sweep's arch keys when its space is too large to enumerate (indices are positions), else None."""
    space = spaces.get(cfg.space)
    return None if space.enumerable else tuple(select_keys(cfg.archs, cfg.seed, space))


def plan(cfg: SweepConfig, keys: tuple[str, ...] | None = None) -> tuple[list[int], list[tuple[int, int]], list[int]]:
    """(requested indices, (requested, measured) pairs, indices to measure in order); for a space
    too large to enumerate the indices are positions in ``keys`` (:func:`arch_keys`)."""
    space = spaces.get(cfg.space)
    if not space.enumerable:
        keys = keys if keys is not None else arch_keys(cfg)
        assert keys is not None
        first: dict[str, int] = {}
        pairs = [(i, first.setdefault(space.canonical(k) if cfg.dedupe else k, i)) for i, k in enumerate(keys)]
        return list(range(len(keys))), pairs, list(dict.fromkeys(m for _, m in pairs))
    requested = select_archs(cfg.archs, cfg.seed, space)
    if cfg.order == "seed":
        code = getattr(space, "code", None)
        if code is None:
            raise UsageError(f"order='seed' is NB201's enumeration; {space.name} archs go in index order")
        requested = sorted(requested, key=code)
    pairs = []
    for idx in requested:
        measured = space.index(space.canonical(idx)) if cfg.dedupe else idx
        pairs.append((idx, measured))
    to_measure = list(dict.fromkeys(m for _, m in pairs))
    return requested, pairs, to_measure


def run_key(cfg: SweepConfig, runtime_desc: dict[str, Any], device_desc: dict[str, Any]) -> str:
    """Identity of a sweep: the same command on the same device resumes the same run."""
    ident = {
        "space": cfg.space,
        "runtime": runtime_desc,
        "device": {k: device_desc.get(k) for k in ("target", "hostname", "cpu_model")},
        "protocol": cfg.protocol.to_dict(),
        "model": cfg.model.to_dict(),
        "archs": cfg.archs if not Path(cfg.archs).is_file() else f"file:{_file_digest(Path(cfg.archs))}",
        "seed": cfg.seed,
        "dedupe": cfg.dedupe,
    }
    return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()[:32]


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def run_sweep(cfg: SweepConfig, *, progress: bool = True) -> SweepSummary:
    """Measure ``cfg``'s archs, resuming a previous identical sweep; see the module docstring."""
    from eagle import runtimes
    from eagle.measurement.executors import open_executor

    started = time.perf_counter()
    space = spaces.get(cfg.space)
    keys = arch_keys(cfg)
    requested, pairs, to_measure = plan(cfg, keys)
    runtimes.create(cfg.runtime, **cfg.runtime_kwargs)  # validates options before a worker starts
    # converter logs are captured in the worker; 'eagle -v' shows them
    env = {"EAGLE_WORKER_VERBOSE": "1"} if logging.getLogger("eagle").isEnabledFor(logging.DEBUG) else {}
    allowed: tuple[str, ...] = ()
    if space.name == "models":
        from eagle.anynet import specs

        for key in keys or ():  # a model spec from a file or a store runs no code the user did not allow
            specs.check_allowed(key)
        allowed = specs.allowed_modules()
    worker_cfg = WorkerConfig(
        cfg.runtime, dict(cfg.runtime_kwargs), cfg.protocol, cfg.model, cfg.cpu_affinity, env, keys, allowed
    )
    with ResultStore(cfg.db) as store, open_executor(cfg, worker_cfg) as executor:
        device_desc = executor.identity()
        runtime_desc = executor.runtime_description()
        key = run_key(cfg, runtime_desc, device_desc)
        run, created = store.get_or_create_run(
            key,
            {
                "space": cfg.space,
                "runtime": cfg.runtime,
                "runtime_version": runtime_desc.get("version"),
                "runtime_json": json.dumps(runtime_desc, sort_keys=True),
                "device": cfg.device,
                "device_json": json.dumps(device_desc, sort_keys=True),
                "protocol_json": json.dumps(cfg.protocol.to_dict(), sort_keys=True),
                "model_json": json.dumps(cfg.model.to_dict(), sort_keys=True),
                "archs_spec": cfg.archs,
                "seed": cfg.seed,
                "dedupe": int(cfg.dedupe),
                "eagle_version": __version__,
                "git_rev": git_revision(),
                "started_at": time.time(),
            },
        )
        log.info("%s run %d in %s", "started" if created else "resuming", run.id, cfg.db)
        store.claim_run(run.id)  # refuses a second live sweep of this run; released when the store closes
        store.add_run_archs(run.id, pairs)
        if keys is not None:
            store.add_arch_keys(run.id, keys)
        if cfg.retry_failed:
            n = store.delete_measurements(run.id, ("error", "timeout"))
            log.info("retrying %d failed archs", n)
        done = store.measured_indices(run.id)
        pending = [i for i in to_measure if i not in done]
        already_done = len(to_measure) - len(pending)
        if cfg.limit is not None:
            pending = pending[: cfg.limit]
        store.set_run_status(run.id, "running")
        measured_now = 0
        bar = _progress_bar(len(to_measure), already_done, cfg, progress)
        valid = space.valid_mask() if space.enumerable else np.ones(len(requested), dtype=bool)
        invalid = {"status": "invalid", "error": "disconnected cell: not measured"}
        try:
            for idx in [i for i in pending if not valid[i]]:
                store.add_measurement(run.id, idx, invalid)
                measured_now += 1
            references = {"archs": space.reference_archs(), "model": cfg.model.to_dict()}
            anchor = _Anchor(
                clock.device_key(device_desc, runtime_desc, references), f"{cfg.device} {cfg.runtime} {space.name}"
            )
            for idx, result in executor.results([i for i in pending if valid[i]], cfg.timeout_s):
                store.add_measurement(run.id, idx, anchor.seconds(result))
                measured_now += 1
                if bar is not None:
                    bar.update(1)
                    postfix = executor.status()
                    if result.get("latency_s") is not None:
                        postfix = f"last {result['latency_s'] * 1e3:.3f} ms" + (f"; {postfix}" if postfix else "")
                    bar.set_postfix_str(postfix)
        except KeyboardInterrupt:
            store.set_run_status(run.id, "interrupted")
            raise
        finally:
            if bar is not None:
                bar.close()
            if "anchor" in locals():
                anchor.save()
        remaining = [i for i in to_measure if i not in store.measured_indices(run.id)]
        complete = not remaining
        store.set_run_status(run.id, "complete" if complete else "partial", finished=complete)
        rows = store.measurements(run.id)
    ok = sum(r["status"] == "ok" for r in rows)
    rel = [
        r["ci_halfwidth_s"] / r["latency_s"]
        for r in rows
        if r["status"] == "ok" and r.get("ci_halfwidth_s") is not None and r["latency_s"]
    ]
    return SweepSummary(
        met_target=sum(bool(r.get("met_target")) for r in rows if r["status"] == "ok"),
        under_interference=sum(
            bool((r.get("conditions") or {}).get("under_interference")) for r in rows if r["status"] == "ok"
        ),
        target_ci=cfg.protocol.target_ci if cfg.protocol.mode == "interleaved" else None,
        median_ci=float(np.median(rel)) if rel else None,
        run_id=run.id,
        requested=len(requested),
        to_measure=len(to_measure),
        measured_now=measured_now,
        already_done=already_done,
        ok=ok,
        failed=sum(r["status"] in ("error", "timeout") for r in rows),
        wall_s=time.perf_counter() - started,
        complete=complete,
    )


def _progress_bar(total: int, initial: int, cfg: SweepConfig, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm import tqdm

    where = f"ray:{cfg.device}" if cfg.executor == "ray" else cfg.device
    return tqdm(total=total, initial=initial, unit="arch", desc=f"{cfg.runtime}@{where}", dynamic_ncols=True)
