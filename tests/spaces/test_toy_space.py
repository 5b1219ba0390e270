"""The plug-in contract end to end: a toy chain space that lives only in the tests goes through
measure (null runtime on a simulated compute-bound device) -> dataset -> train/predict ->
few-shot -> search, and through the command line, without any change to Eagle's core."""

from __future__ import annotations

import csv
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import spearmanr

import eagle
from eagle import predictors, spaces
from eagle.datasets import catalog
from eagle.datasets.dataset import Dataset
from eagle.errors import InvalidArchError, UsageError
from tests.spaces.toy import ToyChain

REPO = Path(__file__).resolve().parents[2]
SPEC = "tests.spaces.toy:ToyChain"


@pytest.fixture(scope="module")
def toy():
    return spaces.get(SPEC)


@pytest.fixture(scope="module")
def measured(tmp_path_factory, toy):
    """120 toy archs measured with the null runtime, 2 ns per MAC (about 0.6-3 ms per network)."""
    db = tmp_path_factory.mktemp("toy") / "toy.sqlite"
    mp = pytest.MonkeyPatch()
    mp.setenv("PYTHONPATH", str(REPO))  # the worker process imports the toy space by its path
    try:
        ds = eagle.measure(
            archs=120,
            space=toy,
            runtime="null",
            db=db,
            seed=0,
            sleep_per_mac_s=2e-9,
            protocol={"warmup": 1, "runs": 3, "avg_between": 2, "min_round_s": 0.0},
        )
    finally:
        mp.undo()
    return ds, db


def test_contract_invariants(toy):
    keys = toy.enumerate()
    assert toy.size == 343 == len(set(keys))
    for i in (0, 1, 100, 342):
        assert toy.index(toy.arch_at(i)) == i and toy.parse(toy.parse(keys[i])) == keys[i]
    rng = np.random.default_rng(0)
    sample = toy.sample(20, rng)
    assert len(set(sample)) == 20 and all(toy.parse(a) == a for a in sample)
    enc = toy.encode(sample)
    assert enc.adjacency.shape[0] == enc.nodes.shape[0] == enc.globals.shape[0] == 20
    assert np.isfinite(enc.globals).all() and toy.op_counts(sample).shape == (20, len(toy.op_vocabulary))
    assert toy.mutate(sample[0], rng) != sample[0]
    # the chain graph, node by node: global 0, input 1, layers 2..4, output 5; a skipped layer leaves no node
    enc = toy.encode(["conv3-skip-dw3", "skip-skip-skip", "conv1-pool-wide3"])
    edges = [sorted(map(tuple, np.argwhere(a - np.diag(np.diag(a)) > 0).tolist())) for a in enc.adjacency]
    assert edges[0] == [(0, 1), (0, 2), (0, 4), (0, 5), (1, 2), (2, 4), (4, 5)]
    assert edges[1] == [(0, 1), (0, 5), (1, 5)]
    assert edges[2] == [(0, 1), (0, 2), (0, 3), (0, 4), (0, 5), (1, 2), (2, 3), (3, 4), (4, 5)]
    assert [np.diag(a).tolist() for a in enc.adjacency[:2]] == [[1, 1, 1, 0, 1, 1], [1, 1, 0, 0, 0, 1]]
    op = {name: 3 + i for i, name in enumerate(toy._ops)}
    assert enc.nodes[0, 2, op["conv3"]] == 1 and enc.nodes[0, 3].sum() == 0 and enc.nodes[0, 4, op["dw3"]] == 1
    assert enc.nodes[:, 0, 0].all() and enc.nodes[:, 1, 1].all() and enc.nodes[:, 5, 2].all()
    costs = toy.costs(["conv1-conv1-conv1", "conv5-conv5-conv5"])
    assert costs[0, 0] < costs[1, 0] and costs[0, 1] < costs[1, 1]
    with pytest.raises(InvalidArchError, match="layer 1 cannot be 'conv9'"):
        toy.parse("conv3-conv9-skip")
    with pytest.raises(InvalidArchError, match="has 3 ops"):
        toy.parse("conv3")
    assert spaces.spec(toy) == SPEC and spaces.get(spaces.spec(toy)) is toy


def test_measure_dataset_train_predict(measured, toy, tmp_path):
    ds, _ = measured
    assert ds.space is toy and ds.num_archs == 120 and ds.metadata["space"] == SPEC
    keys, latency = ds.items("s")
    assert len(keys) == 120 and (latency > 0).all()
    macs = toy.costs(keys)[:, 0]
    assert spearmanr(macs, latency).statistic > 0.9  # the simulated device is compute-bound
    order = np.random.default_rng(0).permutation(len(keys))  # keys come in index order: shuffle
    train = [keys[i] for i in order[:80]]
    test = [keys[i] for i in order[80:]]
    for name in ("gcn", "ridge", "lut", "flops"):
        model = predictors.create(name, space=toy).fit(train, latency[order[:80]])
        rho = spearmanr(model.predict(test), latency[order[80:]]).statistic
        assert rho > 0.8, (name, rho)
        path = tmp_path / f"{name}.pt"
        predictors.save(model, path)
        again = predictors.load(path)
        np.testing.assert_allclose(again.predict(test), model.predict(test), rtol=1e-6)
    frame = ds.to_pandas()
    assert list(frame.columns) == ["arch", "latency_s"]


