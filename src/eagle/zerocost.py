"""Zero-cost proxies: how good an architecture may be, from its untrained network, in milliseconds.

No training and no downloaded data: each proxy looks at the network at initialisation.

``synflow``  (Tanaka et al. 2020; Abdelfattah et al., ICLR 2021): the network in float64 with every
             weight made positive, BatchNorm at its initial statistics, one all-ones input; the sum
             over weights of ``|theta * dR/dtheta|`` where ``R`` is the sum of the outputs. Data-free.
``naswot``   (Mellor et al., ICML 2021): the log-determinant of the kernel of ReLU activation
             patterns of a batch of 16 random (standard normal) inputs: how differently the network
             carves up its input space.
``snip``     (Lee et al., ICLR 2019): ``sum |theta * dL/dtheta|`` for a cross-entropy loss on a batch of
             32 random inputs with random labels.

:func:`compute` evaluates them over archs of any space that builds networks (``build_model``),
once per computation class where the space has them (``SearchSpace.canonical``), deterministically
(seeded). The space builds the network through ``proxy_network`` (NB201: the pruned cell, no
activation calibration). NB201's values for all 15625 archs ship as datasets
``nasbench201/proxy-<name>`` (``scripts/build_proxy_datasets.py``); :func:`proxy_table` reads them,
and computes and caches (as user datasets ``proxy/<space>-<name>``) what a space does not ship.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from eagle import progress
from eagle.errors import EagleError

if TYPE_CHECKING:
    import torch
    from torch import nn

    from eagle.spaces.base import SearchSpace

#: the proxies Eagle computes, in this order
NAMES = ("synflow", "naswot", "snip")
BATCH = 16
#: the score of a network whose proxy vanishes (no gradient reaches a weight, e.g. an NB201 cell
#: with no path to the output): NaN, no score; rankings put such networks last
FLOOR = float("nan")


def _weights(model: nn.Module) -> list[torch.Tensor]:
    from torch import nn

    return [m.weight for m in model.modules() if isinstance(m, (nn.Conv2d, nn.Linear)) and m.weight.requires_grad]


def _reset_batchnorm(model: nn.Module) -> None:
    from torch import nn

    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm):
            m.reset_running_stats()
            if m.affine:
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)


def synflow(model: nn.Module, input_shape: Sequence[int], rng: np.random.Generator) -> float:
    import torch

    model = model.double().eval()
    _reset_batchnorm(model)
    with torch.no_grad():
        for p in model.parameters():
            p.abs_()
    model.zero_grad(set_to_none=True)
    out = model(torch.ones(1, *input_shape, dtype=torch.float64))
    torch.sum(out).backward()
    total = sum(float((w.detach() * w.grad).abs().sum()) for w in _weights(model) if w.grad is not None)
    return math.log(total) if total > 0 else FLOOR


def naswot(model: nn.Module, input_shape: Sequence[int], rng: np.random.Generator) -> float:
    import torch
    from torch import nn

    model = model.float().train()
    codes: list[torch.Tensor] = []

    def hook(_m: nn.Module, _i: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        codes.append((out.detach().reshape(out.shape[0], -1) > 0).float())

    handles = [m.register_forward_hook(hook) for m in model.modules() if isinstance(m, nn.ReLU)]
    x = torch.from_numpy(rng.standard_normal((BATCH, *input_shape)).astype(np.float32))
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in handles:
            h.remove()
    if not codes:
        return 0.0
    c = torch.cat(codes, dim=1).double()
    k = c @ c.T + (1 - c) @ (1 - c).T
    sign, logdet = torch.linalg.slogdet(k)
    return float(logdet) if float(sign) > 0 else FLOOR


def snip(model: nn.Module, input_shape: Sequence[int], rng: np.random.Generator) -> float:
    import torch

    model = model.float().train()
    x = torch.from_numpy(rng.standard_normal((BATCH, *input_shape)).astype(np.float32))
    model.zero_grad(set_to_none=True)
    out = model(x)
    y = torch.from_numpy(rng.integers(0, out.shape[1], BATCH))
    torch.nn.functional.cross_entropy(out, y).backward()
    total = sum(float((w.detach() * w.grad).abs().sum()) for w in _weights(model) if w.grad is not None)
    return math.log(total) if total > 0 else FLOOR


MEASURES: dict[str, Callable[[Any, Sequence[int], np.random.Generator], float]] = {
    "synflow": synflow,
    "naswot": naswot,
    "snip": snip,
}


def network_scores(space: SearchSpace, arch: object, names: Sequence[str] = NAMES, seed: int = 0) -> dict[str, float]:
    """Every proxy of ``names`` for one arch (a fresh network each: the measures change it)."""
    import torch

    out = {}
    shape = space.input_shape(arch)
    for name in names:
        if name not in MEASURES:
            raise EagleError(f"unknown zero-cost proxy {name!r}; valid: {', '.join(MEASURES)}")
        torch.manual_seed(seed)
        model = space.proxy_network(arch, seed=seed)
        out[name] = MEASURES[name](model, shape, np.random.default_rng(seed))
    return out


def compute(
    space: SearchSpace, archs: Sequence[object], names: Sequence[str] = NAMES, *, seed: int = 0
) -> dict[str, np.ndarray]:
    """``{proxy: values}`` for ``archs`` (keys or indices), computed once per computation class
    (archs with the same :meth:`~eagle.spaces.base.SearchSpace.canonical` key), on one thread."""
    from eagle.threads import limited_threads

    keys = space.keys(list(archs)) if not isinstance(archs, np.ndarray) or archs.dtype.kind not in "iu" else [
        space.arch_at(int(i)) for i in archs]  # fmt: skip
    canon = [space.canonical(k) for k in keys]
    todo = list(dict.fromkeys(canon))
    found: dict[str, dict[str, float]] = {}
    with limited_threads(1):
        for key in progress.track(todo, desc=f"zero-cost proxies ({space.name})", unit="net"):
            found[key] = network_scores(space, key, names, seed)
    return {n: np.array([found[c][n] for c in canon], dtype=np.float64) for n in names}


def combined_rank(table: dict[str, np.ndarray]) -> np.ndarray:
    """One score per arch from several proxies: the mean of their ranks (0..1, higher is better;
    a proxy that is -inf/NaN for an arch ranks it lowest)."""
    from scipy.stats import rankdata

    ranks = []
    for values in table.values():
        v = np.where(np.isfinite(values), values, -np.inf)
        ranks.append((rankdata(v, method="average") - 1) / max(len(v) - 1, 1))
    return np.mean(ranks, axis=0) if ranks else np.zeros(0)


def bundled_names(space: SearchSpace) -> list[str]:
    """Proxies that ship as datasets for ``space`` (``<space>/proxy-<name>``)."""
    from eagle import datasets

    have = set(datasets.names())
    return [n for n in NAMES if f"{space.name}/proxy-{n}" in have]


def cached(space: SearchSpace, archs: Sequence[object] | np.ndarray, names: Sequence[str] = NAMES) -> bool:
    """Whether every proxy of ``names`` is known for every arch (shipped or in the user's cache)."""
    from eagle import datasets

    keys = None
    for name in names:
        if f"{space.name}/proxy-{name}" in datasets.names():
            continue
        cache_name = f"proxy/{space.name}-{name}"
        if cache_name not in datasets.names():
            return False
        if keys is None:
            keys = [space.arch_at(int(a)) for a in archs] if space.enumerable else space.keys(list(archs))  # type: ignore[arg-type]
        have = set(datasets.load(cache_name).items()[0])
        if any(k not in have for k in keys):
            return False
    return True


def proxy_table(
    space: SearchSpace, archs: Sequence[object] | np.ndarray, names: Sequence[str] = NAMES, *, cache: bool = True
) -> dict[str, np.ndarray]:
    """``{proxy: values}`` of ``archs``: from the bundled datasets where the space ships them, else
    from the user's cache (datasets ``proxy/<space>-<name>``), computing and caching what is missing."""
    from eagle import datasets

    out: dict[str, np.ndarray] = {}
    missing: list[str] = []
    for name in names:
        bundled = f"{space.name}/proxy-{name}"
        if bundled in datasets.names():
            out[name] = datasets.load(bundled).values_for(archs)
        else:
            missing.append(name)
    if not missing:
        return out
    keys = [space.arch_at(int(a)) for a in archs] if space.enumerable else space.keys(list(archs))  # type: ignore[arg-type]
    cached: dict[str, dict[str, float]] = {}
    for name in missing:
        cache_name = f"proxy/{space.name}-{name}"
        if cache and cache_name in datasets.names():
            ks, vs = datasets.load(cache_name).items()
            cached[name] = dict(zip(ks, map(float, vs)))
        else:
            cached[name] = {}
    todo = [k for k in dict.fromkeys(keys) if any(k not in cached[n] for n in missing)]
    if todo:
        fresh = compute(space, todo, missing)
        for name in missing:
            cached[name].update(zip(todo, map(float, fresh[name])))
            if cache:
                _save_cache(space, name, cached[name])
    for name in missing:
        out[name] = np.array([cached[name][k] for k in keys], dtype=np.float64)
    return out


def _save_cache(space: SearchSpace, name: str, values: dict[str, float]) -> None:
    """Keep computed proxies as a user dataset (``eagle dataset list`` shows them)."""
    from eagle import spaces
    from eagle.datasets import Dataset, save_user_dataset

    keys = sorted(values)
    meta = {
        "space": spaces.spec(space),
        "metric": "proxy",
        "unit": "score",
        "source": f"zero-cost proxy {name} computed by Eagle (eagle.zerocost) from untrained networks",
        "notes": "log-scale score; higher predicts higher accuracy",
    }
    ds = Dataset(f"proxy/{space.name}-{name}", np.array([values[k] for k in keys]), meta, archs=keys)
    save_user_dataset(ds, overwrite=True)
