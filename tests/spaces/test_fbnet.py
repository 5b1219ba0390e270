"""The FBNet space (HW-NAS-Bench, CIFAR-100): strings, exact costs, networks, bundled data, CLI."""

from __future__ import annotations

import csv
import subprocess
import sys

import numpy as np
import pytest
from scipy.stats import spearmanr

from eagle import datasets, predictors, spaces
from eagle.errors import InvalidArchError, UsageError
from eagle.spaces.counting import count_macs_params
from tests.conftest import shared_path

SPACE = spaces.get("fbnet")
ALL_SKIP = "-".join(["skip"] * 22)

# Hand-computed from HW-NAS-Bench's definition (conv weights + BN affine + classifier):
# stem 464; 1x1 conv+BN where skip changes width/stride: 432, 832, 2176, 7392, 20976, 65472;
# header 532416; fc 150500. MACs: stem 442368, skips 393216 + 196608 + 131072 + 458752 +
# 329728 + 1036288, header 8470528, fc 150400.
ALL_SKIP_PARAMS, ALL_SKIP_MACS = 780660, 11608960
# k3_e6 at layer 0 (16 -> 16, 32x32): 1536 + 192 + 864 + 192 + 1536 + 32 params; 1024 * 3936 MACs
K3E6_PARAMS, K3E6_MACS = 4352, 4030464
# k3_e1_g2 at layer 0: two grouped 1x1 convs 128 + 128, dw 144, BNs 3 x 32; 1024 * 400 MACs
K3E1G2_PARAMS, K3E1G2_MACS = 496, 409600


def test_strings():
    arch = (
        "k5_e6-skip-k3_e1_g2-skip-k5_e1-skip-skip-skip-k5_e6-k5_e1-k3_e1_g2-k5_e1-k5_e6-k3_e6-k3_e3-k5_e6-k3_e6-"
        "k3_e3-k5_e1-k3_e3-k5_e1-k5_e1_g2"
    )
    assert SPACE.parse("7818488874147327324245") == arch and SPACE.op_ids(arch) == "7818488874147327324245"
    assert SPACE.size is None and not SPACE.enumerable
    for bad, why in (
        ("k3_e1", "22 ops"),
        ("9" * 22, "22 digits 0..8"),
        (ALL_SKIP.replace("skip", "k7_e6", 1), "cannot be"),
    ):
        with pytest.raises(InvalidArchError, match=why):
            SPACE.parse(bad)
    with pytest.raises(UsageError, match="too large"):
        SPACE.index(ALL_SKIP)
    rng = np.random.default_rng(0)
    assert len(set(SPACE.sample(50, rng))) == 50


def test_costs_against_hand_computed_values():
    k3e6 = "k3_e6-" + "-".join(["skip"] * 21)
    g2 = "k3_e1_g2-" + "-".join(["skip"] * 21)
    costs = SPACE.costs([ALL_SKIP, k3e6, g2])
    assert costs[0].tolist() == [ALL_SKIP_MACS, ALL_SKIP_PARAMS]
    assert costs[1].tolist() == [ALL_SKIP_MACS + K3E6_MACS, ALL_SKIP_PARAMS + K3E6_PARAMS]
    assert costs[2].tolist() == [ALL_SKIP_MACS + K3E1G2_MACS, ALL_SKIP_PARAMS + K3E1G2_PARAMS]
    # and the per-block tables agree with counting the built networks
    for arch in [ALL_SKIP, k3e6, *SPACE.sample(3, np.random.default_rng(1))]:
        model = SPACE.build_model(arch, calibrate=False)
        assert count_macs_params(model, (1, 3, 32, 32)) == tuple(SPACE.costs([arch])[0].astype(int))


def test_network_runs_and_is_deterministic():
    import torch

    arch = SPACE.sample(1, np.random.default_rng(2))[0]
    a, b = SPACE.build_model(arch, seed=3), SPACE.build_model(arch, seed=3)
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        ya, yb = a(x), b(x)
    assert ya.shape == (2, 100) and torch.equal(ya, yb) and torch.isfinite(ya).all()
    assert 0.01 < float(ya.std()) < 100  # calibrated: activations neither vanish nor explode


def test_bundled_help_datasets_and_many_shot_training():
    names = [n for n in datasets.names() if n.startswith("help-fbnet/")]
    assert len(names) == 13
    ds = datasets.load("help-fbnet/gold_6240")
    assert ds.space is SPACE and ds.num_archs == 5000 and ds.unit == "ms"
    archs, y = ds.items("s")
    ridge = predictors.create("ridge", space=SPACE).fit(archs[:1000], y[:1000])
    assert spearmanr(ridge.predict(archs[4000:]), y[4000:]).statistic > 0.9
    with shared_path("fbnet", "latency_ms.csv").open(newline="") as fh:
        first = next(csv.DictReader(fh))
    assert archs[0] == first["arch"] and abs(y[0] * 1e3 - float(first["gold_6240"])) < 1e-9


