"""``torch``: PyTorch eager (CPU; CUDA with events/synchronisation when a GPU is present)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eagle.runtimes.base import Runtime


class TorchRuntime(Runtime):
    """Eager PyTorch under ``torch.inference_mode``.

    Options: ``cuda_graph`` (bool, CUDA only) captures the forward pass once and replays it.
    On CUDA, ``run_once`` ends with ``torch.cuda.synchronize()`` so wall time is latency.
    """

    name = "torch"
    precisions = ("fp32", "fp16")
    devices = ("cpu", "cuda")

    @classmethod
    def unavailable_reason(cls) -> str | None:
        return None

    def version(self) -> str:
        import torch

        return torch.__version__

    def setup_process(self) -> None:
        import torch

        torch.set_num_threads(self.threads)
        try:
            torch.set_num_interop_threads(1)
        except RuntimeError:
            pass  # already set in this process
        torch.set_flush_denormal(True)
        if self.device == "cuda" and not torch.cuda.is_available():
            from eagle.runtimes.base import RuntimeUnavailableError

            raise RuntimeUnavailableError("runtime 'torch' on device 'cuda' needs a CUDA GPU; none is visible")
        if self.precision == "fp16" and self.device == "cpu":
            from eagle.errors import EagleError

            raise EagleError("fp16 with the torch runtime needs --device cuda")

    def convert(self, model: Any, example: Any) -> Any:
        import torch

        dtype = torch.float16 if self.precision == "fp16" else torch.float32
        model = model.to(device=self.device, dtype=dtype).eval()
        return model, example.to(device=self.device, dtype=dtype)

    def load(self, artifact: Any, example: Any) -> Callable[[], Any]:
        import torch

        model, x = artifact
        if self.device != "cuda":

            def run_cpu() -> Any:
                with torch.inference_mode():
                    return model(x)

            return run_cpu
        if self.options.get("cuda_graph"):
            static_x = x.clone()
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream), torch.inference_mode():
                for _ in range(3):
                    model(static_x)
            torch.cuda.current_stream().wait_stream(stream)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph), torch.inference_mode():
                model(static_x)

            def run_graph() -> None:
                graph.replay()
                torch.cuda.synchronize()

            return run_graph

        def run_cuda() -> None:
            with torch.inference_mode():
                model(x)
            torch.cuda.synchronize()

        return run_cuda
