"""FBNet for CIFAR-100, as HW-NAS-Bench defines it (registered as ``fbnet``).

22 searchable layers, each one of 9 blocks: ``k{3,5}_e{1,3,6}`` (an inverted residual: 1x1 conv
expanding by e, k x k depthwise conv, 1x1 conv projecting back, BN after each, ReLU after the
first two, a residual when shape allows), ``k{3,5}_e1_g2`` (the same with the 1x1 convs in 2
groups and a channel shuffle after the first) and ``skip`` (identity; a 1x1 conv + BN + ReLU
where the layer changes width or stride). Around them: a 3x3 stem to 16 channels, 7 stages of
1/4/4/4/4/4/1 layers of widths 16/24/32/64/112/184/352 with CIFAR strides 1/1/2/2/1/2/1, a 1x1
header to 1504 channels, global average pooling and a linear classifier; input 3x32x32.
(HW-NAS-Bench, Li et al., ICLR 2021, ``hw_nas_bench_api/fbnet_models``; FBNet, Wu et al., CVPR 2019.)

An arch's key is its 22 block names joined by ``-`` (HELP's ``architectures.csv``); the 22-digit
op-id string (``PRIMITIVES`` order) is read too. 9^22 archs: not enumerable.
"""

from __future__ import annotations

from functools import cache, cached_property
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from eagle.errors import InvalidArchError, show
from eagle.spaces.base import Archs
from eagle.spaces.chain import ChainSpace

if TYPE_CHECKING:
    from torch import nn

#: HW-NAS-Bench's order: op id i is PRIMITIVES[i]
PRIMITIVES = ("k3_e1", "k3_e1_g2", "k3_e3", "k3_e6", "k5_e1", "k5_e1_g2", "k5_e3", "k5_e6", "skip")
STAGE_LAYERS = (1, 4, 4, 4, 4, 4, 1)
STAGE_WIDTHS = (16, 24, 32, 64, 112, 184, 352)
CIFAR_STRIDES = (1, 1, 2, 2, 1, 2, 1)
STEM_WIDTH = 16
HEADER_WIDTH = 1504


def layer_shapes(resolution: int = 32) -> list[tuple[int, int, int, int, int]]:
    """Per layer: (stage, input channels, output channels, stride, input resolution)."""
    out = []
    c_in, size = STEM_WIDTH, resolution
    for stage, (n, width, stride) in enumerate(zip(STAGE_LAYERS, STAGE_WIDTHS, CIFAR_STRIDES)):
        for i in range(n):
            s = stride if i == 0 else 1
            out.append((stage, c_in, width, s, size))
            size = (size + s - 1) // s
            c_in = width
    return out


def _block(op: str, c_in: int, c_out: int, stride: int) -> nn.Module:
    from torch import nn

    if op == "skip":
        if stride == 1 and c_in == c_out:
            return nn.Identity()
        return nn.Sequential(nn.Conv2d(c_in, c_out, 1, stride, 0, bias=False), nn.BatchNorm2d(c_out), nn.ReLU())
    kernel = int(op[1])
    expand = int(op.split("_")[1][1:])
    groups = 2 if op.endswith("_g2") else 1
    return _inverted_residual()(c_in, c_out, kernel, expand, groups, stride)


