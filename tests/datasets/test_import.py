"""Users' files: readers, the restricted unpickler, bad input, and the import command."""

from __future__ import annotations

import pickle
import subprocess
import sys

import numpy as np
import pytest
import torch

import eagle.datasets as D
from eagle.cli.main import main
from eagle.datasets.safe_pickle import UnsafePickleError, safe_load, safe_loads
from eagle.errors import EagleError
from eagle.spaces import get
from tests.conftest import Exploit

SPACE = get("nasbench201")


@pytest.fixture(autouse=True)
def user_dir(tmp_path, monkeypatch):
    folder = tmp_path / "userdata"
    monkeypatch.setenv("EAGLE_DATA_DIR", str(folder))
    return folder


def _malicious(tmp_path, wrap=lambda x: x):
    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pickle"
    path.write_bytes(pickle.dumps(wrap(Exploit(marker))))
    return path, marker


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "eagle", *args], capture_output=True, text=True, timeout=120)


def test_malicious_pickle_is_refused_by_every_reading_command(tmp_path):
    path, marker = _malicious(tmp_path, wrap=lambda x: {(3, 3, 3, 3, 3, 3): x})
    for args in (
        ["dataset", "import", str(path), "--format", "eagle", "--name", "evil"],
        ["dataset", "import", str(path), "--format", "hwnasbench", "--name", "evil"],
        ["dataset", "export", str(path), "--format", "csv", "--output", str(tmp_path / "o.csv")],
        ["dataset", "compare", str(path), "help/pixel3"],
    ):
        res = _cli(*args)
        assert res.returncode != 0, args
        assert "refused to load" in res.stderr and "posix.system" in res.stderr, res.stderr
        assert "Traceback" not in res.stderr
        assert not marker.exists()
    assert not (tmp_path / "o.csv").exists()


def test_safe_loader_refuses_any_global_but_allows_numpy(tmp_path):
    path, marker = _malicious(tmp_path)
    with pytest.raises(UnsafePickleError):
        safe_load(path)
    assert not marker.exists()
    with pytest.raises(UnsafePickleError, match=r"builtins\.eval"):
        safe_loads(b"cbuiltins\neval\n(S'1+1'\ntR.")
    data = {"a": np.arange(3, dtype=np.float32), "b": np.float64(2.5), "c": [1, (2, 3)], "d": {1, 2}}
    for protocol in (2, 4, 5):
        back = safe_loads(pickle.dumps(data, protocol=protocol))
        assert back["b"] == 2.5 and back["c"] == [1, (2, 3)] and back["d"] == {1, 2}
        np.testing.assert_array_equal(back["a"], data["a"])


def _seed_pickle(tmp_path, data, name="d.pickle"):
    path = tmp_path / name
    path.write_bytes(pickle.dumps(data))
    return path


def test_import_seed_pickle_then_use_by_name(tmp_path, user_dir):
    data = {SPACE.vector(i): 0.001 * (1 + i % 7) for i in range(0, 15625, 3) if SPACE.is_valid(i)}
    path = _seed_pickle(tmp_path, data)
    assert main(["dataset", "import", str(path), "--format", "eagle", "--name", "my/dev"]) == 0
    assert "my/dev" in D.names()
    ds = D.load("my/dev")
    assert ds.to_seed_dict() == data
    assert ds.unit == "s"
    out = tmp_path / "back.pickle"
    assert main(["dataset", "export", "my/dev", "--format", "pickle", "--output", str(out)]) == 0
    assert safe_load(out) == data
    # a second import under the same name needs --force
    assert main(["dataset", "import", str(path), "--format", "eagle", "--name", "my/dev"]) == 2
    assert main(["dataset", "import", str(path), "--format", "eagle", "--name", "my/dev", "--force"]) == 0
    assert main(["dataset", "import", str(path), "--format", "eagle", "--name", "help/pixel3"]) == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({(3, 3, 3): 0.1}, "must have 6 op ids"),
        ({(3, 3, 3, 3, 3, 7): 0.1}, "op id 7"),
        ({"abc": 0.1}, "not an arch_vector tuple"),
        ({(3, 3, 3, 3, 3, 3): float("nan")}, "not finite"),
        ({(3, 3, 3, 3, 3, 3): float("inf")}, "not finite"),
        ({(3, 3, 3, 3, 3, 3): -0.1}, "negative"),
        ({(3, 3, 3, 3, 3, 3): 0.0}, "latency 0"),
        ({(3, 3, 3, 3, 3, 3): "fast"}, "not a number"),
        ({}, "holds no entries"),
        ([((3, 3, 3, 3, 3, 3), [[0.1]])], "raw measurement results"),
        ({(3, 3, 3, 3, 3, 3): 0.1, (3, 3, 3, 3, 3, np.int64(3)): 0.2}, None),
    ],
)
def test_bad_seed_pickles_are_rejected_whole(tmp_path, user_dir, data, message, capsys):
    good = {SPACE.vector(i): 0.01 for i in range(1, 100) if SPACE.is_valid(i)}
    if isinstance(data, dict) and data:
        data = {**good, **data}
    path = _seed_pickle(tmp_path, data)
    code = main(["dataset", "import", str(path), "--format", "eagle", "--name", "bad"])
    if message is None:  # np.int64(3) hashes like 3: the dict holds one key, which is fine
        assert code == 0
        return
    assert code == 1
    assert message in capsys.readouterr().err
    assert not user_dir.exists() or not any(user_dir.iterdir())


