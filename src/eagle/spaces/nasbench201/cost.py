"""Analytic parameter and multiply-accumulate (MAC) counts of NB201 networks.

Counted exactly as the built PyTorch network (:mod:`eagle.spaces.nasbench201.builder`) has them:
parameters include BatchNorm affine weights and the classifier bias (not BN running buffers);
MACs are those of convolutions and the linear classifier (pooling, BN, ReLU and additions are
not multiply-accumulates and are not counted). ``reference`` counts every edge's op,
``deployed`` only the live edges (see :func:`eagle.spaces.nasbench201.graph.live_edges`).
The tests check these formulas against the built modules.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from eagle.spaces.nasbench201.arch import AVGPOOL, CONV1X1, CONV3X3, NONE, SKIP, check_vector
from eagle.spaces.nasbench201.graph import live_edges


@dataclass(frozen=True)
class NetworkConfig:
    """Macro skeleton of the NB201 network (the seed's ``model:`` keys, plus channels).

    ``input_size`` is (height, width); ``stacks_count`` stages of ``cells_count`` cells, with a
    ResNet-style reduction block between stages that halves the resolution and doubles channels.
    """

    num_classes: int = 10
    cells_count: int = 5
    stacks_count: int = 3
    channels: int = 16
    input_size: tuple[int, int] = (32, 32)
    in_channels: int = 3

    def __post_init__(self) -> None:
        for name in ("num_classes", "cells_count", "stacks_count", "channels", "in_channels"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"network config {name} must be a positive integer, got {value!r}")
        h, w = self.input_size
        if h < 1 or w < 1:
            raise ValueError(f"input_size must be positive, got {self.input_size!r}")


def _conv_out(size: int) -> int:
    """Output size of the 3x3 stride-2 padding-1 reduction conv."""
    return (size - 1) // 2 + 1


def stage_shapes(cfg: NetworkConfig) -> list[tuple[int, int, int]]:
    """(channels, height, width) of the cells in each stage."""
    c, (h, w) = cfg.channels, cfg.input_size
    shapes = [(c, h, w)]
    for _ in range(cfg.stacks_count - 1):
        c, h, w = c * 2, _conv_out(h), _conv_out(w)
        shapes.append((c, h, w))
    return shapes


def _cell_cost(vector: Sequence[int], edges: Sequence[bool], c: int, hw: int) -> tuple[int, int]:
    params = macs = 0
    for op, built in zip(vector, edges):
        if not built:
            continue
        if op == CONV1X1:
            params += c * c + 2 * c
            macs += hw * c * c
        elif op == CONV3X3:
            params += 9 * c * c + 2 * c
            macs += hw * 9 * c * c
        elif op not in (NONE, SKIP, AVGPOOL):  # pragma: no cover - guarded by check_vector
            raise AssertionError(op)
    return params, macs


def network_cost(vector: Sequence[int], cfg: NetworkConfig | None = None, *, deployed: bool = True) -> tuple[int, int]:
    """(parameters, MACs) of the NB201 network for ``vector``."""
    cfg = cfg or NetworkConfig()
    v = check_vector(vector)
    edges = live_edges(v) if deployed else tuple(op != NONE for op in v)
    shapes = stage_shapes(cfg)
    c0, h0, w0 = shapes[0]
    params = 9 * cfg.in_channels * c0 + 2 * c0  # stem conv (no bias) + BN
    macs = h0 * w0 * 9 * cfg.in_channels * c0
    prev = shapes[0]
    for stage, (c, h, w) in enumerate(shapes):
        if stage > 0:
            pc, _, _ = prev
            params += 9 * pc * c + 2 * c + 9 * c * c + 2 * c + pc * c  # conv_a, conv_b, 1x1 shortcut
            macs += h * w * (9 * pc * c + 9 * c * c + pc * c)
        cp, cm = _cell_cost(v, edges, c, h * w)
        params += cfg.cells_count * cp
        macs += cfg.cells_count * cm
        prev = (c, h, w)
    c_last = shapes[-1][0]
    params += 2 * c_last + c_last * cfg.num_classes + cfg.num_classes  # last BN, classifier
    macs += c_last * cfg.num_classes
    return params, macs
