"""#33: what a new user tripped over, each replayed."""

from __future__ import annotations

import subprocess
import sys

import pytest

from tests.hardening.conftest import assert_clean_failure, run_cli


def test_brp_nas_preset_trains_on_the_seeds_900_plus_100_and_says_how_long(monkeypatch, capsys):
    import eagle.predictors.training as training
    from eagle import progress

    seen = {}

    def fake_fit(predictor, ds, split, **kw):
        seen["train"], seen["validation"] = len(split.train), len(split.validation)
        raise SystemExit(0)  # the split and the announcement are what is tested here

    monkeypatch.setattr(training, "fit_on_split", fake_fit)
    with progress.reporting(True):
        res = run_cli(capsys, "train", "--predictor", "gcn", "--preset", "brp-nas", "--measurement", "help/pixel3",
                      "--save", "never.pt")  # fmt: skip
    assert res.code == 0 and seen == {"train": 900, "validation": 100}
    assert "on 900 archs (+100 validation)" in res.err and "250 epochs at most, about" in res.err


def test_export_run_is_not_an_ambiguous_option(tmp_path, capsys):
    db = tmp_path / "x.sqlite"
    for seed in ("1", "2"):
        assert run_cli(capsys, "measure", "--archs", "1", "--runtime", "null", "--runs", "1", "--seed", seed,
                       "--db", db, "--no-progress").code == 0  # fmt: skip
    out = tmp_path / "o.csv"
    res = run_cli(capsys, "measure", "export", "--db", db, "--run", "1", "--format", "csv", "--output", out)
    assert res.code == 0 and "of run 1" in res.out
    res = run_cli(capsys, "measure", "export", "--run", "2", "--db", db, "--format", "csv", "--output", out, "--force")
    assert res.code == 0 and "of run 2" in res.out


def test_kernels_calibrate_takes_a_run(tmp_path, capsys):
    res = run_cli(capsys, "kernels", "calibrate", "--kernels", "k.pt", "--measurement", "m.csv", "--run", "0",
                  "--save", "x.pt")  # fmt: skip
    assert_clean_failure(res, codes=(2,), contains="--run")


def test_import_torchvision_works_in_the_venv():
    """'make setup' installs eagle-torchvision.pth: a plain import works beside the CPU torch."""
    import sysconfig
    from pathlib import Path

    if not (Path(sysconfig.get_paths()["purelib"]) / "eagle-torchvision.pth").exists():
        pytest.skip("eagle-torchvision.pth is not installed in this environment (make setup installs it)")
    code = "import torchvision; print(type(torchvision.models.resnet18()).__name__)"
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert res.returncode == 0 and res.stdout.strip() == "ResNet", res.stderr


def test_install_hints_name_the_clone_not_pypi():
    from eagle.errors import install_hint

    hint = install_hint("anynet")
    assert "-e '.[anynet]'" in hint and "constraints.txt" in hint and "eagle-latency[" not in hint


def test_select_on_fbnet_suggests_a_command_that_works(tmp_path, capsys):
    """The suggested 'eagle measure --archs SEL.csv' names the space, and measure also reads it
    from the keys."""
    from eagle.cli.fewshot import write_arch_file
    from eagle.cli.measure import _space_of_archs
    from eagle.spaces import get

    fbnet = get("fbnet")
    sel = tmp_path / "SEL.csv"
    write_arch_file(sel, fbnet.sample(3, __import__("numpy").random.default_rng(0)), fbnet)
    assert _space_of_archs(str(sel)) == "fbnet"
    res = run_cli(capsys, "measure", "--archs", sel, "--runtime", "null", "--runs", "1", "--db", tmp_path / "f.sqlite",
                  "--no-progress")  # fmt: skip
    assert res.code == 0 and "ok 3" in res.out, res.err


@pytest.mark.parametrize("shape", ["1x3x224", "3x224", "1x1x3x224x224"])
def test_input_shape_of_the_wrong_rank_is_refused_up_front(capsys, shape):
    res = run_cli(capsys, "measure", "--model", "torchvision:squeezenet1_1", "--input-shape", shape, "--runtime",
                  "null", "--db", "never.sqlite")  # fmt: skip
    assert_clean_failure(res, codes=(2,), contains="NxCxHxW")


def test_a_network_that_does_not_take_its_input_is_refused_up_front(capsys):
    res = run_cli(capsys, "measure", "--model", "torchvision:squeezenet1_1", "--input-shape", "1x1x64x64",
                  "--runtime", "null", "--db", "never.sqlite")  # fmt: skip
    assert_clean_failure(res, codes=(2,), contains="does not run on")


def test_consistent_exit_codes_and_plain_numbers(tmp_path, capsys):
    assert_clean_failure(run_cli(capsys, "arch", "show", "99999"), codes=(2,), contains="out of range")
    assert_clean_failure(run_cli(capsys, "kernels", "fit", "--db", tmp_path / "no.sqlite", "--save", tmp_path / "k"),
                         codes=(2,))  # fmt: skip
    res = run_cli(capsys, "dataset", "info", "help/pixel3")
    assert "median        10.7335" in res.out
    res = run_cli(capsys, "measure", "--archs", "1", "--runtime", "null", "--runs", "1", "--db", tmp_path / "x.sqlite",
                  "--no-progress")  # fmt: skip
    assert "1 arch requested" in res.out


def _subparser(parser, *names):
    import argparse

    for name in names:
        action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        parser = action.choices[name]
    return parser


def test_help_explains_every_option(capsys):
    from eagle.cli.main import build_parser

    simulate = _subparser(build_parser(), "search", "simulate")
    for action in simulate._actions:
        assert action.help, f"'eagle search simulate {action.option_strings}' has no help"
    top = run_cli(capsys, "--help").out
    assert "(NAS-Bench-201)" not in top and "NB201 archs" not in top
    assert "TOOL ..." not in run_cli(capsys, "search", "--help").out


def test_search_progress_counts_the_archs_each_round_trains_on():
    """The bar's total grows with the training set of each round, so its ETA does not fall short."""
    import numpy as np

    from eagle.nas.search import _iteration_sizes

    sizes = _iteration_sizes(100, 5)
    work = [int(np.sum(sizes[: i + 1])) for i in range(len(sizes))]
    assert work == sorted(work) and work[-1] == 100 and sum(work) > 100 * len(sizes) / 2
