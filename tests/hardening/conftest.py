"""Helpers for the hardening suite: run the CLI in-process and check how it failed."""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from eagle.cli.main import main

#: Examples per fuzz test; ``benchmarks/fuzz_bench.py`` raises it (EAGLE_FUZZ_EXAMPLES) for the
#: figures in BENCHMARKS.md.
FUZZ_EXAMPLES = int(os.environ.get("EAGLE_FUZZ_EXAMPLES", "60"))


@dataclass
class Outcome:
    code: int
    out: str
    err: str


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> Outcome:
    """``eagle ARGS`` in this process; argparse's exit is turned into its code."""
    capsys.readouterr()
    try:
        code = main([str(a) for a in args])
    except SystemExit as exc:
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return Outcome(code, captured.out, captured.err)


ERROR_LINE = re.compile(r"^[\w. -]+: error: ")


def assert_clean_failure(res: Outcome, *, codes: tuple[int, ...] = (1, 2), contains: str = "") -> None:
    """Exit 1 or 2, one error line on stderr (progress lines aside), no traceback, no internal
    error (a bug), and ``contains`` in the error line."""
    assert res.code in codes, (res.code, res.err)
    lines = [ln for ln in res.err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if ERROR_LINE.match(ln)]
    assert len(errors) == 1, res.err
    others = [ln for ln in lines if ln not in errors]
    assert all(ln.startswith("eagle: ") and "error" not in ln for ln in others), res.err
    assert "Traceback" not in res.err and "internal error" not in res.err, res.err
    assert contains in errors[0], res.err


def digest(path: Path) -> str | None:
    return hashlib.sha256(path.read_bytes()).hexdigest() if path.exists() else None


@pytest.fixture(autouse=True)
def user_data(tmp_path, monkeypatch):
    monkeypatch.setenv("EAGLE_DATA_DIR", str(tmp_path / "userdata"))
    return tmp_path / "userdata"
