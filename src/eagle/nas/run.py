"""Running a search against accuracy (and optionally latency) data; trace/log files; simulation."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from eagle import progress
from eagle.errors import EagleError, UsageError
from eagle.fileio import atomic_write_text
from eagle.nas.search import SearchResult, search
from eagle.spaces.base import SearchSpace


def accuracy_dataset(spec: str) -> Any:
    """The accuracy dataset ``spec`` (a dataset name or a seed pickle ``{arch_vector: accuracy}``);
    its space is the space searched."""
    from eagle.datasets import load_measurement

    ds = load_measurement(spec, metric="accuracy")
    if ds.metric != "accuracy":
        raise EagleError(f"{spec!r} holds {ds.metric}, not accuracy")
    return ds


def accuracy_values(spec: str) -> np.ndarray:
    """Accuracy by arch id (:meth:`Dataset.arch_ids`: NB201 index) from a dataset name or a seed pickle."""
    return accuracy_dataset(spec).values_by_id()


def latency_values(
    spec: str | None, predictor: str | None, space: SearchSpace | None = None, pool: Any = None
) -> np.ndarray | None:
    """Latency in seconds by arch id: by index of an enumerable ``space`` (NB201 by default), or of
    the archs of ``pool`` (the accuracy dataset of a space too large to enumerate); measured
    (dataset/pickle) or predicted (checkpoint)."""
    from eagle import spaces

    sp = spaces.resolve(space)
    keys = pool.archs if pool is not None and pool.archs is not None else None
    if spec and predictor:
        raise EagleError("give a latency dataset or a latency predictor, not both")
    if spec:
        from eagle.datasets import load_measurement

        ds = load_measurement(spec)
        if ds.metric != "latency":
            raise EagleError(f"{spec!r} holds {ds.metric}, not latency")
        if ds.space.name != sp.name:
            raise EagleError(f"{spec!r} holds {ds.space.name} archs; the search is over {sp.name}")
        return ds.by_index("s") if keys is None else ds.values_for(keys, "s")
    if predictor:
        from eagle.predictors.checkpoint import load_for_prediction, predict_finite

        model = load_for_prediction(predictor)[0]
        model_space = getattr(model, "space", sp)
        if model_space.name != sp.name:
            raise EagleError(f"{predictor} predicts {model_space.name} archs; the search is over {sp.name}")
        return predict_finite(model, np.arange(int(sp.size or 0)) if keys is None else keys, predictor)
    return None


def candidates_for(
    acc: np.ndarray, latency: np.ndarray | None, limit: float | None, space: SearchSpace | None = None
) -> np.ndarray:
    from eagle import spaces

    sp = spaces.resolve(space)
    ok = (sp.valid_mask() if sp.enumerable else np.ones(len(acc), dtype=bool)) & np.isfinite(acc)
    if limit is not None:
        if latency is None:
            raise EagleError("--latency-limit needs --latency or --latency-predictor")
        ok &= np.isfinite(latency) & (latency <= limit)
    cands = np.nonzero(ok)[0]
    if len(cands) < 2:
        raise EagleError(f"only {len(cands)} archs satisfy the constraints")
    return cands


def run_search(
    method: str,
    accuracy: str,
    *,
    budget: int,
    iterations: int,
    seed: int,
    latency: str | None = None,
    latency_predictor: str | None = None,
    latency_limit: float | None = None,
    true_latency: str | None = None,
    transfer: str | None = None,
    options: dict[str, Any] | None = None,
    space_name: str | None = None,
) -> tuple[SearchResult, np.ndarray, np.ndarray | None]:
    ds = accuracy_dataset(accuracy)
    if space_name is not None:
        from eagle import spaces

        if spaces.get(space_name) is not ds.space:
            raise EagleError(f"{accuracy} holds {ds.space.name} archs, not {space_name}")
    space, acc = ds.space, ds.values_by_id()
    lat = latency_values(latency, latency_predictor, space, ds)
    cands = candidates_for(acc, lat, latency_limit, space)
    kw: dict[str, Any] = {**method_options(method, options or {}), "space": space}
    if ds.archs is not None:  # a space too large to enumerate: the dataset's archs are the pool
        kw["lookup"] = ds.archs_for
    if transfer:
        if method != "brp":
            raise EagleError("--transfer initialises the BRP's graph encoder: use it with --method brp")
        from eagle.predictors.checkpoint import read

        _config, tensors = read(transfer)
        kw["trunk_init"] = {k[len("m0.") :]: v for k, v in tensors.items() if k.startswith("m0.") and "head" not in k}
    if method in ("brp", "proxy"):
        kw["proxies"], kw["features"] = proxy_inputs(
            ds, str((options or {}).get("proxies") or "auto"), features=method == "brp"
        )
        if method == "proxy" and kw["proxies"] is None:
            raise UsageError(
                f"no zero-cost proxies for these {space.name} archs yet: add --proxies on to compute them "
                "(they are cached for the next search)"
            )
    res = search(method, cands, acc, budget=budget, iterations=iterations, seed=seed, **kw)
    truth = latency_values(true_latency, None, space, ds) if true_latency else (lat if latency else None)
    if truth is not None and latency_limit is not None:
        q = np.array(res.queried)
        res.stats["violations"] = int((truth[q] > latency_limit).sum())
    res.stats.update(
        {
            "candidates": len(cands),
            "best_queried_accuracy": float(np.nanmax(acc[res.queried])),
            "best_candidate_accuracy": float(np.nanmax(acc[cands])),
            "search_seconds": res.seconds,
        }
    )
    from eagle import spaces

    res.stats["space"] = spaces.spec(space)
    res.keys = ds.archs
    return res, acc, lat


def run_proxy_search(
    space_name: str,
    *,
    pool: int,
    budget: int,
    seed: int,
    latency_predictor: str | None = None,
    latency_limit: float | None = None,
) -> SearchResult:
    """A search where no accuracy is known: ``pool`` random archs of the space (seeded), those
    under ``latency_limit`` by the predictor kept, ranked by their zero-cost proxies (computed and
    cached, :mod:`eagle.zerocost`). Its 'best' archs are the proxies' guess, not measured accuracy."""
    import time

    from eagle import spaces, zerocost
    from eagle.nas.search import proxy_rank

    space = spaces.get(space_name)
    if space.name == "models":
        raise UsageError(
            "the models space has no distribution to sample: score networks of your own with "
            "eagle.zero_cost_proxies('models', ['torchvision:resnet18@3x64x64', ...]) in Python"
        )
    t0 = time.perf_counter()
    keys = space.keys(space.sample(pool, np.random.default_rng(seed)))
    lat = None
    if latency_predictor:
        from eagle.predictors.checkpoint import load_for_prediction, predict_finite

        model = load_for_prediction(latency_predictor)[0]
        if getattr(model, "space", space).name != space.name:
            raise EagleError(f"{latency_predictor} predicts {model.space.name} archs; the search is over {space.name}")
        lat = predict_finite(model, keys, latency_predictor)
    elif latency_limit is not None:
        raise UsageError("--latency-limit needs --latency-predictor (a predictor of this space)")
    ok = np.ones(len(keys), dtype=bool) if latency_limit is None or lat is None else lat <= latency_limit
    cands = np.nonzero(ok)[0]
    if len(cands) < 1:
        raise EagleError(f"none of the {pool} sampled archs is predicted under {latency_limit:g} s: raise the limit")
    table = zerocost.proxy_table(space, [keys[i] for i in cands])
    proxies = np.full((len(keys), len(table)), np.nan)
    proxies[cands] = np.column_stack(list(table.values()))
    score = proxy_rank(proxies, cands)
    order = [int(c) for c in cands[np.argsort(-score[cands], kind="stable")]]
    res = SearchResult("proxy", order, order[: min(budget, len(order))], keys=keys)
    res.seconds = time.perf_counter() - t0
    res.stats.update(
        {
            "space": spaces.spec(space),
            "candidates": len(cands),
            "pool": pool,
            "proxies": list(table),
            "search_seconds": res.seconds,
            **({"predicted_latency_s": {int(i): float(lat[i]) for i in order[:budget]}} if lat is not None else {}),
        }
    )
    return res


