"""Kernel-level latency prediction (nn-Meter's method, on the user's own device and offline).

A kernel is what ONNX Runtime runs after its fusions (:mod:`eagle.anynet.onnxgraph`). Each gets
a *type* (one regressor per type) and a fixed-length feature vector from its operator, fused
activation and shapes. ``eagle kernels profile`` times sampled kernels on a device
(:mod:`~eagle.anynet.kernels.profile`), ``eagle kernels fit`` trains the regressors
(:mod:`~eagle.anynet.kernels.model`), and a network's latency is predicted as the sum of its
kernels plus the runtime's per-run overhead.
"""

from __future__ import annotations

import math

import numpy as np

from eagle.anynet.onnxgraph import Kernel, numel

#: operator -> kernel type (one regressor each); anything else is "other"
_TYPES = {
    "Conv": "conv",
    "FusedConv": "conv",
    "Gemm": "fc",
    "MatMul": "fc",
    "FusedGemm": "fc",
    "MaxPool": "pool",
    "AveragePool": "pool",
    "GlobalAveragePool": "gap",
    "GlobalMaxPool": "gap",
    "ReduceMean": "gap",
    "Concat": "concat",
    "ReorderInput": "reorder",
    "ReorderOutput": "reorder",
    "Reshape": "memory",
    "Transpose": "memory",
    "Flatten": "memory",
    "Slice": "memory",
    "Split": "memory",
    "Gather": "memory",
    "Squeeze": "memory",
    "Unsqueeze": "memory",
    "Identity": "memory",
    "Pad": "memory",
}
_ELEMENTWISE = (
    "Add",
    "Sum",
    "Mul",
    "Sub",
    "Div",
    "Relu",
    "Clip",
    "Sigmoid",
    "HardSigmoid",
    "HardSwish",
    "Tanh",
    "LeakyRelu",
    "BatchNormalization",
    "Erf",
    "Softmax",
)
#: categorical ids (stable: appended to, never reordered; stored in checkpoints)
OPS = (*_TYPES, *_ELEMENTWISE)
ACTS = ("", "Relu", "Clip", "HardSigmoid", "HardSwish", "Sigmoid", "LeakyRelu", "Tanh", "Add", "Sum")

FEATURES = (
    "log_in",
    "log_out",
    "log_extra",
    "log_macs",
    "log_weights",
    "c_in",
    "h_in",
    "c_out",
    "h_out",
    "kernel",
    "groups_log2",
    "stride",
    "has_sum",
    "act",
    "n_inputs",
    "depthwise",
    "c_in_per_group",
    "op",
)


def kernel_type(k: Kernel) -> str:
    t = _TYPES.get(k.op)
    if t == "conv" and _is_depthwise(k):
        return "dwconv"
    if t is not None:
        return t
    return "eltwise" if k.op in _ELEMENTWISE else "other"


def _is_depthwise(k: Kernel) -> bool:
    if len(k.inputs) < 2 or len(k.inputs[0]) != 4 or len(k.inputs[1]) != 4:
        return False
    c_in, per_group = k.inputs[0][1], k.inputs[1][1]
    return per_group == 1 and c_in > 1


def kernel_macs(k: Kernel) -> int:
    """Multiply-accumulates of a convolution or matrix product kernel (0 for others)."""
    t = _TYPES.get(k.op)
    if t == "conv" and len(k.inputs) >= 2 and k.outputs and len(k.inputs[1]) == 4:
        _, cin_g, kh, kw = k.inputs[1]
        out = k.outputs[0]
        return numel(out) * cin_g * kh * kw if out else 0
    if t == "fc" and len(k.inputs) >= 2 and k.outputs:
        a = k.inputs[0]
        return numel(k.outputs[0]) * (a[-1] if a else 1)
    return 0


def kernel_features(k: Kernel) -> np.ndarray:
    """The kernel's feature vector (:data:`FEATURES` order)."""
    x = k.inputs[0] if k.inputs else []
    out = k.outputs[0] if k.outputs else []
    t = _TYPES.get(k.op)
    conv = t == "conv" and len(k.inputs) >= 2 and len(k.inputs[1]) == 4 and len(x) == 4
    weights = 0
    extra = 0
    c_in = x[1] if len(x) >= 2 else (x[-1] if x else 0)
    h_in = x[2] if len(x) == 4 else 1
    c_out = out[1] if len(out) >= 2 else (out[-1] if out else 0)
    h_out = out[2] if len(out) == 4 else 1
    kernel = groups = stride = cpg = 0
    has_sum = 0
    if conv:
        w = k.inputs[1]
        weights = numel(w)
        kernel, cpg = w[2], w[1]
        groups = max(1, c_in // max(1, w[1]))
        stride = round(h_in / h_out) if h_out else 1
        has_sum = int(len(k.inputs) >= 4)
    elif t == "fc":
        weights = numel(k.inputs[1]) if len(k.inputs) >= 2 else 0
    else:
        extra = sum(numel(s) for s in k.inputs[1:])
        if t == "pool" and h_out:
            stride = round(h_in / h_out)
    return np.array(
        [
            math.log1p(numel(x)),
            math.log1p(numel(out)),
            math.log1p(extra),
            math.log1p(kernel_macs(k)),
            math.log1p(weights),
            c_in,
            h_in,
            c_out,
            h_out,
            kernel,
            math.log2(groups) if groups else -1.0,
            stride,
            has_sum,
            ACTS.index(k.act) if k.act in ACTS else len(ACTS),
            len(k.inputs),
            int(_is_depthwise(k)),
            cpg,
            OPS.index(k.op) if k.op in OPS else len(OPS),
        ],
        dtype=np.float64,
    )
