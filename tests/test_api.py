"""The public API: ``import eagle`` gives the whole loop in a few calls."""

from __future__ import annotations

import numpy as np
import pytest

import eagle
from eagle.errors import UsageError


def test_listing_and_lookup():
    assert "nasbench201" in eagle.list_spaces()
    assert eagle.get_space().num_archs == 15625
    assert "help/pixel3" in eagle.list_datasets()
    assert {"gcn", "mlp", "lut", "ridge", "gbt"} <= set(eagle.list_predictors())
    assert set(eagle.__all__) <= set(dir(eagle))
    with pytest.raises(AttributeError):
        _ = eagle.nothing_here


def test_dataset_predictor_fewshot_loop(tmp_path):
    ds = eagle.load_dataset("help/pixel3")
    archs = ds.present()[:300]
    model = eagle.create_predictor("lut").fit(archs, ds.by_index("s")[archs])
    assert (model.predict(archs) > 0).all()
    base = eagle.pretrain(["help/1080ti_1", "help/titanx_1", "desktop-cpu-core-i7-7820x-fp32", "help/gold_6240"])
    tuned = eagle.calibrate(base, archs[:10], ds.by_index("s")[archs[:10]])
    test = ds.present()[1000:2000]
    rho = np.corrcoef(np.argsort(np.argsort(tuned.predict(test))), np.argsort(np.argsort(ds.by_index("s")[test])))
    assert rho[0, 1] > 0.5
    with pytest.raises(UsageError):
        eagle.calibrate(base, archs[:3], [0.1, -1.0, 0.2])


def test_measure_and_search(tmp_path):
    run = eagle.measure([1, 2, 3], runtime="null", db=tmp_path / "x.sqlite")
    assert np.isfinite(run.by_index("s")[[1, 2, 3]]).all()
    assert list(tmp_path.iterdir()) == [tmp_path / "x.sqlite"] or all(p.suffix != ".txt" for p in tmp_path.iterdir())
    res = eagle.search("random", budget=10)
    assert len(res.queried) == 10
    with pytest.raises(UsageError, match="budget"):
        eagle.search("random", budget=0)
    with pytest.raises(UsageError, match="zzz"):
        eagle.search("zzz")


def test_measure_is_callable_after_the_package_was_imported(tmp_path):
    import eagle.measurement.runner
    from eagle import api

    assert eagle.measure is api.measure  # a function, not a package made callable (issue 34)
    run = eagle.measure(2, runtime="null", db=tmp_path / "y.sqlite")
    assert np.isfinite(run.by_index("s")).sum() == 2
