"""``eagle.testing``'s conformance checks over every registered space, predictor and runtime
(and the test suite's toy space): the rules plug-in authors are held to hold for Eagle's own."""

from __future__ import annotations

import numpy as np
import pytest

from eagle import predictors, runtimes, spaces
from eagle.testing import check_predictor, check_runtime, check_space
from tests.spaces.toy import ToyChain

#: a space that cannot sample is checked on archs it is given
GIVEN = {"models": ["torchvision:mobilenet_v3_small@3x64x64", "torchvision:resnet18@3x32x32"]}


@pytest.mark.parametrize("name", spaces.names())
def test_registered_space_conforms(name):
    space = spaces.get(name)
    caps = check_space(space, GIVEN.get(name), samples=3)
    assert caps["build"] and caps["sample"] == (name not in GIVEN)
    if name == "models":  # networks outside a search space: priced kernel by kernel, no graph encoding
        assert not caps["encode"] and not caps["op_counts"] and not caps["enumerable"]
    else:
        assert caps["encode"] and caps["op_counts"]


def test_toy_space_conforms():
    caps = check_space(ToyChain(), samples=5)
    assert caps["enumerable"] and caps["sample"]


def test_space_check_names_the_broken_rule():
    class Unstable(ToyChain):
        def parse(self, arch):  # a key that does not parse to itself
            return super().parse(arch) + "!" if not str(arch).endswith("!") else str(arch) + "?"

    with pytest.raises(AssertionError, match="parse"):
        check_space(Unstable(), samples=3, build=False)
    with pytest.raises(AssertionError, match="instance"):
        check_space(ToyChain)  # the class, not an instance
    with pytest.raises(AssertionError, match="samples"):
        check_space(ToyChain(), samples=0)


@pytest.fixture(scope="module")
def nb201_data():
    from eagle.datasets import load_measurement

    ds = load_measurement("help/pixel3")
    idx = np.flatnonzero(np.isfinite(ds.values))[::97][:60]
    return idx, ds.values[idx]


@pytest.mark.parametrize("name", predictors.names())
def test_registered_predictor_conforms(name, nb201_data):
    archs, y = nb201_data
    options = {"epochs": 30} if name in ("gcn", "mlp") else {}
    report = check_predictor(lambda: predictors.create(name, space="nasbench201", **options), archs, y)
    assert report["kind"] == name
    if name not in ("params",):  # the parameter count alone need not rank latency
        assert report["spearman_on_training_archs"] > 0.3, report


def test_predictor_check_catches_a_predictor_that_forgets():
    class Forgets:
        space = spaces.get("nasbench201")

        def fit(self, archs, y):
            self.mean = float(np.mean(y))
            return self

        def predict(self, archs):
            return np.full(len(archs), getattr(self, "mean", 0.0))  # no NotFittedError before fit

        def predict_spread(self, archs):
            return None

        def state(self):
            return {"kind": "forgets"}, {}

    archs = np.arange(20)
    with pytest.raises(AssertionError, match="before fit"):
        check_predictor(Forgets, archs, np.linspace(1, 2, 20))
    with pytest.raises(AssertionError, match="no fit"):
        check_predictor(lambda: None, archs, np.linspace(1, 2, 20))


@pytest.mark.parametrize("name", runtimes.names())
def test_registered_runtime_conforms(name):
    cls = runtimes.get(name)
    if not cls.available():
        pytest.skip(f"runtime {name} is not installed here: {cls.unavailable_reason()}")
    report = check_runtime(runtimes.create(name))
    assert report["runtime"] == name and report["run_s"] >= 0