def test_empty_and_garbage_files(tmp_path, capsys):
    empty = tmp_path / "empty.pickle"
    empty.write_bytes(b"")
    assert main(["dataset", "import", str(empty), "--format", "eagle", "--name", "x"]) == 1
    assert "empty or truncated" in capsys.readouterr().err
    junk = tmp_path / "junk.pickle"
    junk.write_bytes(b"\x00\x01garbage")
    assert main(["dataset", "import", str(junk), "--format", "eagle", "--name", "x"]) == 1
    assert "not a readable pickle" in capsys.readouterr().err
    assert main(["dataset", "import", str(tmp_path / "nope.pickle"), "--format", "eagle", "--name", "x"]) == 2
    assert "file not found" in capsys.readouterr().err


def test_import_csv_with_each_key_column(tmp_path):
    rows = [(i, 0.5 + i % 5) for i in range(1, 60) if SPACE.is_valid(i)]
    for key, fmt in (
        ("nb201_index", str),
        ("arch_str", SPACE.arch_str),
        ("arch_vector", lambda i: str(SPACE.vector(i))),
    ):
        path = tmp_path / f"{key}.csv"
        path.write_text(f"{key},latency_ms\n" + "".join(f'"{fmt(i)}",{v}\n' for i, v in rows))
        ds = D.import_file(path, "csv", f"csv-{key}")
        assert ds.unit == "ms"
        assert ds.by_index()[[i for i, _ in rows]].tolist() == [v for _, v in rows]


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("nb201_index,latency_ms\n1,2.0\n1,3.0\n", "more than once"),
        ("nb201_index,latency_ms\n1,2.0\n20000,3.0\n", "out of range"),
        ("nb201_index,latency_ms\n1,abc\n", "not a number"),
        ("nb201_index,latency_ms\n1,-2\n", "negative"),
        ("arch_str,latency_ms\n|bad~0|,2\n", "malformed arch_str"),
        ("index,latency_ms\n1,2\n", "needs a column arch"),
        ("nb201_index,a,b\n1,2,3\n", "--column"),
        ("nb201_index,latency_ms,value\n1,2,3\n", "cannot tell which column"),
        ("nb201_index,latency_ms,latency_s\n1,2,0.002\n2,3,0.004\n", "line 3: latency_ms '3' and latency_s"),
        ("nb201_index,latency_ms,latency_s\n1,2,x\n", "latency_s 'x' is not a number"),
        ("", "holds no rows"),
    ],
)
def test_bad_csv_is_rejected(tmp_path, body, message):
    path = tmp_path / "bad.csv"
    path.write_text(body)
    with pytest.raises(EagleError, match=message):
        D.import_file(path, "csv", "bad")