def test_command_line_csv_in_csv_out(tmp_path):
    ds = datasets.load("help-fbnet/pixel3")
    archs, y = ds.items("ms")
    train = tmp_path / "TRAIN.csv"
    train.write_text("arch,latency_ms\n" + "".join(f"{a},{float(v)!r}\n" for a, v in zip(archs[:300], y[:300])))
    pool = tmp_path / "ARCHS.csv"
    pool.write_text(  # the digit form, kept as given, with the user's other columns
        "id,arch,latency_ms\n" + "".join(f"n{i},{SPACE.op_ids(a)},\n" for i, a in enumerate(archs[4000:4050]))
    )
    model, out = tmp_path / "M.pt", tmp_path / "PRED.csv"
    eagle = [sys.executable, "-m", "eagle"]
    r = subprocess.run([*eagle, "train", "--predictor", "ridge", "--measurement", str(train), "--save", str(model)],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = subprocess.run([*eagle, "predict", "--load", str(model), "--archs", str(pool), "--output", str(out)],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open()))
    assert [r["arch"] for r in rows] == [SPACE.op_ids(a) for a in archs[4000:4050]]
    assert list(rows[0]) == ["id", "arch", "input_latency_ms", "latency_ms", "latency_s"]  # the input's clash renamed
    assert [r["id"] for r in rows] == [f"n{i}" for i in range(50)]
    pred = np.array([float(r["latency_ms"]) for r in rows])
    np.testing.assert_allclose(pred, [1e3 * float(r["latency_s"]) for r in rows], rtol=1e-12)
    assert spearmanr(pred, y[4000:4050]).statistic > 0.9 and 0.5 < np.median(pred / y[4000:4050]) < 2
    bad = tmp_path / "BAD.csv"
    bad.write_text("arch,latency_ms\n" + f"{archs[0]},1.0\n" + "k3_e1-nonsense,2.0\n")
    train = [*eagle, "train", "--space", "fbnet", "--measurement", str(bad), "--save", str(model), "--force"]
    r = subprocess.run(train, capture_output=True, text=True)
    assert r.returncode != 0 and "line 3" in r.stderr and "Traceback" not in r.stderr, r.stderr


def test_measure_a_space_too_large_to_enumerate(tmp_path):
    """Sweeps over fbnet are keyed by position in the sweep's arch list, which the store keeps."""
    import eagle

    archs = SPACE.sample(4, np.random.default_rng(5))
    listing = tmp_path / "archs.csv"
    listing.write_text("arch\n" + "".join(f"{a}\n" for a in [*archs, archs[0]]))  # a repeat is measured once
    db = tmp_path / "fb.sqlite"
    ds = eagle.measure(archs=str(listing), space="fbnet", runtime="null", db=db, protocol={"runs": 2, "min_round_s": 0})
    keys, latency = ds.items("s")
    assert ds.space is SPACE and keys == archs and (latency > 0).all()
    again = eagle.measure(
        archs=str(listing), space="fbnet", runtime="null", db=db, protocol={"runs": 2, "min_round_s": 0}
    )
    assert again.items("s")[0] == archs  # resumed: the same run, nothing measured twice
    out = tmp_path / "fb.csv"
    r = subprocess.run([sys.executable, "-m", "eagle", "measure", "export", "--db", str(db), "--format", "csv",
                        "--output", str(out)], capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open()))
    assert [row["arch"] for row in rows] == archs
    with pytest.raises(UsageError, match="too large"):
        eagle.measure(archs="valid", space="fbnet", runtime="null", db=db)


