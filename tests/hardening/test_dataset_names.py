"""#17.3: dataset names map one-to-one to files; the grammar is enforced; replacing needs --force."""

from __future__ import annotations

import pickle

import pytest

import eagle.datasets as D
from eagle.datasets.catalog import check_name
from eagle.errors import UsageError
from tests.hardening.conftest import assert_clean_failure, run_cli


@pytest.fixture
def seed_pickle(tmp_path):
    def make(value):
        path = tmp_path / f"d{value}.pickle"
        path.write_bytes(pickle.dumps({(3, 3, 3, 3, 3, 3): value, (1, 2, 3, 4, 1, 2): value * 2}))
        return path

    return make


def test_namespaced_and_flat_names_are_different_datasets(seed_pickle, capsys, user_data):
    assert run_cli(capsys, "dataset", "import", seed_pickle(0.1), "--format", "eagle", "--name", "lab/phone").code == 0
    assert run_cli(capsys, "dataset", "import", seed_pickle(0.3), "--format", "eagle", "--name", "lab__phone").code == 0
    a, b = D.load("lab/phone"), D.load("lab__phone")
    assert a.to_seed_dict()[(3, 3, 3, 3, 3, 3)] == 0.1 and b.to_seed_dict()[(3, 3, 3, 3, 3, 3)] == 0.3
    assert (user_data / "lab" / "phone.npz").exists() and (user_data / "lab__phone.npz").exists()


def test_replacing_needs_force(seed_pickle, capsys):
    assert run_cli(capsys, "dataset", "import", seed_pickle(0.1), "--format", "eagle", "--name", "lab/x").code == 0
    res = run_cli(capsys, "dataset", "import", seed_pickle(0.2), "--format", "eagle", "--name", "lab/x")
    assert_clean_failure(res, codes=(2,), contains="--force")
    assert D.load("lab/x").to_seed_dict()[(3, 3, 3, 3, 3, 3)] == 0.1
    cmd = ("dataset", "import", seed_pickle(0.2), "--format", "eagle", "--name", "lab/x", "--force")
    assert run_cli(capsys, *cmd).code == 0
    assert D.load("lab/x").to_seed_dict()[(3, 3, 3, 3, 3, 3)] == 0.2


@pytest.mark.parametrize(
    "name", ["a\nb", "a/b/c", "/abs", "../x", "a/../b", ".hidden", "a b", "a+b", "", "é", "a/", "x" * 101, "-x"]
)
def test_bad_names_are_refused(name, seed_pickle, capsys, user_data):
    res = run_cli(capsys, "dataset", "import", seed_pickle(0.1), "--format", "eagle", "--name", name)
    assert_clean_failure(res, codes=(2,))
    assert not user_data.exists() or not any(user_data.rglob("*.npz"))
    with pytest.raises(UsageError):
        check_name(name)


def test_legacy_double_underscore_files_still_load(tmp_path, user_data, seed_pickle):
    ds = D.import_file(seed_pickle(0.1), "eagle", "old/name")
    D.save_user_dataset(ds)
    (user_data / "old" / "name.npz").rename(user_data / "old__name.npz")
    (user_data / "old" / "name.json").rename(user_data / "old__name.json")
    assert D.load("old/name").to_seed_dict()[(3, 3, 3, 3, 3, 3)] == 0.1


def test_listing_is_one_line_per_dataset(seed_pickle, capsys):
    run_cli(capsys, "dataset", "import", seed_pickle(0.1), "--format", "eagle", "--name", "lab/phone")
    out = run_cli(capsys, "dataset", "list").out
    assert sum(line.startswith("lab/phone ") for line in out.splitlines()) == 1
