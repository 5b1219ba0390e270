"""``eagle kernels profile``: time sampled kernels on this device into a resumable SQLite store.

Each sample (:mod:`~eagle.anynet.kernels.samplers`) is exported to ONNX, run under ONNX
Runtime's profiler with the measurement's session options, and every kernel ORT ran is stored
with its shapes and median duration, in one transaction per sample (a kill loses at most the
sample in flight; running the command again continues). Sample ``i`` is drawn from a generator
seeded by ``(seed, i)``. Every ``adapt_every`` samples, adaptive sampling (as nn-Meter does) fits
quick per-type regressors, finds the samples predicted worst under cross-validation and queues
two neighbours of each, so part of the budget goes where the error is; at most
``adaptive_share`` of the samples are such neighbours (on a shared machine the worst-predicted
samples are partly noise, and a store made mostly of their neighbours predicts worse: BENCHMARKS.md).

A store holds one runtime configuration (ORT version, threads, optimisation level, machine);
profiling into a store made under another is refused.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import statistics
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from eagle.anynet.kernels.sample import Sample
from eagle.anynet.onnxgraph import Kernel, profile_kernels, time_plain
from eagle.errors import EagleError

log = logging.getLogger(__name__)

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS samples (
    idx INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    config TEXT NOT NULL,
    origin TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error')),
    error TEXT,
    wall_s REAL,  -- median session.run without the profiler
    run_s REAL,   -- median of ORT's model_run under the profiler
    created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS kernels (
    sample_idx INTEGER NOT NULL REFERENCES samples(idx),
    pos INTEGER NOT NULL,
    name TEXT NOT NULL,
    op TEXT NOT NULL,
    act TEXT NOT NULL,
    inputs TEXT NOT NULL,
    outputs TEXT NOT NULL,
    duration_s REAL NOT NULL,  -- median over warm runs (back to back)
    cold_s REAL NOT NULL,      -- median over runs after a cache flush
    PRIMARY KEY (sample_idx, pos)
);
"""


class KernelStore:
    """The SQLite store of profiled kernels (WAL; one transaction per sample)."""

    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        """Open (or, unless ``readonly``, create) the store. Read-only opens nothing for writing:
        a file that is not a kernel store is refused and left exactly as it was."""
        self.path = Path(path)
        if readonly:
            self._open_readonly()
            return
        try:
            self.conn = sqlite3.connect(self.path, timeout=30)
            self.conn.execute("PRAGMA journal_mode=WAL")
            self.conn.executescript(_SCHEMA)
            columns = {row[1] for row in self.conn.execute("PRAGMA table_info(kernels)")}
            if "cold_s" not in columns:  # a store from before cold-cache timings: none recorded
                with self.conn:
                    self.conn.execute("ALTER TABLE kernels ADD COLUMN cold_s REAL NOT NULL DEFAULT 0")
        except sqlite3.DatabaseError as exc:
            raise EagleError(f"{self.path} is not a kernel store Eagle can open ({exc})") from None

    def _open_readonly(self) -> None:
        if not self.path.is_file():
            raise EagleError(f"{self.path} is not a file: give the kernel store 'eagle kernels profile' wrote")
        try:
            self.conn = sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=ro", uri=True, timeout=30)
            tables = {row[0] for row in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        except sqlite3.DatabaseError as exc:
            raise EagleError(f"{self.path} is not a kernel store Eagle can open ({exc})") from None
        if not {"meta", "samples", "kernels"} <= tables:
            self.conn.close()
            raise EagleError(
                f"{self.path} is not a kernel store (no kernel tables): profile one with 'eagle kernels profile'"
            )

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> KernelStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def config(self) -> dict[str, Any] | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'config'").fetchone()
        return json.loads(row[0]) if row else None

    def bind(self, config: dict[str, Any]) -> None:
        """Record ``config`` in a new store; refuse a store made under another configuration."""
        have = self.config()
        if have is None:
            with self.conn:
                self.conn.execute("INSERT INTO meta VALUES ('config', ?)", (json.dumps(config, sort_keys=True),))
            return
        differ = {k: (have.get(k), v) for k, v in config.items() if have.get(k) != v}
        if differ:
            what = "; ".join(f"{k}: store {a!r}, now {b!r}" for k, (a, b) in differ.items())
            raise EagleError(f"{self.path} holds kernels profiled under another configuration ({what}); use a new --db")

    def next_index(self) -> int:
        row = self.conn.execute("SELECT COALESCE(MAX(idx) + 1, 0) FROM samples").fetchone()
        return int(row[0])

    def count(self) -> tuple[int, int]:
        row = self.conn.execute("SELECT COUNT(*), COALESCE(SUM(status = 'ok'), 0) FROM samples").fetchone()
        return int(row[0]), int(row[1])

    def add(
        self,
        idx: int,
        kind: str,
        config: dict[str, Any],
        origin: str,
        *,
        error: str | None = None,
        wall_s: float | None = None,
        run_s: float | None = None,
        kernels: list[Kernel] = (),  # type: ignore[assignment]
    ) -> None:
        with self.conn:
            self.conn.execute(
                "INSERT INTO samples VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (idx, kind, json.dumps(config), origin, "error" if error else "ok", error, wall_s, run_s, time.time()),
            )
            self.conn.executemany(
                "INSERT INTO kernels VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    (idx, pos, k.name, k.op, k.act, json.dumps(k.inputs), json.dumps(k.outputs), k.duration_s, k.cold_s)
                    for pos, k in enumerate(kernels)
                ],
            )

    def samples(self) -> Iterator[Sample]:
        """The successfully profiled samples, in index order."""
        kernels: dict[int, list[Kernel]] = {}
        for idx, name, op, act, ins, outs, dur, cold in self.conn.execute(
            "SELECT sample_idx, name, op, act, inputs, outputs, duration_s, cold_s FROM kernels "
            "ORDER BY sample_idx, pos"
        ):
            kernels.setdefault(idx, []).append(
                Kernel(name, op, act, json.loads(ins), json.loads(outs), dur, cold_s=cold)
            )
        for idx, kind, cfg, origin, wall, run in self.conn.execute(
            "SELECT idx, kind, config, origin, wall_s, run_s FROM samples WHERE status = 'ok' ORDER BY idx"
        ):
            yield Sample(idx, kind, json.loads(cfg), origin, wall, run, kernels.get(idx, []))


