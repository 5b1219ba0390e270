"""``onnxruntime``: ONNX Runtime (CPU; CUDA execution provider where the package has it)."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from typing import Any

from eagle.errors import install_hint
from eagle.runtimes.base import Runtime, RuntimeUnavailableError
from eagle.runtimes.onnx_export import export_onnx

#: ONNX Runtime's graph optimisation levels, as Eagle names them
OPTIMIZATIONS = ("all", "extended", "basic", "disabled")


def session_options(
    threads: int = 1, optimization: str = "all", *, inter_op_threads: int = 1, profile_dir: str | None = None
) -> Any:
    """ONNX Runtime session options as Eagle times with them: ``threads`` intra-op threads, graph
    optimisation ``all`` | ``extended`` | ``basic`` | ``disabled``, warnings off; with
    ``profile_dir``, ORT's profiler writes its trace there."""
    import os

    import onnxruntime as ort

    from eagle.errors import EagleError

    levels = {
        "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL,
        "extended": ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED,
        "basic": ort.GraphOptimizationLevel.ORT_ENABLE_BASIC,
        "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
    }
    if optimization not in levels:
        raise EagleError(f"graph optimization must be one of {', '.join(levels)}, got {optimization!r}")
    so = ort.SessionOptions()
    so.intra_op_num_threads = int(threads)
    so.inter_op_num_threads = int(inter_op_threads)
    so.graph_optimization_level = levels[optimization]
    so.log_severity_level = 3
    if profile_dir is not None:
        so.enable_profiling = True
        so.profile_file_prefix = os.path.join(profile_dir, "ort")
    return so


class OnnxRuntime(Runtime):
    """ONNX Runtime session with ``threads`` intra-op threads, 1 inter-op thread, full optimisation.

    Options: ``graph_optimization`` (``all`` | ``extended`` | ``basic`` | ``disabled``),
    ``inter_op_threads`` (default 1).
    """

    name = "onnxruntime"
    devices = ("cpu", "cuda")

    @classmethod
    def unavailable_reason(cls) -> str | None:
        if importlib.util.find_spec("onnxruntime") is None or importlib.util.find_spec("onnx") is None:
            return install_hint("onnx")
        return None

    def version(self) -> str:
        import onnxruntime

        return onnxruntime.__version__

    def convert(self, model: Any, example: Any) -> bytes:
        return export_onnx(model, example)

    def load(self, artifact: bytes, example: Any) -> Callable[[], Any]:
        import onnxruntime as ort

        so = session_options(
            self.threads,
            str(self.options.get("graph_optimization", "all")),
            inter_op_threads=int(self.options.get("inter_op_threads", 1)),
        )
        if self.device == "cuda":
            if "CUDAExecutionProvider" not in ort.get_available_providers():
                raise RuntimeUnavailableError(
                    "this onnxruntime build has no CUDAExecutionProvider (install onnxruntime-gpu)"
                )
            providers = ["CUDAExecutionProvider"]
        else:
            providers = ["CPUExecutionProvider"]
        session = ort.InferenceSession(artifact, so, providers=providers)
        feeds = {session.get_inputs()[0].name: example.detach().cpu().numpy()}
        if self.device == "cuda":
            binding = session.io_binding()
            binding.bind_cpu_input(session.get_inputs()[0].name, feeds[session.get_inputs()[0].name])
            binding.bind_output(session.get_outputs()[0].name, "cuda")

            def run_cuda() -> None:
                session.run_with_iobinding(binding)  # returns after the device work completes

            return run_cuda
        return lambda: session.run(None, feeds)
