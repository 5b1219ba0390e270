"""``openvino``: OpenVINO on the CPU, with the inference precision always set explicitly."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from eagle.errors import install_hint
from eagle.runtimes.base import Runtime
from eagle.runtimes.onnx_export import export_onnx

_PRECISION_HINT = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}


class OpenVinoRuntime(Runtime):
    """OpenVINO CPU plugin, LATENCY hint, one stream, ``threads`` inference threads.

    The CPU plugin silently runs bf16 on CPUs that support it unless told otherwise, so the
    precision hint is always set (fp32 -> ``f32`` by default; ``bf16`` and ``fp16`` selectable).
    """

    name = "openvino"
    precisions = ("fp32", "bf16", "fp16")

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if importlib.util.find_spec("openvino") is None or importlib.util.find_spec("onnx") is None:
            return install_hint("openvino")
        return None

    def version(self) -> str:
        import openvino

        return openvino.get_version()

    def convert(self, model: Any, example: Any) -> bytes:
        return export_onnx(model, example)

    def load(self, artifact: bytes, example: Any) -> Callable[[], Any]:
        import openvino as ov

        core = ov.Core()
        ov_model = core.read_model(artifact, b"")
        compiled = core.compile_model(
            ov_model,
            "CPU",
            {
                "INFERENCE_PRECISION_HINT": _PRECISION_HINT[self.precision],
                "INFERENCE_NUM_THREADS": self.threads,
                "NUM_STREAMS": 1,
                "PERFORMANCE_HINT": "LATENCY",
            },
        )
        request = compiled.create_infer_request()
        x = example.detach().cpu().numpy()
        return lambda: request.infer({0: x})
