"""Analytic reference devices: the latency an NB201 arch would have if one simple cost set it.

The few-shot mixture can only say "the new device behaves like a known one". A device unlike
every known one often still obeys a simple physical cost: compute-bound hardware (a CPU running
one thread) takes time in proportion to the FLOPs; launch-bound hardware (a big GPU at batch 1)
in proportion to the number of kernels, of the pruned network or, where the runtime keeps dead
branches, of the whole one; most hardware sits in between (a launch cost per kernel plus a
compute cost per FLOP), at five balances of the two. Kernels are counted twice over: as a runtime
that fuses ReLU-conv-BN runs them (one per conv or pool op), and as PyTorch eager runs them
(three per conv, one per pool, one per addition where branches merge). These columns join the
known devices as mixture components (not the basis). Measured in benchmarks/fewshot_bench.py
(k = 10, HELP's protocol): on six devices no pretraining saw, mean Spearman 0.904 -> 0.932 (this
machine's CPU: ONNX Runtime 0.942 -> 0.987, OpenVINO 0.935 -> 0.990); on the 25 shared devices
0.909 -> 0.915.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from eagle.spaces.base import SearchSpace
from eagle.spaces.nasbench201.graph import op_counts  # re-exported: the per-op counts the models read

#: ops that launch a kernel: nor_conv_1x1, nor_conv_3x3, avg_pool_3x3 (none and skip do not)
KERNEL_OPS = (2, 3, 4)
#: fixed work outside the cells, as a fraction of the median arch's FLOPs / in kernels per cell
FLOPS_OVERHEAD = 0.05
KERNEL_OVERHEAD = 1.0
#: kernels PyTorch eager launches per op: ReLU + conv + BN for a conv, one for a pool, none for skip
EAGER_KERNELS = {2: 3, 3: 3, 4: 1}
EAGER_OVERHEAD = 2.0
#: compute cost relative to launch cost (each normalised by its median arch) of the mixed references
BALANCES = (0.1, 0.3, 1.0, 3.0, 10.0)


@lru_cache(maxsize=1)
def analytic_latency() -> dict[str, np.ndarray]:
    """``{name: latency-like positive value by NB201 index}`` for the analytic reference devices."""
    from eagle.spaces.nasbench201 import NASBench201
    from eagle.spaces.nasbench201.graph import EDGES, live_edges

    space = NASBench201()
    flops = np.array([row["macs_deployed"] for row in space.table()], dtype=np.float64)
    counts = op_counts()
    live = counts["live-edges"][:, KERNEL_OPS].sum(axis=1)
    every = counts["all-edges"][:, KERNEL_OPS].sum(axis=1)
    eager = np.zeros(space.num_archs)
    for i, vec in enumerate(space.archs()):
        merging: dict[int, int] = {}
        for (_, dst), op, alive in zip(EDGES, vec, live_edges(vec)):
            if alive:
                eager[i] += EAGER_KERNELS.get(op, 0)
                merging[dst] = merging.get(dst, 0) + 1
        eager[i] += sum(n - 1 for n in merging.values())  # one addition per extra incoming branch
    compute = flops + FLOPS_OVERHEAD * np.median(flops)
    launch = {"kernels": KERNEL_OVERHEAD + live, "eager-kernels": EAGER_OVERHEAD + eager}
    out = {
        "analytic/flops": compute,
        "analytic/kernels-live": launch["kernels"],
        "analytic/kernels-all": KERNEL_OVERHEAD + every,
        "analytic/eager-kernels": launch["eager-kernels"],
    }
    relative_compute = compute / np.median(compute)
    for family, kernels in launch.items():
        for balance in BALANCES:
            out[f"analytic/{family}+{balance:g}flops"] = kernels / np.median(kernels) + balance * relative_compute
    for values in out.values():
        values.setflags(write=False)
    return out


def cost_references(costs: np.ndarray, offset: np.ndarray) -> dict[str, np.ndarray]:
    """The FLOPs-bound and the size-bound reference device for archs of any space: MACs (column 0)
    and parameters (column 1) of ``costs`` plus a fixed cost each (``offset``)."""
    return {"analytic/flops": costs[:, 0] + offset[0], "analytic/params": costs[:, 1] + offset[1]}


def reference_latency(space: SearchSpace) -> dict[str, np.ndarray]:
    """The analytic reference devices of an enumerable ``space``, by arch index.

    NB201 has its own (:func:`analytic_latency`: FLOPs, kernels live and all, eager kernels, and
    their mixes); any other space gets the FLOPs-bound device and a size-bound one (parameters).
    """
    if space.name == "nasbench201":
        return analytic_latency()
    costs = space.costs(np.arange(space._need_enumerable("analytic references")))
    return cost_references(costs, FLOPS_OVERHEAD * np.median(costs, axis=0) + 1.0)
