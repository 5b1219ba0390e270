"""``torch``: PyTorch eager (CPU; CUDA with events/synchronisation when a GPU is present)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from eagle.runtimes.base import Runtime


class TorchRuntime(Runtime):
    """Eager PyTorch under ``torch.inference_mode``.

    Options (CUDA only): ``cuda_graph`` (bool) captures the forward pass once and replays it;
    ``timer`` = ``events`` (default: CUDA events around each inference) or ``wall`` (host clock).
    On CUDA, ``run_once`` ends with ``torch.cuda.synchronize()`` so wall time is latency too.
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
                static_out = model(static_x)

            def forward() -> Any:
                graph.replay()
                return static_out

        else:

            def forward() -> Any:
                with torch.inference_mode():
                    return model(x)

        return CudaRun(forward, self.options.get("timer", "events"))


class CudaRun:
    """One synchronised CUDA inference per call; ``timed()`` also measures it.

    ``timer='events'`` (default) reads the latency from CUDA events recorded around the forward
    pass on the current stream (GPU timeline from the first launch to the last kernel's end, no
    host-clock jitter from the final synchronisation); ``timer='wall'`` leaves timing to the
    protocol's host clock. Either way every call ends with ``torch.cuda.synchronize()``.
    """

    def __init__(self, forward: Callable[[], Any], timer: str = "events") -> None:
        import torch

        if timer not in ("events", "wall"):
            from eagle.errors import EagleError

            raise EagleError(f"runtime option timer={timer!r}: choose events or wall")
        self._forward = forward
        self._sync = torch.cuda.synchronize
        if timer == "events":
            self._start = torch.cuda.Event(enable_timing=True)
            self._end = torch.cuda.Event(enable_timing=True)
            self.timed = self._timed_events

    def __call__(self) -> Any:
        out = self._forward()
        self._sync()
        return out

    def _timed_events(self) -> float:
        """Seconds between CUDA events recorded before and after one inference."""
        self._start.record()
        self._forward()
        self._end.record()
        self._end.synchronize()
        return self._start.elapsed_time(self._end) * 1e-3