def test_a_predictions_file_reads_back_as_a_measurement(tmp_path):
    """eagle predict writes latency_ms, latency_ms_std, latency_s, latency_s_std: one value, two units."""
    path = tmp_path / "PRED.csv"
    path.write_text(
        "nb201_index,latency_ms,latency_ms_std,latency_s,latency_s_std\n1,2.5,0.1,0.0025,0.0001\n7,4.0,0.2,0.004,0.0002\n"
    )
    ds = D.import_file(path, "csv", "pred")
    assert ds.unit == "ms" and ds.by_index()[[1, 7]].tolist() == [2.5, 4.0]
    arch = tmp_path / "A.csv"
    arch.write_text(f"id,arch,latency_s,latency_ms\nx,{SPACE.arch_str(3)},0.001,1.0\n")
    ds = D.import_file(arch, "csv", "pred-arch")
    assert ds.unit == "s" and ds.items("ms")[1].tolist() == [1.0]


def test_unknown_unit_is_rejected(tmp_path):
    path = _seed_pickle(tmp_path, {(3, 3, 3, 3, 3, 3): 0.1})
    with pytest.raises(EagleError, match="unknown unit 'hours'"):
        D.import_file(path, "eagle", "x", unit="hours")
    csvp = tmp_path / "x.csv"
    csvp.write_text("nb201_index,latency_ms\n1,2\n")
    with pytest.raises(EagleError, match="column says unit 'ms'"):
        D.import_file(csvp, "csv", "x", unit="s")


def test_import_help_pt(tmp_path):
    values = [float(1 + i % 13) for i in range(15625)]
    path = tmp_path / "dev_1.pt"
    torch.save(values, path)
    ds = D.import_file(path, "help", "dev")
    assert ds.unit == "ms" and ds.num_archs == 15284
    bad = tmp_path / "short.pt"
    torch.save(values[:10], bad)
    with pytest.raises(EagleError, match="list of 15625 values"):
        D.import_file(bad, "help", "dev")


def test_import_hwnasbench_pickle(tmp_path):
    rng = np.random.default_rng(0)
    data = {
        "nasbench201": {
            ds: {
                "pixel3_latency": [np.float64(v) for v in rng.uniform(1, 30, 15625)],
                "edgegpu_energy": list(rng.uniform(1, 30, 15625)),
                "config": [{"name": "infer.tiny", "C": 16, "N": 5, "arch_str": "x", "num_classes": 10}] * 15625,
            }
            for ds in ("cifar10", "cifar100", "ImageNet16-120")
        }
    }
    path = tmp_path / "HW-NAS-Bench-v1_0.pickle"
    path.write_bytes(pickle.dumps(data))
    ds = D.import_file(path, "hwnasbench", "hw/pixel3", hw_metric="pixel3_latency", hw_dataset="cifar100")
    valid = SPACE.valid_mask()
    np.testing.assert_array_equal(
        ds.by_index()[valid], np.asarray(data["nasbench201"]["cifar100"]["pixel3_latency"])[valid]
    )
    assert ds.metric == "latency" and ds.unit == "ms"
    energy = D.import_file(path, "hwnasbench", "hw/e", hw_metric="edgegpu_energy")
    assert energy.metric == "energy" and energy.unit == "mJ"
    with pytest.raises(EagleError, match="not HW-NAS-Bench"):
        D.import_file(_seed_pickle(tmp_path, {"x": 1}), "hwnasbench", "x")


def test_damaged_user_dataset_is_reported(tmp_path, user_dir):
    path = _seed_pickle(tmp_path, {(3, 3, 3, 3, 3, 3): 0.1})
    D.save_user_dataset(D.import_file(path, "eagle", "mine"))
    (user_dir / "mine.npz").write_bytes(b"nonsense")
    with pytest.raises(EagleError, match="damaged"):
        D.load("mine")


def test_compare_and_plot(tmp_path, capsys):
    out = tmp_path / "c.png"
    assert main(["dataset", "compare", "help/1080ti_1", "help/titanx_1", "--plot", str(out)]) == 0
    text = capsys.readouterr().out
    assert "spearman" in text and "15284" in text
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_export_parquet(tmp_path):
    import pandas as pd

    out = tmp_path / "x.parquet"
    assert main(["dataset", "export", "help/pixel3", "--format", "parquet", "--output", str(out)]) == 0
    frame = pd.read_parquet(out)
    assert len(frame) == 15284 and "latency_ms" in frame.columns


def test_list_command(capsys):
    assert main(["dataset", "list"]) == 0
    out = capsys.readouterr().out
    assert "desktop-cpu-core-i7-7820x-fp32" in out and "help/pixel3" in out and "accuracy" in out
