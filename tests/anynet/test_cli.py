"""The any-network commands as a user runs them: measure, model show, kernels profile/fit, predict."""

from __future__ import annotations

import csv
import json
import sqlite3

import pytest

from eagle.cli.main import main

FAST = ["--warmup", "1", "--runs", "2", "--avg-between", "2", "--max-time", "0.2", "--no-progress"]


def test_measure_one_model_and_a_file_of_models_resumably(tmp_path, capsys):
    db = tmp_path / "m.sqlite"
    assert (
        main(["measure", "--model", "torchvision:squeezenet1_1", "--input-shape", "1x3x64x64", "--db", str(db), *FAST])
        == 0
    )
    listing = tmp_path / "models.txt"
    listing.write_text("torchvision:mobilenet_v3_small@64\n# a comment\nfamily:resnet(layers=(1,1,1,1))@48\nnope(\n")
    assert main(["measure", "--models", str(listing), "--db", str(db), *FAST]) == 1
    assert "line 4" in capsys.readouterr().err  # the bad spec is named before anything runs
    listing.write_text("torchvision:mobilenet_v3_small@64\nfamily:resnet(layers=(1,1,1,1))@48\ntorchvision:resnet19\n")
    assert main(["measure", "--models", str(listing), "--db", str(db), *FAST]) == 1
    assert "line 3: torchvision has no classification model 'resnet19'" in capsys.readouterr().err  # before any run
    listing.write_text(
        "torchvision:mobilenet_v3_small@64\nfamily:resnet(layers=(1,1,1,1))@48\ntorchvision:resnet18(bogus=1)@32\n"
    )
    assert main(["measure", "--models", str(listing), "--db", str(db), *FAST]) == 0
    out = capsys.readouterr().out
    assert (
        "failed 1" in out and "failed: torchvision:resnet18(bogus=1)@3x32x32: build failed" in out
    )  # said, not hidden
    assert "eagle measure export --db" in out
    assert main(["measure", "--models", str(listing), "--db", str(db), *FAST]) == 0  # resumed: nothing new
    out = capsys.readouterr().out
    assert "measured now 0, before 3" in out
    con = sqlite3.connect(db)
    rows = con.execute(
        "SELECT k.arch, m.status, m.latency_s, m.error FROM measurements m JOIN run_arch_keys k "
        "ON k.run_id = m.run_id AND k.arch_index = m.nb201_index ORDER BY m.run_id, m.nb201_index"
    ).fetchall()
    assert [r[0] for r in rows] == [
        "torchvision:squeezenet1_1@3x64x64",
        "torchvision:mobilenet_v3_small@3x64x64",
        "family:resnet(layers=(1, 1, 1, 1))@3x48x48",
        "torchvision:resnet18(bogus=1)@3x32x32",
    ]
    assert [r[1] for r in rows] == ["ok", "ok", "ok", "error"] and all(r[2] > 0 for r in rows[:3])
    assert "bogus" in rows[3][3]  # recorded, the sweep went on
    assert main(["measure", "--model", "resnet18", "--models", str(listing), "--db", str(db)]) == 2


def test_measure_an_onnx_file(tmp_path, capsys):
    import torch

    path = tmp_path / "tiny.onnx"
    model = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3), torch.nn.ReLU(), torch.nn.AdaptiveAvgPool2d(1)).eval()
    torch.onnx.export(model, (torch.randn(1, 3, 32, 32),), str(path), dynamo=False)
    db = tmp_path / "m.sqlite"
    assert main(["measure", "--model", str(path), "--db", str(db), *FAST]) == 0
    assert "ok 1, failed 0" in capsys.readouterr().out
    # nothing measured: the command fails (exit 1), and the store says why
    assert main(["measure", "--model", str(path), "--runtime", "torch", "--db", str(tmp_path / "t.sqlite"), *FAST]) == 1
    con = sqlite3.connect(tmp_path / "t.sqlite")
    (err,) = con.execute("SELECT error FROM measurements").fetchone()
    assert "is an ONNX model: time it with --runtime onnxruntime or openvino" in err


@pytest.fixture(scope="module")
def kernel_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("k")
    assert main(["kernels", "profile", "--db", str(d / "k.sqlite"), "--max-samples", "60", "--quiet"]) == 0
    assert main(["kernels", "fit", "--db", str(d / "k.sqlite"), "--save", str(d / "k.pt")]) == 0
    return d / "k.pt"


