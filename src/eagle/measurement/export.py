"""Exporting a measurement run: the seed's pickle ``{arch_vector: seconds}``, CSV, Parquet."""

from __future__ import annotations

import pickle
from pathlib import Path
from typing import Any

from eagle import spaces
from eagle.errors import EagleError, UsageError
from eagle.fileio import atomic_write, atomic_write_text
from eagle.spaces.nasbench201 import NASBench201
from eagle.store import ResultStore


def run_space(store: ResultStore, run_id: int) -> spaces.SearchSpace:
    return spaces.get(str(store.run(run_id).row.get("space") or "nasbench201"))


def run_rows(store: ResultStore, run_id: int) -> list[dict[str, Any]]:
    """One row per requested arch that has a result (its canonical arch's when deduped).

    NB201 rows keep the seed-era columns (``nb201_index, arch_str, arch_vector``); other spaces
    have ``arch_index, arch``."""
    space = run_space(store, run_id)
    keys = store.arch_keys(run_id) if not space.enumerable else []
    rows = []
    for idx, res in sorted(store.results_by_arch(run_id).items()):
        ident: dict[str, Any]
        if isinstance(space, NASBench201):
            ident = {
                "nb201_index": idx,
                "arch_str": space.arch_at(idx),
                "arch_vector": str(space.vector(idx)),
            }
        else:
            ident = {"arch_index": idx, "arch": keys[idx] if keys else space.arch_at(idx)}
        rows.append(
            {
                **ident,
                "measured_index": res["nb201_index"],
                "status": res["status"],
                "latency_s": res["latency_s"],
                "median_round_mean_s": res["median_round_mean_s"],
                "min_s": res["min_s"],
                "std_s": res["std_s"],
                "iqr_mean_s": res.get("iqr_mean_s"),
                "ci_halfwidth_s": res.get("ci_halfwidth_s"),
                "n_samples": res.get("n_samples"),
                "n_rounds": res.get("n_rounds"),
                "rounds_discarded": res.get("rounds_discarded"),
                "met_target": None if res.get("met_target") is None else bool(res["met_target"]),
                "raw_latency_s": res.get("raw_latency_s"),
                "clock_level": res.get("clock_level"),
                **_conditions(res.get("conditions")),
                "error": (res["error"] or "").splitlines()[0] if res["error"] else None,
            }
        )
    return rows


#: conditions of a measurement exported as columns (``eagle.measurement.conditions.summarize_shares``)
CONDITION_COLUMNS = ("others_share_mean", "steal_share_max", "load1_mean", "mhz_min", "mhz_max")


def _conditions(raw: object) -> dict[str, Any]:
    raw = raw if isinstance(raw, dict) else {}
    return {f"cond_{k}": raw.get(k) for k in CONDITION_COLUMNS}


def export_run(store: ResultStore, run_id: int, fmt: str, output: Path) -> int:
    rows = run_rows(store, run_id)
    if fmt == "pickle":
        space = run_space(store, run_id)
        if not isinstance(space, NASBench201):
            raise UsageError(f"the seed's pickle format holds NB201 archs; run {run_id} is {space.name}: use csv")
        data = {space.vector(r["nb201_index"]): float(r["latency_s"]) for r in rows if r["status"] == "ok"}
        if not data:
            raise EagleError(f"run {run_id} has no successful measurement to export")
        atomic_write(Path(output), lambda fh: pickle.dump(data, fh, protocol=4))
        return len(data)
    import pandas as pd

    frame = pd.DataFrame(rows)
    if fmt == "csv":
        atomic_write_text(Path(output), lambda fh: frame.to_csv(fh, index=False, lineterminator="\n"))
    elif fmt == "parquet":
        atomic_write(Path(output), lambda fh: frame.to_parquet(fh, index=False))
    else:
        raise EagleError(f"unknown format {fmt!r}")
    return len(frame)
