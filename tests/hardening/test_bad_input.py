"""#17.4-6: resource bombs, inputs that used to end in a traceback, and results that looked fine."""

from __future__ import annotations

import json
import pickle
import sqlite3
import time

import numpy as np
import pytest
import torch

from eagle.datasets.safe_pickle import UnsafePickleError, safe_loads
from tests.hardening.conftest import assert_clean_failure, digest, run_cli

VEC = (3, 3, 3, 3, 3, 3)


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


# -- 4. resource bombs -----------------------------------------------------------------------------
def _laughs(depth=40):
    x = [1]
    for _ in range(depth):
        x = [x, x]
    return x


def test_billion_laughs_pickle_fails_fast(tmp_path, capsys):
    path = _write(tmp_path / "bomb.pickle", pickle.dumps({VEC: _laughs()}))
    t0 = time.perf_counter()
    res = run_cli(capsys, "dataset", "import", path, "--format", "eagle", "--name", "bomb")
    assert time.perf_counter() - t0 < 5
    assert_clean_failure(res, codes=(1,), contains="expands to over")


@pytest.mark.parametrize("proto", [0, 2, 4, 5])
def test_shared_reference_bombs_refused_in_every_protocol(proto):
    d: dict = {}
    for _ in range(40):
        d = {"a": d, "b": d}
    t = (1,)
    for _ in range(60):
        t = (t, t)
    for obj in (_laughs(), d, t):
        with pytest.raises(UnsafePickleError, match="expands to over"):
            safe_loads(pickle.dumps(obj, protocol=proto))


def test_deep_nesting_refused():
    deep = b"\x80\x04" + b"]" * 200_000 + b"a" * 199_999 + b"."
    with pytest.raises(UnsafePickleError, match="nested over"):
        safe_loads(deep)


def test_yaml_alias_bomb_fails_fast(tmp_path, capsys):
    cfg = tmp_path / "bomb.yaml"
    cfg.write_text(
        "a: &a [1,2,3,4,5,6,7,8,9]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\n"
        "d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n"
    )
    t0 = time.perf_counter()
    res = run_cli(capsys, "train", "--cfg", cfg, "--measurement", "help/pixel3", "--save", tmp_path / "m.pt")
    assert time.perf_counter() - t0 < 5
    assert_clean_failure(res, codes=(2,), contains="aliases")
    assert not (tmp_path / "m.pt").exists()


@pytest.mark.parametrize("device", ["/dev/zero", "/dev/stdin"])
def test_devices_are_not_read_as_files(device, capsys):
    res = run_cli(capsys, "dataset", "import", device, "--format", "csv", "--name", "z")
    assert_clean_failure(res, codes=(2,), contains="not a regular file")


def test_fifo_without_writer_does_not_hang(tmp_path, capsys):
    import os

    fifo = tmp_path / "f.csv"
    os.mkfifo(fifo)
    res = run_cli(capsys, "dataset", "import", fifo, "--format", "csv", "--name", "z")
    assert_clean_failure(res, codes=(2,), contains="not a regular file")


# -- 5. tracebacks that became clear errors ------------------------------------------------------
PICKLES = {
    "huge_int": {VEC: 10**400},
    "huge_key_int": {10**400: 1.0},
    "nested_value": {VEC: [[[[1.0]]]]},
    "not_a_dict": [1, 2, 3],
    "str_keys": {"a": 1.0},
    "nan": {VEC: float("nan")},
}


@pytest.mark.parametrize("name", sorted(PICKLES))
def test_bad_seed_pickles(name, tmp_path, capsys):
    path = _write(tmp_path / f"{name}.pickle", pickle.dumps(PICKLES[name]))
    assert_clean_failure(run_cli(capsys, "dataset", "import", path, "--format", "eagle", "--name", "x"), codes=(1,))
    assert_clean_failure(
        run_cli(capsys, "train", "--predictor", "flops", "--measurement", path, "--save", tmp_path / "m.pt"),
        codes=(1,),
    )


