"""Contract tests: every runtime converts, loads and runs an NB201 model and agrees with torch."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from eagle import runtimes
from eagle.errors import EagleError
from eagle.spaces.nasbench201.builder import build_model

ARCH = "|nor_conv_3x3~0|+|nor_conv_1x1~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"


def _runtime(name, **kwargs):
    cls = runtimes.get(name)
    if not cls.available():
        pytest.skip(f"runtime {name} not installed here: {cls.unavailable_reason()}")
    rt = cls(**kwargs)
    rt.setup_process()
    return rt


@pytest.mark.parametrize("name", runtimes.names())
def test_runtime_contract(name):
    rt = _runtime(name)
    model = build_model(ARCH, calibration_batch=4)
    x = torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    run_once = rt.load(rt.convert(model, x), x)
    out = run_once()
    run_once()
    assert rt.version()
    desc = rt.describe()
    assert desc["runtime"] == name and desc["threads"] == 1 and desc["precision"] == "fp32"
    if name in ("onnxruntime", "openvino", "torch", "litert"):
        with torch.no_grad():
            ref = model(x).numpy()
        got = out[0] if isinstance(out, list) else out
        if name == "openvino":
            got = next(iter(out.values()))
        if name == "torch":
            got = got.numpy()
        if got is not None:
            np.testing.assert_allclose(np.asarray(got), ref, rtol=1e-3, atol=1e-3)


def test_litert_int8_is_smaller_and_runs():
    fp32, int8 = _runtime("litert"), _runtime("litert", precision="int8")
    model = build_model(ARCH)
    x = torch.randn(1, 3, 32, 32)
    a, b = fp32.convert(model, x), int8.convert(model, x)
    assert len(b) < 0.5 * len(a)
    int8.load(b, x)()


def test_openvino_precision_is_explicit():
    rt = _runtime("openvino")
    from eagle.runtimes.openvino_runtime import _PRECISION_HINT

    assert _PRECISION_HINT["fp32"] == "f32"
    model = build_model(ARCH)
    x = torch.randn(1, 3, 32, 32)
    import openvino as ov

    compiled = ov.Core().compile_model(
        ov.Core().read_model(rt.convert(model, x), b""), "CPU", {"INFERENCE_PRECISION_HINT": "f32"}
    )
    assert str(compiled.get_property("INFERENCE_PRECISION_HINT")) in ("f32", "<Type: 'float32'>")


def test_bad_options_are_clear_errors():
    with pytest.raises(EagleError, match="does not support precision 'int4'"):
        runtimes.create("onnxruntime", precision="int4")
    with pytest.raises(EagleError, match="does not support device 'tpu'"):
        runtimes.create("openvino", device="tpu")
    with pytest.raises(EagleError, match="valid names"):
        runtimes.get("tensorflow1")


needs_cuda = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU on this machine")


@needs_cuda
@pytest.mark.parametrize(
    ("precision", "options", "batch", "tol"),
    [
        ("fp32", {}, 1, 1e-3),
        ("fp32", {"cuda_graph": True}, 1, 1e-3),
        ("fp32", {"timer": "wall"}, 64, 1e-3),
        ("fp16", {}, 1, 5e-2),
        ("fp16", {"cuda_graph": True}, 64, 5e-2),
    ],
)
def test_torch_cuda_matches_cpu_and_times_itself(precision, options, batch, tol):
    rt = _runtime("torch", device="cuda", precision=precision, **options)
    model = build_model(ARCH, calibration_batch=4)
    x = torch.randn(batch, 3, 32, 32, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        ref = model(x).numpy()
    run_once = rt.load(rt.convert(model, x), x)
    out = run_once()
    assert torch.cuda.current_stream().query()  # synchronised: nothing left running
    np.testing.assert_allclose(out.float().cpu().numpy(), ref, rtol=tol, atol=tol)
    if options.get("timer") == "wall":
        assert not hasattr(run_once, "timed")
    else:
        samples = [run_once.timed() for _ in range(20)]
        assert all(0 < s < 1 for s in samples)
        np.testing.assert_allclose(run_once().float().cpu().numpy(), ref, rtol=tol, atol=tol)


@needs_cuda
def test_onnxruntime_cuda_provider_or_clear_error():
    import onnxruntime as ort

    rt = runtimes.create("onnxruntime", device="cuda")
    model = build_model(ARCH)
    x = torch.randn(1, 3, 32, 32)
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        with pytest.raises(EagleError, match="onnxruntime-gpu"):
            rt.load(rt.convert(model, x), x)
        pytest.skip("this onnxruntime build has no CUDA execution provider (install onnxruntime-gpu)")
    run_once = rt.load(rt.convert(model, x), x)
    for _ in range(3):
        run_once()


def test_cuda_timer_option_is_checked():
    from eagle.runtimes.torch_runtime import CudaRun

    with pytest.raises(EagleError, match="choose events or wall"):
        CudaRun(lambda: None, "perf")
