"""#31 (hardening, round 3): each case of the adversarial test, replayed.

Every case ends with one clear error line (exit 1 or 2), runs no code, does not crash natively,
takes bounded time and memory, and leaves every file as it was.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import sys
import time
import zipfile

import numpy as np
import pytest

from tests.hardening.conftest import assert_clean_failure, digest, run_cli

EVIL = "os:system(command='touch {m}')"


@pytest.fixture
def marker(tmp_path):
    path = tmp_path / "pwned"
    yield path
    assert not path.exists(), "a spec read from data ran code"


def _evil_csv(tmp_path, marker, spec=EVIL):
    path = tmp_path / "evil.csv"
    text = spec.format(m=marker).replace('"', '""')
    path.write_text(f'arch,latency_ms\n"{text}",1.0\n"torchvision:squeezenet1_1@3x64x64",2.0\n')
    return path


# -- critical: model specs read from data never call a factory ---------------------------------------
def test_train_on_a_csv_naming_os_system(tmp_path, capsys, marker):
    res = run_cli(capsys, "train", "--predictor", "flops", "--measurement", _evil_csv(tmp_path, marker),
                  "--save", tmp_path / "m.pt")  # fmt: skip
    assert_clean_failure(res, contains="standard-library")
    assert not (tmp_path / "m.pt").exists()


def test_kernels_calibrate_on_a_csv_naming_os_system(tmp_path, capsys, marker):
    kernels = _kernel_model_file(tmp_path)
    res = run_cli(capsys, "kernels", "calibrate", "--kernels", kernels, "--measurement", _evil_csv(tmp_path, marker),
                  "--save", tmp_path / "k2.pt")  # fmt: skip
    assert_clean_failure(res, contains="never a model factory")


def test_an_imported_dataset_naming_os_system_is_never_built(tmp_path, capsys, marker):
    res = run_cli(capsys, "dataset", "import", _evil_csv(tmp_path, marker), "--format", "csv", "--name", "lab/evil")
    if res.code == 0:  # imported as data: training on it must not run it
        res = run_cli(capsys, "train", "--predictor", "flops", "--measurement", "lab/evil", "--save", tmp_path / "m.pt")
    assert_clean_failure(res)


def test_a_store_whose_arch_key_was_edited(tmp_path, capsys, marker):
    db = tmp_path / "s.sqlite"
    assert run_cli(capsys, "measure", "--model", "torchvision:squeezenet1_1@32", "--runtime", "null", "--runs", "1",
                   "--db", db, "--no-progress", "-q").code == 0  # fmt: skip
    with sqlite3.connect(db) as con:
        con.execute("UPDATE run_arch_keys SET arch = ?", (EVIL.format(m=marker),))
    before = digest(db)
    res = run_cli(capsys, "train", "--predictor", "flops", "--measurement", db, "--save", tmp_path / "m.pt")
    assert_clean_failure(res)
    res = run_cli(capsys, "measure", "export", "--db", db, "--format", "csv", "--output", tmp_path / "o.csv")
    assert res.code == 0  # exporting reads the key as text, never builds it
    assert digest(db) == before


def test_measure_a_file_of_archs_naming_python_code(tmp_path, capsys, marker):
    archs = tmp_path / "archs.txt"
    archs.write_text(EVIL.format(m=marker) + "\n")
    res = run_cli(capsys, "measure", "--space", "models", "--archs", archs, "--runtime", "null", "--db",
                  tmp_path / "x.sqlite", "--no-progress")  # fmt: skip
    assert_clean_failure(res, contains="never a model factory")


def _user_module(tmp_path, monkeypatch, marker):
    (tmp_path / "labnets.py").write_text(
        "import os\nimport torch\n"
        "def net(width=4):\n    return torch.nn.Sequential(torch.nn.Conv2d(3, width, 3), torch.nn.Flatten())\n"
        "def not_a_net():\n    return 42\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))  # the measurement worker is another process
    monkeypatch.delitem(sys.modules, "labnets", raising=False)


def test_a_shared_models_list_runs_only_modules_the_user_allowed(tmp_path, capsys, marker, monkeypatch):
    _user_module(tmp_path, monkeypatch, marker)
    models = tmp_path / "models.txt"
    for line, expect in [
        (EVIL.format(m=marker), "never a model factory"),
        ("labnets:net(width=4)@3x16x16", "--allow-module labnets"),
    ]:
        models.write_text(line + "\n")
        res = run_cli(capsys, "measure", "--models", models, "--runtime", "null", "--db", tmp_path / "x.sqlite",
                      "--no-progress")  # fmt: skip
        assert_clean_failure(res, contains=expect)
        assert "labnets" not in sys.modules  # not even imported
    res = run_cli(capsys, "measure", "--models", models, "--allow-module", "labnets", "--runtime", "null", "--runs",
                  "1", "--db", tmp_path / "x.sqlite", "--no-progress", "-q")  # fmt: skip
    assert res.code == 0 and "ok 1" in res.out, res.err


@pytest.mark.parametrize(
    "spec",
    [
        "builtins:open(file='{m}', mode='w')",
        "shutil:rmtree(path='{d}')",
        "os:system(command='touch {m}')",
        "subprocess:run(args='touch {m}', shell=True)",
        "torch:save(obj=1, f='{m}')",
        "eagle.fileio:write_json(path='{m}', data=1)",
        "labnets:os.system(command='touch {m}')",
        "labnets:not_a_net",
    ],
)
def test_standard_library_and_foreign_functions_are_never_factories(tmp_path, capsys, marker, monkeypatch, spec):
    _user_module(tmp_path, monkeypatch, marker)
    victim = tmp_path / "victim"
    victim.mkdir()
    text = spec.format(m=marker, d=victim)
    res = run_cli(capsys, "model", "show", text, "--allow-module", "labnets")
    if "--allow-module" not in text:
        res = run_cli(capsys, "model", "show", text)
    assert_clean_failure(res)
    assert victim.is_dir()


def test_allow_module_refuses_the_standard_library(capsys):
    res = run_cli(capsys, "measure", "--models", "x.txt", "--allow-module", "os", "--runtime", "null")
    assert_clean_failure(res, codes=(2,), contains="never model factories")


# -- high: crafted kernel models ---------------------------------------------------------------------
def _kernel_model_file(tmp_path, edit=None):
    """A real kernel model file (LightGBM trees on the kernel features), optionally with its first
    tree's model text edited by ``edit``."""
    import lightgbm as lgb
    import torch

    from eagle.anynet.kernels import FEATURES

    rng = np.random.default_rng(0)
    X = rng.random((200, len(FEATURES)))
    text = (
        lgb.LGBMRegressor(n_estimators=3, num_leaves=4, min_child_samples=5, verbose=-1)
        .fit(X, X[:, 0] + 0.1 * rng.random(200))
        .booster_.model_to_string()
    )
    if edit is not None:
        text = edit(text)
    linear = [0.0, 0.1, 0.1, 0.1, 0.1]
    header = {
        "eagle_version": "test", "features": list(FEATURES), "params": {"n_estimators": 3},
        "trees": {"conv": text}, "linear": {"conv": linear, "*": linear}, "cold_trees": {}, "cold_linear": {},
        "counts": {"conv": 200}, "overhead_s": [1e-5, 0.0], "runtime": {}, "n_samples": 200, "correction": None,
    }  # fmt: skip
    path = tmp_path / "k.pt"
    torch.save({"format": "eagle-kernels", "config": json.dumps(header)}, path)
    return path