def write_trace(res: SearchResult, path: Path, space: SearchSpace | None = None) -> None:
    """One arch key per line (NB201: arch_str), queried first."""
    from eagle import spaces

    key = _key_of(res, spaces.resolve(space))
    atomic_write_text(path, lambda fh: fh.write("".join(key(int(i)) + "\n" for i in res.trace)))


def _key_of(res: SearchResult, space: SearchSpace) -> Any:
    """Arch id -> key: the pool's keys (a space too large to enumerate) or the space's own."""
    keys = res.keys
    return (lambda i: keys[i]) if keys is not None else space.arch_at


def write_log(res: SearchResult, acc: np.ndarray, path: Path, space: SearchSpace | None = None) -> None:
    """The seed's log: ``GT predicted model_id`` lines, ``---``, explored archs, ``---``, statistics."""
    from eagle import spaces

    key = _key_of(res, spaces.resolve(space))
    lines = [f"{float(acc[i])!r} {float(res.predicted.get(i, float('nan')))!r} {i}" for i in res.queried]
    lines.append("---")
    lines += [key(i) for i in res.queried]
    lines.append("---")
    lines += [f"{k}: {v}" for k, v in res.stats.items()]
    atomic_write_text(path, lambda fh: fh.write("\n".join(lines) + "\n"))


#: --proxies: auto (the space's shipped or cached proxies), on (compute what is missing), off
PROXY_MODES = ("auto", "on", "off")


