"""Sampled kernel configurations, built as tiny PyTorch modules and exported like real networks.

Building samples from ``torch.nn`` layers (not hand-written ONNX) gives the kernels exactly the
operator patterns real exported networks have (BatchNorm folded, HardSwish as one op, SE scales
as broadcast multiplies), so ORT fuses them the same way. Ranges span common CNNs: input sizes
1..232, channels 3..2048, kernels 1/3/5/7, strides 1/2, groups 1/2/4/8/depthwise, plus the
blocks they come in (inverted residual, squeeze-excite, basic block, fire, dense layer, channel
shuffle) so kernels are also timed in context (NCHWc chains, fused residual additions).

A config is a JSON-able dict with a ``kind``; :func:`sample_config` draws one, :func:`perturb`
draws a neighbour (adaptive sampling), :func:`build_sample` makes the module and input shape.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from torch import nn

#: kinds and their sampling weights
KINDS: dict[str, float] = {
    "conv": 5.0,
    "dwconv": 3.0,
    "conv_residual": 1.5,
    "fc": 1.0,
    "pool": 1.0,
    "gap": 0.7,
    "eltwise": 1.5,
    "concat": 0.7,
    "shuffle": 0.5,
    "inverted_residual": 2.0,
    "se": 1.0,
    "basic_block": 1.0,
    "fire": 0.5,
    "dense_layer": 1.0,
}
ACTIVATIONS = ("none", "relu", "relu6", "hardswish", "hardsigmoid", "sigmoid", "silu")
MAX_ACTIVATION = 4_000_000  # elements of the largest feature map sampled
MAX_MACS = 600_000_000


def _size(r: np.random.Generator) -> int:
    return round(math.exp(r.uniform(0, math.log(232))))


def _channels(r: np.random.Generator, lo: int = 8, hi: int = 2048) -> int:
    c = math.exp(r.uniform(math.log(lo), math.log(hi)))
    return max(1, round(c / 8) * 8) if r.random() < 0.8 else round(c)


def _fit(cfg: dict[str, Any]) -> dict[str, Any]:
    """Shrink the spatial size until the sample's activation and MACs fit the caps."""
    while cfg["h"] > 1:
        c = max(cfg.get("cin", 1), cfg.get("cout", 1), cfg.get("c", 1))
        macs = cfg["h"] ** 2 * cfg.get("cin", 1) * cfg.get("cout", 1) * cfg.get("k", 1) ** 2 / max(1, cfg.get("g", 1))
        if c * cfg["h"] ** 2 <= MAX_ACTIVATION and macs / cfg.get("s", 1) ** 2 <= MAX_MACS:
            break
        cfg["h"] = max(1, int(cfg["h"] * 0.8))
    return cfg


def sample_config(kind: str, r: np.random.Generator) -> dict[str, Any]:
    act = str(r.choice(ACTIVATIONS))
    h = _size(r)
    k = int(r.choice([1, 3, 5, 7], p=[0.35, 0.4, 0.15, 0.1]))
    s = int(r.choice([1, 2], p=[0.7, 0.3]))
    if kind == "conv":
        cin = 3 if r.random() < 0.08 else _channels(r)
        cout = _channels(r)
        g = int(r.choice([1, 1, 1, 1, 2, 4, 8]))
        g = g if cin % g == 0 and cout % g == 0 else 1
        return _fit({"kind": kind, "cin": cin, "cout": cout, "k": k, "s": s, "g": g, "h": h, "act": act})
    if kind == "dwconv":
        c = _channels(r, 8, 2048)
        return _fit(
            {"kind": kind, "cin": c, "cout": c, "g": c, "k": int(r.choice([3, 5, 7])), "s": s, "h": h, "act": act}
        )
    if kind == "conv_residual":
        c = _channels(r)
        return _fit(
            {"kind": kind, "cin": c, "cout": c, "k": int(r.choice([1, 3])), "h": h, "relu": bool(r.random() < 0.6)}
        )
    if kind == "fc":
        return {"kind": kind, "cin": _channels(r, 16, 25088), "cout": _channels(r, 10, 4096), "h": 1}
    if kind == "pool":
        return _fit(
            {
                "kind": kind,
                "c": _channels(r, 8, 1024),
                "h": max(2, h),
                "k": int(r.choice([2, 3])),
                "s": int(r.choice([1, 2])),
                "op": str(r.choice(["max", "avg"])),
            }
        )
    if kind == "gap":
        return _fit({"kind": kind, "c": _channels(r, 8, 4096), "h": h})
    if kind == "eltwise":
        op = str(
            r.choice(
                ["add", "mul_broadcast", "relu", "hardswish", "sigmoid", "hardsigmoid", "relu6", "bn_relu", "silu"]
            )
        )
        return _fit({"kind": kind, "c": _channels(r), "h": h, "op": op})
    if kind == "concat":
        return _fit({"kind": kind, "c": _channels(r, 8, 512), "h": h, "n": int(r.integers(2, 5))})
    if kind == "shuffle":
        c = 2 * _channels(r, 8, 512)
        return _fit({"kind": kind, "c": c, "h": h})
    if kind == "inverted_residual":
        c = _channels(r, 8, 320)
        return _fit(
            {
                "kind": kind,
                "cin": c,
                "cout": c if r.random() < 0.5 else _channels(r, 8, 320),
                "e": int(r.choice([1, 3, 4, 6])),
                "k": int(r.choice([3, 5, 7])),
                "s": s,
                "h": h,
                "act": str(r.choice(["relu", "relu6", "hardswish", "silu"])),
                "se": bool(r.random() < 0.4),
            }
        )
    if kind == "se":
        return _fit(
            {"kind": kind, "c": _channels(r, 8, 1024), "h": h, "gate": str(r.choice(["sigmoid", "hardsigmoid"]))}
        )
    if kind == "basic_block":
        c = _channels(r, 16, 512)
        return _fit({"kind": kind, "cin": c, "cout": c, "h": h, "k": 3, "s": 1})
    if kind == "fire":
        return _fit(
            {"kind": kind, "cin": _channels(r, 16, 512), "sq": _channels(r, 8, 64), "ex": _channels(r, 16, 256), "h": h}
        )
    if kind == "dense_layer":
        return _fit(
            {"kind": kind, "cin": _channels(r, 16, 1024), "growth": int(r.choice([8, 12, 16, 24, 32, 48])), "h": h}
        )
    raise ValueError(f"unknown sample kind {kind!r}")


