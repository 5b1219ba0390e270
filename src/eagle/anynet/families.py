"""Variant families over torchvision's own model classes (``family:NAME(...)`` specs).

torchvision's builders fix depth and width for ResNet, EfficientNet, RegNet and VGG; these
factories expose them, building torchvision's classes (``ResNet``, ``EfficientNet``, ``RegNet``,
``VGG``) with the knobs their papers vary. The other families take their knobs through their
torchvision class directly (``torchvision:MobileNetV2(width_mult=0.5)``, ``MNASNet(alpha=...)``,
``ShuffleNetV2(stages_repeats=..., stages_out_channels=...)``, ``DenseNet(...)``,
``SqueezeNet(version=...)``, ``mobilenet_v3_large(width_mult=...)``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from eagle.errors import InvalidArchError

if TYPE_CHECKING:
    from torch import nn


def _tv() -> object:
    from eagle.anynet.tv import import_torchvision

    return import_torchvision()


def resnet(
    *, block: str = "basic", layers: Sequence[int] = (2, 2, 2, 2), width_per_group: int = 64, groups: int = 1
) -> nn.Module:
    """torchvision ``ResNet``: ``block`` basic | bottleneck, blocks per stage, ResNeXt/Wide knobs."""
    _tv()
    from torchvision.models.resnet import BasicBlock, Bottleneck, ResNet

    if block not in ("basic", "bottleneck"):
        raise InvalidArchError(f"family:resnet block must be 'basic' or 'bottleneck', got {block!r}")
    if len(layers) != 4 or not all(isinstance(n, int) and 1 <= n <= 64 for n in layers):
        raise InvalidArchError(f"family:resnet layers must be 4 block counts in 1..64, got {layers!r}")
    if block == "basic" and (width_per_group != 64 or groups != 1):
        raise InvalidArchError("family:resnet: width_per_group and groups apply to bottleneck blocks only")
    return ResNet(
        BasicBlock if block == "basic" else Bottleneck,
        list(layers),
        groups=groups,
        width_per_group=width_per_group,
    )


def efficientnet(
    *, width_mult: float = 1.0, depth_mult: float = 1.0, dropout: float = 0.2, stochastic_depth_prob: float = 0.2
) -> nn.Module:
    """torchvision ``EfficientNet`` (B0 stages) scaled in width and depth as B1..B7 are."""
    _tv()
    from torchvision.models.efficientnet import EfficientNet, _efficientnet_conf

    if not (0.1 <= width_mult <= 4 and 0.1 <= depth_mult <= 4):
        raise InvalidArchError("family:efficientnet width_mult and depth_mult must lie in 0.1..4")
    setting, last = _efficientnet_conf("efficientnet_b0", width_mult=width_mult, depth_mult=depth_mult)
    return EfficientNet(setting, dropout, stochastic_depth_prob=stochastic_depth_prob, last_channel=last)


def regnet(
    *,
    depth: int = 16,
    w_0: int = 48,
    w_a: float = 27.89,
    w_m: float = 2.09,
    group_width: int = 8,
    se_ratio: float | None = 0.25,
) -> nn.Module:
    """torchvision ``RegNet`` from the design-space parameters (defaults: RegNetY-400MF)."""
    _tv()
    from torchvision.models.regnet import BlockParams, RegNet

    if not (1 <= depth <= 64 and 8 <= w_0 <= 1024 and w_a > 0 and w_m > 1 and group_width >= 1):
        raise InvalidArchError("family:regnet needs 1<=depth<=64, 8<=w_0<=1024, w_a>0, w_m>1, group_width>=1")
    params = BlockParams.from_init_params(
        depth=depth, w_0=w_0, w_a=w_a, w_m=w_m, group_width=group_width, se_ratio=se_ratio
    )
    return RegNet(params)


#: VGG stage configurations: convs per stage for VGG-11/13/16/19
VGG_DEPTHS = {11: (1, 1, 2, 2, 2), 13: (2, 2, 2, 2, 2), 16: (2, 2, 3, 3, 3), 19: (2, 2, 4, 4, 4)}


def vgg(
    *, convs: Sequence[int] = (1, 1, 2, 2, 2), width: int = 64, batch_norm: bool = True, fc: int = 4096
) -> nn.Module:
    """torchvision ``VGG``: convs per stage (VGG-11 by default), first-stage width, FC width."""
    _tv()
    import torch
    from torchvision.models.vgg import VGG, make_layers

    if len(convs) != 5 or not all(isinstance(n, int) and 1 <= n <= 8 for n in convs):
        raise InvalidArchError(f"family:vgg convs must be 5 counts in 1..8, got {convs!r}")
    if not (8 <= width <= 256 and 16 <= fc <= 8192):
        raise InvalidArchError("family:vgg needs 8 <= width <= 256 and 16 <= fc <= 8192")
    cfg: list[str | int] = []
    for stage, n in enumerate(convs):
        cfg += [min(width * 2**stage, width * 8)] * n + ["M"]
    model = VGG(make_layers(cfg, batch_norm=batch_norm), init_weights=True)
    last = min(width * 16, width * 8)
    model.classifier = torch.nn.Sequential(
        torch.nn.Linear(last * 7 * 7, fc),
        torch.nn.ReLU(True),
        torch.nn.Dropout(),
        torch.nn.Linear(fc, fc),
        torch.nn.ReLU(True),
        torch.nn.Dropout(),
        torch.nn.Linear(fc, 1000),
    )
    return model


FAMILIES: dict[str, Callable[..., nn.Module]] = {
    "resnet": resnet,
    "efficientnet": efficientnet,
    "regnet": regnet,
    "vgg": vgg,
}
