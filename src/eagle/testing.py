"""Conformance checks for plug-in authors: run them on your own space, predictor or runtime.

    from eagle.testing import check_space, check_predictor, check_runtime
    check_space(MySpace())                      # raises AssertionError naming the broken rule
    check_predictor(lambda: MyPredictor(space=space), archs, latency_s)   # 20 archs or more
    check_runtime(MyRuntime())

Eagle's own test suite runs them over every registered space, predictor and runtime
(``tests/test_conformance.py``), so the rules below are the ones the core relies on. Each check
returns a short report of what it exercised (the capabilities the plug-in has), and raises
:class:`AssertionError` with the rule that broke.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from eagle.errors import EagleError, InvalidArchError, UsageError
from eagle.predictors.base import Predictor
from eagle.runtimes.base import Runtime
from eagle.spaces.base import Encoded, SearchSpace

__all__ = ["check_predictor", "check_runtime", "check_space"]


def _require(ok: object, rule: str) -> None:
    if not ok:
        raise AssertionError(rule)


def check_space(
    space: SearchSpace, archs: Sequence[object] | None = None, *, samples: int = 4, build: bool = True
) -> dict[str, bool]:
    """Check ``space`` against the contract of :mod:`eagle.spaces.base` on ``archs`` (default:
    ``samples`` archs it samples; a space that cannot sample needs them given). Returns which
    optional capabilities it has: ``enumerable``, ``sample``, ``encode``, ``op_counts``, ``mutate``,
    ``build``."""
    _require(isinstance(space, SearchSpace), f"check_space takes a SearchSpace instance, got {space!r:.80}")
    _require(isinstance(samples, int) and samples >= 1, f"samples must be a whole number >= 1, got {samples!r}")
    name = getattr(space, "name", None)
    _require(isinstance(name, str) and name, "a space has a non-empty class attribute 'name'")
    caps = {"enumerable": bool(space.enumerable)}
    rng = np.random.default_rng(0)
    try:
        drawn = space.sample(samples, rng)
        caps["sample"] = True
    except UsageError:
        caps["sample"] = False
        drawn = []
    if caps["sample"]:
        _require(len(drawn) == samples, f"{name}: sample({samples}) returns {samples} archs, got {len(drawn)}")
        _require(len(set(drawn)) == samples, f"{name}: sample() returns distinct archs")
        _require(all(space.parse(a) == a for a in drawn), f"{name}: sample() returns keys (parse(key) == key)")
        again = space.sample(samples, np.random.default_rng(0))
        _require(list(again) == list(drawn), f"{name}: sample() is deterministic for a seeded generator")
    chosen = list(archs) if archs is not None else list(drawn)
    _require(chosen, f"{name}: cannot sample; pass archs= to check it")

    keys = space.keys(chosen)
    _require(len(keys) == len(chosen), f"{name}: keys() returns one key per arch")
    for arch, key in zip(chosen, keys):
        _require(isinstance(key, str), f"{name}: parse() returns a string key, got {type(key).__name__}")
        _require(space.parse(arch) == key, f"{name}: keys() agrees with parse()")
        _require(space.parse(key) == key, f"{name}: parse(parse(x)) == parse(x) for {arch!r}")
        canonical = space.canonical(key)
        _require(space.parse(canonical) == canonical, f"{name}: canonical() returns a key")
    for bad in ("", "not an arch"):
        try:
            space.parse(bad)
        except InvalidArchError as exc:
            _require(str(exc), f"{name}: InvalidArchError for {bad!r} says what is wrong")
        except Exception as exc:
            raise AssertionError(
                f"{name}: parse({bad!r}) must raise InvalidArchError, raised {type(exc).__name__}: {exc}"
            ) from None
        else:
            raise AssertionError(f"{name}: parse({bad!r}) must raise InvalidArchError, returned a key")
    try:  # an index out of range (or any index, for a space that does not number its archs)
        space.parse(-1)
    except UsageError as exc:
        _require(str(exc), f"{name}: the error for index -1 says what is wrong")
    except Exception as exc:
        raise AssertionError(f"{name}: parse(-1) must raise UsageError, raised {type(exc).__name__}: {exc}") from None

    if caps["enumerable"]:
        size = space.size
        if not isinstance(size, int) or size <= 0:
            raise AssertionError(f"{name}: an enumerable space has an int size > 0, got {size!r}")
        for i in sorted({0, size // 2, size - 1}):
            key = space.arch_at(i)
            _require(space.index(key) == i, f"{name}: index(arch_at(i)) == i for i = {i}")
        idx = space.indices(keys)
        _require(list(space.keys(idx)) == keys, f"{name}: index arrays and keys name the same archs")
        _require(space.valid_mask().shape == (size,), f"{name}: valid_mask() has one entry per index")

    costs = space.costs(keys)
    _require(costs.shape == (len(keys), 2), f"{name}: costs() is (n, 2) (MACs, params)")
    _require(np.all(np.isfinite(costs)) and np.all(costs >= 0), f"{name}: costs() are finite and >= 0")

    caps["encode"] = _optional(lambda: space.encode(keys))
    if caps["encode"]:
        enc = space.encode(keys)
        _require(isinstance(enc, Encoded) and len(enc) == len(keys), f"{name}: encode() gives one graph per arch")
        n, nodes = enc.adjacency.shape[:2]
        _require(
            enc.adjacency.shape == (n, nodes, nodes) and enc.nodes.shape[:2] == (n, nodes),
            f"{name}: encode()'s adjacency is (n, N, N) and its nodes (n, N, F)",
        )
        for part in (enc.adjacency, enc.nodes, enc.globals):
            _require(np.all(np.isfinite(part)), f"{name}: encode() is finite")
        for enc_name in space.encodings:
            _require(len(space.encode(keys, enc_name)) == len(keys), f"{name}: encoding {enc_name!r} works")
    caps["op_counts"] = _optional(lambda: space.op_counts(keys))
    if caps["op_counts"]:
        counts = np.asarray(space.op_counts(keys))
        _require(counts.shape[0] == len(keys), f"{name}: op_counts() has one row per arch")
        if space.op_vocabulary:
            _require(
                counts.shape[1] == len(space.op_vocabulary), f"{name}: op_counts() has a column per op_vocabulary entry"
            )
        _require(np.all(np.isfinite(counts)), f"{name}: op_counts() is finite")
    caps["mutate"] = _optional(lambda: space.mutate(keys[0], np.random.default_rng(1)))
    if caps["mutate"]:
        neighbour = space.mutate(keys[0], np.random.default_rng(1))
        _require(space.parse(neighbour) == neighbour, f"{name}: mutate() returns a key")

    shape = space.input_shape(keys[0])
    _require(all(isinstance(d, int) and d > 0 for d in shape), f"{name}: input_shape() is positive ints")
    config = space.network_config({})
    _require(set(config) == set(space.network_defaults()), f"{name}: network_config({{}}) is the defaults")
    try:
        space.network_config({"no_such_setting_": 1})
    except UsageError:
        pass
    else:
        raise AssertionError(f"{name}: network_config() refuses settings the space does not have")
    refs = space.reference_archs()
    _require(len(refs) >= 1 and all(space.parse(r) == r for r in refs), f"{name}: reference_archs() are keys")

    caps["build"] = bool(build)
    if build:
        import torch

        model = space.build_model(keys[0], seed=0, **config)
        _require(not model.training, f"{name}: build_model() returns a module in eval mode")
        x = torch.randn(2, *space.input_shape(keys[0], **config), generator=torch.Generator().manual_seed(0))
        with torch.no_grad():
            y1 = model(x)
            y2 = space.build_model(keys[0], seed=0, **config)(x)
        _require(y1.shape[0] == 2, f"{name}: build_model()'s network keeps the batch dimension")
        _require(torch.allclose(y1, y2), f"{name}: build_model() is deterministic for a seed")
    return caps


def _optional(call: Callable[[], object]) -> bool:
    """Whether an optional capability is there: a space without it raises UsageError saying so."""
    try:
        call()
    except UsageError as exc:
        _require(str(exc), "a missing capability is a UsageError that says what to do instead")
        return False
    return True


def check_predictor(
    make: Callable[[], Predictor], archs: Sequence[object] | np.ndarray, y: Sequence[float] | np.ndarray
) -> dict[str, Any]:
    """Check a predictor (``make()`` returns a new, unfitted one) on ``archs`` with targets ``y``
    (at least 20): unfitted use is a clear error, ``fit`` returns the predictor, ``predict`` gives
    one finite value per arch, deterministically, and a checkpoint round trip
    (:func:`eagle.predictors.save` / ``load``) predicts the same. Returns what it saw."""
    from eagle import predictors
    from eagle.errors import NotFittedError

    y = np.asarray(y, dtype=np.float64)
    _require(len(archs) == len(y) >= 20, "check_predictor needs at least 20 archs with one target each")
    fresh = make()
    for method in ("fit", "predict", "predict_spread", "state"):
        _require(callable(getattr(fresh, method, None)), f"make() returns a predictor: it has no {method}() method")
    try:
        fresh.predict(archs[:3])
    except (NotFittedError, EagleError):
        pass
    else:
        raise AssertionError(f"{type(fresh).__name__}: predict() before fit() must raise NotFittedError")
    fitted = make().fit(archs, y)
    _require(callable(getattr(fitted, "predict", None)), "fit() returns the predictor")
    pred = np.asarray(fitted.predict(archs), dtype=np.float64)
    _require(pred.shape == (len(archs),), f"{type(fitted).__name__}: predict() gives one value per arch")
    _require(np.all(np.isfinite(pred)), f"{type(fitted).__name__}: predictions are finite")
    _require(np.allclose(pred, fitted.predict(archs)), f"{type(fitted).__name__}: predict() is deterministic")
    spread = fitted.predict_spread(archs)
    if spread is not None:
        _require(np.asarray(spread).shape == (len(archs),), "predict_spread() gives one value per arch or None")
    config, _ = fitted.state()
    _require(isinstance(config.get("kind"), str), "state()'s config names its kind")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "p.pt"
        predictors.save(fitted, path)
        loaded = predictors.load(path)
    again = np.asarray(loaded.predict(archs), dtype=np.float64)
    _require(
        np.allclose(again, pred, rtol=1e-5, atol=1e-12),
        f"{type(fitted).__name__}: a saved and loaded copy predicts the same",
    )
    from scipy.stats import spearmanr

    rho = float(spearmanr(pred, y).statistic) if np.ptp(pred) > 0 else math.nan
    return {"kind": config["kind"], "spearman_on_training_archs": rho, "spread": spread is not None}


def check_runtime(runtime: Runtime) -> dict[str, Any]:
    """Check a runtime on a small network: it names its version, converts and loads it, and the
    runner it returns runs repeatedly. Returns what it saw (the artifact's size, one run's seconds)."""
    import time

    import torch
    from torch import nn

    name = getattr(runtime, "name", None)
    _require(isinstance(name, str) and name, "a runtime has a non-empty class attribute 'name'")
    _require(isinstance(runtime.version(), str) and runtime.version(), f"{name}: version() names its version")
    torch.manual_seed(0)
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.AdaptiveAvgPool2d(1),
                          nn.Flatten(), nn.Linear(8, 10)).eval()  # fmt: skip
    example = torch.randn(1, 3, 16, 16)
    artifact = runtime.convert(model, example)
    run_once = runtime.load(artifact, example)
    _require(callable(run_once), f"{name}: load() returns a callable that runs one inference")
    t0 = time.perf_counter()
    for _ in range(3):
        run_once()
    seconds = (time.perf_counter() - t0) / 3
    size = len(artifact) if isinstance(artifact, (bytes, bytearray)) else None
    return {"runtime": name, "version": runtime.version(), "artifact_bytes": size, "run_s": seconds}
