"""Bundled datasets equal the upstream files they were converted from."""

from __future__ import annotations

import csv
import pickle

import numpy as np
import pytest
import torch

import eagle.datasets as D
from eagle.datasets import catalog
from eagle.errors import EagleError, UnknownNameError
from eagle.spaces import get
from tests.conftest import shared_path

SEED_DEVICES = [n for n, m in catalog.bundled_catalog().items() if m["file"] == "eagle.npz"]
HELP_DEVICES = [n for n, m in catalog.bundled_catalog().items() if m["file"] == "help.npz"]


def test_catalogue_holds_every_source():
    assert len(SEED_DEVICES) == 12
    assert len(HELP_DEVICES) == 13
    assert all(not n.startswith(("help/", "nasbench201/", "eagle-cpu/")) for n in SEED_DEVICES)
    assert {
        "nasbench201/cifar10-valid-accuracy",
        "nasbench201/cifar100-valid-accuracy",
        "nasbench201/imagenet16-120-valid-accuracy",
        "nasbench201/params",
    } <= set(D.names())
    for name in D.names():
        meta = D.metadata(name)
        for field in ("metric", "unit", "source", "licence", "citation", "sha256", "num_archs"):
            assert meta.get(field) not in (None, ""), (name, field)


@pytest.mark.parametrize("name", SEED_DEVICES)
def test_seed_dataset_round_trips_to_the_original_pickle(name):
    with shared_path("eagle", f"{name}.pickle").open("rb") as fh:
        original = pickle.load(fh)  # trusted reference file shipped with the project
    ours = D.load(name).to_seed_dict()
    assert ours == original
    assert all(type(k) is tuple and all(type(x) is int for x in k) for k in ours)


@pytest.mark.parametrize("name", HELP_DEVICES)
def test_help_dataset_equals_upstream_on_valid_archs(name):
    upstream = torch.load(shared_path("help", f"{name[5:]}.pt"), weights_only=True)
    ds = D.load(name)
    valid = get("nasbench201").valid_mask()
    np.testing.assert_array_equal(ds.by_index()[valid], np.asarray(upstream, dtype=np.float64)[valid])
    assert np.isnan(ds.by_index()[~valid]).all()
    assert ds.unit == "ms"
    seed = ds.to_seed_dict()
    vec = get("nasbench201").vector(1)
    assert seed[vec] == pytest.approx(upstream[1] / 1000)


def test_accuracy_datasets_equal_the_nb201_table(nb201_table):
    for column, name in [
        ("cifar10_valid_acc", "nasbench201/cifar10-valid-accuracy"),
        ("cifar100_valid_acc", "nasbench201/cifar100-valid-accuracy"),
        ("imagenet16_120_valid_acc", "nasbench201/imagenet16-120-valid-accuracy"),
    ]:
        values = D.load(name).by_index()
        assert values.tolist() == [float(r[column]) for r in nb201_table]


def test_by_index_units_and_pandas():
    ds = D.load("help/pixel3")
    np.testing.assert_allclose(ds.by_index("s") * 1000, ds.by_index())
    frame = ds.to_pandas()
    assert list(frame.columns) == ["nb201_index", "arch_str", "arch_vector", "latency_ms"]
    assert len(frame) == 15284
    with pytest.raises(EagleError, match="unknown unit 'parsec'"):
        ds.by_index("parsec")
    assert D.load("desktop-cpu-core-i7-7820x-fp32").value_column == "latency_s"
    assert D.load("nasbench201/cifar100-valid-accuracy").value_column == "accuracy_pct"


def test_values_are_read_only():
    ds = D.load("help/pixel3")
    with pytest.raises(ValueError):
        ds.values[0] = 1.0


def test_unknown_name_suggests_close_names():
    with pytest.raises(UnknownNameError, match="help/pixel3"):
        D.load("help/pixel33")


def test_damaged_bundled_data_is_detected(monkeypatch):
    name = "help/pixel3"
    meta = dict(catalog.bundled_catalog()[name])
    meta["sha256"] = "0" * 64
    monkeypatch.setitem(catalog.bundled_catalog(), name, meta)
    with pytest.raises(EagleError, match="sha256"):
        D.load(name)


def test_bundled_data_is_compact():
    from importlib import resources

    folder = resources.files("eagle.datasets").joinpath("data")
    total = sum(f.stat().st_size for f in folder.iterdir() if f.name.endswith(".npz"))  # type: ignore[attr-defined]
    assert total < 5_000_000


def test_csv_has_every_row(nb201_table, tmp_path):
    del nb201_table
    out = tmp_path / "x.csv"
    from eagle.datasets.writers import export

    assert export(D.load("mobile-cpu-snapdragon-450-contex-a53-int8"), "csv", out) == 15252
    with out.open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 15252 and "latency_s" in rows[0]


def test_our_own_cpu_dataset_covers_every_valid_arch():
    ds = D.load("eagle-cpu/onnxruntime-fp32-t1")
    valid = get("nasbench201").valid_mask()
    assert ds.num_archs == 15284 and np.isfinite(ds.by_index()[valid]).all()
    assert "onnxruntime" in ds.metadata["runtime"] and ds.metadata["precision"] == "fp32"
    # one build per class: members of a class share the value
    ids = get("nasbench201").class_ids()
    v = ds.by_index()
    for cid in np.unique(ids[valid])[:200]:
        members = v[(ids == cid) & valid]
        assert (members == members[0]).all()
    assert 5e-5 < np.nanmin(v) < np.nanmax(v) < 0.05


@pytest.mark.parametrize(
    "name",
    ["gpu-h100-torch-fp32-b1", "gpu-h100-torch-fp32-b1-cudagraph", "gpu-h100-torch-fp16-b1", "gpu-h100-torch-fp32-b64"],
)
def test_gpu_datasets_are_whole_classes_of_a_stratified_sample(name):
    ds = D.load(name)
    space = get("nasbench201")
    v, ids, valid = ds.by_index(), space.class_ids(), space.valid_mask()
    present = np.isfinite(v)
    assert ds.num_archs == int(present.sum()) > 300 and not present[~valid].any()
    assert ds.metadata["device_class"] == "datacenter GPU" and "H100" in ds.metadata["device"]
    assert f"{len(np.unique(ids[present]))} of 6466 NB201 classes" in ds.metadata["notes"]
    for cid in np.unique(ids[present]):  # every valid member of a measured class, one value
        members = v[(ids == cid) & valid]
        assert np.isfinite(members).all() and (members == members[0]).all()
    # stratified: the measured classes span the cost range of the space
    macs = np.array([space.cost(int(i), mode="pruned")[1] for i in np.flatnonzero(present)])
    all_macs = np.array([space.cost(int(i), mode="pruned")[1] for i in np.flatnonzero(valid)])
    assert macs.min() <= np.percentile(all_macs, 2) and macs.max() >= np.percentile(all_macs, 98)
