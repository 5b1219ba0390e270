"""Bounds on building and running a network a spec names: time and memory.

A spec's keyword values are literals, but literals can still ask for a network that takes hours
to build (``mobilenet_v2(inverted_residual_setting=[[1, 16, 60000, 1]])``) or more memory than
the machine has (a 1e6-class head, a 16384x16384 input). :func:`bounded_build` runs a build with
a deadline (``EAGLE_BUILD_TIMEOUT_S``, default 120 s; enforced where a signal can interrupt the
building code, i.e. on the main thread) and a cap on the memory it may take (the address space
this process may grow by: ``EAGLE_BUILD_MEMORY_FRACTION`` of the memory available now, default
0.8), so either ends in one clear error instead of a hang or the kernel's OOM killer.
:func:`check_runs` runs the network once on meta tensors (no memory, no compute) to check the
input shape fits it and its activations fit in memory. :func:`run_deadline` stops an ONNX
Runtime run that passes its deadline (a graph with a huge loop).
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import TYPE_CHECKING

from eagle.errors import EagleError, InvalidArchError, show

if TYPE_CHECKING:
    import torch
    from torch import nn

DEFAULT_BUILD_TIMEOUT_S = 120.0
DEFAULT_RUN_TIMEOUT_S = 300.0
DEFAULT_MEMORY_FRACTION = 0.8
DEFAULT_MAX_MACS = 1e12


class BuildTimeout(EagleError):
    """A network took longer to build than the deadline."""


def _env_float(name: str, default: float, low: float, high: float) -> float:
    text = os.environ.get(name)
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise EagleError(f"${name}={text!r} is not a number") from None
    if not low <= value <= high:
        raise EagleError(f"${name}={text!r} must lie in {low:g}..{high:g}")
    return value


def run_timeout_s() -> float:
    """Seconds a network's runs in one profile may take in this process (``EAGLE_RUN_TIMEOUT_S``,
    default 300, as ``eagle measure --timeout``)."""
    return _env_float("EAGLE_RUN_TIMEOUT_S", DEFAULT_RUN_TIMEOUT_S, 1.0, 24 * 3600.0)


def build_timeout_s() -> float:
    return _env_float("EAGLE_BUILD_TIMEOUT_S", DEFAULT_BUILD_TIMEOUT_S, 1.0, 24 * 3600.0)


def available_memory_bytes() -> int | None:
    """MemAvailable from /proc/meminfo (None where there is none)."""
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None


def memory_budget_bytes() -> int | None:
    """How much more memory a build or an input may take: a share of what is available now."""
    avail = available_memory_bytes()
    if avail is None:
        return None
    return int(avail * _env_float("EAGLE_BUILD_MEMORY_FRACTION", DEFAULT_MEMORY_FRACTION, 0.05, 1.0))


def _address_space_bytes() -> int | None:
    try:
        with open("/proc/self/statm") as fh:
            return int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return None


@contextlib.contextmanager
def _memory_cap(extra: int | None) -> Iterator[None]:
    """Let this process's address space grow by at most ``extra`` bytes inside the block
    (RLIMIT_AS; allocations past it fail with MemoryError instead of waking the OOM killer)."""
    try:
        import resource
    except ImportError:  # not a Unix
        yield
        return
    now = _address_space_bytes()
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if extra is None or now is None:
        yield
        return
    cap = now + extra
    if hard != resource.RLIM_INFINITY:
        cap = min(cap, hard)
    if soft != resource.RLIM_INFINITY and soft <= cap:
        yield  # already capped tighter
        return
    try:
        resource.setrlimit(resource.RLIMIT_AS, (cap, hard))
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


class _Expired(BaseException):
    """Raised by the deadline's signal handler; a BaseException, so that a library's broad
    ``except Exception`` cannot swallow it (it is turned into :class:`BuildTimeout` below)."""


@contextlib.contextmanager
def _deadline(seconds: float, what: str) -> Iterator[None]:
    """Raise :class:`BuildTimeout` in the block after ``seconds`` (main thread only; elsewhere
    the caller's own timeout applies, e.g. the measurement driver's ``--timeout``). The signal
    repeats every second until the block ends."""
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "setitimer"):
        yield
        return

    def expired(signum: int, frame: FrameType | None) -> None:
        raise _Expired

    previous = signal.signal(signal.SIGALRM, expired)
    signal.setitimer(signal.ITIMER_REAL, seconds, 1.0)
    try:
        yield
    except _Expired:
        raise BuildTimeout(
            f"{what} did not finish building in {seconds:g} s: a network this large cannot be timed here "
            "(make it smaller, or raise $EAGLE_BUILD_TIMEOUT_S)"
        ) from None
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@contextlib.contextmanager
def bounded_build(key: str) -> Iterator[None]:
    """Build the network of spec ``key`` inside this block: at most :func:`build_timeout_s`
    seconds and :func:`memory_budget_bytes` more memory, or one clear :class:`EagleError`."""
    budget = memory_budget_bytes()
    try:
        with _deadline(build_timeout_s(), f"model spec {show(key)}"), _memory_cap(budget):
            yield
    except MemoryError:
        gb = f" (about {budget / 2**30:.1f} GiB free for it)" if budget else ""
        raise EagleError(f"model spec {show(key)} needs more memory than this machine has{gb}") from None


def max_macs() -> float:
    """Multiply-accumulates per example above which a network is refused (``EAGLE_MAX_MACS``)."""
    return _env_float("EAGLE_MAX_MACS", DEFAULT_MAX_MACS, 1e3, 1e18)


def check_runs(model: nn.Module, input_shape: tuple[int, ...], key: str, *, dtype: torch.dtype | None = None) -> None:
    """Run ``model`` once on a meta tensor of ``input_shape`` (batch first): no memory, no compute.

    Refuses an input the network cannot take (too small for its poolings, the wrong channel count,
    the wrong size for a ViT: the network's own message), activations that would not fit in
    memory, and more than :func:`max_macs` per example (hours per measurement on a CPU).
    Operators without a meta implementation skip the check (the real run will tell).
    """
    from eagle.spaces.counting import meta_forward

    shown = "x".join(str(d) for d in input_shape)
    try:
        seen = meta_forward(model, input_shape, dtype)
    except NotImplementedError:
        return  # an operator with no meta kernel: nothing learnt
    except Exception as exc:
        text = " ".join(str(exc).split())
        raise InvalidArchError(
            f"model spec {show(key)} does not run on a {shown} input: {type(exc).__name__}: {text[:200]}"
        ) from None
    if seen is None:
        return
    budget = memory_budget_bytes()
    if budget is not None and 3 * seen.largest_output_bytes > budget:
        raise EagleError(
            f"model spec {show(key)} at input {shown} makes activations of "
            f"{seen.largest_output_bytes / 2**30:.1f} GiB; with about {budget / 2**30:.1f} GiB free that does not "
            "fit: use a smaller input or batch"
        )
    if seen.macs > max_macs():
        raise EagleError(
            f"model spec {show(key)} at input {shown} takes {seen.macs:.3g} multiply-accumulates per example, "
            f"over Eagle's bound of {max_macs():.3g} (hours per measurement here): use a smaller input "
            "(or raise $EAGLE_MAX_MACS)"
        )


@contextlib.contextmanager
def run_deadline(run_options: object, seconds: float) -> Iterator[None]:
    """Stop the ONNX Runtime runs given ``run_options`` once ``seconds`` have passed (ORT checks
    ``terminate`` between kernels; the run then raises)."""
    timer = threading.Timer(seconds, lambda: setattr(run_options, "terminate", True))
    timer.daemon = True
    timer.start()
    try:
        yield
    finally:
        timer.cancel()