@pytest.mark.parametrize(
    "column",
    [
        {"nasbench201": {"cifar10": {"pixel3_latency": 5}}},
        {"nasbench201": {"cifar10": {"pixel3_latency": "abc"}}},
        {"nasbench201": {"cifar10": {"pixel3_latency": {1: 2}}}},
        {"nasbench201": 3},
        [1],
    ],
)
def test_hwnasbench_wrong_types(column, tmp_path, capsys):
    path = _write(tmp_path / "hw.pickle", pickle.dumps(column))
    res = run_cli(capsys, "dataset", "import", path, "--format", "hwnasbench", "--name", "hw")
    assert_clean_failure(res, codes=(1,))


@pytest.mark.parametrize(
    "raw", [[([3, 3, 3, 3, 3, 3], [])], [([3, 3, 3, 3, 3, 3], [[]])], [([3, 3, 3, 3, 3, 3], [[0.1], []])]]
)
def test_raw_results_with_empty_rounds(raw, tmp_path, capsys):
    path = _write(tmp_path / "raw.pickle", pickle.dumps(raw))
    out = tmp_path / "lat.pickle"
    assert_clean_failure(run_cli(capsys, "measure", "stats", path, "--output", out), codes=(1,), contains="no timings")
    assert not out.exists()


@pytest.mark.parametrize(
    "text",
    [
        "nb201_index,latency_s\n1,0.1,9\n",
        "nb201_index,latency_s\n²,0.1\n",
        "nb201_index,latency_s\n" + "9" * 5000 + ",0.1\n",
        "nb201_index,latency_s\n1\n",
        "nb201_index,latency_fortnights\n1,0.1\n",
        "arch_str,latency_s\n|x|,0.1\n",
        "nb201_index,latency_s\n1,1e999\n",
        "nb201_index,latency_s\n-1,0.1\n",
        "x\n",
    ],
)
def test_bad_csv(text, tmp_path, capsys):
    path = _write(tmp_path / "d.csv", text.encode())
    assert_clean_failure(run_cli(capsys, "dataset", "import", path, "--format", "csv", "--name", "c"), codes=(1,))


def test_binary_archs_file(tmp_path, capsys):
    path = _write(tmp_path / "archs.txt", bytes(range(256)) * 4)
    res = run_cli(capsys, "measure", "--runtime", "null", "--archs", path, "--db", tmp_path / "x.sqlite")
    assert_clean_failure(res, codes=(1,), contains="not UTF-8")


def _checkpoint(path, blob):
    torch.save(blob, path)
    return path


CHECKPOINTS = {
    "format_only": {"format": "eagle-predictor"},
    "bad_json": {"format": "eagle-predictor", "config": "{nope", "tensors": {}},
    "no_kind": {"format": "eagle-predictor", "config": "{}", "tensors": {}},
    "unknown_kind": {"format": "eagle-predictor", "config": json.dumps({"kind": "zzz"}), "tensors": {}},
    "gcn_missing_fields": {"format": "eagle-predictor", "config": json.dumps({"kind": "gcn"}), "tensors": {}},
    "lut_empty_fitted": {
        "format": "eagle-predictor",
        "config": json.dumps({"kind": "lut", "seed": 0, "params": {}}),
        "tensors": {"fitted": torch.zeros(0)},
    },
    "lut_wrong_shape": {
        "format": "eagle-predictor",
        "config": json.dumps({"kind": "lut", "seed": 0, "params": {}}),
        "tensors": {"fitted": torch.ones(3)},
    },
    "not_a_dict": [1, 2],
}


@pytest.mark.parametrize("name", sorted(CHECKPOINTS))
def test_malformed_checkpoints(name, tmp_path, capsys):
    ckpt = _checkpoint(tmp_path / "m.pt", CHECKPOINTS[name])
    out = tmp_path / "p.csv"
    out.write_text("keep")
    assert_clean_failure(run_cli(capsys, "predict", "--load", ckpt, "--output", out, "--force"), codes=(1,))
    assert out.read_text() == "keep"
    assert_clean_failure(run_cli(capsys, "evaluate", "--load", ckpt, "--measurement", "help/pixel3"), codes=(1,))


def _torch_save_exploit(path, marker):
    from tests.conftest import Exploit

    torch.save({"format": "eagle-predictor", "x": Exploit(marker)}, path)


