"""Predictors: estimator contract for every registered predictor, checkpoints, metrics, CLI."""

from __future__ import annotations

import json
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import eagle.datasets as D
from eagle import predictors
from eagle.cli.main import main
from eagle.errors import EagleError
from eagle.predictors.checkpoint import read
from eagle.predictors.metrics import evaluate, within
from eagle.predictors.training import random_split

REPO = Path(__file__).resolve().parents[2]
DEV = "desktop-cpu-core-i7-7820x-fp32"
FAST = {"epochs": 5, "ensemble": 2}


@pytest.fixture(scope="module")
def data():
    v = D.load(DEV).by_index("s")
    idx = np.nonzero(np.isfinite(v))[0]
    perm = np.random.default_rng(0).permutation(idx)
    return v, perm[:300], perm[300:1300]


def _make(name):
    if name in ("gcn", "mlp"):
        return predictors.create(name, seed=0, **FAST)
    return predictors.create(name, seed=0)


@pytest.mark.parametrize("name", predictors.names())
def test_every_predictor_fits_and_predicts(name, data):
    v, tr, te = data
    p = _make(name)
    with pytest.raises(EagleError, match="not fitted"):
        p.predict(te)
    assert p.fit(tr, v[tr]) is p
    pred = p.predict(te)
    assert pred.shape == te.shape and np.isfinite(pred).all()
    m = evaluate(pred, v[te])
    assert m["spearman"] > 0.3, (name, m)


def test_default_gcn_learns_the_device(data):
    v, tr, te = data
    p = predictors.create("gcn", seed=0, epochs=30, ensemble=1).fit(tr, v[tr])
    m = evaluate(p.predict(te), v[te])
    assert m["spearman"] > 0.9 and m["within_10pct"] > 0.5


def test_brp_nas_preset_is_the_seed_recipe():
    p = predictors.create("gcn", preset="brp-nas")
    c = p.config
    assert (c["hidden"], c["layers"], c["batch_size"], c["dtype"], c["target"], c["loss"]) == (
        600,
        4,
        1,
        "float64",
        "raw",
        "l1sum",
    )
    assert (c["lr"], c["weight_decay"], c["epochs"], c["early_stopping"]) == (4e-4, 5e-4, 250, 35)
    with pytest.raises(EagleError, match="unknown preset"):
        predictors.create("gcn", preset="nope")
    with pytest.raises(EagleError, match="unknown hyper-parameter"):
        predictors.create("gcn", hiden=3)


def test_brp_nas_preset_trains_in_float64_with_early_stopping(data):
    v, tr, te = data
    p = predictors.create("gcn", preset="brp-nas", epochs=3, hidden=32).fit(tr[:60], v[tr[:60]])
    assert next(p.models_[0].parameters()).dtype.is_floating_point
    assert str(next(p.models_[0].parameters()).dtype) == "torch.float64"
    assert np.isfinite(p.predict(te[:10])).all()


def test_deterministic_given_seed(data):
    v, tr, te = data
    a = predictors.create("gcn", seed=3, **FAST).fit(tr, v[tr]).predict(te)
    b = predictors.create("gcn", seed=3, **FAST).fit(tr, v[tr]).predict(te)
    np.testing.assert_array_equal(a, b)


def test_checkpoint_round_trip_and_spread(tmp_path, data):
    v, tr, te = data
    p = predictors.create("gcn", seed=0, **FAST).fit(tr, v[tr])
    path = tmp_path / "m.pt"
    predictors.save(p, path, extra={"metric": "latency", "unit": "s"})
    q = predictors.load(path)
    np.testing.assert_allclose(q.predict(te), p.predict(te), rtol=1e-6)
    spread = q.predict_spread(te)
    assert spread.shape == te.shape and (spread >= 0).all()
    for name in ("flops", "lut"):
        b = _make(name).fit(tr, v[tr])
        predictors.save(b, tmp_path / f"{name}.pt")
        np.testing.assert_allclose(predictors.load(tmp_path / f"{name}.pt").predict(te), b.predict(te))


