"""``eagle space`` / ``eagle arch`` as a user runs them."""

from __future__ import annotations

import csv
import json
import subprocess
import sys

import pytest

from eagle.cli.main import main


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "eagle", *args], capture_output=True, text=True, timeout=120)


def test_export_holds_the_nb201_facts(tmp_path, nb201_table):
    out = tmp_path / "t.csv"
    assert main(["space", "export", "nasbench201", "--output", str(out)]) == 0
    with out.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert list(rows[0]) == [
        "nb201_index",
        "arch_str",
        "arch_vector",
        "valid",
        "canonical_class",
        "params_reference",
        "params_deployed",
        "macs_deployed",
    ]
    assert [r["nb201_index"] for r in rows] == [str(i) for i in range(15625)]
    assert [r["arch_str"] for r in rows] == [r["arch_str"] for r in nb201_table]
    assert sum(r["valid"] == "true" for r in rows) == 15284
    assert {r["valid"] for r in rows} == {"true", "false"}
    assert len({r["canonical_class"] for r in rows}) == 6466
    assert rows[1]["arch_vector"] == "(3, 3, 4, 1, 3, 1)"
    same = sum(r["params_reference"] == t["params_cifar10"] for r, t in zip(rows, nb201_table))
    assert same >= 15421  # the other rows of the shared table are impossible counts (see builder tests)
    # deployed cost is a property of the class
    by_class: dict[str, set] = {}
    for r in rows:
        by_class.setdefault(r["canonical_class"], set()).add((r["params_deployed"], r["macs_deployed"]))
    assert all(len(v) == 1 for v in by_class.values())


def test_space_info(capsys):
    assert main(["space", "info", "nasbench201"]) == 0
    out = capsys.readouterr().out
    assert "15625" in out and "15284" in out and "6466" in out and "nor_conv_3x3" in out


@pytest.mark.parametrize(
    "arch",
    [
        "1",
        "(3, 3, 4, 1, 3, 1)",
        "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|",
    ],
)
def test_arch_show_every_form(arch, capsys):
    assert main(["arch", "show", arch, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["nb201_index"] == 1
    assert info["arch_vector"] == [3, 3, 4, 1, 3, 1]
    assert info["valid"] is True
    assert info["params_reference"] == 802426


def test_errors_go_to_stderr_without_traceback(tmp_path):
    res = run_cli("arch", "show", "|conv_9x9~0|+|none~0|none~1|+|none~0|none~1|none~2|")
    assert res.returncode != 0
    assert "unknown op 'conv_9x9'" in res.stderr
    assert "Traceback" not in res.stderr
    assert res.stdout == ""
    res = run_cli("arch", "show", "20000")
    assert res.returncode != 0 and "out of range" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("space", "export", "nasbench201", "--output", str(tmp_path / "missing" / "t.csv"))
    assert res.returncode != 0 and "does not exist" in res.stderr and "Traceback" not in res.stderr
    res = run_cli("space", "info", "nasbench999")
    assert res.returncode != 0 and "nasbench201" in res.stderr


def test_full_disk_leaves_no_partial_file(tmp_path, monkeypatch, capsys):
    import eagle.fileio

    out = tmp_path / "t.csv"
    out.write_text("previous content")

    def disk_full(_fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(eagle.fileio.os, "fsync", disk_full)
    assert main(["space", "export", "nasbench201", "--output", str(out), "--force"]) == 1
    assert "disk full" in capsys.readouterr().err
    assert out.read_text() == "previous content"
    assert [p.name for p in tmp_path.iterdir()] == ["t.csv"]


def test_written_files_get_the_usual_permissions(tmp_path):
    import os

    out = tmp_path / "t.csv"
    assert main(["space", "export", "nasbench201", "--output", str(out)]) == 0
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask


def test_top_level_help_lists_each_command_once_and_hides_internal_aliases(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert "SUPPRESS" not in out and "measure-stats" not in out
    for command in ("measure", "train", "predict", "evaluate", "pretrain", "select", "calibrate", "search", "demo"):
        assert f"\n    {command} " in out
    # nested tools are real sub-commands that name themselves properly
    with pytest.raises(SystemExit) as exc:
        main(["measure", "stats", "--help"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.startswith("usage: eagle measure stats")
    with pytest.raises(SystemExit):
        main(["measure", "export", "--help"])
    assert "usage: eagle measure export" in capsys.readouterr().out


@pytest.mark.parametrize("space", ["fbnet", "ofa"])
def test_search_on_a_space_without_bundled_accuracy_asks_for_one(tmp_path, space):
    r = run_cli("search", "--space", space, "--output", str(tmp_path / "t.txt"))
    assert r.returncode == 2 and "Traceback" not in r.stderr, r.stderr
    assert "no accuracy dataset ships for" in r.stderr and "--accuracy ACC.csv" in r.stderr
    assert not (tmp_path / "t.txt").exists()