_NUMERIC = ("cin", "cout", "c", "h", "sq", "ex")


def perturb(cfg: dict[str, Any], r: np.random.Generator) -> dict[str, Any]:
    """A neighbour of ``cfg``: sizes and channel counts scaled by up to about 1.5x either way."""
    out = dict(cfg)
    for key in _NUMERIC:
        if key in out and out[key] > 1:
            out[key] = max(2 if key == "h" else 3, round(out[key] * math.exp(r.normal(0, 0.25))))
    if out["kind"] == "dwconv":
        out["cout"] = out["g"] = out["cin"]
    if out["kind"] in ("conv_residual", "basic_block"):
        out["cout"] = out["cin"]
    if out["kind"] == "conv" and (out["cin"] % out["g"] or out["cout"] % out["g"]):
        out["g"] = 1
    if out["kind"] == "shuffle":
        out["c"] += out["c"] % 2
    return _fit(out)


def _act(name: str) -> nn.Module:
    return {
        "none": nn.Identity,
        "relu": nn.ReLU,
        "relu6": nn.ReLU6,
        "hardswish": nn.Hardswish,
        "hardsigmoid": nn.Hardsigmoid,
        "sigmoid": nn.Sigmoid,
        "silu": nn.SiLU,
    }[name]()


def build_sample(cfg: dict[str, Any]) -> tuple[nn.Module, tuple[int, ...]]:
    """(module in eval mode, input shape with batch 1) of a sample config."""
    kind, h = cfg["kind"], int(cfg["h"])

    def cbr(cin: int, cout: int, k: int, s: int = 1, g: int = 1, act: str = "relu") -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, k, s, k // 2, groups=g, bias=False), nn.BatchNorm2d(cout), _act(act))

    builders: dict[str, Callable[[], tuple[nn.Module, tuple[int, ...]]]] = {
        "conv": lambda: (cbr(cfg["cin"], cfg["cout"], cfg["k"], cfg["s"], cfg["g"], cfg["act"]), (1, cfg["cin"], h, h)),
        "dwconv": lambda: (
            cbr(cfg["cin"], cfg["cin"], cfg["k"], cfg["s"], cfg["cin"], cfg["act"]),
            (1, cfg["cin"], h, h),
        ),
        "conv_residual": lambda: (
            _Residual(cbr(cfg["cin"], cfg["cin"], cfg["k"], act="none"), cfg["relu"]),
            (1, cfg["cin"], h, h),
        ),
        "fc": lambda: (nn.Linear(cfg["cin"], cfg["cout"]), (1, cfg["cin"])),
        "pool": lambda: (
            (nn.MaxPool2d if cfg["op"] == "max" else nn.AvgPool2d)(
                cfg["k"], cfg["s"], padding=cfg["k"] // 2 if cfg["k"] == 3 else 0
            ),
            (1, cfg["c"], h, h),
        ),
        "gap": lambda: (nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(1)), (1, cfg["c"], h, h)),
        "eltwise": lambda: (_Eltwise(cfg["op"], cfg["c"]), (1, cfg["c"], h, h)),
        "concat": lambda: (_Concat(cfg["n"]), (1, cfg["c"], h, h)),
        "shuffle": lambda: (_Shuffle(), (1, cfg["c"], h, h)),
        "inverted_residual": lambda: (_InvertedResidual(cfg), (1, cfg["cin"], h, h)),
        "se": lambda: (_SE(cfg["c"], cfg["gate"]), (1, cfg["c"], h, h)),
        "basic_block": lambda: (
            _Residual(nn.Sequential(cbr(cfg["cin"], cfg["cin"], 3), cbr(cfg["cin"], cfg["cin"], 3, act="none")), True),
            (1, cfg["cin"], h, h),
        ),
        "fire": lambda: (_Fire(cfg["cin"], cfg["sq"], cfg["ex"]), (1, cfg["cin"], h, h)),
        "dense_layer": lambda: (_DenseLayer(cfg["cin"], cfg["growth"]), (1, cfg["cin"], h, h)),
    }
    module, shape = builders[kind]()
    torch.manual_seed(0)
    return module.eval(), shape