def _field(name, new):
    """Edit the first tree's ``name=`` line to ``new`` (a function of the old values)."""

    def edit(text):
        lines = text.split("\n")
        at = next(i for i, ln in enumerate(lines) if ln.startswith(name + "="))
        lines[at] = f"{name}={new(lines[at].split('=', 1)[1].split())}"
        return "\n".join(lines)

    return edit


@pytest.mark.parametrize(
    "edit, says",
    [
        (lambda t: t[: len(t) // 3], "cut short"),
        (_field("split_feature", lambda v: " ".join(["999"] * len(v))), "split_feature out of range"),
        (_field("split_feature", lambda v: " ".join(["-1"] * len(v))), "split_feature out of range"),
        (_field("left_child", lambda v: " ".join(["0"] * len(v))), "reached twice"),
        (_field("num_leaves", lambda v: "1000000000"), "num_leaves"),
        (_field("leaf_value", lambda v: " ".join(["nan"] * len(v))), "NaN"),
        (_field("decision_type", lambda v: " ".join(["77"] * len(v))), "decision_type"),
        (_field("right_child", lambda v: " ".join(["-99"] * len(v))), "outside the tree"),
        (_field("threshold", lambda v: "1"), "threshold has 1 values"),
    ],
    ids=["cut", "feature_high", "feature_negative", "cycle", "huge_leaves", "nan_leaf", "decision", "child", "short"],
)
def test_crafted_kernel_model_text_is_refused_without_crashing(tmp_path, capsys, edit, says):
    path = _kernel_model_file(tmp_path, edit)
    before = digest(path)
    res = run_cli(capsys, "predict", "--kernels", path, "--model", "torchvision:squeezenet1_1@32")
    assert_clean_failure(res, codes=(1,), contains=says)
    assert "damaged Eagle kernel model" in res.err and digest(path) == before


def test_the_checked_trees_predict_exactly_as_lightgbm(tmp_path):
    import lightgbm as lgb

    from eagle.anynet.kernels.trees import parse_lightgbm

    rng = np.random.default_rng(1)
    X = rng.random((500, 6))
    X[rng.random(X.shape) < 0.1] = np.nan
    X[rng.random(X.shape) < 0.1] = 0.0
    booster = lgb.LGBMRegressor(n_estimators=40, num_leaves=15, verbose=-1).fit(X, np.nansum(X, axis=1)).booster_
    trees = parse_lightgbm(booster.model_to_string(), 6)
    Xt = rng.random((300, 6))
    Xt[rng.random(Xt.shape) < 0.1] = np.nan
    Xt[rng.random(Xt.shape) < 0.1] = 0.0
    np.testing.assert_allclose(trees.predict(Xt), booster.predict(Xt), rtol=0, atol=1e-12)


# -- high: an output never overwrites an input; existing outputs need --force ------------------------
def test_exporting_a_store_onto_itself_is_refused(tmp_path, capsys):
    db = tmp_path / "good.sqlite"
    assert run_cli(capsys, "measure", "--archs", "2", "--runtime", "null", "--runs", "1", "--db", db,
                   "--no-progress", "-q").code == 0  # fmt: skip
    before = digest(db)
    for output in (db, f"{db}-wal"):
        res = run_cli(capsys, "measure", "export", "--db", db, "--format", "csv", "--output", output, "--force")
        assert_clean_failure(res, codes=(2,), contains="is an input of this command")
    assert digest(db) == before
    out = tmp_path / "o.csv"
    out.write_text("mine")
    res = run_cli(capsys, "measure", "export", "--db", db, "--format", "csv", "--output", out)
    assert_clean_failure(res, codes=(2,), contains="add --force")
    assert out.read_text() == "mine"
    assert run_cli(capsys, "measure", "export", "--db", db, "--format", "csv", "--output", out, "--force").code == 0
    assert out.read_text().startswith("nb201_index,")


def test_exporting_a_user_dataset_onto_its_own_file_is_refused(tmp_path, capsys, user_data):
    from eagle.datasets import catalog

    src = tmp_path / "d.csv"
    src.write_text("nb201_index,latency_ms\n1,2.0\n2,3.0\n")
    assert run_cli(capsys, "dataset", "import", src, "--format", "csv", "--name", "lab/mine").code == 0
    npz = catalog.user_catalog()["lab/mine"]["_npz"]
    before = digest(catalog.Path(npz))
    res = run_cli(capsys, "dataset", "export", "lab/mine", "--format", "csv", "--output", npz, "--force")
    assert_clean_failure(res, codes=(2,), contains="is an input")
    assert digest(catalog.Path(npz)) == before


# -- high: decompression bombs ---------------------------------------------------------------------
def _bomb(path):
    import torch

    buf = io.BytesIO()
    torch.save([1.0] * 10, buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for e in src.infolist():
            z.writestr(e, src.read(e.filename))
        z.writestr("archive/data/99", b"\0" * (64 << 20), compress_type=zipfile.ZIP_DEFLATED)
    path.write_bytes(out.getvalue())
    return path


@pytest.mark.parametrize(
    "args",
    [
        ["predict", "--load", "{b}", "--output", "{o}"],
        ["predict", "--kernels", "{b}", "--model", "torchvision:squeezenet1_1@32"],
        ["select", "--base", "{b}", "--k", "5", "--output", "{o}"],
        ["dataset", "import", "{b}", "--format", "help", "--name", "bomb"],
        ["train", "--init", "{b}", "--measurement", "help/pixel3", "--save", "{o}"],
    ],
    ids=["checkpoint", "kernels", "base", "help", "init"],
)
def test_decompression_bomb_refused_before_expanding(tmp_path, capsys, args):
    bomb = _bomb(tmp_path / "bomb.pt")
    assert bomb.stat().st_size < 2 << 20
    t0 = time.perf_counter()
    res = run_cli(capsys, *[a.format(b=bomb, o=tmp_path / "o.out") for a in args])
    assert time.perf_counter() - t0 < 30
    assert_clean_failure(res, codes=(1,), contains="torch.save never compresses")


# -- medium: hangs ------------------------------------------------------------------------------------
def test_a_fifo_nobody_reads_is_an_error_not_a_hang(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    t0 = time.perf_counter()
    res = run_cli(capsys, "dataset", "export", "help/pixel3", "--format", "csv", "--output", fifo)
    assert time.perf_counter() - t0 < 30
    assert_clean_failure(res, codes=(1,), contains="nobody reads")


def _loop_onnx(path, trips):
    import onnx
    from onnx import TensorProto, helper

    body = helper.make_graph(
        [helper.make_node("Identity", ["c"], ["c2"]), helper.make_node("Add", ["x", "one"], ["x2"])],
        "body",
        [helper.make_tensor_value_info(n, t, s) for n, t, s in
         [("i", TensorProto.INT64, []), ("c", TensorProto.BOOL, []), ("x", TensorProto.FLOAT, [1, 3, 8, 8])]],
        [helper.make_tensor_value_info("c2", TensorProto.BOOL, []),
         helper.make_tensor_value_info("x2", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor("one", TensorProto.FLOAT, [], [1.0])],
    )  # fmt: skip
    graph = helper.make_graph(
        [helper.make_node("Loop", ["M", "cond", "input"], ["out"], body=body)],
        "loop",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 8, 8])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 8, 8])],
        [
            helper.make_tensor("M", TensorProto.INT64, [], [trips]),
            helper.make_tensor("cond", TensorProto.BOOL, [], [1]),
        ],
    )
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    return path