def test_arch_prior_never_learns_from_the_training_data(tmp_path, data):
    v, tr, te = data
    # the same latencies in milliseconds: still recognised as the bundled dataset, and left out
    p = predictors.create("gcn", seed=0, **FAST).fit(tr, v[tr] * 1e3)
    assert DEV not in p.prior_devices_ and "help/pixel3" in p.prior_devices_
    assert p.prior_features_.shape == (15625, p.config["prior_rank"])
    strict = predictors.create("gcn", seed=0, prior_exclude=["desktop-gpu-gtx-1080ti-fp32"], **FAST).fit(tr, v[tr])
    assert not {DEV, "desktop-gpu-gtx-1080ti-fp32"} & set(strict.prior_devices_)
    with pytest.raises(EagleError, match="not bundled latency datasets"):
        predictors.create("gcn", prior_exclude=["no-such-device"], **FAST).fit(tr, v[tr])
    # the features travel in the checkpoint; a model without them loads as one without a prior
    predictors.save(strict, tmp_path / "prior.pt")
    q = predictors.load(tmp_path / "prior.pt")
    assert q.prior_devices_ == strict.prior_devices_
    np.testing.assert_allclose(q.predict(te), strict.predict(te), rtol=1e-6)
    plain = predictors.create("gcn", seed=0, prior=None, **FAST).fit(tr, v[tr])
    predictors.save(plain, tmp_path / "plain.pt")
    q = predictors.load(tmp_path / "plain.pt")
    assert q.prior_features_ is None and q.config["prior"] is None
    np.testing.assert_allclose(q.predict(te), plain.predict(te), rtol=1e-6)


def test_op_cost_input_is_fitted_to_the_training_archs(tmp_path, data):
    from scipy.stats import spearmanr

    from eagle.costmodels.opcost import MODELS, fit_best

    v, tr, te = data
    p = predictors.create("gcn", seed=0, **FAST).fit(tr, v[tr])
    assert p.op_cost_model_ in MODELS and p.op_cost_.table.shape == (15625, 1)
    # the physical model is fitted to the training archs alone (the i7 runs branches concurrently)
    assert p.op_cost_model_ == fit_best(tr, np.log(v[tr])).model == "critical-path"
    assert spearmanr(p.op_cost_.table[te, 0], v[te]).statistic > 0.9  # the input alone ranks the test archs
    # it travels in the checkpoint; a model without it (or saved before it existed) loads without
    predictors.save(p, tmp_path / "op.pt")
    q = predictors.load(tmp_path / "op.pt")
    assert q.op_cost_model_ == p.op_cost_model_
    np.testing.assert_allclose(q.predict(te), p.predict(te), rtol=1e-6)
    plain = predictors.create("gcn", seed=0, op_costs=False, **FAST).fit(tr, v[tr])
    assert plain.op_cost_ is None
    predictors.save(plain, tmp_path / "plain.pt")
    q = predictors.load(tmp_path / "plain.pt")
    assert q.op_cost_ is None and q.config["op_costs"] is False
    np.testing.assert_allclose(q.predict(te), plain.predict(te), rtol=1e-6)
    # fine-tuning keeps the input (the weights expect it) but refits it to the new data
    tuned = predictors.create("gcn", seed=1, **FAST).fit(tr[:50], v[tr[:50]], init=p)
    assert tuned.op_cost_ is not None and not np.array_equal(tuned.op_cost_.table, p.op_cost_.table)
    assert predictors.create("gcn", seed=1, **FAST).fit(tr[:50], v[tr[:50]], init=plain).op_cost_ is None


def test_init_and_transfer(data):
    v, tr, te = data
    base = predictors.create("gcn", seed=0, **FAST).fit(tr, v[tr])
    tuned = predictors.create("gcn", seed=1, **FAST).fit(tr[:50], v[tr[:50]], init=base)
    assert np.isfinite(tuned.predict(te)).all()
    assert tuned.prior_features_ is base.prior_features_  # the weights expect the base's inputs
    transfer = predictors.create("gcn", seed=1, **FAST).fit(tr[:50], v[tr[:50]], init=base, reset_head=True)
    assert np.isfinite(transfer.predict(te)).all()
    with pytest.raises(EagleError, match="same predictor kind"):
        predictors.create("mlp", **FAST).fit(tr[:50], v[tr[:50]], init=base)


