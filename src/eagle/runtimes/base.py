"""The runtime contract: how a built PyTorch model is converted, loaded and run once.

A runtime instance is configured once (threads, precision, device) and then used for many
models, one at a time, in a single worker process. It is **not** thread-safe.

``convert(model, example)`` returns an artifact (bytes or an object) that ``load`` turns into a
``run_once`` callable: each call performs exactly one inference on the fixed example input and
returns only when the result is complete (GPU work synchronised), so wall time around it is the
inference latency. Conversion may be slow; it is never timed as latency.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from typing import Any, ClassVar

from eagle.errors import EagleError


class RuntimeUnavailableError(EagleError):
    """The runtime's package (or the requested device/precision) is not installed here."""


class Runtime(ABC):
    """Base class of every runtime; see the module docstring for the contract."""

    name: ClassVar[str]
    #: Precisions this runtime accepts (first one is the default).
    precisions: ClassVar[tuple[str, ...]] = ("fp32",)
    #: Devices this runtime accepts (first one is the default).
    devices: ClassVar[tuple[str, ...]] = ("cpu",)

    def __init__(
        self, *, threads: int = 1, precision: str | None = None, device: str | None = None, **options: Any
    ) -> None:
        self.threads = int(threads)
        if self.threads < 1:
            raise EagleError(f"threads must be >= 1, got {threads}")
        self.precision = precision or self.precisions[0]
        if self.precision not in self.precisions:
            raise EagleError(
                f"runtime {self.name!r} does not support precision {self.precision!r}; "
                f"choose one of {', '.join(self.precisions)}"
            )
        self.device = device or self.devices[0]
        if self.device not in self.devices:
            raise EagleError(
                f"runtime {self.name!r} does not support device {self.device!r}; "
                f"choose one of {', '.join(self.devices)}"
            )
        self.options = options

    @classmethod
    def unavailable_reason(cls) -> str | None:
        """None when usable here, else a sentence saying what to install."""
        return None

    @classmethod
    def available(cls) -> bool:
        return cls.unavailable_reason() is None

    def check_available(self) -> None:
        reason = self.unavailable_reason()
        if reason:
            raise RuntimeUnavailableError(f"runtime {self.name!r} is not available: {reason}")

    @abstractmethod
    def version(self) -> str:
        """Version string of the underlying library."""

    @abstractmethod
    def convert(self, model: Any, example: Any) -> Any:
        """Turn a torch ``nn.Module`` (eval mode) and example input into this runtime's artifact."""

    @abstractmethod
    def load(self, artifact: Any, example: Any) -> Callable[[], Any]:
        """Load ``artifact`` and return ``run_once`` (one synchronised inference on ``example``)."""

    def describe(self) -> dict[str, Any]:
        """Identity of this configured runtime, stored with every run."""
        return {
            "runtime": self.name,
            "version": self.version(),
            "threads": self.threads,
            "precision": self.precision,
            "device": self.device,
            "options": dict(sorted(self.options.items())),
        }

    @property
    def computes_on_cpu(self) -> bool:
        """Whether an inference keeps this process's threads busy for its whole duration, so a
        round whose CPU time falls short of its wall time was descheduled (the interleaved
        protocol discards it). False for accelerators, which the host waits on."""
        return self.device == "cpu"

    def setup_process(self) -> None:  # noqa: B027 - optional hook
        """Called once in the worker process before any model (thread pools, flags)."""
