"""Export a PyTorch model to ONNX in memory.

Two routes, the fast one first:

1. the TorchScript exporter (``dynamo=False``, opset 17): about ten times faster here, and what
   every bundled dataset was measured with; ``nn.MultiheadAttention``'s inference fast path
   (``aten::_native_multi_head_attention``, which it cannot export) is switched off while it traces;
2. where it fails (an operator it has no rule for, e.g. ``adaptive_avg_pool2d`` to a size that is
   not a factor of its input), the ``torch.export``-based exporter (``dynamo=True``, opset 18;
   needs ``onnxscript``, installed with the ``onnx`` extra).

A network neither can export gets one line naming the operator (:class:`ExportError`), never the
exporter's graph dump.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import re
import warnings
from collections.abc import Iterator
from typing import Any

from eagle.errors import EagleError

OPSET = 17
DYNAMO_OPSET = 18


class ExportError(EagleError):
    """A network that no exporter could turn into ONNX (the message names the operator)."""


def export_onnx(model: Any, example: Any, *, opset: int = OPSET) -> bytes:
    """ONNX bytes of ``model`` traced on ``example`` (one tensor or a tuple of them), by the
    routes of the module docstring. A model that already is ONNX (``onnx_bytes``:
    :class:`eagle.anynet.specs.OnnxModel`) is passed through."""
    given = getattr(model, "onnx_bytes", None)
    if isinstance(given, bytes):
        return given
    args = example if isinstance(example, tuple) else (example,)
    with mha_fastpath_off():
        try:
            return _torchscript(model, args, opset)
        except Exception as exc:  # the exporter raises many types; the message says which operator
            first = exc
        if importlib.util.find_spec("onnxscript") is None:
            raise ExportError(
                f"cannot export the network to ONNX: {_summary(first)} (the torch.export-based exporter might: "
                "install onnxscript into the venv, e.g. make setup)"
            )
        try:
            return _dynamo(model, args)
        except Exception as second:
            raise ExportError(
                f"cannot export the network to ONNX: {_summary(first)}; the torch.export-based exporter: "
                f"{_summary(second)}"
            ) from None


def _torchscript(model: Any, args: tuple[Any, ...], opset: int) -> bytes:
    import torch

    buf = io.BytesIO()
    names = ["input"] if len(args) == 1 else [f"input_{i}" for i in range(len(args))]
    with warnings.catch_warnings(), _quiet_stdio():
        warnings.simplefilter("ignore")  # the TorchScript exporter is deprecated but ~10x faster here
        torch.onnx.export(
            model,
            args,
            buf,  # type: ignore[arg-type]  # torch's stubs say path; the TorchScript exporter takes a file object
            dynamo=False,
            opset_version=opset,
            input_names=names,
            output_names=["logits"],
            do_constant_folding=True,
        )
    return buf.getvalue()


def _dynamo(model: Any, args: tuple[Any, ...]) -> bytes:
    import torch

    with warnings.catch_warnings(), _quiet_stdio():
        warnings.simplefilter("ignore")
        program = torch.onnx.export(model, args, dynamo=True, opset_version=DYNAMO_OPSET, verbose=False)
    if program is None:
        raise ExportError("the torch.export-based exporter returned nothing")
    return bytes(program.model_proto.SerializeToString())


@contextlib.contextmanager
def mha_fastpath_off() -> Iterator[None]:
    """``nn.MultiheadAttention`` / ``nn.TransformerEncoderLayer`` without their fused inference
    fast path (a single ``aten::_native_multi_head_attention`` no exporter handles): the same
    computation as separate projections, matrix products and softmax."""
    import torch

    mha = getattr(torch.backends, "mha", None)
    if mha is None:
        yield
        return
    before = mha.get_fastpath_enabled()
    mha.set_fastpath_enabled(False)
    try:
        yield
    finally:
        mha.set_fastpath_enabled(before)


@contextlib.contextmanager
def _quiet_stdio() -> Iterator[None]:
    """The exporters print progress and graph dumps (some from C++): keep them off the terminal
    (``eagle -v`` shows them)."""
    import logging

    from eagle.stdio import captured_output

    with captured_output(echo=logging.getLogger("eagle").isEnabledFor(logging.DEBUG)):
        yield


_OPERATOR = re.compile(r"operator '?([\w:.]+)'?|(aten::\w+|prims::\w+)")


def _summary(exc: BaseException) -> str:
    """One line for an exporter's error: the operator it names, else its first line."""
    text = str(exc)
    found = _OPERATOR.search(text)
    first = next((ln.strip() for ln in text.splitlines() if ln.strip()), type(exc).__name__)
    if found:
        op = found.group(1) or found.group(2)
        return f"{type(exc).__name__} at operator {op}: {first[:200]}"
    return f"{type(exc).__name__}: {first[:200]}"