@pytest.mark.parametrize(
    "write, says",
    [
        (lambda p, m: p.write_bytes(b"garbage"), "not a file torch.save wrote"),
        (lambda p, m: p.write_bytes(b""), "empty, cut short or damaged"),
        (lambda p, m: (_torch_save_exploit(p, m), p.write_bytes(p.read_bytes()[:200])), "empty, cut short or damaged"),
        (_torch_save_exploit, "refused, nothing was run"),
    ],
    ids=["garbage", "empty", "truncated", "code"],
)
def test_unloadable_torch_files_say_why_without_unsafe_advice(write, says, tmp_path, capsys):
    """torch's own message advises retrying with weights_only=False (running the file's code):
    Eagle says what is wrong with the file instead, for checkpoints, kernel models and HELP files."""
    marker = tmp_path / "pwned"
    path = tmp_path / "m.pt"
    write(path, marker)
    for args in (
        ("predict", "--load", path, "--output", tmp_path / "p.csv"),
        ("dataset", "import", path, "--format", "help", "--name", "x"),
    ):
        res = run_cli(capsys, *args)
        assert_clean_failure(res, codes=(1,), contains=says)
        assert "weights_only" not in res.err and not marker.exists()


@pytest.fixture(scope="module")
def gcn_checkpoint(tmp_path_factory):
    from eagle.cli.main import main

    path = tmp_path_factory.mktemp("gcn") / "m.pt"
    assert main(["train", "--predictor", "gcn", "--no-prior", "--measurement", "help/pixel3",
                 "--training-points", "30", "--save", str(path)]) == 0  # fmt: skip
    return path


def test_wrong_tensor_shapes(gcn_checkpoint, tmp_path, capsys):
    blob = torch.load(gcn_checkpoint, weights_only=True)
    name = next(k for k in blob["tensors"] if k.startswith("m0.") and blob["tensors"][k].ndim == 2)
    blob["tensors"][name] = torch.zeros(3, 3)
    ckpt = _checkpoint(tmp_path / "bad.pt", blob)
    assert_clean_failure(run_cli(capsys, "predict", "--load", ckpt, "--output", tmp_path / "p.csv"), codes=(1,))


def test_nan_weights_are_refused_not_written(gcn_checkpoint, tmp_path, capsys):
    blob = torch.load(gcn_checkpoint, weights_only=True)
    for k, v in blob["tensors"].items():
        if k.startswith("m") and v.is_floating_point():
            blob["tensors"][k] = torch.full_like(v, float("nan"))
    ckpt = _checkpoint(tmp_path / "nan.pt", blob)
    out = tmp_path / "p.csv"
    res = run_cli(capsys, "predict", "--load", ckpt, "--output", out)
    assert_clean_failure(res, codes=(1,), contains="non-finite")
    assert not out.exists()


def test_huge_latencies_are_refused(tmp_path, capsys):
    path = _write(
        tmp_path / "huge.pickle", pickle.dumps({VEC: 1.7e308, (1, 2, 3, 4, 1, 2): 1.6e308, (3, 1, 3, 1, 3, 1): 1e308})
    )
    res = run_cli(
        capsys, "train", "--predictor", "gcn", "--no-prior", "--measurement", path, "--save", tmp_path / "m.pt"
    )
    if res.code == 0:  # if training went through, predicting must not write inf rows
        res = run_cli(capsys, "predict", "--load", tmp_path / "m.pt", "--output", tmp_path / "p.csv")
    assert_clean_failure(res, codes=(1,))
    assert not (tmp_path / "p.csv").exists()


def test_fewshot_base_refused_as_latency_predictor(tmp_path, capsys):
    base = tmp_path / "base.pt"
    small = ["help/pixel3", "help/1080ti_1", "help/titanx_1", "desktop-cpu-core-i7-7820x-fp32"]
    assert run_cli(capsys, "pretrain", "--measurement", *small, "--save", base).code == 0
    res = run_cli(capsys, "search", "--latency-predictor", base, "--latency-limit", "0.01", "--budget", "10",
                  "--output", tmp_path / "t.txt")  # fmt: skip
    assert_clean_failure(res, codes=(2,), contains="few-shot base")


