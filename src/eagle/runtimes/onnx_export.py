"""Export a PyTorch model to ONNX in memory (TorchScript-based exporter, opset 17)."""

from __future__ import annotations

import io
import warnings
from typing import Any

OPSET = 17


def export_onnx(model: Any, example: Any, *, opset: int = OPSET) -> bytes:
    """ONNX bytes of ``model`` traced on ``example`` with the fast ``dynamo=False`` exporter.

    A model that already is ONNX (``onnx_bytes``: :class:`eagle.anynet.specs.OnnxModel`) is passed through.
    """
    import torch

    given = getattr(model, "onnx_bytes", None)
    if isinstance(given, bytes):
        return given

    buf = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated but ~10x faster here
        torch.onnx.export(
            model,
            (example,),
            buf,  # type: ignore[arg-type]  # torch's stubs say path; the TorchScript exporter takes a file object
            dynamo=False,
            opset_version=opset,
            input_names=["input"],
            output_names=["logits"],
            do_constant_folding=True,
        )
    return buf.getvalue()
