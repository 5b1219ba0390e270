"""The typed workflows (issue 34): ``eagle.train`` and ``eagle.evaluate`` from Python give what
``eagle train`` / ``eagle evaluate`` give, provenance included, and the CLI runs on them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import eagle
from eagle.errors import UsageError
from eagle.workflows import EvaluateSpec, EvaluationReport, TrainedPredictor, TrainSpec, evaluate, train


@pytest.fixture(scope="module")
def trained():
    return eagle.train("help/pixel3", predictor="ridge", training_points=200, validation_points=0, seed=1)


def test_train_returns_a_model_with_metrics_and_provenance(trained):
    assert isinstance(trained, TrainedPredictor) and not trained.adapted
    where = trained.provenance
    assert where["measurement"] == "help/pixel3" and where["unit"] == "s" and where["metric"] == "latency"
    assert len(where["trained_on"]) == 200 and where["trained_on"] == sorted(where["trained_on"])
    assert trained.metrics["n"] > 10000 and trained.metrics["spearman"] > 0.7  # the other archs, never trained on
    again = eagle.train(TrainSpec("help/pixel3", predictor="ridge", training_points=200, validation_points=0, seed=1))
    assert again.provenance["trained_on"] == where["trained_on"]  # a spec and options are the same call


def test_evaluate_never_scores_the_training_archs(trained, tmp_path):
    in_memory = eagle.evaluate(trained, "help/pixel3")
    assert isinstance(in_memory, EvaluationReport) and in_memory.excluded == 200
    assert in_memory.metrics["n"] == trained.metrics["n"]
    np.testing.assert_allclose(in_memory.metrics["spearman"], trained.metrics["spearman"])
    trained.save(tmp_path / "ridge.pt")  # a checkpoint saved from Python carries its provenance
    from_file = evaluate(EvaluateSpec(tmp_path / "ridge.pt", "help/pixel3"))
    assert from_file.excluded == 200 and from_file.metrics == in_memory.metrics
    out = subprocess.run(
        [sys.executable, "-m", "eagle", "evaluate", "--load", str(tmp_path / "ridge.pt"), "--measurement",
         "help/pixel3"], capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "(200 training archs excluded)" in out


def test_a_predictor_fitted_in_code_carries_its_training_archs(tmp_path):
    """No checkpoint without provenance: a predictor records the archs it was fitted on, a checkpoint
    saved from code keeps them, and evaluate leaves them out; a model that carries the dataset
    (the GCN's arch prior learnt it) is named."""
    from eagle import predictors

    fitted = eagle.create_predictor("gcn", epochs=2).fit(np.arange(100), np.linspace(1e-3, 2e-3, 100))
    assert fitted.trained_on_ == list(range(100))
    present = set(eagle.load_dataset("help/pixel3").present().tolist())
    report = eagle.evaluate(fitted, "help/pixel3")
    assert report.excluded == len(present & set(range(100))) > 90  # the ones the dataset holds
    assert report.seen_where == "the arch prior" and "help/pixel3" in report.seen_in
    ridge = eagle.create_predictor("ridge").fit(np.arange(5, 55), np.linspace(1e-3, 2e-3, 50))
    predictors.save(ridge, tmp_path / "r.pt")
    assert eagle.evaluate(tmp_path / "r.pt", "help/pixel3").excluded == len(present & set(range(5, 55)))


def test_bad_specs_are_clear_errors():
    with pytest.raises(UsageError, match="no_such_option"):
        eagle.train("help/pixel3", no_such_option=1)
    with pytest.raises(UsageError, match="not both"):
        eagle.train(TrainSpec("help/pixel3"), seed=2)
    with pytest.raises(UsageError, match="training_points"):
        TrainSpec("help/pixel3", training_points=0)
    with pytest.raises(UsageError, match="neural"):  # refused before any data is read
        train(TrainSpec("help/pixel3", predictor="ridge", prior=False))
    with pytest.raises(UsageError, match="preset"):
        TrainSpec("help/pixel3", predictor="ridge", preset="brp-nas")
    with pytest.raises(UsageError, match="unknown preset"):
        eagle.train("help/pixel3", preset="nope", training_points=20)
    with pytest.raises(UsageError, match="model: a checkpoint path"):
        eagle.evaluate(42, "help/pixel3")
    with pytest.raises(UsageError, match="optimization"):
        eagle.profile_kernels("never-created.sqlite", optimization="bogus")
    assert not Path("never-created.sqlite").exists()


def test_results_read_well_and_the_package_is_reachable(trained):
    assert repr(trained).startswith("TrainedPredictor(ridge on 200 archs of help/pixel3, test Spearman 0.")
    assert len(repr(trained)) < 200  # no arrays or arch lists
    report = eagle.evaluate(trained, "help/pixel3")
    assert "200 training archs left out" in repr(report) and report.seen_where == "" and not report.seen_in
    assert eagle.workflows.TrainSpec is TrainSpec and eagle.testing.check_space


def test_select_then_adapt_from_python(tmp_path):
    """The few-shot loop as workflows: select k archs, 'measure' them (a known device's values),
    adapt a base to them with eagle.train(init=BASE.pt), evaluate on the rest of that device."""
    import pickle

    base = eagle.pretrain(["help/1080ti_1", "desktop-cpu-core-i7-7820x-fp32", "help/gold_6240", "help/pixel3"])
    first = eagle.select(6, base=base, below=900)
    assert len(first.keys) == 6 and (first.indices < 900).all() and first.given == 0
    more = eagle.select(4, base=base, below=900, given=first.indices)
    assert more.given == 6 and not set(more.keys) & set(first.keys)
    device = eagle.load_dataset("help/titanx_1").by_index("s")
    space = eagle.get_space()
    chosen = np.concatenate([first.indices, more.indices])
    few = tmp_path / "few.pickle"
    few.write_bytes(pickle.dumps({tuple(space.vector(int(i))): float(device[i]) for i in chosen}))
    from eagle import predictors

    predictors.save(base, tmp_path / "base.pt")
    adapted = eagle.train(few, init=tmp_path / "base.pt")
    assert adapted.adapted and adapted.metrics is None and adapted.provenance["trained_on"] == sorted(chosen.tolist())
    report = eagle.evaluate(adapted, "help/titanx_1")
    assert report.excluded == 10 and report.metrics["spearman"] > 0.8 and not report.seen_in
    with pytest.raises(UsageError, match="criterion"):
        eagle.select(3, base=base, criterion="x")
    assert len(eagle.select(2, base=base, candidates=[5, 5, 5, 7]).keys) == 2  # each candidate once
    assert len(eagle.select(2, base=base, below=10**12).keys) == 2  # a bound past the space is the space
    with pytest.raises(UsageError, match="few-shot base"):
        eagle.train(few, init=tmp_path / "base.pt", predictor="ridge")
    with pytest.raises(UsageError, match=r"candidates: .*no such file"):
        eagle.select(3, base=base, candidates=tmp_path / "missing.csv")
    with pytest.raises(UsageError, match="k = 20000: choose between 1 and"):
        eagle.select(20000, base=base)
    assert repr(first).startswith("Selection(6 nasbench201 archs:")
    # end to end on a simulated device (the null runtime: 2 ns per MAC), as 'eagle calibrate' runs it
    from eagle.measurement.protocol import Protocol
    from eagle.measurement.runner import SweepConfig
    from eagle.workflows import CalibrateSpec, calibrate_device

    fast = Protocol(warmup=1, round_runs=2, min_rounds=2, max_rounds=3, max_time_s=0.1)
    simulated = {"threads": 1, "sleep_per_mac_s": 2e-9}
    sweep = SweepConfig(runtime="null", runtime_kwargs=simulated, db=tmp_path / "c.sqlite", protocol=fast)
    lines: list[str] = []
    done = calibrate_device(CalibrateSpec(sweep, k=4, base=base, candidates=np.arange(300)), say=lines.append)
    assert len(done.keys) == 4 and done.rounds == 1 and "measuring 4 archs" in lines[0]
    done.save(tmp_path / "dev.pt")
    assert eagle.evaluate(tmp_path / "dev.pt", "help/titanx_1").excluded == 4
    with pytest.raises(UsageError, match="max_k"):
        CalibrateSpec(sweep, k=5, max_k=3)
    with pytest.raises(UsageError, match="is an input"):
        done.save(tmp_path / "c.sqlite")


def test_kernel_workflows_from_python(tmp_path):
    """profile -> fit -> save -> load -> predict a network, each one call; bad specs are clear errors."""
    from eagle.anynet.predict import predict_network

    db = tmp_path / "k.sqlite"
    report = eagle.profile_kernels(db, budget_s=300, max_samples=40, seed=3)
    assert report.profiled_now == 40 and report.ok + report.errors_now == 40 and report.samples == 40
    again = eagle.profile_kernels(db, budget_s=300, max_samples=5, seed=3)  # resumes the same store
    assert again.samples == 45
    fitted = eagle.fit_kernels(db)
    assert fitted.samples == again.ok and sum(fitted.counts.values()) > 40
    fitted.model.save(tmp_path / "k.pt")
    model = eagle.load_kernel_model(tmp_path / "k.pt")
    p = predict_network("torchvision:mobilenet_v3_small@3x64x64", model)
    assert 1e-5 < p.latency_s < 1.0 and p.kernels
    with pytest.raises(UsageError, match="budget_s"):
        eagle.profile_kernels(db, budget_s=0)
    with pytest.raises(UsageError, match="does not exist"):
        eagle.fit_kernels(tmp_path / "missing.sqlite")
    with pytest.raises(UsageError, match="profile_kernels"):
        eagle.profile_kernels(db, no_such=1)


def test_provenance_survives_loading_fine_tuning_and_hostile_files(tmp_path):
    """Attacker review: a checkpoint loaded and saved again, or fine-tuned from, still never gets
    scored on what it (or its ancestor) was fitted on; a hostile trained_on is a clear error."""
    import json

    import torch

    from eagle import predictors
    from eagle.errors import EagleError

    a = eagle.train("help/pixel3", predictor="gcn", training_points=30, validation_points=0, prior=False)
    a.save(tmp_path / "a.pt")
    loaded = eagle.load_predictor(tmp_path / "a.pt")
    assert eagle.evaluate(loaded, "help/pixel3").excluded == 30
    predictors.save(loaded, tmp_path / "again.pt")
    assert eagle.evaluate(tmp_path / "again.pt", "help/pixel3").excluded == 30
    b = eagle.train("help/samsung_s7", predictor="gcn", init=tmp_path / "a.pt", training_points=30,
                    validation_points=0, prior=False)  # fmt: skip
    assert b.provenance["ancestors"][0]["measurement"] == "help/pixel3"
    b.save(tmp_path / "b.pt")
    both = set(a.provenance["trained_on"]) | set(b.provenance["trained_on"])
    assert eagle.evaluate(tmp_path / "b.pt", "help/pixel3").excluded == len(both)
    with pytest.raises(UsageError, match="is an input"):
        b.save(tmp_path / "a.pt")  # the init it was trained from
    ridge = eagle.train("help/pixel3", predictor="ridge", training_points=40, validation_points=0)
    ridge.save(tmp_path / "r.pt")
    with pytest.raises(UsageError, match="fine-tuning starts from a gcn or mlp"):
        eagle.train("help/pixel3", predictor="gcn", init=tmp_path / "r.pt", training_points=20, prior=False)
    blob = torch.load(tmp_path / "r.pt", weights_only=True)
    for hostile in (5, None, [[1, 2], [3]], "abc", {"a": 1}, [True], [-1]):
        config = json.loads(blob["config"])
        config["trained_on"] = hostile
        torch.save({**blob, "config": json.dumps(config)}, tmp_path / "h.pt")
        with pytest.raises(EagleError, match="damaged Eagle checkpoint: trained_on"):
            eagle.evaluate(tmp_path / "h.pt", "help/pixel3")
    torch.save({**blob, "config": blob["config"][:-1] + ', "x": ' + "9" * 5000 + "}"}, tmp_path / "big.pt")
    with pytest.raises(EagleError, match="not valid JSON"):
        eagle.load_predictor(tmp_path / "big.pt")


def test_kernel_store_reading_changes_nothing_and_bad_inputs_are_refused(tmp_path):
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    from eagle.errors import EagleError

    with pytest.raises(EagleError, match="not a kernel store"):
        eagle.fit_kernels(empty)
    assert empty.read_bytes() == b""  # read-only: not turned into a database
    with pytest.raises(UsageError, match="model: a kernel model"):
        eagle.calibrate_kernels(5, "x.csv")
    csv_file = tmp_path / "nets.csv"
    csv_file.write_text("arch,latency_ms\ntorchvision:resnet18@3x32x32,1.0\n")
    with pytest.raises(UsageError, match="results store"):
        eagle.calibrate_kernels(tmp_path / "k.pt", csv_file, run=1)
    assert TrainSpec("help/pixel3", training_points=np.int64(30)).training_points == 30  # numpy ints are whole numbers
