"""MACs and parameters of any PyTorch network, counted on one forward pass."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn


def count_macs_params(model: nn.Module, input_shape: Sequence[int]) -> tuple[int, int]:
    """(multiply-accumulates of convolutions and linear layers, trainable parameters).

    ``input_shape`` includes the batch dimension; MACs are per example. Pooling, normalisation,
    activations and additions are not multiply-accumulates and are not counted.
    """
    import torch
    from torch import nn

    total = 0

    def conv_hook(m: nn.Conv2d, _i: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        kh, kw = m.kernel_size
        total += out.numel() // out.shape[0] * (m.in_channels // m.groups) * kh * kw

    def linear_hook(m: nn.Linear, _i: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() // out.shape[0] * m.in_features

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    try:
        with torch.no_grad():
            model(torch.zeros(*input_shape))
    finally:
        for h in handles:
            h.remove()
    return total, sum(p.numel() for p in model.parameters())


def calibrate_batchnorm(model: nn.Module, batch: torch.Tensor) -> None:
    """Give every BatchNorm of ``model`` the statistics of one forward pass of ``batch``, in place.

    A freshly initialised deep network in eval mode lets activations vanish or explode (and a CPU
    then times denormals); one pass in training mode with a cumulative average sets realistic
    running statistics. The model's training flag and the BN momenta are restored.
    """
    import torch
    from torch import nn

    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    saved = [bn.momentum for bn in bns]
    for bn in bns:
        bn.reset_running_stats()
        bn.momentum = None
    was_training = model.training
    model.train()
    try:
        with torch.no_grad():
            model(batch)
    finally:
        for bn, momentum in zip(bns, saved):
            bn.momentum = momentum
        model.train(was_training)