def test_identical_latencies_are_a_clear_error(tmp_path, capsys):
    from eagle.spaces import get

    space = get("nasbench201")
    valid = [i for i in range(space.num_archs) if space.is_valid(i)][:20]
    path = _write(tmp_path / "same.pickle", pickle.dumps({space.vector(i): 0.001 for i in valid}))
    res = run_cli(capsys, "train", "--measurement", path, "--training-points", "20", "--save", tmp_path / "m.pt")
    assert_clean_failure(res, codes=(1,), contains="are equal")


def test_lut_never_predicts_zero():
    from eagle.predictors.baselines import LookupTableBaseline
    from eagle.spaces import get

    space = get("nasbench201")
    rng = np.random.default_rng(0)
    idx = rng.choice([i for i in range(space.num_archs) if space.is_valid(i)], 200, replace=False)
    y = np.where(rng.random(200) < 0.5, 1e-12, 1e6) * rng.uniform(1, 2, 200)
    pred = LookupTableBaseline().fit(idx, y).predict(np.arange(space.num_archs))
    assert np.isfinite(pred).all() and (pred > 0).all()


# -- 6. results that looked fine -------------------------------------------------------------------
@pytest.mark.parametrize("by", ["nan", "inf", "-1", "0", "abc"])
def test_normalise_by_bad_numbers(by, tmp_path, capsys):
    path = _write(tmp_path / "acc.pickle", pickle.dumps({VEC: 90.0}))
    out = tmp_path / "n.pickle"
    assert_clean_failure(run_cli(capsys, "measure", "normalise", path, "--by", by, "--output", out), codes=(2,))
    assert not out.exists()


def test_stats_refuses_duplicate_archs(tmp_path, capsys):
    raw = [([3, 3, 3, 3, 3, 3], [[0.1, 0.1]]), ([3, 3, 3, 3, 3, 3], [[0.2, 0.2]])]
    path = _write(tmp_path / "raw.pickle", pickle.dumps(raw))
    res = run_cli(capsys, "measure", "stats", path, "--output", tmp_path / "o.pickle")
    assert_clean_failure(res, codes=(1,), contains="more than once")


def test_simulate_validates_every_method_first(capsys):
    t0 = time.perf_counter()
    res = run_cli(capsys, "search", "simulate", "--methods", "brp,zzz", "--seeds", "1")
    assert time.perf_counter() - t0 < 10
    assert_clean_failure(res, codes=(2,), contains="zzz")


def test_foreign_sqlite_is_refused_untouched(tmp_path, capsys):
    db = tmp_path / "app.sqlite"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE users (name TEXT)")
    before = digest(db)
    res = run_cli(capsys, "measure", "--runtime", "null", "--archs", "2", "--db", db)
    assert_clean_failure(res, codes=(2,), contains="not an Eagle results store")
    assert digest(db) == before
    with sqlite3.connect(db) as conn:
        assert [r[0] for r in conn.execute("SELECT name FROM sqlite_master")] == ["users"]


def test_read_only_store_can_be_exported(tmp_path, capsys):
    import os
    import stat

    folder = tmp_path / "ro"
    folder.mkdir()
    db = folder / "x.sqlite"
    assert run_cli(capsys, "measure", "--runtime", "null", "--archs", "3", "--db", db, "--no-progress").code == 0
    for p in folder.iterdir():
        p.chmod(stat.S_IRUSR)
    folder.chmod(stat.S_IRUSR | stat.S_IXUSR)
    try:
        if os.access(db, os.W_OK):  # root ignores permissions: test the read-only open itself
            from eagle.store import ResultStore

            with ResultStore(db, readonly=True) as store:
                assert len(store.runs()) == 1
        res = run_cli(capsys, "measure", "export", "--db", db, "--format", "csv", "--output", tmp_path / "o.csv")
        assert res.code == 0, res.err
        assert (tmp_path / "o.csv").read_text().count("\n") >= 3
    finally:
        folder.chmod(stat.S_IRWXU)