def test_fewshot_on_a_space_too_large_to_enumerate(tmp_path):
    """pretrain (per-op models of the other devices) -> select among candidates -> adapt -> predict,
    through the library and the command line, with checkpoints that round-trip."""
    import eagle
    from eagle.fewshot import FewShotPredictor, OpDeviceBasis, select_archs
    from eagle.fewshot.blend import GCNBlend

    others = [n for n in datasets.names() if n.startswith("help-fbnet/") and n != "help-fbnet/pixel3"]
    base = eagle.pretrain(others, space="fbnet")
    assert isinstance(base, OpDeviceBasis) and base.num_archs == 5000 and len(base.devices) == 12
    keys, y = datasets.load("help-fbnet/pixel3").items("s")
    chosen = select_archs(base, 10, candidates=keys[:4000])
    assert len(set(chosen)) == 10 and set(chosen) <= set(keys[:4000])
    position = {a: i for i, a in enumerate(keys)}
    model = eagle.calibrate(base, chosen, y[[position[a] for a in chosen]])
    test = keys[4000:]
    assert spearmanr(model.predict(test), y[4000:]).statistic > 0.9
    assert (model.predict_spread(test[:5]) > 0).all()
    new = SPACE.sample(3, np.random.default_rng(9))  # archs no dataset holds are predicted too
    assert np.isfinite(model.predict(new)).all()
    path = tmp_path / "T.pt"
    predictors.save(model, path)
    again = predictors.load(path)
    assert isinstance(again, FewShotPredictor)
    np.testing.assert_allclose(again.predict(test[:50]), model.predict(test[:50]), rtol=1e-9)
    with pytest.raises(UsageError, match="candidate"):
        select_archs(base, 10)
    # from 50 archs a GCN over fbnet's arch keys is weighed against the model (no arch prior: not enumerable)
    big = eagle.calibrate(base, keys[:60], y[:60])
    assert len(big.blend_.fold_error_) == 11 and big.blend_.weight_ == 0  # pixel3 ranks well without it
    blend = GCNBlend().fit("fbnet", big.basis.devices, keys[:60], y[:60], np.full(60, np.log(y[:60]).mean()))
    assert blend.used and blend.gcn_.prior_features_ is None  # a GCN beats a constant
    config, tensors = blend.state()
    again_blend = GCNBlend.from_state(config, tensors)
    mean = np.zeros(50)
    np.testing.assert_allclose(again_blend.apply(test[:50], mean), blend.apply(test[:50], mean), rtol=1e-6)
    # the same through the command line
    eagle_cli = [sys.executable, "-m", "eagle"]
    base_pt, sel, few, t_pt, out = (tmp_path / n for n in ("BASE.pt", "SEL.csv", "FEW.csv", "T2.pt", "P.csv"))
    pool = tmp_path / "POOL.csv"
    pool.write_text("arch\n" + "".join(f"{a}\n" for a in keys[:4000]))
    steps = [
        ["pretrain", "--space", "fbnet", "--exclude", "help-fbnet/pixel3", "--save", str(base_pt)],
        ["select", "--space", "fbnet", "--base", str(base_pt), "--k", "10", "--candidates", str(pool),
         "--output", str(sel)],
    ]  # fmt: skip
    for step in steps:
        r = subprocess.run([*eagle_cli, *step], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    picked = [row["arch"] for row in csv.DictReader(sel.open())]
    saved = predictors.load(base_pt)
    assert saved.op_effect_var == saved.noise_var > 0  # the design's per-op prior, kept with the base
    few.write_text("arch,latency_ms\n" + "".join(f"{a},{float(y[position[a]]) * 1e3!r}\n" for a in picked))
    for step in (
        ["train", "--init", str(base_pt), "--measurement", str(few), "--save", str(t_pt)],
        ["predict", "--load", str(t_pt), "--archs", str(pool), "--output", str(out)],
    ):
        r = subprocess.run([*eagle_cli, *step], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 4000 and "latency_ms_std" in rows[0] and "latency_s_std" in rows[0]
    pred = np.array([float(r["latency_ms"]) for r in rows])
    assert spearmanr(pred, y[:4000]).statistic > 0.9
    # without --base: pretrained on the space's datasets (it once pretrained NB201 and stopped)
    r = subprocess.run([*eagle_cli, "select", "--space", "fbnet", "--k", "2", "--candidates", str(pool)],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0 and "fbnet datasets" in r.stderr, r.stderr
    assert len([line for line in r.stdout.splitlines() if line.strip()]) == 2 and set(r.stdout.split()) <= set(keys)


def test_latency_constrained_search_over_a_users_fbnet_accuracy_table(tmp_path):
    """No accuracy ships for FBNet: a user's table of (arch, accuracy) is the pool, latency from a
    dataset constrains it, and the search returns arch keys."""
    keys, latency = datasets.load("help-fbnet/gold_6240").items("s")
    keys, latency = keys[:400], latency[:400]
    params = SPACE.costs(keys)[:, 1]
    accuracy = 60 + 10 * (params - params.min()) / np.ptp(params)  # stand-in: bigger is better
    table = tmp_path / "ACC.csv"
    table.write_text("arch,accuracy_pct\n" + "".join(f"{a},{float(v)!r}\n" for a, v in zip(keys, accuracy)))
    limit = float(np.median(latency))
    trace = tmp_path / "TRACE.txt"
    r = subprocess.run([sys.executable, "-m", "eagle", "search", "--accuracy", str(table), "--method", "brp",
                        "--budget", "30", "--iterations", "3", "--latency", "help-fbnet/gold_6240",
                        "--latency-limit", repr(limit), "--ensemble", "1", "--output", str(trace)],
                       capture_output=True, text=True)  # fmt: skip
    assert r.returncode == 0, r.stderr
    lines = trace.read_text().split()
    fast = {a for a, t in zip(keys, latency) if t <= limit}
    assert set(lines[:30]) <= fast and all(SPACE.parse(a) == a for a in lines)
    best_fast = max(v for a, v in zip(keys, accuracy) if a in fast)
    found = max(v for a, v in zip(keys, accuracy) if a in set(lines[:30]))
    assert found >= best_fast - 1.0  # BRP-NAS finds a near-best fast arch with 30 of ~200 trained
