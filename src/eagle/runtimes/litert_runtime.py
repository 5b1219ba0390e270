"""``litert``: TFLite models run by the LiteRT interpreter (optional extra ``litert``).

Conversion goes through ``litert_torch`` (formerly ai-edge-torch): about 5 s per NB201 model and
a large install, so it is an extra. Precisions: ``fp32`` and ``int8`` (post-training dynamic-range
quantisation of the weights, like the seed's int8 mobile datasets).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from eagle.errors import install_hint
from eagle.runtimes.base import Runtime


def _converter_module() -> str | None:
    for name in ("litert_torch", "ai_edge_torch"):
        if importlib.util.find_spec(name) is not None:
            return name
    return None


class LiteRTRuntime(Runtime):
    """LiteRT ``Interpreter`` with ``threads`` threads on the CPU."""

    name = "litert"
    precisions = ("fp32", "int8")

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if _converter_module() is None or importlib.util.find_spec("ai_edge_litert") is None:
            return install_hint("litert")
        return None

    def version(self) -> str:
        from importlib.metadata import PackageNotFoundError, version

        try:
            return version("ai-edge-litert")
        except PackageNotFoundError:
            return "unknown"

    def convert(self, model: Any, example: Any) -> bytes:
        import importlib

        converter = importlib.import_module(_converter_module() or "litert_torch")
        edge_model = converter.convert(model.eval(), (example,))
        for getter in ("model_content", "tflite_model", "to_bytes"):
            if hasattr(edge_model, getter):
                flat = bytes(getattr(edge_model, getter)())
                break
        else:  # pragma: no cover - depends on the converter's version
            raise RuntimeError("cannot get the TFLite bytes from the converted model")
        if self.precision == "int8":
            from ai_edge_quantizer import quantizer, recipe

            qt = quantizer.Quantizer(flat)
            qt.load_quantization_recipe(recipe.dynamic_wi8_afp32())
            return bytes(qt.quantize().quantized_model)
        return flat

    def load(self, artifact: bytes, example: Any) -> Callable[[], Any]:
        from ai_edge_litert.interpreter import Interpreter

        interpreter = Interpreter(model_content=artifact, num_threads=self.threads)
        interpreter.allocate_tensors()
        inp = interpreter.get_input_details()[0]
        x = example.detach().cpu().numpy().astype(inp["dtype"])
        interpreter.set_tensor(inp["index"], x)
        return interpreter.invoke