def proxy_inputs(ds: Any, mode: str = "auto", features: bool = True) -> tuple[np.ndarray | None, np.ndarray | None]:
    """(zero-cost proxy scores, graph features), one row per arch id of the accuracy dataset
    ``ds`` (NB201: by index; a pool: by position), for methods that read them (:mod:`eagle.zerocost`).
    ``auto`` takes the proxies a space ships (NB201's bundled datasets) or that are cached for
    every arch of the pool; ``on`` computes what is missing (and caches it); ``off``: none."""
    from eagle import zerocost

    if mode not in PROXY_MODES:
        raise UsageError(f"--proxies {mode!r}: one of {', '.join(PROXY_MODES)}")
    space = ds.space
    if mode == "off":
        return None, None
    archs: Any = np.arange(int(space.size)) if ds.archs is None else list(ds.archs)
    names = zerocost.bundled_names(space) or list(zerocost.NAMES)
    if mode == "auto" and not zerocost.bundled_names(space) and not zerocost.cached(space, archs, names):
        return None, None
    table = zerocost.proxy_table(space, archs, names)
    scores = np.column_stack([table[n] for n in names])
    if not features:  # the proxy method reads the scores only
        return scores, None
    graph = space.graph_features(archs if ds.archs is not None else np.arange(int(space.size)))
    return scores, np.asarray(graph, dtype=np.float64)


def method_options(method: str, options: dict[str, Any]) -> dict[str, Any]:
    """The options (exploit, ensemble) that ``method`` takes, from those given (None = default)."""
    takes = {"brp": ("exploit", "ensemble"), "gcn": ("exploit",)}.get(method, ())
    return {k: v for k, v in options.items() if v is not None and k in takes}


def simulate(
    accuracy: str,
    methods: list[str],
    seeds: int,
    budget: int,
    iterations: int,
    options: dict[str, Any] | None = None,
) -> tuple[dict[str, np.ndarray], dict[str, list[float]]]:
    """Per method: the best accuracy found after k queries (k = 1..budget, one row per seed),
    and the wall seconds of each search."""
    from eagle.nas.search import METHODS

    unknown = [m for m in methods if m not in METHODS]
    if unknown or not methods:
        raise UsageError(f"unknown search method(s) {unknown or methods}; valid: {', '.join(METHODS)}")
    ds = accuracy_dataset(accuracy)
    acc = ds.values_by_id()
    cands = candidates_for(acc, None, None, ds.space)
    proxies, features = proxy_inputs(ds, str((options or {}).get("proxies") or "auto"), features="brp" in methods)
    if "proxy" in methods and proxies is None:
        raise UsageError(
            f"--methods proxy: no zero-cost proxies for these {ds.space.name} archs"
            + (" (--proxies off)" if (options or {}).get("proxies") == "off" else "; --proxies on computes them")
        )
    curves: dict[str, np.ndarray] = {}
    seconds: dict[str, list[float]] = {}
    outer = progress.bar(len(methods) * seeds, "simulate", "search")
    for method in methods:
        rows = []
        for seed in range(seeds):
            outer.set_postfix_str(f"{method} seed {seed}")
            with progress.reporting(False):  # one bar for the whole simulation
                res = search(
                    method,
                    cands,
                    acc,
                    budget=budget,
                    iterations=iterations,
                    seed=seed,
                    space=ds.space,
                    **({"lookup": ds.archs_for} if ds.archs is not None else {}),
                    **({"proxies": proxies, "features": features} if method in ("brp", "proxy") else {}),
                    **method_options(method, options or {}),
                )
            outer.update(1)
            rows.append(np.maximum.accumulate(acc[np.array(res.queried[:budget])]))
            seconds.setdefault(method, []).append(res.seconds)
        curves[method] = np.array(rows)
    outer.close()
    return curves, seconds


def plot_curves(curves: dict[str, np.ndarray], best: float, output: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from eagle.fileio import atomic_write

    # Regret (best in space - best found) on a symmetric-log axis: every curve fits whole, from its
    # first model (several points below the best) to 0 (the best arch found), with detail near 0.
    fig, ax = plt.subplots(figsize=(6, 4.2), dpi=120)
    top = 0.0
    for method, rows in curves.items():
        x = np.arange(1, rows.shape[1] + 1)
        regret = np.maximum(best - rows, 0.0)
        top = max(top, float(np.percentile(regret, 75, axis=0).max()))
        ax.plot(x, regret.mean(0), label=method)
        ax.fill_between(x, np.percentile(regret, 25, axis=0), np.percentile(regret, 75, axis=0), alpha=0.2)
    ax.set_yscale("symlog", linthresh=0.1)
    ax.set_ylim(0, top * 1.3 + 0.1)
    ax.set_xlabel("trained (queried) models")
    ax.set_ylabel("regret: best in space - best found [% points]")
    ax.set_title(f"{title}; best in space {best:.2f}%", fontsize=10)
    ax.legend()
    fig.tight_layout()
    atomic_write(output, lambda fh: fig.savefig(fh, format="png"))
    plt.close(fig)