def test_an_onnx_loop_of_1e15_trips_stops_at_the_deadline(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("EAGLE_RUN_TIMEOUT_S", "3")
    path = _loop_onnx(tmp_path / "loop.onnx", 10**15)
    t0 = time.perf_counter()
    res = run_cli(capsys, "model", "show", path)
    assert time.perf_counter() - t0 < 60
    assert_clean_failure(res, codes=(1,), contains="did not finish running in 3 s")


def test_a_network_that_builds_forever_stops_at_the_deadline(capsys, monkeypatch):
    monkeypatch.setenv("EAGLE_BUILD_TIMEOUT_S", "3")
    t0 = time.perf_counter()
    res = run_cli(capsys, "model", "show", "torchvision:mobilenet_v2(inverted_residual_setting=[[1, 16, 8000, 1]])")
    assert time.perf_counter() - t0 < 60
    assert_clean_failure(res, codes=(1,), contains="did not finish building in 3 s")
    res = run_cli(capsys, "model", "show", "torchvision:mobilenet_v2(inverted_residual_setting=[[1, 16, 100000, 1]])")
    assert_clean_failure(res, codes=(2,), contains="at most 8192")


@pytest.mark.parametrize(
    "args, says",
    [
        (["search", "simulate", "--seeds", "1000000000"], "out of range"),
        (["measure", "--timeout", "1e308", "--archs", "1", "--runtime", "null"], "out of range"),
        (["measure", "--timeout", "inf", "--archs", "1", "--runtime", "null"], "finite"),
    ],
)
def test_numbers_that_mean_forever_are_refused(capsys, args, says):
    assert_clean_failure(run_cli(capsys, *args), codes=(2,), contains=says)


def test_onnx_files_are_read_with_a_size_limit(tmp_path, capsys, monkeypatch):
    from eagle.anynet import specs

    monkeypatch.setattr(specs, "MAX_ONNX_BYTES", 1000)
    path = _loop_onnx(tmp_path / "big.onnx", 2)
    path.write_bytes(path.read_bytes() + b"\0" * 2000)
    assert_clean_failure(run_cli(capsys, "model", "show", path), codes=(1,), contains="at most 1000 bytes")


# -- medium: device addresses ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    "address",
    [
        "ssh://me@[fe80::1%25;touch${IFS}x;]:22",
        "ssh://me@host?python=python3%0A",
        "ssh://me@host?identity=key%0A",
        "ssh://me@host?option=UserKnownHostsFile=/home/me/.bashrc",
        "ssh://me@host?option=GlobalKnownHostsFile=/tmp/x",
    ],
)
def test_device_addresses_that_slipped_through(capsys, address):
    res = run_cli(capsys, "measure", "--device", address, "--archs", "1", "--runtime", "null")
    assert_clean_failure(res, codes=(2,))


