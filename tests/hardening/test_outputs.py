"""#17.2: an output path is written as what it is: a symlink's target, a FIFO, a device, stdout."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from tests.hardening.conftest import assert_clean_failure, run_cli


def _export(capsys, output):
    return run_cli(capsys, "dataset", "export", "help/pixel3", "--format", "csv", "--output", output)


def test_symlink_is_followed_and_stays_a_link(tmp_path, capsys):
    target = tmp_path / "real" / "t.csv"
    target.parent.mkdir()
    target.write_text("old")
    link = tmp_path / "link.csv"
    link.symlink_to(target)
    assert_clean_failure(_export(capsys, link), codes=(2,), contains="add --force")
    assert target.read_text() == "old"
    assert run_cli(capsys, "dataset", "export", "help/pixel3", "--format", "csv", "--output", link, "--force").code == 0
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text().startswith("nb201_index,")
    assert sorted(p.name for p in target.parent.iterdir()) == ["t.csv"]  # no temp file left beside it


def test_dangling_symlink_creates_its_target(tmp_path, capsys):
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "new.csv")
    assert _export(capsys, link).code == 0
    assert link.is_symlink() and (tmp_path / "new.csv").read_text().startswith("nb201_index,")


def test_fifo_is_written_in_place(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = {}
    reader = threading.Thread(target=lambda: got.setdefault("text", fifo.read_text()))
    reader.start()
    assert _export(capsys, fifo).code == 0
    reader.join(timeout=30)
    assert got["text"].startswith("nb201_index,") and fifo.is_fifo()


def test_character_devices_are_never_replaced(tmp_path, capsys):
    assert _export(capsys, "/dev/null").code == 0
    res = _export(capsys, "/dev/full")
    assert_clean_failure(res, codes=(1,), contains="disk full")
    for dev in ("/dev/null", "/dev/full"):
        assert not os.path.isfile(dev) and os.path.exists(dev)


def test_dash_is_stdout_and_messages_go_to_stderr(tmp_path):
    res = subprocess.run(
        [sys.executable, "-m", "eagle", "dataset", "export", "help/pixel3", "--format", "csv", "--output", "-"],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert res.returncode == 0
    assert res.stdout.startswith("nb201_index,") and "wrote" not in res.stdout
    assert "wrote" in res.stderr
    assert not (tmp_path / "-").exists()


def test_a_folder_is_refused(tmp_path, capsys):
    res = _export(capsys, tmp_path)
    assert_clean_failure(res, codes=(2,), contains="is a folder")
    assert tmp_path.is_dir()


@pytest.mark.parametrize(
    "cmd", [["space", "export", "nasbench201"], ["dataset", "export", "help/pixel3", "--format", "pickle"]]
)
def test_missing_folder_is_a_clear_error(tmp_path, capsys, cmd):
    res = run_cli(capsys, *cmd, "--output", tmp_path / "nope" / "x")
    assert_clean_failure(res, codes=(2,), contains="does not exist")


def test_progress_on_stderr_and_quiet_silences_it(tmp_path):
    """#18: long commands say what they do on stderr; --quiet says nothing; stdout stays clean."""
    base = [sys.executable, "-m", "eagle", "train", "--predictor", "mlp", "--measurement", "help/pixel3",
            "--training-points", "100", "--save", str(tmp_path / "m.pt")]  # fmt: skip
    loud = subprocess.run(base, capture_output=True, text=True, timeout=300)
    assert loud.returncode == 0, loud.stderr
    assert "training mlp" in loud.stderr and "epoch" in loud.stderr
    assert "epoch" not in loud.stdout and loud.stdout.startswith("trained mlp")
    quiet = subprocess.run([*base, "--quiet", "--force"], capture_output=True, text=True, timeout=300)
    assert quiet.returncode == 0 and quiet.stderr == "", quiet.stderr
