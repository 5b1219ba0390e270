"""MACs and parameters of any PyTorch network, counted on one forward pass."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch
    from torch import nn


def count_macs_params(model: nn.Module, input_shape: Sequence[int]) -> tuple[int, int]:
    """(multiply-accumulates of convolutions and linear layers, trainable parameters).

    ``input_shape`` includes the batch dimension; MACs are per example. Pooling, normalisation,
    activations and additions are not multiply-accumulates and are not counted. The forward pass
    runs on meta tensors where the network allows (no memory, no compute), else on zeros.
    """
    import torch

    try:
        pass_ = meta_forward(model, input_shape)
    except NotImplementedError:
        pass_ = None
    if pass_ is None:
        pass_ = _forward(model, torch.zeros(*input_shape))
    return pass_.macs, sum(p.numel() for p in model.parameters())


@dataclass
class ForwardPass:
    """What one forward pass saw: MACs per example, the largest module output in bytes."""

    macs: int
    largest_output_bytes: int


def meta_forward(model: nn.Module, input_shape: Sequence[int], dtype: torch.dtype | None = None) -> ForwardPass | None:
    """:class:`ForwardPass` of ``model`` on a meta tensor of ``input_shape``: shapes only, no memory
    or compute (the parameters are swapped for meta tensors, the model is untouched). None where
    the network's code needs real values (``.item()``); the network's own error where the input
    does not fit it; NotImplementedError where an operator has no meta kernel."""
    import torch

    meta = {n: torch.empty_like(t, device="meta") for n, t in (*model.named_parameters(), *model.named_buffers())}
    x = torch.empty(*input_shape, device="meta", dtype=dtype or torch.float32)
    try:
        return _forward(model, x, lambda inp: torch.func.functional_call(model, meta, (inp,), strict=False))
    except RuntimeError as exc:
        text = str(exc).lower()
        if "meta" in text and ("tensor" in text or "device" in text) and "shape" not in text:
            return None  # data-dependent code: only a real pass can tell
        raise


def _forward(model: nn.Module, x: torch.Tensor, call: Callable[[torch.Tensor], object] | None = None) -> ForwardPass:
    import torch
    from torch import nn

    total = 0
    largest = 0

    def conv_hook(m: nn.Conv2d, _i: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        kh, kw = m.kernel_size
        total += out.numel() // out.shape[0] * (m.in_channels // m.groups) * kh * kw

    def linear_hook(m: nn.Linear, _i: tuple[torch.Tensor, ...], out: torch.Tensor) -> None:
        nonlocal total
        total += out.numel() // out.shape[0] * m.in_features

    def size_hook(m: nn.Module, _i: tuple[torch.Tensor, ...], out: object) -> None:
        nonlocal largest
        for t in out if isinstance(out, (tuple, list)) else (out,):
            if isinstance(t, torch.Tensor):
                largest = max(largest, t.numel() * t.element_size())

    handles = []
    for m in model.modules():
        handles.append(m.register_forward_hook(size_hook))
        if isinstance(m, nn.Conv2d):
            handles.append(m.register_forward_hook(conv_hook))
        elif isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
    try:
        with torch.no_grad():
            (call or model)(x)
    finally:
        for h in handles:
            h.remove()
    return ForwardPass(total, largest)


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
