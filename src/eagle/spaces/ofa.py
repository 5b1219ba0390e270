"""Once-for-All MobileNetV3 subnets for ImageNet (registered as ``ofa-mbv3``, alias ``ofa``).

The supernet ``ofa_mbv3_d234_e346_k357`` (Cai et al., ICLR 2020) at width multiplier 1.2 by
default (HELP validates its OFA archs on the w1.2 network): a 3x3 stride-2 stem (24 channels,
h-swish), a first block (3x3 depthwise + 1x1, 24 channels, residual), 5 stages of 2..4 blocks
(widths 32/48/96/136/192, strides 2/2/2/1/2, ReLU in the first two and h-swish after, squeeze-
and-excitation in stages 2, 4 and 5), each an inverted residual with kernel 3/5/7 and expand
ratio 3/4/6, then a 1x1 conv to 1152 (h-swish), global pooling, a 1x1 conv to 1536 (h-swish,
no BN) and the classifier. Channel counts follow OFA's ``make_divisible(v, 8)``.

An arch's key is ``r{res}:d{5 depths}:ks{20 kernels}:e{20 expand ratios}`` (HELP's
``architectures.csv``), resolution 128..224 in steps of 4. The digits of blocks beyond a stage's
depth do not change the network: :meth:`OFAMobileNetV3.canonical` writes them as ``0`` (which
:meth:`parse` accepts there, and only there). Too many archs to enumerate.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from eagle.errors import InvalidArchError, show
from eagle.spaces.base import Archs, Encoded, SearchSpace

if TYPE_CHECKING:
    import torch
    from torch import nn

KERNELS = (3, 5, 7)
EXPANDS = (3, 4, 6)
DEPTHS = (2, 3, 4)
RESOLUTIONS = tuple(range(128, 225, 4))
STAGES = 5
MAX_DEPTH = 4
BASE_WIDTHS = (16, 16, 24, 40, 80, 112, 160, 960, 1280)
STRIDES = (2, 2, 2, 1, 2)
HSWISH = (False, False, True, True, True)
SE = (False, True, False, True, True)
_KEY = re.compile(r"r(\d{3}):d(\d{5}):ks(\d{20}):e(\d{20})")


def make_divisible(v: float, divisor: int = 8) -> int:
    """OFA's channel rounding: to a multiple of ``divisor``, never below 90% of ``v``."""
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    return new_v + divisor if new_v < 0.9 * v else new_v


def widths(width_mult: float = 1.2) -> tuple[int, int, list[int], int, int]:
    """(stem, first block, 5 stage widths, final expand, last channel) for ``width_mult``."""
    w = [make_divisible(b * width_mult) for b in BASE_WIDTHS]
    return w[0], w[1], w[2:7], w[7], w[8]