def test_kernels_profile_fit_and_predict(kernel_model, tmp_path, capsys):
    capsys.readouterr()
    assert main(["predict", "--kernels", str(kernel_model), "--model", "torchvision:mobilenet_v2", "--input-shape",
                 "1x3x96x96", "--top", "5"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "torchvision:mobilenet_v2: predicted" in out and ("(per-run overhead)" in out or "(taken off:" in out)
    assert len([line for line in out.splitlines() if "%" in line]) == 6  # 5 layers + overhead
    listing = tmp_path / "m.txt"
    listing.write_text("torchvision:squeezenet1_1@64\ntorchvision:resnet18@64\n")
    pred = tmp_path / "p.csv"
    assert main(["predict", "--kernels", str(kernel_model), "--models", str(listing), "--output", str(pred)]) == 0
    rows = list(csv.DictReader(pred.open()))
    assert [r["model"] for r in rows] == ["torchvision:squeezenet1_1@64", "torchvision:resnet18@64"]
    assert all(float(r["latency_ms"]) > 0 and int(r["kernels"]) > 10 for r in rows)
    assert int(rows[1]["macs"]) == 148_557_824  # resnet18 at 64x64, as written (BN folded away)


def test_kernels_calibrate_on_measured_networks(kernel_model, tmp_path, capsys):
    """A few measured networks of a family calibrate the kernel model; predictions use it, the file
    keeps it, and too few networks or the wrong kind of measurement are one clear error."""
    from eagle.anynet.kernels.model import KernelModel

    listing = tmp_path / "family.txt"
    spec = "family:resnet(block='bottleneck', layers=(1,1,1,1), width_per_group={})@{}"
    listing.write_text("".join(spec.format(w, r) + "\n" for w, r in ((16, 32), (24, 32), (16, 48), (32, 40))))
    db = tmp_path / "m.sqlite"
    assert main(["measure", "--models", str(listing), "--db", str(db), *FAST]) == 0
    capsys.readouterr()
    calibrated = tmp_path / "k2.pt"
    assert main(["kernels", "calibrate", "--kernels", str(kernel_model), "--measurement", str(db),
                 "--save", str(calibrated)]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "calibrated on 4 measured networks" in out and "each left out in turn" in out
    model = KernelModel.load(calibrated)
    assert model.correction_ is not None and model.correction_["networks"] == 4
    assert KernelModel.load(kernel_model).correction_ is None
    assert main(["predict", "--kernels", str(calibrated), "--model", spec.format(24, 40)]) == 0
    assert "calibrated on 4 measured networks" in capsys.readouterr().out
    few = tmp_path / "few.csv"
    few.write_text(f'arch,latency_ms\n"{spec.format(16, 32)}",1.0\ntorchvision:resnet18@32,2.0\n')
    assert main(["kernels", "calibrate", "--kernels", str(kernel_model), "--measurement", str(few),
                 "--save", str(tmp_path / "k3.pt")]) == 1  # fmt: skip
    assert "at least 3 measured networks" in capsys.readouterr().err
    assert main(["kernels", "calibrate", "--kernels", str(kernel_model), "--measurement", "help/pixel3",
                 "--save", str(tmp_path / "k3.pt")]) in (1, 2)  # fmt: skip
    err = capsys.readouterr().err
    assert "nasbench201" in err and "Traceback" not in err and not (tmp_path / "k3.pt").exists()


def test_model_show(kernel_model, capsys):
    capsys.readouterr()
    assert main(["model", "show", "torchvision:resnet18@64", "--json", "--kernels", str(kernel_model)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["params"] == 11_689_512 and info["macs"] == 148_557_824 and info["input_shape"] == [1, 3, 64, 64]
    assert info["kernels"] == len(info["kernel_list"]) and info["predicted_latency_ms"] > 0
    assert {"conv", "pool", "gap", "fc"} <= {k["type"] for k in info["kernel_list"]}
    assert main(["model", "show", "torchvision:mobilenet_v3_small@64"]) == 0
    out = capsys.readouterr().out
    assert "kernel types" in out and "slowest" in out and "graph_sha256" in out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["predict", "--kernels", "K.pt"], 2, "--model X"),
        (["predict", "--load", "M.pt", "--model", "resnet18", "--output", "p.csv"], 2, "add --kernels"),
        (["predict", "--kernels", "nope.pt", "--model", "resnet18"], 2, "nope.pt"),
        (["kernels", "fit", "--db", "nope.sqlite", "--save", "k.pt"], 2, "eagle kernels profile"),
        (["kernels", "profile", "--db", "k.sqlite", "--budget-min", "-1"], 2, "--budget-min"),
        (["model", "show", "resnet18", "--input-shape", "1x3x0x5"], 2, "NxCxHxW"),
        (["measure", "--model", "x(", "--db", "m.sqlite"], 2, "cannot read the model spec"),
    ],
)
def test_bad_input_is_one_clear_line(argv, code, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(argv) == code
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
