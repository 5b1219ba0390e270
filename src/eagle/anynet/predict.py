"""Predict a network's latency from its kernels (``eagle predict --model X --kernels K.pt``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from eagle.anynet.onnxgraph import Kernel, Profile, profile_kernels

if TYPE_CHECKING:
    from eagle.anynet.kernels.model import KernelModel


@dataclass
class NetworkPrediction:
    """A network's predicted latency, kernel by kernel."""

    spec: str
    latency_s: float
    kernels: list[Kernel]
    kernel_s: np.ndarray  # predicted seconds per kernel
    overhead_s: float
    macs: int  # of the network as written (not the runtime's padded channels)

    def layers(self) -> list[tuple[str, str, float, float]]:
        """(layer, kernel operator(s), predicted ms, share of the total) per layer, slowest first."""
        ops: dict[str, set[str]] = {}
        seconds: dict[str, float] = {}
        for k, t in zip(self.kernels, self.kernel_s):
            key = k.layer or k.name
            ops.setdefault(key, set()).add(k.op + (f"+{k.act}" if k.act else ""))
            seconds[key] = seconds.get(key, 0.0) + float(t)
        rows = [(layer, "/".join(sorted(ops[layer])), 1e3 * t, t / self.latency_s) for layer, t in seconds.items()]
        return sorted(rows, key=lambda r: -r[2])


def network_profile(spec: str, *, seed: int = 0, batch_size: int = 1, threads: int = 1, optimization: str = "all",
                    runs: int = 1, warmup: int = 0) -> tuple[Profile, bytes]:  # fmt: skip
    """The network's kernels as ORT runs them (built as a measurement builds it), and its ONNX bytes."""
    import torch

    from eagle import spaces
    from eagle.runtimes.onnx_export import export_onnx

    space = spaces.get("models")
    model = space.build_for_measurement(spec, {}, seed=seed)
    example = torch.randn(batch_size, *space.input_shape(spec), generator=torch.Generator().manual_seed(seed))
    with torch.no_grad():
        data = export_onnx(model, example)
    return profile_kernels(data, threads=threads, optimization=optimization, runs=runs, warmup=warmup, seed=seed), data


def profile_for(
    model: KernelModel | None, spec: str, *, seed: int = 0, batch_size: int = 1, runs: int = 1
) -> tuple[Profile, bytes]:
    """:func:`network_profile` under the runtime settings ``model``'s kernels were profiled with
    (ORT's defaults of one thread and full optimisation without a model); with ``runs`` > 1 each
    kernel's duration is its median over that many profiled runs (after two warm-up runs)."""
    rt = model.runtime_ if model is not None else {}
    return network_profile(
        spec,
        seed=seed,
        batch_size=batch_size,
        threads=int(rt.get("threads", 1)),
        optimization=str(rt.get("optimization", "all")),
        runs=runs,
        warmup=2 if runs > 1 else 0,
    )


def predict_network(spec: str, model: KernelModel, *, seed: int = 0, batch_size: int = 1) -> NetworkPrediction:
    """Predicted latency of ``spec`` with ``model``, under the runtime settings it was profiled with."""
    from eagle.anynet.onnxgraph import onnx_costs

    profile, data = profile_for(model, spec, seed=seed, batch_size=batch_size)
    ks = profile.kernels
    per = model.predict_kernels(ks)
    over = model.overhead_s(len(ks))
    return NetworkPrediction(spec, model.predict(ks), ks, per, over, onnx_costs(data)[0])