class Arch:
    """A parsed OFA subnet: resolution, depth per stage, kernel and expand per block slot (0 = unused)."""

    __slots__ = ("depths", "expands", "kernels", "resolution")

    def __init__(
        self, resolution: int, depths: tuple[int, ...], kernels: tuple[int, ...], expands: tuple[int, ...]
    ) -> None:
        self.resolution, self.depths, self.kernels, self.expands = resolution, depths, kernels, expands

    def used(self, slot: int) -> bool:
        return slot % MAX_DEPTH < self.depths[slot // MAX_DEPTH]

    def key(self, canonical: bool = False) -> str:
        ks = "".join(str(k if self.used(i) or not canonical else 0) for i, k in enumerate(self.kernels))
        es = "".join(str(e if self.used(i) or not canonical else 0) for i, e in enumerate(self.expands))
        return f"r{self.resolution}:d{''.join(map(str, self.depths))}:ks{ks}:e{es}"


def parse_arch(text: object) -> Arch:
    example = "r224:d44444:ks" + "7" * 20 + ":e" + "6" * 20
    if not isinstance(text, str):
        raise InvalidArchError(f"an OFA arch is a string like {example}, got {type(text).__name__} {show(text)}")
    m = _KEY.fullmatch(text.strip())
    if not m:
        raise InvalidArchError(
            f"an OFA arch reads r{{resolution}}:d{{5 depths}}:ks{{20 kernel sizes}}:e{{20 expand ratios}} "
            f"(e.g. {example}), got {show(text)}"
        )
    res = int(m.group(1))
    if res not in RESOLUTIONS:
        raise InvalidArchError(f"OFA resolution {res} is not one of 128, 132, ..., 224 (steps of 4)")
    depths = tuple(int(c) for c in m.group(2))
    if any(d not in DEPTHS for d in depths):
        raise InvalidArchError(f"OFA stage depths are 2, 3 or 4; got {m.group(2)}")
    arch = Arch(res, depths, tuple(int(c) for c in m.group(3)), tuple(int(c) for c in m.group(4)))
    for slot in range(STAGES * MAX_DEPTH):
        k, e = arch.kernels[slot], arch.expands[slot]
        ok_k = k in KERNELS or (k == 0 and not arch.used(slot))
        ok_e = e in EXPANDS or (e == 0 and not arch.used(slot))
        if not (ok_k and ok_e):
            raise InvalidArchError(
                f"OFA block {slot} (stage {slot // MAX_DEPTH + 1}): kernel {k}, expand {e}; kernels are 3/5/7 and "
                "expand ratios 3/4/6 (0 only for blocks beyond the stage's depth)"
            )
    return arch


def blocks(arch: Arch, width_mult: float = 1.2) -> list[tuple[int, int, int, int, int, int, int, int]]:
    """Per used block slot: (slot, in channels, out channels, kernel, expand, stride, input size, stage)."""
    _, first, stage_w, _, _ = widths(width_mult)
    size = (arch.resolution + 1) // 2  # after the stride-2 stem (and the stride-1 first block)
    c_in = first
    out = []
    for stage in range(STAGES):
        for i in range(arch.depths[stage]):
            slot = stage * MAX_DEPTH + i
            stride = STRIDES[stage] if i == 0 else 1
            out.append((slot, c_in, stage_w[stage], arch.kernels[slot], arch.expands[slot], stride, size, stage))
            size = (size + stride - 1) // stride
            c_in = stage_w[stage]
    return out


def network_costs(arch: Arch, width_mult: float = 1.2, num_classes: int = 1000) -> tuple[int, int]:
    """(MACs, parameters) of the subnet, counted as the built network has them (tests check it)."""
    macs, params = _Batch.of([arch]).costs(width_mult, num_classes)[0]
    return int(macs), int(params)


@cache
def _slots(width_mult: float) -> dict[str, np.ndarray]:
    """Per block slot (20): stage, stride, in and out channels, and the expanded and squeeze-excite
    widths for each expand ratio, as the network has them when the slot is used."""
    _, first, stage_w, _, _ = widths(width_mult)
    stage = np.repeat(np.arange(STAGES), MAX_DEPTH)
    leads = np.arange(STAGES * MAX_DEPTH) % MAX_DEPTH == 0  # the first block of its stage
    c_out = np.array(stage_w)[stage]
    c_in = np.where(leads, np.array([first, *stage_w[:-1]])[stage], c_out)
    mid = np.array([[make_divisible(round(int(c) * e)) for e in EXPANDS] for c in c_in])
    return {
        "stage": stage,
        "stride": np.where(leads, np.array(STRIDES)[stage], 1),
        "c_in": c_in,
        "c_out": c_out,
        "mid": mid,
        "red": np.vectorize(lambda m: make_divisible(m // 4))(mid),
        "se": np.array(SE)[stage],
    }


class _Batch:
    """Many parsed archs as arrays: resolution (n,), depths (n, 5), and per block slot (n, 20)
    whether it is used and its kernel and expand ratio as positions in KERNELS and EXPANDS."""

    def __init__(self, parsed: list[Arch]) -> None:
        n = len(parsed)
        self.resolution = np.array([a.resolution for a in parsed], dtype=np.int64)
        self.depths = np.array([a.depths for a in parsed], dtype=np.int64).reshape(n, STAGES)
        self.used = (np.arange(STAGES * MAX_DEPTH) % MAX_DEPTH)[None, :] < np.repeat(self.depths, MAX_DEPTH, axis=1)
        kernels = np.array([a.kernels for a in parsed], dtype=np.int64).reshape(n, -1)
        expands = np.array([a.expands for a in parsed], dtype=np.int64).reshape(n, -1)
        self.kernel = np.where(self.used, np.searchsorted(KERNELS, kernels), 0)
        self.expand = np.where(self.used, np.searchsorted(EXPANDS, expands), 0)

    @classmethod
    def of(cls, archs: Archs | list[Arch]) -> _Batch:
        return cls([a if isinstance(a, Arch) else parse_arch(a) for a in archs])

    def sizes(self) -> tuple[np.ndarray, np.ndarray]:
        """Input size of every block slot (n, 20) and the size after the last stage (n,)."""
        size = (self.resolution + 1) // 2  # after the stride-2 stem (and the stride-1 first block)
        out = np.empty((len(size), STAGES * MAX_DEPTH), dtype=np.int64)
        for stage, stride in enumerate(STRIDES):
            after = -(-size // stride)
            out[:, stage * MAX_DEPTH] = size
            out[:, stage * MAX_DEPTH + 1 : (stage + 1) * MAX_DEPTH] = after[:, None]
            size = after
        return out, size

    def costs(self, width_mult: float = 1.2, num_classes: int = 1000) -> np.ndarray:
        """(n, 2) MACs and parameters of each subnet."""
        stem, first, stage_w, final, last = widths(width_mult)
        g = _slots(width_mult)
        size_in, size = self.sizes()
        slots = np.arange(STAGES * MAX_DEPTH)
        k2 = np.array(KERNELS)[self.kernel] ** 2
        mid, red = g["mid"][slots, self.expand], g["red"][slots, self.expand]
        out = -(-size_in // g["stride"])
        macs = size_in**2 * g["c_in"] * mid + out**2 * mid * (k2 + g["c_out"]) + g["se"] * 2 * mid * red
        params = mid * (g["c_in"] + 4 + k2 + g["c_out"]) + 2 * g["c_out"] + g["se"] * (2 * mid * red + red + mid)
        s1 = (self.resolution + 1) // 2
        total_macs = (macs * self.used).sum(axis=1) + s1 * s1 * (stem * 27 + first * 9 + first * stem)
        total_params = (params * self.used).sum(axis=1) + stem * 27 + 2 * stem + first * 9 + 4 * first + first * stem
        total_macs += size * size * stage_w[-1] * final + final * last + last * num_classes
        total_params += stage_w[-1] * final + 2 * final + final * last + last * num_classes + num_classes
        return np.stack([total_macs, total_params], axis=1).astype(np.float64)

    def onehot(self) -> np.ndarray:
        """(n, 20 * 9): per block slot, the one-hot of its (kernel, expand) where it is used."""
        out = np.zeros((len(self.used), STAGES * MAX_DEPTH, len(KERNELS) * len(EXPANDS)))
        rows, cols = np.nonzero(self.used)
        out[rows, cols, self.kernel[rows, cols] * len(EXPANDS) + self.expand[rows, cols]] = 1.0
        return out.reshape(len(out), -1)


@cache
def _modules() -> tuple[type, type]:
    import torch
    from torch import nn

    class SqueezeExcite(nn.Module):
        def __init__(self, channels: int) -> None:
            super().__init__()
            red = make_divisible(channels // 4)
            self.reduce = nn.Conv2d(channels, red, 1, bias=True)
            self.expand = nn.Conv2d(red, channels, 1, bias=True)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = x.mean((2, 3), keepdim=True)
            return x * nn.functional.hardsigmoid(self.expand(torch.relu(self.reduce(y))))

    class MBConv(nn.Module):
        def __init__(self, c_in: int, c_out: int, k: int, e: int, stride: int, hswish: bool, se: bool) -> None:
            super().__init__()
            act: type[nn.Module] = nn.Hardswish if hswish else nn.ReLU
            mid = make_divisible(round(c_in * e)) if e != 1 else c_in
            layers: list[nn.Module] = []
            if e != 1:
                layers += [nn.Conv2d(c_in, mid, 1, bias=False), nn.BatchNorm2d(mid), act()]
            layers += [nn.Conv2d(mid, mid, k, stride, k // 2, groups=mid, bias=False), nn.BatchNorm2d(mid), act()]
            if se:
                layers.append(SqueezeExcite(mid))
            layers += [nn.Conv2d(mid, c_out, 1, bias=False), nn.BatchNorm2d(c_out)]
            self.body = nn.Sequential(*layers)
            self.residual = stride == 1 and c_in == c_out

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = self.body(x)
            return x + y if self.residual else y

    return MBConv, SqueezeExcite


class OFAMobileNetV3(SearchSpace):
    """OFA MobileNetV3 subnets (w1.2 by default); see the module docstring."""

    name = "ofa-mbv3"
    size = None
    encodings: ClassVar[tuple[str, ...]] = ("chain", "onehot")
    #: per block slot and (kernel, expand): the block's compute at the arch's resolution, its launch;
    #: then the resolution-scaled stem/head compute
    op_vocabulary: ClassVar[tuple[str, ...]] = (
        *(f"block{s}:k{k}e{e}:compute" for s in range(20) for k in KERNELS for e in EXPANDS),
        *(f"block{s}:k{k}e{e}:launch" for s in range(20) for k in KERNELS for e in EXPANDS),
        "stem+head:compute",
    )

    def parse(self, arch: object) -> str:
        return parse_arch(arch).key()

    def canonical(self, arch: object) -> str:
        return parse_arch(arch).key(canonical=True)

    def sample(self, n: int, rng: np.random.Generator) -> list[str]:
        out: dict[str, None] = {}
        while len(out) < n:
            a = Arch(
                int(rng.choice(RESOLUTIONS)),
                tuple(int(rng.choice(DEPTHS)) for _ in range(STAGES)),
                tuple(int(rng.choice(KERNELS)) for _ in range(20)),
                tuple(int(rng.choice(EXPANDS)) for _ in range(20)),
            )
            out.setdefault(a.key(), None)
        return list(out)

    def mutate(self, arch: object, rng: np.random.Generator) -> str:
        a = parse_arch(arch)
        what = int(rng.integers(4))
        kernels, expands, depths = list(a.kernels), list(a.expands), list(a.depths)
        res = a.resolution
        if what == 0:
            res = int(rng.choice([r for r in RESOLUTIONS if r != res]))
        elif what == 1:
            s = int(rng.integers(STAGES))
            depths[s] = int(rng.choice([d for d in DEPTHS if d != depths[s]]))
        else:
            slot = int(rng.choice([b[0] for b in blocks(a)]))
            if what == 2:
                kernels[slot] = int(rng.choice([k for k in KERNELS if k != kernels[slot]]))
            else:
                expands[slot] = int(rng.choice([e for e in EXPANDS if e != expands[slot]]))
        filled = [k or 3 for k in kernels], [e or 3 for e in expands]  # a deeper stage needs real digits
        return Arch(res, tuple(depths), tuple(filled[0]), tuple(filled[1])).key()

    # -- networks -------------------------------------------------------------------------------
    def network_defaults(self) -> dict[str, object]:
        return {"width_mult": 1.2, "num_classes": 1000}

    def input_shape(self, arch: object | None = None, **network: object) -> tuple[int, ...]:
        res = parse_arch(arch).resolution if arch is not None else 224
        return (3, res, res)

    def build_model(self, arch: object, *, seed: int = 0, **network: object) -> nn.Module:
        """The subnet in eval mode; BatchNorm statistics calibrated on one random batch (``seed``)."""
        import torch
        from torch import nn

        from eagle.spaces.counting import calibrate_batchnorm

        calibrate = bool(network.pop("calibrate", True))
        cfg = self.network_config(network)
        width_mult, num_classes = float(cfg["width_mult"]), int(cfg["num_classes"])  # type: ignore[arg-type,call-overload]
        a = parse_arch(arch)
        mbconv, _ = _modules()
        stem, first, _, final, last = widths(width_mult)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            layers: list[nn.Module] = [
                nn.Sequential(nn.Conv2d(3, stem, 3, 2, 1, bias=False), nn.BatchNorm2d(stem), nn.Hardswish()),
                mbconv(stem, first, 3, 1, 1, False, False),
            ]
            for _slot, c_in, c_out, k, e, stride, _size, stage in blocks(a, width_mult):
                layers.append(mbconv(c_in, c_out, k, e, stride, HSWISH[stage], SE[stage]))
            c_last = widths(width_mult)[2][-1]
            layers += [
                nn.Sequential(nn.Conv2d(c_last, final, 1, bias=False), nn.BatchNorm2d(final), nn.Hardswish()),
                nn.AdaptiveAvgPool2d(1),
                nn.Sequential(nn.Conv2d(final, last, 1, bias=False), nn.Hardswish()),
                nn.Flatten(),
                nn.Linear(last, num_classes),
            ]
            model = nn.Sequential(*layers)
            if calibrate:
                calibrate_batchnorm(model, torch.randn(2, 3, a.resolution, a.resolution))
        return model.eval()

    # -- costs and encodings -----------------------------------------------------------------------
    def costs(self, archs: Archs) -> np.ndarray:
        return _Batch.of(archs).costs()

    def features(self, archs: Archs) -> np.ndarray:
        """One-hot of every used block's (kernel, expand), of each stage's depth, and of the resolution."""
        return self._features(_Batch.of(archs))

    def _features(self, b: _Batch) -> np.ndarray:
        n = len(b.resolution)
        depth = np.zeros((n, STAGES, len(DEPTHS)))
        depth[np.arange(n)[:, None], np.arange(STAGES), b.depths - DEPTHS[0]] = 1.0
        res = np.zeros((n, len(RESOLUTIONS)))
        res[np.arange(n), (b.resolution - RESOLUTIONS[0]) // 4] = 1.0
        return np.hstack([b.onehot(), depth.reshape(n, -1), res])

    def op_counts(self, archs: Archs) -> np.ndarray:
        """Per block slot and (kernel, expand): compute ((res/224)^2 where used) and launch (1 where
        used); then the stem and head's compute, (res/224)^2: an additive cost model's inputs."""
        b = _Batch.of(archs)
        scale = ((b.resolution / 224.0) ** 2)[:, None]
        onehot = b.onehot()
        return np.hstack([onehot * scale, onehot, scale])

    def encode(self, archs: Archs, encoding: str | None = None) -> Encoded:
        """``chain``: global node, stem, 20 block slots (absent beyond a stage's depth), head, output;
        node features: kernel and expand one-hots, stage, stride, SE, h-swish, log widths and input
        size; globals: log MACs and params, resolution, and the one-hot features."""
        from eagle.spaces.chain import chain_adjacency

        enc = self.check_encoding(encoding)
        b = _Batch.of(archs)
        costs = b.costs()
        glob = np.hstack(
            [
                np.log(costs[:, :1] + 1) / 20.0,
                np.log(costs[:, 1:] + 1) / 15.0,
                (b.resolution / 224.0)[:, None],
                self._features(b),
            ]
        ).astype(np.float32)
        n = len(b.resolution)
        n_feat = (
            3 + 3 + 3 + 5 + 6
        )  # flags global/in/out, kernel, expand, stage, (stride, se, hswish, c_in, c_out, size)
        if enc == "onehot":
            return Encoded(np.zeros((n, 0, 0), np.float32), np.zeros((n, 0, n_feat), np.float32), glob)
        nodes = 20 + 4  # global, stem, slots, head, output
        feat = np.zeros((n, nodes, n_feat), np.float32)
        feat[:, 0, 0] = feat[:, 1, 1] = feat[:, nodes - 2, 2] = feat[:, nodes - 1, 2] = 1
        g = _slots(1.2)
        size_in, _ = b.sizes()
        rows, slots = np.nonzero(b.used)
        node, stage = slots + 2, g["stage"][slots]
        feat[rows, node, 3 + b.kernel[rows, slots]] = 1
        feat[rows, node, 6 + b.expand[rows, slots]] = 1
        feat[rows, node, 9 + stage] = 1
        feat[rows, node, 14] = g["stride"][slots] == 2
        feat[rows, node, 15] = g["se"][slots]
        feat[rows, node, 16] = np.array(HSWISH)[stage]
        feat[rows, node, 17] = np.log2(g["c_in"][slots]) / 8
        feat[rows, node, 18] = np.log2(g["c_out"][slots]) / 8
        feat[rows, node, 19] = np.log2(size_in[rows, slots]) / 7
        return Encoded(chain_adjacency(b.used, tail=2), feat, glob)
