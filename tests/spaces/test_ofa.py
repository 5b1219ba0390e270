"""The OFA-MobileNetV3 space: strings, unused blocks, exact costs, networks, bundled data."""

from __future__ import annotations

import numpy as np
import pytest

from eagle import datasets, spaces
from eagle.errors import InvalidArchError
from eagle.spaces.counting import count_macs_params
from eagle.spaces.ofa import make_divisible, widths

SPACE = spaces.get("ofa")
ARCH = "r204:d22223:ks75557757573753735353:e64466343363336346436"


def test_alias_and_strings():
    assert SPACE is spaces.get("ofa-mbv3") and SPACE.size is None
    canon = SPACE.canonical(ARCH)
    assert canon == "r204:d22223:ks75007700570053005350:e64006300360036006430"
    assert SPACE.parse(canon) == canon and SPACE.canonical(canon) == canon
    other = ARCH.replace("ks7555", "ks7533")  # only unused blocks of stage 1 differ
    assert SPACE.canonical(other) == canon and SPACE.parse(other) != SPACE.parse(ARCH)
    for bad, why in (
        ("r202:d22223:ks" + "3" * 20 + ":e" + "3" * 20, "128, 132"),
        ("r204:d12223:ks" + "3" * 20 + ":e" + "3" * 20, "depths"),
        ("r204:d22223:ks0" + "3" * 19 + ":e" + "3" * 20, "block 0"),
        ("224", "reads r"),
    ):
        with pytest.raises(InvalidArchError, match=why):
            SPACE.parse(bad)
    rng = np.random.default_rng(0)
    assert all(SPACE.parse(a) == a for a in SPACE.sample(20, rng))
    assert SPACE.mutate(ARCH, rng) != ARCH


def test_widths_follow_ofa_rounding():
    assert make_divisible(16 * 1.2) == 24 and make_divisible(112 * 1.2) == 136
    assert widths(1.2) == (24, 24, [32, 48, 96, 136, 192], 1152, 1536)
    assert widths(1.0) == (16, 16, [24, 40, 80, 112, 160], 960, 1280)


def test_costs_equal_the_built_network():
    biggest = "r224:d44444:ks" + "7" * 20 + ":e" + "6" * 20
    smallest = "r128:d22222:ks" + "3" * 20 + ":e" + "3" * 20
    for arch in (ARCH, biggest, smallest):
        model = SPACE.build_model(arch, calibrate=False)
        assert count_macs_params(model, (1, *SPACE.input_shape(arch))) == tuple(SPACE.costs([arch])[0].astype(int))
    macs = SPACE.costs([smallest, biggest])[:, 0]
    assert macs[0] < macs[1]
    # the stem alone: 3x3 stride-2 conv to 24 channels at 64x64 for r128
    assert 64 * 64 * 24 * 27 < macs[0]


def test_bundled_help_files():
    names = [n for n in datasets.names() if n.startswith("help-ofa/")]
    assert len(names) == 9
    ds = datasets.load("help-ofa/v100_64")
    keys, y = ds.items("ms")
    assert ds.space is SPACE and len(keys) == 5000 and keys[0] == ARCH and (y > 0).all()