class _Residual(nn.Module):
    def __init__(self, body: nn.Module, relu: bool) -> None:
        super().__init__()
        self.body, self.relu = body, relu

    def forward(self, x: Any) -> Any:
        y = self.body(x) + x
        return y.relu() if self.relu else y


class _Eltwise(nn.Module):
    def __init__(self, op: str, c: int) -> None:
        super().__init__()
        self.op = op
        self.bn = nn.BatchNorm2d(c) if op == "bn_relu" else None
        self.act = _act(op) if op in ACTIVATIONS else None

    def forward(self, x: Any) -> Any:
        if self.op == "add":
            return x + x.relu()  # a relu so the add has two distinct inputs
        if self.op == "mul_broadcast":
            return x * x.mean((2, 3), keepdim=True)
        if self.bn is not None:
            return self.bn(x).relu()
        assert self.act is not None
        return self.act(x)


class _Concat(nn.Module):
    def __init__(self, n: int) -> None:
        super().__init__()
        self.n = n

    def forward(self, x: Any) -> Any:
        return torch.cat([x] + [x.relu()] * (self.n - 1), 1)


class _Shuffle(nn.Module):
    def forward(self, x: Any) -> Any:
        n, c, h, w = x.shape
        a, b = x.chunk(2, dim=1)
        y = a.relu()
        z = torch.cat((b, y), 1).view(n, 2, c // 2, h, w).transpose(1, 2).contiguous()
        return z.view(n, c, h, w)


class _SE(nn.Module):
    def __init__(self, c: int, gate: str) -> None:
        super().__init__()
        sq = max(8, c // 4)
        self.fc1, self.fc2, self.gate = nn.Conv2d(c, sq, 1), nn.Conv2d(sq, c, 1), _act(gate)

    def forward(self, x: Any) -> Any:
        s = x.mean((2, 3), keepdim=True)
        return x * self.gate(self.fc2(self.fc1(s).relu()))


class _InvertedResidual(nn.Module):
    def __init__(self, cfg: dict[str, Any]) -> None:
        super().__init__()
        cin, cout, e, k, s, act = cfg["cin"], cfg["cout"], cfg["e"], cfg["k"], cfg["s"], cfg["act"]
        mid = cin * e
        layers: list[nn.Module] = []
        if e != 1:
            layers += [nn.Conv2d(cin, mid, 1, bias=False), nn.BatchNorm2d(mid), _act(act)]
        layers += [nn.Conv2d(mid, mid, k, s, k // 2, groups=mid, bias=False), nn.BatchNorm2d(mid), _act(act)]
        if cfg["se"]:
            layers.append(_SE(mid, "hardsigmoid" if act == "hardswish" else "sigmoid"))
        layers += [nn.Conv2d(mid, cout, 1, bias=False), nn.BatchNorm2d(cout)]
        self.body = nn.Sequential(*layers)
        self.residual = s == 1 and cin == cout

    def forward(self, x: Any) -> Any:
        y = self.body(x)
        return y + x if self.residual else y


class _Fire(nn.Module):
    def __init__(self, cin: int, sq: int, ex: int) -> None:
        super().__init__()
        self.squeeze = nn.Conv2d(cin, sq, 1)
        self.e1, self.e3 = nn.Conv2d(sq, ex, 1), nn.Conv2d(sq, ex, 3, padding=1)

    def forward(self, x: Any) -> Any:
        s = self.squeeze(x).relu()
        return torch.cat([self.e1(s).relu(), self.e3(s).relu()], 1)


class _DenseLayer(nn.Module):
    def __init__(self, cin: int, growth: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.BatchNorm2d(cin), nn.ReLU(), nn.Conv2d(cin, 4 * growth, 1, bias=False),
            nn.BatchNorm2d(4 * growth), nn.ReLU(), nn.Conv2d(4 * growth, growth, 3, padding=1, bias=False),
        )  # fmt: skip

    def forward(self, x: Any) -> Any:
        return torch.cat([x, self.body(x)], 1)
