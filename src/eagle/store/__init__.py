"""Results store: SQLite (WAL), one transaction per measured architecture.

Tables: ``runs`` (one row per measurement run: device identity, runtime and version, protocol,
model config, eagle version, git revision, start/end), ``run_archs`` (the archs a run was asked
for and the arch measured for each, which differs when classes are deduplicated) and
``measurements`` (one row per measured arch: raw samples, summary, status, error, timings).

Guarantees: a measurement row is written in its own committed transaction (``synchronous=FULL``)
so a SIGKILL loses at most the model in flight; ``(run_id, nb201_index)`` is the primary key, so
an arch is never stored twice. Safe for several processes (SQLite locking, ``busy_timeout``);
a :class:`ResultStore` object itself is for one thread.
"""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from eagle.errors import EagleError, UsageError

SCHEMA_VERSION = 2
STATUSES = ("ok", "error", "timeout", "invalid")
#: how each older schema becomes the next: version -> statements (applied in one transaction)
MIGRATIONS: dict[int, tuple[str, ...]] = {
    # 1 -> 2 (issue 32): how sure each latency is, the seed's statistic beside it, the conditions
    1: (
        "ALTER TABLE measurements ADD COLUMN iqr_mean_s REAL",
        "ALTER TABLE measurements ADD COLUMN ci_halfwidth_s REAL",
        "ALTER TABLE measurements ADD COLUMN n_samples INTEGER",
        "ALTER TABLE measurements ADD COLUMN n_rounds INTEGER",
        "ALTER TABLE measurements ADD COLUMN rounds_discarded INTEGER",
        "ALTER TABLE measurements ADD COLUMN met_target INTEGER",
        "ALTER TABLE measurements ADD COLUMN conditions_json TEXT",
        "ALTER TABLE measurements ADD COLUMN raw_latency_s REAL",
        "ALTER TABLE measurements ADD COLUMN clock_level REAL",
    ),
}
#: measurement columns a result dict may fill (besides the keys and the raw samples)
RESULT_COLUMNS = (
    "status", "latency_s", "median_round_mean_s", "min_s", "std_s", "error", "build_s", "convert_s", "load_s",
    "measure_s", "worker_pid", "iqr_mean_s", "ci_halfwidth_s", "n_samples", "n_rounds", "rounds_discarded",
    "met_target", "raw_latency_s", "clock_level",
)  # fmt: skip

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY,
    run_key TEXT UNIQUE NOT NULL,
    space TEXT NOT NULL,
    runtime TEXT NOT NULL,
    runtime_version TEXT,
    runtime_json TEXT NOT NULL,
    device TEXT NOT NULL,
    device_json TEXT NOT NULL,
    protocol_json TEXT NOT NULL,
    model_json TEXT NOT NULL,
    archs_spec TEXT NOT NULL,
    seed INTEGER NOT NULL,
    dedupe INTEGER NOT NULL,
    eagle_version TEXT NOT NULL,
    git_rev TEXT,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL DEFAULT 'running'
);
CREATE TABLE IF NOT EXISTS run_archs (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    nb201_index INTEGER NOT NULL,
    measure_index INTEGER NOT NULL,
    PRIMARY KEY (run_id, nb201_index)
);
CREATE TABLE IF NOT EXISTS run_arch_keys (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    arch_index INTEGER NOT NULL,
    arch TEXT NOT NULL,
    PRIMARY KEY (run_id, arch_index)
);
CREATE TABLE IF NOT EXISTS measurements (
    run_id INTEGER NOT NULL REFERENCES runs(id),
    nb201_index INTEGER NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('ok', 'error', 'timeout', 'invalid')),
    latency_s REAL,
    median_round_mean_s REAL,
    min_s REAL,
    std_s REAL,
    samples_json TEXT,
    error TEXT,
    build_s REAL,
    convert_s REAL,
    load_s REAL,
    measure_s REAL,
    worker_pid INTEGER,
    measured_at REAL NOT NULL,
    iqr_mean_s REAL,
    ci_halfwidth_s REAL,
    n_samples INTEGER,
    n_rounds INTEGER,
    rounds_discarded INTEGER,
    met_target INTEGER,
    conditions_json TEXT,
    raw_latency_s REAL,
    clock_level REAL,
    PRIMARY KEY (run_id, nb201_index)
);
CREATE TABLE IF NOT EXISTS run_locks (
    run_id INTEGER PRIMARY KEY REFERENCES runs(id),
    host TEXT NOT NULL,
    pid INTEGER NOT NULL,
    pid_start TEXT,
    since REAL NOT NULL
);
"""


@dataclass(frozen=True)
class RunInfo:
    id: int
    run_key: str
    runtime: str
    device: str
    dedupe: bool
    status: str
    row: dict[str, Any]


class ResultStore:
    """A results database at ``path`` (created on first use)."""

    def __init__(self, path: str | Path, *, readonly: bool = False) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self._claims: set[int] = set()
        if readonly and not self.path.is_file():
            raise UsageError(f"results store {self.path} does not exist")
        if self.path.parent and not self.path.parent.exists():
            raise UsageError(f"cannot open results store {self.path}: folder {self.path.parent} does not exist")
        try:
            if readonly:  # a store on read-only media or without write permission can still be read
                self.conn = _connect_readonly(self.path)
                self._check_is_eagle_store()
            else:
                self.conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
                self.conn.row_factory = sqlite3.Row
                self.conn.execute("PRAGMA busy_timeout=30000")
                version = self._check_is_eagle_store()
                self.conn.execute("PRAGMA journal_mode=WAL")
                self.conn.execute("PRAGMA synchronous=FULL")
                if version is None:  # a new store
                    self.conn.executescript(_SCHEMA)
                    self.conn.execute(
                        "INSERT OR IGNORE INTO meta(key, value) VALUES ('schema_version', ?)", (str(SCHEMA_VERSION),)
                    )
                else:
                    self._migrate(version)
        except sqlite3.DatabaseError as exc:
            raise EagleError(f"{self.path}: {_describe(exc)}") from None

    def _check_is_eagle_store(self) -> int | None:
        """Refuse a foreign SQLite database before anything is written to it; returns the store's
        schema version (None: an empty file, a new store)."""
        tables = {r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        if not tables:
            if self.readonly:
                raise EagleError(f"{self.path} is an empty SQLite file, not an Eagle results store")
            return None
        version = None
        if "meta" in tables and "runs" in tables:
            row = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            version = row[0] if row else None
        if version is None:
            shown = ", ".join(sorted(tables)[:5]) + (", ..." if len(tables) > 5 else "")
            raise UsageError(
                f"{self.path} is a SQLite database but not an Eagle results store (it holds tables {shown}); "
                "give --db a new file name or an existing Eagle store (nothing was changed)"
            )
        if not (str(version).isdigit() and 1 <= int(version) <= SCHEMA_VERSION):
            raise EagleError(
                f"{self.path} is an Eagle results store of schema {version}; this Eagle reads 1..{SCHEMA_VERSION} "
                "(a newer Eagle wrote it: upgrade Eagle)"
            )
        return int(version)

    def _migrate(self, version: int) -> None:
        """Bring a store of an older schema up to :data:`SCHEMA_VERSION`, one version per
        transaction (each all or nothing); a read-only open reads older schemas as they are."""
        while version < SCHEMA_VERSION:
            with self._transaction():
                now = self.conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
                if int(now) == version:  # another process may have migrated it meanwhile
                    for statement in MIGRATIONS[version]:
                        self.conn.execute(statement)
                    self.conn.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(version + 1),))
            version += 1

    def close(self) -> None:
        """Release this object's run claims (:meth:`claim_run`), then close the connection."""
        try:
            for run_id in sorted(self._claims):
                self.release_run(run_id)
        finally:
            self.conn.close()

    def __enter__(self) -> ResultStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- runs ---------------------------------------------------------------------------------
    def get_or_create_run(self, run_key: str, fields: dict[str, Any]) -> tuple[RunInfo, bool]:
        """The run with ``run_key``; created from ``fields`` when absent. Returns (run, created)."""
        row = self.conn.execute("SELECT * FROM runs WHERE run_key = ?", (run_key,)).fetchone()
        if row is not None:
            return self._run(row), False
        cols = ["run_key", *fields]
        self._write(
            f"INSERT OR IGNORE INTO runs ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            [run_key, *fields.values()],
        )
        row = self.conn.execute("SELECT * FROM runs WHERE run_key = ?", (run_key,)).fetchone()
        if row is None:  # OR IGNORE also skips a row that breaks a NOT NULL constraint
            raise EagleError(f"cannot create run {run_key!r} in {self.path}: fields {sorted(fields)} are incomplete")
        return self._run(row), True

    def runs(self) -> list[RunInfo]:
        return [self._run(r) for r in self.conn.execute("SELECT * FROM runs ORDER BY id")]

    def run(self, run_id: int) -> RunInfo:
        row = self.conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise EagleError(f"{self.path} has no run {run_id}; runs: {[r.id for r in self.runs()]}")
        return self._run(row)

    @staticmethod
    def _run(row: sqlite3.Row) -> RunInfo:
        d = dict(row)
        return RunInfo(d["id"], d["run_key"], d["runtime"], d["device"], bool(d["dedupe"]), d["status"], d)

    def set_run_status(self, run_id: int, status: str, *, finished: bool = False) -> None:
        if finished:
            self._write("UPDATE runs SET status = ?, finished_at = ? WHERE id = ?", (status, time.time(), run_id))
        else:
            self._write("UPDATE runs SET status = ? WHERE id = ?", (status, run_id))

    def add_run_archs(self, run_id: int, pairs: Iterable[tuple[int, int]]) -> None:
        """Record (requested index, measured index) pairs; existing ones are kept as they are."""
        self._write_many(
            "INSERT OR IGNORE INTO run_archs(run_id, nb201_index, measure_index) VALUES (?, ?, ?)",
            [(run_id, int(a), int(m)) for a, m in pairs],
        )

    def add_arch_keys(self, run_id: int, keys: Sequence[str]) -> None:
        """Record the arch key of each position of a run over a space too large to enumerate
        (its arch indices are positions in this list); existing ones are kept as they are."""
        self._write_many(
            "INSERT OR IGNORE INTO run_arch_keys(run_id, arch_index, arch) VALUES (?, ?, ?)",
            [(run_id, i, str(k)) for i, k in enumerate(keys)],
        )

    def arch_keys(self, run_id: int) -> list[str]:
        """The keys recorded by :meth:`add_arch_keys` (empty for runs over enumerable spaces)."""
        try:
            rows = self.conn.execute(
                "SELECT arch FROM run_arch_keys WHERE run_id = ? ORDER BY arch_index", (run_id,)
            ).fetchall()
        except sqlite3.OperationalError:  # a store written before the table existed
            return []
        return [r[0] for r in rows]

    def run_archs(self, run_id: int) -> list[tuple[int, int]]:
        rows = self.conn.execute(
            "SELECT nb201_index, measure_index FROM run_archs WHERE run_id = ? ORDER BY nb201_index", (run_id,)
        )
        return [(r[0], r[1]) for r in rows]

    # -- measurements ---------------------------------------------------------------------------
    def measured_indices(self, run_id: int) -> set[int]:
        rows = self.conn.execute("SELECT nb201_index FROM measurements WHERE run_id = ?", (run_id,))
        return {r[0] for r in rows}

    def add_measurement(self, run_id: int, nb201_index: int, result: dict[str, Any]) -> bool:
        """Store one arch's result in its own transaction; False when it was stored already."""
        status = result.get("status")
        if status not in STATUSES:
            raise ValueError(f"status must be one of {STATUSES}, got {status!r}")
        samples = result.get("samples")
        conditions = result.get("conditions")
        values = {c: result.get(c) for c in RESULT_COLUMNS}
        if values["met_target"] is not None:
            values["met_target"] = int(bool(values["met_target"]))
        values.update(
            samples_json=json.dumps(samples) if samples is not None else None,
            conditions_json=json.dumps(conditions) if conditions is not None else None,
            measured_at=time.time(),
        )
        cols = ["run_id", "nb201_index", *values]
        cur = self._write(
            f"INSERT OR IGNORE INTO measurements({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
            (run_id, int(nb201_index), *values.values()),
        )
        return cur.rowcount == 1

    def delete_measurements(self, run_id: int, statuses: Sequence[str]) -> int:
        """Forget failed results so a resume measures them again; returns how many."""
        cur = self._write(
            f"DELETE FROM measurements WHERE run_id = ? AND status IN ({', '.join('?' * len(statuses))})",
            (run_id, *statuses),
        )
        return cur.rowcount

    def measurements(self, run_id: int) -> list[dict[str, Any]]:
        rows = self.conn.execute("SELECT * FROM measurements WHERE run_id = ? ORDER BY nb201_index", (run_id,))
        out = []
        for r in rows:
            d = dict(r)
            d["samples"] = json.loads(d.pop("samples_json")) if d["samples_json"] is not None else None
            raw = d.pop("conditions_json", None)
            d["conditions"] = json.loads(raw) if raw is not None else None
            for column in RESULT_COLUMNS:  # a store of schema 1 read as it is
                d.setdefault(column, None)
            out.append(d)
        return out

    def results_by_arch(self, run_id: int) -> dict[int, dict[str, Any]]:
        """Every requested arch of the run with the result of the arch measured for it."""
        by_measured = {m["nb201_index"]: m for m in self.measurements(run_id)}
        return {a: by_measured[m] for a, m in self.run_archs(run_id) if m in by_measured}

    # -- one sweep per run at a time ------------------------------------------------------------
    def claim_run(self, run_id: int) -> None:
        """Mark ``run_id`` as being measured by this process; refuse when a live process has it.

        Two sweeps of the same run would both measure every pending arch (the store keeps one
        row per arch, but the work is done twice). A claim left by a killed process is taken over.
        The claim lasts until :meth:`release_run` or :meth:`close` (the end of a ``with`` block).
        """
        me = _process_identity(os.getpid())
        with self._transaction():
            row = self.conn.execute("SELECT * FROM run_locks WHERE run_id = ?", (run_id,)).fetchone()
            if row is not None and (row["host"], row["pid"]) != (me[0], os.getpid()):
                if row["host"] != me[0] or _process_identity(row["pid"]) == (row["host"], row["pid_start"]):
                    raise UsageError(
                        f"run {run_id} in {self.path} is being measured right now by process {row['pid']} on "
                        f"{row['host']} (since {time.strftime('%Y-%m-%d %H:%M:%S', time.localtime(row['since']))});"
                        " wait for it to finish, or stop it: two sweeps of one run would measure every arch twice"
                    )
            self.conn.execute(
                "INSERT OR REPLACE INTO run_locks(run_id, host, pid, pid_start, since) VALUES (?, ?, ?, ?, ?)",
                (run_id, me[0], os.getpid(), me[1], time.time()),
            )
        self._claims.add(run_id)

    def release_run(self, run_id: int) -> None:
        """Drop this process's claim on ``run_id`` (if it holds it)."""
        host = _process_identity(os.getpid())[0]
        self._write("DELETE FROM run_locks WHERE run_id = ? AND host = ? AND pid = ?", (run_id, host, os.getpid()))
        self._claims.discard(run_id)

    # -- plumbing ---------------------------------------------------------------------------------
    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One write transaction (``BEGIN IMMEDIATE``), rolled back on any error; a full disk or
        a read-only store becomes a clear error."""
        if self.conn.in_transaction:
            raise RuntimeError("results store transactions do not nest")
        try:
            # A Ctrl-C can land between any two statements (after BEGIN, after COMMIT), so the
            # rollback asks SQLite whether a transaction is open instead of assuming one is.
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                yield
                self.conn.execute("COMMIT")
            finally:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
        except sqlite3.OperationalError as exc:
            raise EagleError(f"cannot write to results store {self.path}: {_describe(exc)}") from None

    def _write(self, sql: str, params: Sequence[Any]) -> sqlite3.Cursor:
        with self._transaction():
            return self.conn.execute(sql, params)

    def _write_many(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        with self._transaction():
            self.conn.executemany(sql, rows)


def _connect_readonly(path: Path) -> sqlite3.Connection:
    """A read-only connection; a WAL store whose folder we cannot write is opened as immutable."""
    from urllib.parse import quote

    uri = f"file:{quote(str(path.resolve()))}"
    try:
        conn = sqlite3.connect(f"{uri}?mode=ro", uri=True, timeout=30, isolation_level=None)
        conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.OperationalError:
        conn = sqlite3.connect(f"{uri}?mode=ro&immutable=1", uri=True, isolation_level=None)
    conn.row_factory = sqlite3.Row
    return conn


def _describe(exc: sqlite3.Error) -> str:
    text = str(exc)
    if "disk is full" in text or "disk full" in text:
        return "disk full: free some space and run the same command again (everything stored so far is kept)"
    if "file is not a database" in text or "not a database" in text:
        return "not an Eagle results store (not a SQLite database); give --db a new file name or an Eagle store"
    if "readonly" in text or "read-only" in text:
        return f"{text}: the store is read-only here (reading it, e.g. 'eagle measure export', still works)"
    return text


def _process_identity(pid: int) -> tuple[str, str | None]:
    """(host, start time of ``pid``) or (host, None) when ``pid`` does not run; tells a live claim
    from one left by a killed process whose pid was reused."""
    host = socket.gethostname()
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            fields = fh.read().rsplit(b")", 1)[1].split()
        return host, fields[19].decode()
    except (OSError, IndexError):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return host, None
        except PermissionError:
            pass
        return host, "alive"
