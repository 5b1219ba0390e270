"""Every Python snippet in the README runs as written (#18)."""

from __future__ import annotations

import re

import pytest

from tests.conftest import REPO

BLOCKS = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.DOTALL)


def test_readme_has_python_snippets():
    assert len(BLOCKS) >= 2


@pytest.mark.parametrize("n", range(len(BLOCKS)))
def test_readme_snippet_runs(n, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("EAGLE_DATA_DIR", str(tmp_path / "userdata"))
    exec(compile(BLOCKS[n], f"README.md python block {n + 1}", "exec"), {"__name__": f"readme_{n}"})
