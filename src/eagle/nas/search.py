"""Predictor-based NAS over a search space (NB201 by default) with a query budget.

Candidates are arch ids: indices of an enumerable space, or positions in a list of arch keys
(``lookup`` turns ids into what the space encodes) for a space too large to enumerate.

Every method "trains" (queries the accuracy of) at most ``budget`` distinct candidate archs and
returns a trace: the queried archs in query order, then every other candidate in the method's
predicted order (the seed's search trace).

``brp``   the seed's iterative data selection: ``budget/iterations`` random archs first; then per
          iteration rank all candidates with the BRP, add the ``exploit`` share of the iteration's
          picks from the best-ranked not yet trained and sample the rest at random among
          candidates ranked above the ``len/2^i``-th (``--sample_best2``); retrain with epochs and
          batch size grown by 1/T of their targets each iteration. The seed split each iteration
          half and half (``exploit=0.5``) with one BRP; Eagle's defaults take all from the
          best-ranked (``exploit=1.0``) and rank with the mean of 3 BRPs (``ensemble=3``), which
          finds the best arch far more often (BENCHMARKS.md).
``gcn``   the same selection with a unary GCN regressor on accuracy.
``random``     random order.
``evolution``  regularised evolution (Real et al.): population 20, tournament 5, one-edge mutation.
``proxy``      zero-cost proxies only (:mod:`eagle.zerocost`): archs in the order of the mean rank of
               their proxies; trains nothing to rank (a search where no accuracy is known).

Zero-cost proxies (``proxies=``, one row of scores per candidate id) make ``brp`` sample-efficient:
its first picks are the archs the proxies rank best (a warm-up instead of random archs), and its
GCN sees the proxy ranks and the space's graph features (:meth:`SearchSpace.graph_features`) as
global inputs. Without them, ``brp`` is plain BRP-NAS.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from eagle import progress, spaces
from eagle.errors import EagleError, UsageError
from eagle.spaces.base import SearchSpace

METHODS = ("brp", "gcn", "random", "evolution", "proxy")
#: fraction of each iteration's picks taken from the best-ranked untrained archs (the rest are
#: sampled from the top 1/2^i); the seed used 0.5
EXPLOIT = 1.0
#: BRPs (different initialisations) whose standardised scores are averaged to rank; the seed used 1
ENSEMBLE = 3


@dataclass
class SearchResult:
    method: str
    trace: list[int]  # arch indices: queried first (``budget`` of them), then the rest
    queried: list[int]
    predicted: dict[int, float] = field(default_factory=dict)  # last predictor score per queried arch
    stats: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    #: a space too large to enumerate: the pool's arch keys (ids are positions here)
    keys: list[str] | None = None


def _iteration_sizes(budget: int, iterations: int) -> list[int]:
    first = budget // iterations
    sizes = [first]
    rest = budget - first
    per = rest // max(1, iterations - 1) if iterations > 1 else 0
    for t in range(1, iterations):
        sizes.append(per if t < iterations - 1 else rest - per * (iterations - 2))
    return [s for s in sizes if s > 0]


def iterative_search(
    candidates: np.ndarray,
    accuracy: np.ndarray,
    *,
    budget: int,
    iterations: int,
    seed: int,
    make_model: Any,
    fit: Any,
    score: Any,
    exploit: float = EXPLOIT,
    warmup: np.ndarray | None = None,
) -> SearchResult:
    """The iterative selection of the module docstring; ``warmup`` (a score per candidate id,
    higher first) picks the first iteration's archs instead of chance."""
    if not 0.0 <= exploit <= 1.0:
        raise EagleError(f"--exploit {exploit}: a fraction between 0 and 1")
    rng = np.random.default_rng(seed)
    sizes = _iteration_sizes(budget, iterations)
    first = min(sizes[0], len(candidates))
    if warmup is not None:
        jitter = rng.random(len(candidates)) * 1e-9  # ties broken by the seed
        order = candidates[np.argsort(-(warmup[candidates] + jitter), kind="stable")]
        queried: list[int] = [int(c) for c in order[:first]]
    else:
        queried = list(rng.choice(candidates, size=first, replace=False))
    model = make_model()
    scores = np.zeros(len(candidates))
    t_total = len(sizes)
    # each round trains on every arch queried so far: the bar counts those, so its ETA grows with them
    work = [int(np.sum(sizes[: i + 1])) for i in range(t_total)]
    bar = progress.bar(sum(work), "search: train predictor", "arch")
    for it, size in enumerate(sizes[1:], start=1):
        fit(model, np.array(queried), accuracy[queried], it, t_total)
        bar.update(len(queried))
        scores = score(model, candidates)
        order = candidates[np.argsort(-scores, kind="stable")]
        taken = set(queried)
        best = [int(c) for c in order if c not in taken][: round(size * exploit)]
        taken.update(best)
        top = order[: max(1, len(order) // 2**it)]
        pool = np.array([c for c in top if c not in taken])
        n_rand = size - len(best)
        if len(pool) < n_rand:
            pool = np.array([c for c in order if c not in taken])
        rand = [int(c) for c in rng.choice(pool, size=min(n_rand, len(pool)), replace=False)]
        queried += best + rand
    fit(model, np.array(queried), accuracy[queried], t_total, t_total)
    bar.update(len(queried))
    bar.close()
    scores = score(model, candidates)
    by_arch = dict(zip(candidates.tolist(), scores.tolist()))
    queried = [int(q) for q in queried]
    done = set(queried)
    rest = [int(c) for c in candidates[np.argsort(-scores, kind="stable")] if int(c) not in done]
    return SearchResult("", queried + rest, queried, {q: by_arch[q] for q in queried})


def brp_search(
    candidates: np.ndarray,
    accuracy: np.ndarray,
    *,
    budget: int,
    iterations: int,
    seed: int,
    epochs: int = 40,
    batch_size: int = 64,
    head: str = "twoway",
    trunk_init: Any = None,
    encoding: str = "seed",
    ensemble: int = ENSEMBLE,
    exploit: float = EXPLOIT,
    space: str | SearchSpace | None = None,
    lookup: Any = None,
    proxies: np.ndarray | None = None,
    features: np.ndarray | None = None,
) -> SearchResult:
    """BRP-NAS; with ``proxies`` (scores per candidate id, one column per proxy) it warms up on
    the proxies' best-ranked archs, and its GCN also reads the proxy ranks and ``features`` (graph
    features per candidate id) as global inputs."""
    import torch

    from eagle.nas.brp import BinaryRelationPredictor

    if ensemble < 1:
        raise EagleError(f"--ensemble {ensemble}: at least 1 BRP")
    torch.manual_seed(seed)
    acc01 = accuracy / 100.0 if np.nanmax(accuracy) > 1.0 else accuracy
    extra = _extra_inputs(proxies, features, candidates)
    warmup = proxy_rank(proxies, candidates) if proxies is not None else None

    def make() -> list[BinaryRelationPredictor]:
        return [
            BinaryRelationPredictor(
                head=head, seed=seed + 1000 * m, encoding=encoding, space=space, lookup=lookup, extra=extra
            )
            for m in range(ensemble)
        ]

    def fit(models: list[BinaryRelationPredictor], idx: np.ndarray, _acc: np.ndarray, it: int, total: int) -> None:
        ep = max(1, round(epochs * it / total))
        bs = max(8, round(batch_size * it / total))
        for model in models:
            model.fit(idx, acc01[idx], epochs=ep, batch_size=bs, warm_start=False, trunk_init=trunk_init)

    def score(models: list[BinaryRelationPredictor], cand: np.ndarray) -> np.ndarray:
        """Mean of the members' standardised scores (one member: its scores)."""
        if len(models) == 1:
            return models[0].scores(cand)
        z = [(s - s.mean()) / (s.std() + 1e-12) for s in (m.scores(cand) for m in models)]
        return np.mean(z, axis=0)

    res = iterative_search(
        candidates,
        acc01,
        budget=budget,
        iterations=iterations,
        seed=seed,
        make_model=make,
        fit=fit,
        score=score,
        exploit=exploit,
        warmup=warmup,
    )
    res.method = "brp"
    res.stats["proxies"] = proxies is not None
    return res


def proxy_rank(proxies: np.ndarray, candidates: np.ndarray) -> np.ndarray:
    """One score per id (higher is better): the mean rank of the proxies among ``candidates``
    (ids outside them score -1)."""
    from eagle.zerocost import combined_rank

    out = np.full(len(proxies), -1.0)
    out[candidates] = combined_rank({str(j): proxies[candidates, j] for j in range(proxies.shape[1])})
    return out


def _extra_inputs(proxies: np.ndarray | None, features: np.ndarray | None, candidates: np.ndarray) -> np.ndarray | None:
    """Global inputs per id for the BRP's GCN: each proxy's rank among the candidates (0..1) and
    the graph features standardised over them."""
    cols = []
    if proxies is not None:
        for j in range(proxies.shape[1]):
            cols.append(proxy_rank(proxies[:, [j]], candidates))
    if features is not None:
        f = np.asarray(features, dtype=np.float64)
        mu, sd = f[candidates].mean(axis=0), f[candidates].std(axis=0)
        cols += list(((f - mu) / np.where(sd > 0, sd, 1.0)).T)
    return np.column_stack(cols).astype(np.float32) if cols else None


def proxy_search(
    candidates: np.ndarray, accuracy: np.ndarray, *, budget: int, seed: int, proxies: np.ndarray | None = None,
    **_: Any,
) -> SearchResult:  # fmt: skip
    """Rank by zero-cost proxies alone; 'train' the best-ranked ``budget``."""
    if proxies is None:
        raise EagleError("the proxy search needs zero-cost proxies for the candidates (eagle.zerocost)")
    score = proxy_rank(proxies, candidates)
    jitter = np.random.default_rng(seed).random(len(candidates)) * 1e-9
    order = [int(c) for c in candidates[np.argsort(-(score[candidates] + jitter), kind="stable")]]
    return SearchResult("proxy", order, order[:budget])


def gcn_search(
    candidates: np.ndarray,
    accuracy: np.ndarray,
    *,
    budget: int,
    iterations: int,
    seed: int,
    exploit: float = EXPLOIT,
    space: str | SearchSpace | None = None,
    lookup: Any = None,
) -> SearchResult:
    from eagle.predictors.neural import NeuralPredictor

    archs_of = lookup or (lambda idx: idx)

    def make() -> dict[str, Any]:
        return {}

    def fit(holder: dict[str, Any], idx: np.ndarray, acc: np.ndarray, it: int, total: int) -> None:
        holder["m"] = NeuralPredictor(
            "gcn",
            seed=seed,
            target="raw",
            ensemble=1,
            encoding="seed",
            epochs=max(10, round(100 * it / total)),
            prior=None,
            op_costs=False,
            space=space,
        ).fit(archs_of(idx), acc)

    res = iterative_search(
        candidates,
        accuracy,
        budget=budget,
        iterations=iterations,
        seed=seed,
        make_model=make,
        fit=fit,
        score=lambda h, c: h["m"].predict(archs_of(c)),
        exploit=exploit,
    )
    res.method = "gcn"
    return res


def random_search(candidates: np.ndarray, accuracy: np.ndarray, *, budget: int, seed: int, **_: Any) -> SearchResult:
    order = [int(c) for c in np.random.default_rng(seed).permutation(candidates)]
    return SearchResult("random", order, order[:budget])


def evolution_search(
    candidates: np.ndarray,
    accuracy: np.ndarray,
    *,
    budget: int,
    seed: int,
    population: int = 20,
    tournament: int = 5,
    space: str | SearchSpace | None = None,
    lookup: Any = None,
    **_: Any,
) -> SearchResult:
    sp = spaces.resolve(space)
    pool: dict[str, int] = {}
    if lookup is not None:  # a pool of keys: a mutant outside the pool is not a candidate
        pool = {str(k): i for i, k in enumerate(lookup(np.arange(int(np.max(candidates)) + 1)))}

    def key_of(i: int) -> str:
        return str(lookup(np.array([i]))[0]) if lookup is not None else sp.arch_at(i)

    def id_of(key: str) -> int:
        return pool.get(key, -1) if lookup is not None else sp.index(key)

    rng = np.random.default_rng(seed)
    allowed = set(candidates.tolist())
    queried: list[int] = []
    seen: set[int] = set()
    pop: deque[int] = deque()
    init = rng.choice(candidates, size=min(population, budget, len(candidates)), replace=False)
    for c in init:
        queried.append(int(c))
        seen.add(int(c))
        pop.append(int(c))
    attempts = 0
    while len(queried) < min(budget, len(candidates)) and attempts < 100 * budget:
        attempts += 1
        sample = rng.choice(len(pop), size=min(tournament, len(pop)), replace=False)
        parent = max((pop[i] for i in sample), key=lambda a: accuracy[a])
        child = id_of(sp.mutate(key_of(parent), rng))
        if child in seen or child not in allowed:
            continue
        seen.add(child)
        queried.append(child)
        pop.append(child)
        pop.popleft()
    rest = [int(c) for c in rng.permutation(candidates) if int(c) not in seen]
    return SearchResult("evolution", queried + rest, queried)


def search(
    method: str,
    candidates: np.ndarray,
    accuracy: np.ndarray,
    *,
    budget: int = 100,
    iterations: int = 5,
    seed: int = 0,
    **kw: Any,
) -> SearchResult:
    """Run ``method`` over ``candidates`` (arch indices of ``space=``, NB201 by default) with
    ``accuracy`` by arch index."""
    if method not in METHODS:
        raise EagleError(f"unknown search method {method!r}; valid: {', '.join(METHODS)}")
    if budget < 2 or budget > len(candidates):
        raise UsageError(f"--budget must be between 2 and the {len(candidates)} candidates")
    if method in ("brp", "gcn") and (iterations < 1 or iterations > budget):
        raise UsageError(f"--iterations {iterations} (default 5) must be between 1 and --budget {budget}")
    t0 = time.perf_counter()
    fn = {
        "brp": brp_search,
        "gcn": gcn_search,
        "random": random_search,
        "evolution": evolution_search,
        "proxy": proxy_search,
    }[method]
    if method not in ("brp", "proxy"):  # only these read the proxies
        kw.pop("proxies", None)
        kw.pop("features", None)
    res = fn(candidates, accuracy, budget=budget, iterations=iterations, seed=seed, **kw)
    res.seconds = time.perf_counter() - t0
    return res
