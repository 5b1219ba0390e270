"""Kernels as ONNX Runtime runs them; the kernel store, the kernel model, the per-network prediction."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from eagle.anynet.kernels import FEATURES, kernel_features, kernel_macs, kernel_type
from eagle.anynet.kernels.model import KernelModel
from eagle.anynet.kernels.profile import KernelStore, profile_device
from eagle.anynet.kernels.samplers import KINDS, build_sample, perturb, sample_config
from eagle.anynet.onnxgraph import graph_sha256, profile_kernels
from eagle.anynet.predict import network_profile, predict_network
from eagle.errors import EagleError, NotFittedError


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    """A small kernel store (80 samples, about 10 s) shared by the tests below."""
    path = tmp_path_factory.mktemp("kernels") / "k.sqlite"
    out = profile_device(path, budget_s=300, max_samples=80, adapt_every=70, runs=3)
    assert out["profiled_now"] == 80 and out["ok"] + out["errors_now"] == 80
    return path


def test_profile_reads_fused_kernels_with_shapes():
    prof, _ = network_profile("torchvision:resnet18@64", runs=2, warmup=1)
    ops = [k.op for k in prof.kernels]
    assert "BatchNormalization" not in ops and "Relu" not in ops  # folded and fused by ORT
    convs = [k for k in prof.kernels if kernel_type(k) == "conv"]
    assert len(convs) == 20  # resnet18's 20 convolutions, one kernel each
    stem = next(k for k in convs if k.inputs[0] == [1, 3, 64, 64])
    assert stem.act == "Relu" and stem.outputs[0] == [1, 64, 32, 32]
    assert stem.inputs[1][1:] == [3, 7, 7] and stem.inputs[1][0] >= 64  # ORT may pad output channels
    assert kernel_macs(stem) >= 64 * 32 * 32 * 3 * 49
    assert all(k.duration_s >= 0 for k in prof.kernels) and prof.kernel_sum_s > 0
    assert len(prof.wall_s) == 2 and len(prof.run_s) == 2
    assert any(len(k.inputs) >= 4 for k in convs)  # residual additions fused into convolutions
    x = kernel_features(stem)
    assert x.shape == (len(FEATURES),) and np.isfinite(x).all()
    assert x[FEATURES.index("kernel")] == 7 and x[FEATURES.index("stride")] == 2


def test_graph_hash_ignores_weights_not_structure():
    import torch

    from eagle import spaces
    from eagle.runtimes.onnx_export import export_onnx

    space = spaces.get("models")
    x = torch.randn(1, 3, 32, 32)
    a = export_onnx(space.build_model("torchvision:mobilenet_v3_small@32", seed=0), x)
    b = export_onnx(space.build_model("torchvision:mobilenet_v3_small@32", seed=1), x)
    c = export_onnx(space.build_model("torchvision:mobilenet_v3_small(width_mult=0.5)@32", seed=0), x)
    assert a != b and graph_sha256(a) == graph_sha256(b) != graph_sha256(c)


def test_every_sample_kind_builds_and_perturbs():
    import torch

    for kind in KINDS:
        r = np.random.default_rng(1)
        cfg = sample_config(kind, r)
        for c in (cfg, perturb(cfg, r)):
            c["h"] = min(c["h"], 12)  # keep it quick
            module, shape = build_sample(c)
            with torch.no_grad():
                module(torch.randn(*shape))


def test_store_resumes_and_refuses_another_configuration(store, tmp_path):
    with KernelStore(store) as st:
        n, ok = st.count()
        assert n == 80 and ok >= 75
        assert st.next_index() == 80
        samples = list(st.samples())
        assert all(s.kernels and s.wall_s > 0 for s in samples)
        origins = {s.origin for s in samples}
    assert "adaptive" in origins  # adaptive sampling queued neighbours after 70 samples
    copy = tmp_path / "copy.sqlite"
    src = sqlite3.connect(store)
    src.backup(sqlite3.connect(copy))
    out = profile_device(copy, budget_s=60, max_samples=3, runs=2)
    assert out["samples"] == 83
    with KernelStore(copy) as st:
        assert [s.idx for s in st.samples()][-3:] == [80, 81, 82]
    with pytest.raises(EagleError, match=r"another configuration.*threads"):
        profile_device(copy, budget_s=60, max_samples=1, threads=2)


def test_kernel_model_fits_saves_and_loads(store, tmp_path):
    with KernelStore(store) as st:
        samples = list(st.samples())
        config = st.config()
    with pytest.raises(NotFittedError):
        KernelModel().predict([])
    model = KernelModel(n_estimators=50).fit(samples, runtime=config)
    kernels = [k for s in samples for k in s.kernels]
    pred = model.predict_kernels(kernels)
    true = np.array([k.duration_s for k in kernels])
    big = true > 20e-6
    assert np.corrcoef(np.log(pred[big]), np.log(true[big]))[0, 1] > 0.8  # in-sample: it learned something
    path = tmp_path / "k.pt"
    model.save(path)
    back = KernelModel.load(path)
    assert np.allclose(back.predict_kernels(kernels), pred)
    assert back.runtime_ == config and back.overhead_ == model.overhead_
    p = predict_network("torchvision:squeezenet1_1@64", back)
    assert p.latency_s > 0 and p.latency_s == pytest.approx(max(p.kernel_s.sum() + p.overhead_s, p.kernel_s.sum() / 2))
    assert p.macs > 0 and p.layers()[0][2] >= p.layers()[-1][2]


def test_calibration_learns_how_networks_differ_from_the_samples(store, tmp_path):
    """Networks that run their convolutions 30% faster than the model says and pay 50 us per run:
    the calibration finds both, the uncalibrated model is left alone, the file keeps it."""
    with KernelStore(store) as st:
        samples = [s for s in st.samples() if s.kernels]
    model = KernelModel(n_estimators=50).fit(samples)
    networks = [s.kernels for s in samples[:12]]

    def truth(ks):
        pred = model.predict_kernels(ks)
        conv = np.array([kernel_type(k) == "conv" for k in ks])
        return float(pred[conv].sum() * 0.7 + pred[~conv].sum()) + 50e-6

    y = np.array([truth(ks) for ks in networks])
    calibrated = model.calibrate(networks[:8], y[:8])
    assert model.correction_ is None and calibrated.correction_["networks"] == 8
    errors = np.array([calibrated.predict(ks) / t - 1 for ks, t in zip(networks[8:], y[8:])])
    before = np.array([model.predict(ks) / t - 1 for ks, t in zip(networks[8:], y[8:])])
    assert np.abs(errors).max() < 0.05 < np.abs(before).max()
    path = tmp_path / "k2.pt"
    calibrated.save(path)
    back = KernelModel.load(path)
    assert back.correction_ == calibrated.correction_
    assert back.predict(networks[9]) == pytest.approx(calibrated.predict(networks[9]))
    with pytest.raises(EagleError, match="at least 3"):
        model.calibrate(networks[:2], y[:2])
    with pytest.raises(EagleError, match="positive"):
        model.calibrate(networks[:3], np.array([1e-3, -1.0, 2e-3]))


def test_hostile_kernel_model_files_are_refused(tmp_path):
    import pickle

    from tests.conftest import Exploit

    marker = tmp_path / "pwned"
    bad = tmp_path / "evil.pt"
    bad.write_bytes(pickle.dumps(Exploit(marker)))
    with pytest.raises(EagleError, match="not a loadable Eagle kernel model"):
        KernelModel.load(bad)
    assert not marker.exists()
    import torch

    torch.save({"format": "eagle-kernels", "config": '{"features": ["x"]}'}, tmp_path / "old.pt")
    with pytest.raises(EagleError, match="other kernel features"):
        KernelModel.load(tmp_path / "old.pt")
    torch.save({"format": "eagle-predictor"}, tmp_path / "other.pt")
    with pytest.raises(EagleError, match="eagle kernels fit"):
        KernelModel.load(tmp_path / "other.pt")


def test_profile_of_a_bad_graph_is_a_clear_error():
    with pytest.raises(EagleError, match="cannot load the model"):
        profile_kernels(b"\x08\x07garbage")


def test_cold_runs_time_every_kernel_after_a_cache_flush():
    import torch

    from eagle.runtimes.onnx_export import export_onnx

    data = export_onnx(torch.nn.Linear(256, 128).eval(), torch.randn(1, 256))
    prof = profile_kernels(data, runs=2, warmup=1, cold_runs=2)
    assert prof.kernels and all(k.duration_s > 0 and k.cold_s > 0 for k in prof.kernels)
    assert len(prof.wall_s) == 2  # the cold runs are not counted as warm runs
    assert all(k.cold_s == 0 for k in profile_kernels(data, runs=2, warmup=1).kernels)


def test_a_store_from_before_cold_timings_still_loads(tmp_path):
    import json

    path = tmp_path / "old.sqlite"
    con = sqlite3.connect(path)
    con.executescript(
        """
        CREATE TABLE kernels (sample_idx INTEGER NOT NULL, pos INTEGER NOT NULL, name TEXT NOT NULL,
            op TEXT NOT NULL, act TEXT NOT NULL, inputs TEXT NOT NULL, outputs TEXT NOT NULL,
            duration_s REAL NOT NULL, PRIMARY KEY (sample_idx, pos));
        """
    )
    con.execute("INSERT INTO kernels VALUES (0, 0, 'k', 'Relu', '', ?, ?, 1e-5)", (json.dumps([[1, 8]]), "[[1, 8]]"))
    con.commit()
    con.close()
    with KernelStore(path) as st:  # the samples table is created, cold_s added as 0
        st.add(1, "eltwise", {"kind": "eltwise"}, "random", wall_s=2e-5, run_s=2e-5, kernels=[])
        assert [s.idx for s in st.samples()] == [1]
        (cold,) = st.conn.execute("SELECT cold_s FROM kernels WHERE sample_idx = 0").fetchone()
    assert cold == 0


def test_profiling_leaves_the_callers_floating_point_state_alone():
    import torch

    from eagle.anynet.onnxgraph import denormals_flushed, time_plain
    from eagle.runtimes.onnx_export import export_onnx

    data = export_onnx(torch.nn.Linear(8, 4).eval(), torch.randn(1, 8))
    assert not denormals_flushed()
    profile_kernels(data, runs=1, warmup=0)
    time_plain(data, runs=1, warmup=0)
    assert not denormals_flushed()  # flushed only inside (as the measurement worker runs)