@cache
def _inverted_residual() -> type:
    """The block class, defined on first use (torch stays unimported until a network is built)."""
    import torch
    from torch import nn

    class InvertedResidual(nn.Module):
        def __init__(self, c_in: int, c_out: int, kernel: int, expand: int, groups: int, stride: int) -> None:
            super().__init__()
            mid = c_in * expand
            self.groups = groups
            self.residual = c_in == c_out and stride == 1
            self.expand = nn.Sequential(nn.Conv2d(c_in, mid, 1, 1, 0, groups=groups, bias=False), nn.BatchNorm2d(mid))
            pad = (kernel - stride + 1) // 2  # HW-NAS-Bench: ceil((k - s) / 2)
            self.depthwise = nn.Sequential(
                nn.Conv2d(mid, mid, kernel, stride, pad, groups=mid, bias=False), nn.BatchNorm2d(mid)
            )
            self.project = nn.Sequential(
                nn.Conv2d(mid, c_out, 1, 1, 0, groups=groups, bias=False), nn.BatchNorm2d(c_out)
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            y = torch.relu(self.expand(x))
            if self.groups > 1:  # channel shuffle
                n, c, h, w = y.shape
                y = y.view(n, self.groups, c // self.groups, h, w).transpose(1, 2).reshape(n, c, h, w)
            y = self.project(torch.relu(self.depthwise(y)))
            return y + x if self.residual else y

    return InvertedResidual


class FBNet(ChainSpace):
    """HW-NAS-Bench's FBNet space for CIFAR-100; see the module docstring."""

    name = "fbnet"
    choices: ClassVar[tuple[tuple[str, ...], ...]] = (PRIMITIVES,) * 22

    def parse(self, arch: object) -> str:
        if isinstance(arch, str) and arch.strip().isdigit():
            digits = arch.strip()
            if len(digits) != 22 or any(d == "9" for d in digits):
                raise InvalidArchError(f"an FBNet op-id string has 22 digits 0..8 (one per layer), got {show(arch)}")
            return "-".join(PRIMITIVES[int(d)] for d in digits)
        return super().parse(arch)

    def op_ids(self, arch: object) -> str:
        """The 22-digit op-id string."""
        return "".join(str(i) for i in self.choice_ids(self.parse(arch)))

    # -- networks -------------------------------------------------------------------------------
    def network_defaults(self) -> dict[str, object]:
        return {"num_classes": 100, "resolution": 32}

    def input_shape(self, arch: object | None = None, **network: object) -> tuple[int, ...]:
        size = int(network.get("resolution", 32))  # type: ignore[call-overload]
        return (3, size, size)

    def build_model(self, arch: object, *, seed: int = 0, **network: object) -> nn.Module:
        """The network in eval mode; BatchNorm statistics calibrated on one random batch (``seed``)."""
        import torch
        from torch import nn

        from eagle.spaces.counting import calibrate_batchnorm

        cfg = self.network_config({k: v for k, v in network.items() if k != "calibrate"})
        resolution, num_classes = int(cfg["resolution"]), int(cfg["num_classes"])  # type: ignore[call-overload]
        ops = self.parse(arch).split("-")
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            layers: list[nn.Module] = [
                nn.Sequential(nn.Conv2d(3, STEM_WIDTH, 3, 1, 1, bias=False), nn.BatchNorm2d(STEM_WIDTH), nn.ReLU())
            ]
            for op, (_, c_in, c_out, stride, _) in zip(ops, layer_shapes(resolution)):
                layers.append(_block(op, c_in, c_out, stride))
            layers += [
                nn.Sequential(
                    nn.Conv2d(STAGE_WIDTHS[-1], HEADER_WIDTH, 1, bias=False), nn.BatchNorm2d(HEADER_WIDTH), nn.ReLU()
                ),
                nn.AdaptiveAvgPool2d(1),
                nn.Flatten(),
                nn.Linear(HEADER_WIDTH, num_classes),
            ]
            model = nn.Sequential(*layers)
            if network.get("calibrate", True):
                calibrate_batchnorm(model, torch.randn(4, 3, resolution, resolution))
        return model.eval()

    # -- costs and encodings -----------------------------------------------------------------------
    @cached_property
    def _layer_costs(self) -> np.ndarray:
        """(22, 9, 2) MACs and parameters of each block at each layer, plus the fixed part in [..., 0]."""
        from eagle.spaces.counting import count_macs_params

        out = np.zeros((22, len(PRIMITIVES), 2))
        for layer, (_, c_in, c_out, stride, size) in enumerate(layer_shapes()):
            for j, op in enumerate(PRIMITIVES):
                out[layer, j] = count_macs_params(_block(op, c_in, c_out, stride), (1, c_in, size, size))
        return out

    @cached_property
    def _fixed_costs(self) -> np.ndarray:
        """MACs and parameters of the stem, header and classifier (CIFAR-100, 32x32)."""
        from torch import nn

        from eagle.spaces.counting import count_macs_params

        stem = count_macs_params(
            nn.Sequential(nn.Conv2d(3, STEM_WIDTH, 3, 1, 1, bias=False), nn.BatchNorm2d(STEM_WIDTH)), (1, 3, 32, 32)
        )
        last = layer_shapes()[-1]
        size = (last[4] + last[3] - 1) // last[3]
        head = count_macs_params(
            nn.Sequential(nn.Conv2d(STAGE_WIDTHS[-1], HEADER_WIDTH, 1, bias=False), nn.BatchNorm2d(HEADER_WIDTH)),
            (1, STAGE_WIDTHS[-1], size, size),
        )
        fc = (HEADER_WIDTH * 100, HEADER_WIDTH * 100 + 100)
        return np.array(stem) + np.array(head) + np.array(fc)

    def costs(self, archs: Archs) -> np.ndarray:
        """MACs and parameters at the default config (per-block tables: exact, and fast)."""
        ids = self._ids(archs)
        table = self._layer_costs
        return self._fixed_costs + table[np.arange(22)[None, :], ids].sum(axis=1)

    def layer_features(self, layer: int, op: str) -> tuple[float, ...]:
        stage, c_in, c_out, stride, size = layer_shapes()[layer]
        return (stage / 6.0, float(stride == 2), np.log2(c_in) / 9.0, np.log2(c_out) / 9.0, np.log2(size) / 5.0)

    def op_counts(self, archs: Archs) -> np.ndarray:
        """Per layer and block: 1 where the layer runs that block (22 x 9 columns: a look-up table)."""
        return self.onehot(archs)