def test_malicious_checkpoint_is_refused(tmp_path):
    from tests.conftest import Exploit

    marker = tmp_path / "pwned"
    path = tmp_path / "evil.pt"
    path.write_bytes(pickle.dumps({"format": "eagle-predictor", "x": Exploit(marker)}))
    res = subprocess.run(
        [sys.executable, "-m", "eagle", "predict", "--load", str(path), "--output", str(tmp_path / "p.csv")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode != 0 and "not a loadable Eagle checkpoint" in res.stderr and not marker.exists()


def test_metrics_seed_within_definition():
    # truth within ±10% of the *prediction*
    assert within(np.array([100.0]), np.array([110.0]), 0.10) == 1.0
    assert within(np.array([100.0]), np.array([110.1]), 0.10) == 0.0
    assert within(np.array([110.0]), np.array([100.0]), 0.10) == 1.0
    m = evaluate(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 3.3]))
    assert m["spearman"] == 1.0 and m["within_1pct"] == pytest.approx(2 / 3)


def test_split_never_overlaps():
    ds = D.load(DEV)
    s = random_split(ds, 900, 100, seed=5)
    assert len(s.train) == 900 and len(s.validation) == 100
    assert not set(s.train) & set(s.validation) and not set(s.train) & set(s.test)
    assert len(s.train) + len(s.validation) + len(s.test) == ds.num_archs
    with pytest.raises(EagleError, match="fewer than"):
        random_split(ds, 20000, 100, seed=0)