def test_second_sweep_of_a_run_is_refused(tmp_path, capsys):
    from eagle.store import ResultStore

    db = tmp_path / "x.sqlite"
    assert run_cli(capsys, "measure", "--runtime", "null", "--archs", "3", "--db", db, "--no-progress").code == 0
    import subprocess
    import sys

    with ResultStore(db) as store:  # this process holds the run while the block lasts: a "live" sweep
        run_id = store.runs()[0].id
        store.claim_run(run_id)
        res = subprocess.run(
            [sys.executable, "-m", "eagle", "measure", "--runtime", "null", "--archs", "3", "--db", str(db)],
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert res.returncode == 2 and "being measured right now" in res.stderr, res.stderr
    with ResultStore(db) as store:  # closing the store released the claim
        assert store.conn.execute("SELECT count(*) FROM run_locks").fetchone()[0] == 0
    assert run_cli(capsys, "measure", "--runtime", "null", "--archs", "3", "--db", db, "--no-progress").code == 0


def test_claim_left_by_a_killed_process_is_taken_over(tmp_path, capsys):
    from eagle.store import ResultStore

    db = tmp_path / "x.sqlite"
    assert run_cli(capsys, "measure", "--runtime", "null", "--archs", "3", "--db", db, "--no-progress").code == 0
    with ResultStore(db) as store:
        store.conn.execute(
            "INSERT INTO run_locks(run_id, host, pid, pid_start, since) VALUES (1, ?, 999999999, 'x', 0)",
            (__import__("socket").gethostname(),),
        )
    assert run_cli(capsys, "measure", "--runtime", "null", "--archs", "3", "--db", db, "--no-progress").code == 0


@pytest.mark.parametrize(
    "args",
    [
        ["search", "--seed", "-1", "--output", "t.txt"],
        ["search", "simulate", "--seeds", "0"],
        ["measure", "--runtime", "null", "--archs", "2", "--pin", "abc"],
        ["measure", "--runtime", "null", "--archs", "2", "--timeout", "nan"],
        ["measure", "--runtime", "null", "--archs", "2", "--device", "ssh://me@host:99999"],
        ["measure", "--runtime", "null", "--archs", "2", "--device", "ssh://me@host:abc"],
        ["measure", "--runtime", "null", "--archs", "2", "--device", "ssh://[::1:22"],
        ["pretrain", "--rank", "-1", "--save", "b.pt"],
        ["train", "--measurement", "help/pixel3", "--training-points", "0", "--save", "m.pt"],
        ["measure", "normalise", "x.pickle", "--by", "nan", "--output", "o.pickle"],
    ],
)
def test_cli_values_named_in_the_issue(args, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert_clean_failure(run_cli(capsys, *args), codes=(2,))
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("module", ["eagle.device_runner", "eagle.predictors"])
def test_an_expdir_that_cannot_be_created(module, tmp_path):
    import subprocess
    import sys

    from tests.conftest import REPO

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    cfg = {
        "eagle.device_runner": ["--model", "nasbench201", "--device", "d", "--runtime", "null",
                                "--cfg", str(REPO / "configs/measurements/desktop_nasbench201_local.yaml")],
        "eagle.predictors": ["--device", "d", "--measurement", "help/pixel3",
                             "--cfg", str(REPO / "configs/predictors/lat_gcn_nasbench201_desktop.yaml")],
    }[module]  # fmt: skip
    res = subprocess.run(
        [sys.executable, "-m", module, *cfg, "--expdir", str(blocker / "sub")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 2, res.stderr
    assert len(res.stderr.strip().splitlines()) == 1 and "cannot create the folder" in res.stderr
    assert "Traceback" not in res.stderr


def test_sqlite_disk_full_says_disk_full():
    from eagle.store import _describe

    assert _describe(sqlite3.OperationalError("database or disk is full")).startswith("disk full")


def test_fifo_as_measurement_does_not_hang(tmp_path, capsys):
    import os

    fifo = tmp_path / "m.sqlite"
    os.mkfifo(fifo)
    res = run_cli(capsys, "train", "--predictor", "lut", "--measurement", fifo, "--save", tmp_path / "m.pt")
    assert_clean_failure(res, contains="not a regular file")
