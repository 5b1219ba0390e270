"""A network's kernels as ONNX Runtime executes them, read from ORT's own profiler.

ORT rewrites a graph before running it (BatchNorm folded into convolutions, activations and
residual additions fused into them, NCHWc layout blocks with reorder kernels between them, shape
arithmetic folded away). Which fusions apply depends on the runtime version and the CPU, so
Eagle does not assume them: :func:`profile_kernels` runs the model under ORT's profiler (the same
session options as a measurement) and reads, for every kernel that ran, its operator, the
activation fused into it, its input and output shapes and its duration. That one list is both
what the kernel predictor prices and, summed, the per-layer measurement of the network.
"""

from __future__ import annotations

import hashlib
import json
import re
import statistics
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eagle.anynet.limits import run_deadline, run_timeout_s
from eagle.errors import EagleError
from eagle.runtimes.onnxruntime_runtime import session_options

#: activations ORT fuses into a convolution show up as the suffix of the fused kernel's name
_FUSED_ACT = re.compile(r"/(Relu|Clip|HardSigmoid|HardSwish|Sigmoid|LeakyRelu|Tanh|Add|Sum)(?:_\d+)?_output_0")


@dataclass
class Kernel:
    """One kernel as run: ORT operator, fused activation ('' when none), shapes, measured duration."""

    name: str
    op: str
    act: str
    inputs: list[list[int]]
    outputs: list[list[int]]
    duration_s: float = 0.0
    layer: str = ""
    cold_s: float = 0.0  # duration with the caches flushed before the run (0: not profiled so)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "op": self.op,
            "act": self.act,
            "inputs": self.inputs,
            "outputs": self.outputs,
            "duration_s": self.duration_s,
            "layer": self.layer,
            "cold_s": self.cold_s,
        }


@dataclass
class Profile:
    """A profiled network: its kernels (durations: medians over runs) and whole-run times."""

    kernels: list[Kernel]
    run_s: list[float] = field(default_factory=list)  # ORT's model_run durations
    wall_s: list[float] = field(default_factory=list)  # Python's clock around session.run

    @property
    def kernel_sum_s(self) -> float:
        return sum(k.duration_s for k in self.kernels)


def _layer_of(name: str) -> str:
    """The module scope of an exported node name (``/layer1/layer1.0/conv1/Conv`` -> ``layer1/layer1.0/conv1``)."""
    if not name.startswith("/"):
        return ""
    parts = name.strip("/").split("/")[:-1]
    return "/".join(parts)


def denormals_flushed() -> bool:
    """Whether this thread flushes denormal floats to zero now (halving the smallest normal float
    gives 0 then)."""
    import numpy as np

    tiny = np.array([np.finfo(np.float64).tiny])
    return bool((tiny / 2)[0] == 0)


@contextmanager
def flushed_denormals() -> Iterator[None]:
    """Flush denormal floats to zero on this thread inside the block, as the measurement worker
    does for its whole life (``torch.set_flush_denormal``): ORT runs a one-thread session on the
    calling thread, and random-weight networks produce denormals that would otherwise slow some
    kernels many-fold. The caller's floating-point state is restored afterwards."""
    import torch

    before = denormals_flushed()
    torch.set_flush_denormal(True)
    try:
        yield
    finally:
        torch.set_flush_denormal(before)


#: bytes written before a cold run: well above the last-level caches of current CPUs
FLUSH_BYTES = 96 << 20


