"""How many CPU threads Eagle's own compute uses (training, prediction, few-shot, search).

Eagle's models are small (a 64-wide GCN on 9-node graphs, low-rank linear algebra): a second
intra-op thread buys little, and on a machine where other work runs, idle threads that spin
waiting for a busy core make training several times slower. So Eagle computes on **one thread**
unless asked: ``--threads N`` on the command line, ``EAGLE_THREADS`` in the environment, or
:func:`limited_threads` in code. It bounds PyTorch's intra-op pool and the BLAS/OpenMP pools of
numpy, scipy and scikit-learn (through threadpoolctl). Measurement runtimes have their own
``--threads`` (the runtime's threads on the device), which this module does not touch.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from eagle.errors import UsageError

ENV = "EAGLE_THREADS"


def default_threads() -> int:
    """``EAGLE_THREADS`` if set (a whole number >= 1), else 1."""
    text = os.environ.get(ENV, "").strip()
    if not text:
        return 1
    if not (text.isascii() and text.isdigit()) or not 1 <= int(text) <= 1024:
        raise UsageError(f"{ENV}={text!r}: expected a whole number of threads from 1 to 1024")
    return int(text)


@contextmanager
def limited_threads(n: int | None = None) -> Iterator[int]:
    """Run the block with at most ``n`` compute threads (default :func:`default_threads`)."""
    import torch
    from threadpoolctl import threadpool_limits

    n = default_threads() if n is None else int(n)
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        with threadpool_limits(limits=n):
            yield n
    finally:
        torch.set_num_threads(before)