def _synthetic_devices(toy):
    """Three devices of the toy space with different op costs (the pretraining set)."""
    keys = toy.enumerate()
    counts = toy.op_counts(keys)
    rng = np.random.default_rng(1)
    out = {}
    for d in range(3):
        cost = rng.uniform(0.2, 2.0, counts.shape[1])
        out[f"toy-device-{d}"] = 1e-3 * (1.0 + counts @ cost) * np.exp(rng.normal(0, 0.02, len(keys)))
    return out


def test_fewshot_on_the_toy_space(measured, toy):
    ds, _ = measured
    from eagle.fewshot import FewShotPredictor, pretrain, select_archs

    basis = pretrain(_synthetic_devices(toy), space=toy, rank=2)
    assert basis.space == SPEC and basis.num_archs == 343
    keys, _ = ds.items("s")
    chosen = select_archs(basis, 10, candidates=toy.indices(keys))
    y = ds.values_for(chosen, "s")
    model = FewShotPredictor(basis).fit([toy.arch_at(int(i)) for i in chosen], y)
    test = [k for k in keys if toy.index(k) not in set(chosen)]
    rho = spearmanr(model.predict(test), ds.values_for(test, "s")).statistic
    assert rho > 0.8, rho
    assert (model.predict_spread(test) > 0).all()


def test_search_on_the_toy_space(toy, tmp_path, monkeypatch):
    monkeypatch.setenv("EAGLE_DATA_DIR", str(tmp_path / "data"))
    keys = toy.enumerate()
    costs = toy.costs(keys)
    acc = 50 + 10 * np.log(costs[:, 1]) / np.log(costs[:, 1]).max()  # bigger is better, as usual
    accuracy = Dataset("toy/accuracy", acc, {"metric": "accuracy", "unit": "%", "space": SPEC})
    catalog.save_user_dataset(accuracy)
    for method in ("brp", "evolution", "random"):
        res = eagle.search(method, accuracy="toy/accuracy", budget=30, iterations=3, seed=0, ensemble=1)
        assert len(res.queried) == 30 and res.stats["space"] == SPEC
        if method == "brp":  # the predictor-guided search finds a near-best arch with 30 of 343 trained
            assert res.stats["best_queried_accuracy"] >= np.sort(acc)[-10]


def test_command_line_with_a_plugin_space(measured, toy, tmp_path):
    """train/predict from the CLI on a dataset of the toy space; the space travels in the files."""
    _, db = measured
    env = {"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"}
    eagle_cli = [sys.executable, "-m", "eagle"]
    model = tmp_path / "m.pt"
    subprocess.run(
        [*eagle_cli, "train", "--predictor", "ridge", "--measurement", str(db), "--save", str(model), "--space", SPEC],
        check=True,
        env=env,
        capture_output=True,
    )
    archs = tmp_path / "archs.csv"
    archs.write_text("arch\nconv3-conv3-conv3\nskip-skip-pool\nconv3-conv3-conv3\n")
    out = tmp_path / "pred.csv"
    subprocess.run(
        [*eagle_cli, "predict", "--load", str(model), "--archs", str(archs), "--output", str(out), "--space", SPEC],
        check=True,
        env=env,
        capture_output=True,
    )
    rows = list(csv.DictReader(out.open()))
    assert [r["arch"] for r in rows] == ["conv3-conv3-conv3", "skip-skip-pool", "conv3-conv3-conv3"]
    assert float(rows[0]["latency_s"]) > float(rows[1]["latency_s"]) > 0
    archs.write_text("arch\nconv3-conv9-conv3\n")
    cmd = [*eagle_cli, "predict", "--load", str(model), "--archs", str(archs), "--output", str(out), "--space", SPEC]
    bad = subprocess.run([*cmd, "--force"], env=env, capture_output=True, text=True)
    assert bad.returncode == 1 and "line 2" in bad.stderr and "conv9" in bad.stderr, bad.stderr


def test_non_enumerable_use_is_refused_clearly(toy):
    with pytest.raises(UsageError):
        toy.network_config({"depth": 3})


def test_a_file_cannot_make_eagle_import_a_module(tmp_path):
    """A checkpoint naming 'evil:Space' next to an evil.py is refused without importing evil.py."""
    import json

    marker = tmp_path / "IMPORTED"
    (tmp_path / "evil.py").write_text(f"open({str(marker)!r}, 'w').write('x')\n")
    good = tmp_path / "ridge.pt"
    archs = ToyChain().enumerate()[:20]
    predictors.save(predictors.create("ridge", space="nasbench201").fit(list(range(20)), np.arange(1.0, 21.0)), good)
    import torch

    blob = torch.load(good, weights_only=True)
    config = json.loads(blob["config"]) if isinstance(blob.get("config"), str) else None
    assert archs and config is not None
    config["space"] = "evil:Space"
    blob["config"] = json.dumps(config)
    hostile = tmp_path / "hostile.pt"
    torch.save(blob, hostile)
    r = subprocess.run(
        [sys.executable, "-m", "eagle", "predict", "--load", str(hostile), "--output", str(tmp_path / "p.csv")],
        cwd=tmp_path,  # python -m puts the working folder first on sys.path: evil.py would import
        capture_output=True,
        text=True,
    )
    assert r.returncode != 0 and "not registered" in r.stderr and "Traceback" not in r.stderr, r.stderr
    assert not marker.exists()