def profile_kernels(
    onnx_bytes: bytes,
    *,
    threads: int = 1,
    optimization: str = "all",
    runs: int = 5,
    warmup: int = 2,
    cold_runs: int = 0,
    seed: int = 0,
    timeout_s: float | None = None,
) -> Profile:
    """Run ``onnx_bytes`` under ORT's profiler: ``warmup`` runs, ``runs`` timed runs back to back
    (warm caches), then ``cold_runs`` timed runs each after the caches were flushed (the weights
    come from memory, as in a network too large for the caches; the input is read just before).

    Each kernel's ``duration_s`` is its median over the warm runs, ``cold_s`` over the cold ones.
    Shapes are logical NCHW (ORT reports them so even for NCHWc kernels). All runs together stop
    after ``timeout_s`` (default :func:`~eagle.anynet.limits.run_timeout_s`) with an error.
    """
    import numpy as np
    import onnxruntime as ort

    with flushed_denormals(), tempfile.TemporaryDirectory(prefix="eagle-ort-profile-") as tmp:
        so = session_options(threads, optimization, profile_dir=tmp)
        try:
            session = ort.InferenceSession(onnx_bytes, so, providers=["CPUExecutionProvider"])
        except Exception as exc:  # ORT raises its own types for invalid graphs
            raise EagleError(f"ONNX Runtime cannot load the model: {exc}") from None
        feeds = _random_feeds(session, seed)
        scratch = np.empty(FLUSH_BYTES // 8, dtype=np.float64) if cold_runs else None
        wall: list[float] = []
        options = _run_options()
        with run_deadline(options, timeout_s or run_timeout_s()):
            for i in range(warmup + runs + cold_runs):
                if scratch is not None and i >= warmup + runs:
                    scratch.fill(float(i))  # evict the caches
                    for x in feeds.values():
                        float(x.sum())  # ... but not the input, which a network's previous kernel just wrote
                t0 = time.perf_counter()
                _run(session, feeds, options, timeout_s or run_timeout_s())
                if warmup <= i < warmup + runs:
                    wall.append(time.perf_counter() - t0)
        path = session.end_profiling()
        with open(path) as fh:
            events = json.load(fh)
    return _parse_profile(events, warmup, runs, wall)


def _parse_profile(events: list[dict[str, Any]], warmup: int, runs: int, wall: list[float]) -> Profile:
    model_runs = sorted((e for e in events if e.get("name") == "model_run"), key=lambda e: e["ts"])
    timed = model_runs[warmup:]
    if not timed:
        raise EagleError("ONNX Runtime's profile holds no timed run")
    bounds = [(e["ts"], e["ts"] + e["dur"]) for e in timed]
    per_node: dict[str, list[list[float]]] = {}
    info: dict[str, dict[str, Any]] = {}
    order: list[str] = []
    for e in events:
        if e.get("cat") != "Node" or not str(e.get("name", "")).endswith("_kernel_time"):
            continue
        run = next((r for r, (a, b) in enumerate(bounds) if a <= e["ts"] <= b), None)
        if run is None:
            continue
        name = e["name"][: -len("_kernel_time")]
        if name not in info:
            info[name] = e["args"]
            order.append(name)
            per_node[name] = [[], []]
        per_node[name][0 if run < runs else 1].append(float(e["dur"]) * 1e-6)
    kernels = []
    for name in order:
        args = info[name]
        m = _FUSED_ACT.search(name)
        op = str(args.get("op_name", "?"))
        act = m.group(1) if (m and op in ("Conv", "FusedConv")) else ""
        warm, cold = per_node[name]
        kernels.append(
            Kernel(
                name=name,
                op=op,
                act=act,
                inputs=[list(next(iter(d.values()))) for d in args.get("input_type_shape", [])],
                outputs=[list(next(iter(d.values()))) for d in args.get("output_type_shape", [])],
                duration_s=statistics.median(warm) if warm else 0.0,
                layer=_layer_of(name),
                cold_s=statistics.median(cold) if cold else 0.0,
            )
        )
    return Profile(kernels, [float(e["dur"]) * 1e-6 for e in timed[:runs]], wall)


def _random_feeds(session: Any, seed: int) -> dict[str, Any]:
    """Standard-normal float32 inputs for every input of an ORT session (free dimensions: 1)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    return {
        i.name: rng.standard_normal([d if isinstance(d, int) and d > 0 else 1 for d in i.shape]).astype(np.float32)
        for i in session.get_inputs()
    }


def time_plain(
    onnx_bytes: bytes, *, threads: int = 1, optimization: str = "all", runs: int = 5, warmup: int = 2
) -> float:
    """Median seconds of ``session.run`` without the profiler (what a measurement times)."""
    import onnxruntime as ort

    with flushed_denormals():
        session = ort.InferenceSession(
            onnx_bytes, session_options(threads, optimization), providers=["CPUExecutionProvider"]
        )
        feeds = _random_feeds(session, 0)
        times = []
        options = _run_options()
        with run_deadline(options, run_timeout_s()):
            for n in range(warmup + runs):
                t0 = time.perf_counter()
                _run(session, feeds, options, run_timeout_s())
                if n >= warmup:
                    times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _run_options() -> Any:
    """ORT run options whose run can be terminated quietly (the error below says what happened)."""
    import onnxruntime as ort

    options = ort.RunOptions()
    options.log_severity_level = 4
    return options


def _run(session: Any, feeds: dict[str, Any], options: Any, timeout_s: float) -> Any:
    """``session.run`` that ends in one clear error when ``options`` was terminated by its deadline
    (:func:`~eagle.anynet.limits.run_deadline`) or the graph fails at run time."""
    try:
        return session.run(None, feeds, options)
    except Exception as exc:  # ORT's own exception types
        if options.terminate:
            raise EagleError(
                f"the network did not finish running in {timeout_s:g} s (a huge loop, or far too large for this "
                "machine); raise $EAGLE_RUN_TIMEOUT_S if it is meant to be that slow"
            ) from None
        raise EagleError(f"ONNX Runtime failed to run the model: {' '.join(str(exc).split())[:300]}") from None


def graph_sha256(onnx_bytes: bytes) -> str:
    """Content hash of a network's ONNX graph: operators, attributes, wiring and tensor shapes.

    Weight *values* are left out (latency does not depend on them; two seeds of one network hash
    alike); small constants (reshape targets, pads) are kept, and so are names, which the exporter
    derives from the module structure.
    """
    import onnx

    model = onnx.load_from_string(onnx_bytes)
    g = model.graph
    for init in g.initializer:
        if numel(init.dims) > 64:
            init.ClearField("raw_data")
            for f in ("float_data", "int32_data", "int64_data", "double_data", "uint64_data"):
                init.ClearField(f)
    for node in g.node:
        node.ClearField("doc_string")
    g.ClearField("doc_string")
    return hashlib.sha256(g.SerializeToString(deterministic=True)).hexdigest()


def onnx_costs(onnx_bytes: bytes) -> tuple[int, int]:
    """(MACs of convolutions and matrix products, parameters) of an ONNX model, from its own graph
    (ONNX shape inference), as :func:`eagle.spaces.counting.count_macs_params` counts a torch model."""
    import onnx

    model = onnx.shape_inference.infer_shapes(onnx.load_from_string(onnx_bytes))
    g = model.graph
    inits = {i.name: list(i.dims) for i in g.initializer}
    shapes = {v.name: [d.dim_value for d in v.type.tensor_type.shape.dim] for v in [*g.input, *g.value_info, *g.output]}
    macs = 0
    for node in g.node:
        w = inits.get(node.input[1]) if len(node.input) > 1 else None
        out = shapes.get(node.output[0]) if node.output else None
        if not w or not out or any(d <= 0 for d in out):
            continue
        per_example = numel(out[1:])
        if node.op_type == "Conv" and len(w) == 4:
            macs += per_example * w[1] * w[2] * w[3]
        elif node.op_type in ("Gemm", "MatMul") and len(w) == 2:
            trans_b = any(a.name == "transB" and a.i for a in node.attribute)
            macs += per_example * (w[1] if trans_b else w[0])
    params = sum(numel(dims) for dims in inits.values())
    return macs, params


def numel(dims: Any) -> int:
    """Elements of a tensor of shape ``dims``."""
    n = 1
    for d in dims:
        n *= int(d)
    return n