def runtime_config(threads: int, optimization: str) -> dict[str, Any]:
    """What a kernel store's timings depend on (stored with it, checked on resume and at fit)."""
    import onnxruntime

    from eagle.devices.identity import local_identity

    ident = local_identity()
    return {
        "cache_bytes": last_level_cache_bytes(),
        "runtime": "onnxruntime",
        "version": onnxruntime.__version__,
        "threads": int(threads),
        "optimization": optimization,
        "cpu": ident.get("cpu_model") or ident.get("machine") or "",
    }


def last_level_cache_bytes() -> int:
    """Size of this machine's largest CPU cache (Linux sysfs; 32 MiB where it cannot be read)."""
    import glob

    sizes = []
    for path in glob.glob("/sys/devices/system/cpu/cpu0/cache/index*/size"):
        try:
            text = Path(path).read_text().strip().upper()
            sizes.append(int(text.rstrip("KMG")) << {"K": 10, "M": 20, "G": 30}.get(text[-1], 0))
        except (OSError, ValueError):
            continue
    return max(sizes, default=32 << 20)


def profile_device(
    db: Path | str,
    *,
    budget_s: float,
    threads: int = 1,
    optimization: str = "all",
    seed: int = 0,
    max_samples: int | None = None,
    adapt_every: int = 1000,
    adaptive_share: float = 0.3,
    runs: int = 5,
    on_sample: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Profile sampled kernels into ``db`` for ``budget_s`` seconds (or ``max_samples`` more samples)."""
    import torch

    from eagle.anynet.kernels.samplers import KINDS, build_sample, perturb, sample_config
    from eagle.runtimes.onnx_export import export_onnx

    torch.set_num_threads(threads)
    kinds = list(KINDS)
    weights = np.array([KINDS[k] for k in kinds])
    weights = weights / weights.sum()
    queue: list[dict[str, Any]] = []
    done = errors = 0
    start = time.perf_counter()
    with KernelStore(db) as store:
        store.bind(runtime_config(threads, optimization))
        idx = store.next_index()
        while time.perf_counter() - start < budget_s and (max_samples is None or done < max_samples):
            r = np.random.default_rng([seed, idx])
            if queue:
                cfg, origin = queue.pop(), "adaptive"
            else:
                cfg, origin = sample_config(str(r.choice(kinds, p=weights)), r), "random"
            try:
                module, shape = build_sample(cfg)
                with torch.no_grad():
                    data = export_onnx(module, torch.randn(*shape, generator=torch.Generator().manual_seed(idx)))
                prof = profile_kernels(
                    data, threads=threads, optimization=optimization, runs=runs, cold_runs=runs, seed=idx
                )
                wall = time_plain(data, threads=threads, optimization=optimization, runs=runs)
            except Exception as exc:  # a sample that fails is recorded, never fatal
                store.add(idx, cfg["kind"], cfg, origin, error=f"{type(exc).__name__}: {exc}")
                errors += 1
            else:
                store.add(
                    idx,
                    cfg["kind"],
                    cfg,
                    origin,
                    wall_s=wall,
                    run_s=statistics.median(prof.run_s),
                    kernels=prof.kernels,
                )
            idx += 1
            done += 1
            if on_sample is not None:
                on_sample(done, time.perf_counter() - start)
            if adapt_every and done % adapt_every == 0 and time.perf_counter() - start < budget_s:
                worst = worst_samples(list(store.samples()), count=max(1, int(adapt_every * adaptive_share / 2)))
                rq = np.random.default_rng([seed, idx, 1])
                queue = [perturb(c, rq) for c in worst for _ in range(2)]
                log.info(
                    "adaptive sampling: %d neighbours of the %d worst-predicted samples queued", len(queue), len(worst)
                )
        total, ok = store.count()
    return {
        "profiled_now": done,
        "errors_now": errors,
        "samples": total,
        "ok": ok,
        "wall_s": time.perf_counter() - start,
    }


def worst_samples(samples: list[Sample], count: int) -> list[dict[str, Any]]:
    """Configs of the ``count`` samples whose kernels are predicted worst out of fold (3-fold CV)."""
    from eagle.anynet.kernels.model import cross_validated_errors

    if len(samples) < 60:
        return []
    err = cross_validated_errors(samples)
    order = np.argsort(-err)
    return [samples[i].config for i in order[:count]]
