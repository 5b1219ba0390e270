"""PyTorch builder of the NAS-Bench-201 network.

The macro skeleton is NB201's (``TinyNetwork``/``InferCell``): 3x3 stem conv (no bias) + BN;
``stacks_count`` stages of ``cells_count`` cells at C, 2C, 4C channels separated by NB201's
ResNet basic block (ReLU-Conv3x3/2-BN, ReLU-Conv3x3-BN, shortcut AvgPool2x2 + Conv1x1);
BN-ReLU, global average pool, linear classifier. Cell ops: ``nor_conv_kxk`` = ReLU-Conv-BN,
``avg_pool_3x3`` = AvgPool 3x3/1 (``count_include_pad=False``), ``skip_connect`` = identity,
``none`` = zero.

Build modes:

``reference``
    every edge is built (``none`` as a zero op): parameter counts equal NB201's.
``pruned``
    only live edges (non-none, on an input->output path) are built, as the seed builds models.
``deployed`` (default)
    the ``pruned`` network of the arch's canonical-class representative, so that every arch of
    one NB201 computation class builds identical compute (the representative is the member
    with the fewest MACs; see :func:`eagle.spaces.nasbench201.space.NASBench201.representative`).
    NB201's classes ignore shared sub-expressions, so ``pruned`` members of one class can differ
    by a convolution; ``deployed`` is the cheapest implementation of the class's function.

Freshly initialised NB201 networks let activations vanish or explode, which would time
denormal arithmetic or nonsense; :func:`build_model` therefore calibrates the network on one
random batch (BN running statistics, and the gain of each un-normalised shortcut conv), all
deterministic given ``seed``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Literal

from eagle.spaces.nasbench201.arch import AVGPOOL, CONV1X1, CONV3X3, EDGES, NUM_NODES, SKIP, check_vector
from eagle.spaces.nasbench201.cost import NetworkConfig, stage_shapes
from eagle.spaces.nasbench201.graph import live_edges

if TYPE_CHECKING:
    import torch
    from torch import nn

BuildMode = Literal["reference", "pruned", "deployed"]
BUILD_MODES: tuple[str, ...] = ("reference", "pruned", "deployed")


def _modules():  # noqa: ANN202 - returns module classes built on first use (keeps torch lazy)
    from torch import nn

    class ReLUConvBN(nn.Sequential):
        def __init__(self, c_in: int, c_out: int, kernel: int, stride: int, padding: int) -> None:
            super().__init__(
                nn.ReLU(inplace=False),
                nn.Conv2d(c_in, c_out, kernel, stride=stride, padding=padding, bias=False),
                nn.BatchNorm2d(c_out),
            )

    class Zero(nn.Module):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return x.mul(0.0)

    class Cell(nn.Module):
        """One NB201 cell; ``built[e]`` says whether edge ``e`` gets a module."""

        def __init__(self, vector: Sequence[int], built: Sequence[bool], channels: int) -> None:
            super().__init__()
            self.edges = nn.ModuleList()
            self.plan: list[list[tuple[int, int]]] = [[] for _ in range(NUM_NODES)]
            for (src, dst), op, keep in zip(EDGES, vector, built):
                if not keep:
                    continue
                if op == CONV1X1:
                    mod: nn.Module = ReLUConvBN(channels, channels, 1, 1, 0)
                elif op == CONV3X3:
                    mod = ReLUConvBN(channels, channels, 3, 1, 1)
                elif op == AVGPOOL:
                    mod = nn.AvgPool2d(3, stride=1, padding=1, count_include_pad=False)
                elif op == SKIP:
                    mod = nn.Identity()
                else:
                    mod = Zero()
                self.plan[dst].append((src, len(self.edges)))
                self.edges.append(mod)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            nodes = [x]
            for node in range(1, NUM_NODES):
                inputs = self.plan[node]
                if not inputs:
                    nodes.append(x.mul(0.0) if node == NUM_NODES - 1 else x)  # unused unless output
                    continue
                total = self.edges[inputs[0][1]](nodes[inputs[0][0]])
                for src, idx in inputs[1:]:
                    total = total + self.edges[idx](nodes[src])
                nodes.append(total)
            return nodes[-1]

    class ResNetBasicBlock(nn.Module):
        def __init__(self, c_in: int, c_out: int) -> None:
            super().__init__()
            self.conv_a = ReLUConvBN(c_in, c_out, 3, 2, 1)
            self.conv_b = ReLUConvBN(c_out, c_out, 3, 1, 1)
            self.downsample = nn.Sequential(
                nn.AvgPool2d(kernel_size=2, stride=2, padding=0),
                nn.Conv2d(c_in, c_out, kernel_size=1, stride=1, padding=0, bias=False),
            )

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.downsample(x) + self.conv_b(self.conv_a(x))

    class NASBench201Network(nn.Module):
        def __init__(self, vector: Sequence[int], built: Sequence[bool], cfg: NetworkConfig) -> None:
            super().__init__()
            self.arch_vector = tuple(vector)
            self.config = cfg
            shapes = stage_shapes(cfg)
            c0 = shapes[0][0]
            self.stem = nn.Sequential(
                nn.Conv2d(cfg.in_channels, c0, kernel_size=3, padding=1, bias=False), nn.BatchNorm2d(c0)
            )
            layers: list[nn.Module] = []
            prev = c0
            for stage, (c, _, _) in enumerate(shapes):
                if stage > 0:
                    layers.append(ResNetBasicBlock(prev, c))
                layers.extend(Cell(vector, built, c) for _ in range(cfg.cells_count))
                prev = c
            self.cells = nn.Sequential(*layers)
            self.lastact = nn.Sequential(nn.BatchNorm2d(prev), nn.ReLU(inplace=True))
            self.global_pooling = nn.AdaptiveAvgPool2d(1)
            self.classifier = nn.Linear(prev, cfg.num_classes)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            out = self.lastact(self.cells(self.stem(x)))
            return self.classifier(self.global_pooling(out).flatten(1))

    return ReLUConvBN, ResNetBasicBlock, NASBench201Network


def built_edges(vector: Sequence[int], mode: BuildMode) -> tuple[bool, ...]:
    """Which edges get a module in ``mode`` (``deployed`` expects the representative's vector)."""
    if mode == "reference":
        return (True,) * len(EDGES)
    if mode in ("pruned", "deployed"):
        return live_edges(vector)
    raise ValueError(f"unknown build mode {mode!r}; valid modes: {', '.join(BUILD_MODES)}")


def build_model(
    arch: object,
    num_classes: int = 10,
    *,
    mode: BuildMode = "deployed",
    cells_count: int = 5,
    stacks_count: int = 3,
    channels: int = 16,
    input_size: Sequence[int] = (32, 32),
    seed: int = 0,
    calibrate: bool = True,
    calibration_batch: int = 8,
) -> nn.Module:
    """Build the NB201 network of ``arch`` (arch_str, NB201 index, vector or Arch) in eval mode.

    With ``calibrate`` the network is initialised and calibrated on one random batch of
    ``calibration_batch`` inputs, deterministically from ``seed`` (same seed, same weights).
    """
    import torch

    from eagle.spaces.nasbench201.arch import resolve
    from eagle.spaces.nasbench201.classes import representative_vector

    vector = resolve(arch)
    if mode == "deployed":
        vector = representative_vector(vector)
    vector = check_vector(vector)
    cfg = NetworkConfig(
        num_classes=num_classes,
        cells_count=cells_count,
        stacks_count=stacks_count,
        channels=channels,
        input_size=(int(input_size[0]), int(input_size[1])),
    )
    _, _, network_cls = _modules()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = network_cls(vector, built_edges(vector, mode), cfg)
        if calibrate:
            batch = torch.randn(calibration_batch, cfg.in_channels, *cfg.input_size)
            calibrate_activations(model, batch)
    return model.eval()


def calibrate_activations(model: nn.Module, batch: torch.Tensor) -> None:
    """Give ``model`` realistic activation statistics from one batch, in place.

    One forward pass in training mode: every BatchNorm takes the batch's statistics as its
    running statistics (cumulative average over one batch), and every convolution that is not
    followed by a BatchNorm (the reduction blocks' 1x1 shortcuts) is rescaled to unit output
    standard deviation, so skip-heavy cells cannot blow activations up across stages.
    """
    import torch
    from torch import nn

    from eagle.spaces.counting import calibrate_batchnorm

    def rescale(module: nn.Module, _inp: tuple[torch.Tensor, ...], out: torch.Tensor) -> torch.Tensor:
        std = float(out.detach().std())
        if std > 0 and torch.isfinite(torch.tensor(std)):
            with torch.no_grad():
                module.weight.mul_(1.0 / std)  # type: ignore[operator]
            return out / std
        return out

    handles = []
    for m in model.modules():
        downsample = getattr(m, "downsample", None)
        if isinstance(downsample, nn.Sequential) and isinstance(downsample[-1], nn.Conv2d):
            handles.append(downsample[-1].register_forward_hook(rescale))
    try:
        calibrate_batchnorm(model, batch)  # the rescaling hooks run during its forward pass
    finally:
        for h in handles:
            h.remove()


def count_parameters(model: nn.Module) -> int:
    """Number of trainable parameters (BN running buffers excluded)."""
    return sum(p.numel() for p in model.parameters())


def count_macs(model: nn.Module, input_size: Sequence[int] = (32, 32), in_channels: int = 3) -> int:
    """Multiply-accumulates of convolutions and linear layers, measured with forward hooks."""
    from eagle.spaces.counting import count_macs_params

    return count_macs_params(model, (1, in_channels, *input_size))[0]