def test_cli_train_predict_evaluate(tmp_path, capsys):
    model, pred, js = tmp_path / "m.pt", tmp_path / "p.csv", tmp_path / "e.json"
    assert (
        main(
            [
                "train",
                "--predictor",
                "gcn",
                "--measurement",
                DEV,
                "--training-points",
                "200",
                "--validation-points",
                "0",
                "--save",
                str(model),
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "never trained on" in out and "arch prior learned from" in out and "op-cost input: the " in out
    assert main(["predict", "--load", str(model), "--output", str(pred)]) == 0
    lines = pred.read_text().splitlines()
    assert lines[0] == "nb201_index,arch_str,arch_vector,latency_ms,latency_ms_std,latency_s,latency_s_std"
    assert len(lines) == 15626
    assert (
        main(
            [
                "evaluate",
                "--load",
                str(model),
                "--measurement",
                DEV,
                "--json",
                str(js),
                "--plot",
                str(tmp_path / "e.png"),
                "--force",
            ]
        )
        == 0
    )
    metrics = json.loads(js.read_text())
    assert metrics["n"] == D.load(DEV).num_archs - 200  # training archs excluded
    assert (tmp_path / "e.png").read_bytes()[:4] == b"\x89PNG"
    assert "not a score on an unseen device" not in capsys.readouterr().out  # the prior left DEV out
    # another device: the training archs are still never scored, and the prior's copy of it is named
    other = "help/samsung_a50"
    assert main(["evaluate", "--load", str(model), "--measurement", other, "--json", str(js), "--force"]) == 0
    out = capsys.readouterr().out
    trained, present = set(read(model)[0]["trained_on"]), set(D.load(other).present().tolist())
    assert json.loads(js.read_text())["n"] == len(present - trained)
    assert f"({len(present & trained)} training archs excluded)" in out
    assert f"the arch prior holds {other}" in out and "not a score on an unseen device" in out


def test_cli_train_prior_flags(tmp_path, capsys):
    common = ["train", "--measurement", DEV, "--training-points", "100", "--validation-points", "0"]
    plain = tmp_path / "plain.pt"
    assert main([*common, "--no-prior", "--save", str(plain)]) == 0
    assert "arch prior" not in capsys.readouterr().out
    assert predictors.load(plain).prior_features_ is None
    strict = tmp_path / "strict.pt"
    assert main([*common, "--prior-exclude", "desktop-gpu-gtx-1080ti-fp32", "--save", str(strict)]) == 0
    assert "desktop-gpu-gtx-1080ti-fp32" not in predictors.load(strict).prior_devices_
    assert main([*common, "--predictor", "ridge", "--no-prior", "--save", str(tmp_path / "r.pt")]) != 0
    assert "apply to the neural predictors" in capsys.readouterr().err


def test_cli_train_on_a_seed_pickle_without_training_points(tmp_path):
    data = D.load("help/samsung_a50").to_seed_dict()
    small = dict(list(data.items())[:120])
    path = tmp_path / "lat.pickle"
    path.write_bytes(pickle.dumps(small))
    assert main(["train", "--predictor", "ridge", "--measurement", str(path), "--save", str(tmp_path / "r.pt")]) == 0
    assert main(["train", "--predictor", "lut", "--measurement", str(path), "--save", str(tmp_path / "l.pt")]) == 0


@pytest.mark.parametrize("name", ["flops", "params", "lut", "ridge", "gbt", "mlp"])
def test_every_registered_predictor_trains_saves_loads_and_predicts(name, tmp_path, capsys):
    """#18: every predictor of the registry goes through train -> checkpoint -> predict/evaluate."""
    assert name in predictors.names()
    ckpt = tmp_path / "m.pt"
    args = ["train", "--predictor", name, "--measurement", "help/pixel3", "--training-points", "200", "-q"]
    assert main([*args, "--save", str(ckpt)] + (["--no-prior"] if name == "mlp" else [])) == 0, capsys.readouterr().err
    fitted = predictors.load(ckpt)
    out = tmp_path / "p.csv"
    assert main(["predict", "--load", str(ckpt), "--output", str(out), "-q"]) == 0
    rows = out.read_text().splitlines()
    assert len(rows) == 15626
    again = [float(r.split(",")[-1]) for r in rows[1:6]]
    assert np.allclose(again, fitted.predict(np.arange(5)), rtol=1e-6)
    assert main(["evaluate", "--load", str(ckpt), "--measurement", "help/pixel3", "-q"]) == 0
    assert "spearman" in capsys.readouterr().out


def test_seed_predictors_main(tmp_path):
    cfg = tmp_path / "c.yaml"
    cfg.write_text(
        (REPO / "configs/predictors/lat_gcn_nasbench201_desktop.yaml")
        .read_text()
        .replace("epochs: 250", "epochs: 2")
        .replace("num_hidden: 600", "num_hidden: 16")
        .replace("training_points: 900", "training_points: 90")
        .replace("validation_points: 100", "validation_points: 10")
    )
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "eagle.predictors",
            "--predictor",
            "gcn",
            "--model",
            "nasbench201",
            "--device",
            "desktop",
            "--metric",
            "latency",
            "--cfg",
            str(cfg),
            "--measurement",
            DEV,
            "--save",
            "--log",
            "--expdir",
            str(tmp_path / "results"),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert res.returncode == 0, res.stderr
    out = tmp_path / "results/nasbench201/latency/desktop/gcn"
    log = (out / "log.txt").read_text().splitlines()
    assert "---" in log and len(log) > 15000
    gt, pred, *_ = log[0].split(" ", 2)
    assert float(gt) > 0 and float(pred) != 0
    assert (out / "predictor.pt").exists() and json.loads((out / "metrics.json").read_text())["n"] > 15000


def test_predictor_contract_for_every_registered_name():
    """#19: one contract: fit/predict/predict_spread/state, NotFittedError before fit, a checkpoint kind each."""
    from eagle.predictors.base import CHECKPOINT_KINDS, NotFittedError, checkpoint_class

    for name in predictors.names():
        model = predictors.create(name)
        with pytest.raises(NotFittedError):
            model.predict(np.arange(3))
        with pytest.raises(NotFittedError):
            model.state()
        assert name in CHECKPOINT_KINDS.names()
        assert hasattr(checkpoint_class(name), "from_state")
        assert callable(model.predict_spread)