def test_yaml_scope_id_with_a_command_is_refused(tmp_path, capsys):
    cfg = tmp_path / "m.yaml"
    cfg.write_text("device:\n  target_args:\n    device_addr: 'fe80::1%$(touch x)'\n    device_user: me\n")
    assert_clean_failure(run_cli(capsys, "measure", "--cfg", cfg, "--archs", "1", "--runtime", "null"), codes=(2,))


# -- medium: internal errors on bad but plausible specs ---------------------------------------------------
@pytest.mark.parametrize(
    "spec, says",
    [
        ("torchvision:resnet18(num_classes=-5)", "cannot be built"),
        ("torchvision:mobilenet_v2(round_nearest=0)", "cannot be built"),
        ("torchvision:resnet18(groups=0)", "cannot be built"),
        ("torchvision:vit_b_16@100", "does not run on a 1x3x100x100 input"),
        ("torchvision:inception_v3@32", "does not run on a 1x3x32x32 input"),
        ("torchvision:resnet18@1x1x1", "does not run on"),
        ("torchvision:resnet18@4x64x64", "does not run on"),
        ("torchvision:resnet18@8192", "multiply-accumulates"),
        ("torchvision:resnet18(num_classes=10**12)", "must be a literal"),
        ("torchvision:resnet18(num_classes=1000000000000)", "out of range"),
        ("torchvision:resnet18(weights='IMAGENET1K_V1')", "would download weights"),
        ("torchvision:get_model(name='resnet18')", "no classification model"),
    ],
)
def test_bad_specs_are_one_clear_line(capsys, spec, says):
    t0 = time.perf_counter()
    res = run_cli(capsys, "model", "show", spec)
    assert time.perf_counter() - t0 < 60
    assert_clean_failure(res, contains=says)


def test_an_onnx_input_of_12_tb_is_refused(tmp_path, capsys):
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        [helper.make_node("Relu", ["input"], ["out"])],
        "huge",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, 1_000_000, 1_000_000])],
        [helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 3, 1_000_000, 1_000_000])],
    )
    path = tmp_path / "huge.onnx"
    onnx.save(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)]), path)
    assert_clean_failure(run_cli(capsys, "model", "show", path), codes=(1,), contains="more than this machine has")


def test_alexnet_at_64_exports_and_predicts(tmp_path, capsys):
    """The TorchScript exporter cannot export its adaptive pooling at 64x64: the other route can."""
    res = run_cli(capsys, "model", "show", "torchvision:alexnet@64", "--top", "3")
    assert res.code == 0 and "slowest 3 kernels" in res.out, res.err
    res = run_cli(capsys, "predict", "--kernels", _kernel_model_file(tmp_path), "--model", "torchvision:alexnet@64")
    assert res.code == 0 and "predicted" in res.out, res.err
