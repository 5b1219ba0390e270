"""Conversions between arch_str, arch vector, NB201 index: exact for every architecture."""

from __future__ import annotations

import numpy as np
import pytest

from eagle.errors import InvalidArchError
from eagle.models.nasbench201 import utils
from eagle.spaces import get
from eagle.spaces.nasbench201 import arch as A

SPACE = get("nasbench201")


def test_index_order_and_strings_match_shared_table(nb201_table):
    assert len(nb201_table) == 15625
    for row in nb201_table:
        idx = int(row["nb201_index"])
        assert SPACE.arch_str(idx) == row["arch_str"]
        assert SPACE.index(row["arch_str"]) == idx


def test_round_trips_for_every_arch():
    seen_codes = set()
    for idx, vec in enumerate(SPACE.archs()):
        s = A.format_arch_str(vec)
        assert A.parse_arch_str(s) == vec
        assert A.vector_to_index(vec) == idx
        assert A.index_to_vector(idx) == vec
        code = A.vector_to_code(vec)
        assert A.code_to_vector(code) == vec
        seen_codes.add(code)
        assert utils.get_arch_str_from_arch_vector(utils.get_arch_vector_from_arch_str(s)) == s
    assert seen_codes == set(range(15625))


def test_seed_enumeration_order_first_element_fastest():
    assert A.code_to_vector(0) == (0, 0, 0, 0, 0, 0)
    assert A.code_to_vector(1) == (1, 0, 0, 0, 0, 0)
    assert A.code_to_vector(5) == (0, 1, 0, 0, 0, 0)
    assert A.code_to_vector(15624) == (4, 4, 4, 4, 4, 4)


def test_seed_readme_example():
    s = "|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|"
    vec = utils.get_arch_vector_from_arch_str(s)
    assert vec == (3, 3, 4, 1, 3, 1)
    assert all(type(x) is int for x in vec)
    assert utils.get_arch_str_from_arch_vector(vec) == s
    assert SPACE.index(s) == 1


@pytest.mark.parametrize(
    "text",
    ["1", "(3, 3, 4, 1, 3, 1)", "3,3,4,1,3,1", "[3,3,4,1,3,1]"],
)
def test_resolve_accepts_every_text_form(text):
    assert SPACE.vector(text) == (3, 3, 4, 1, 3, 1)


def test_resolve_accepts_numpy_and_lists():
    assert SPACE.vector(np.array([3, 3, 4, 1, 3, 1])) == (3, 3, 4, 1, 3, 1)
    assert SPACE.vector([3, 3, 4, 1, 3, 1]) == (3, 3, 4, 1, 3, 1)
    assert SPACE.vector(np.int64(1)) == (3, 3, 4, 1, 3, 1)


@pytest.mark.parametrize(
    ("bad", "message"),
    [
        ("|conv_5x5~0|+|none~0|none~1|+|none~0|none~1|none~2|", "unknown op 'conv_5x5'"),
        ("|none~0|+|none~0|none~1|", "expected 3 nodes"),
        ("|none~0|+|none~0|+|none~0|none~1|none~2|", "node 2 must have 2 input edge"),
        ("|none~1|+|none~0|none~1|+|none~0|none~1|none~2|", "must come from node 0"),
        ("|none|+|none~0|none~1|+|none~0|none~1|none~2|", "must be 'op~source'"),
        ("none~0+none~0", "cannot read"),
        ("hello", "cannot read"),
        (15625, "out of range"),
        (-1, "out of range"),
        ("99999", "out of range"),
        ((1, 2, 3), "must have 6 op ids"),
        ((1, 2, 3, 4, 0, 5), "element 5 is op id 5"),
        ((1, 2, 3, 4, 0, -1), "element 5 is op id -1"),
        ((1, 2, 3, 4, 0, 1.5), "must be an integer op id"),
        ((1, 2, 3, 4, 0, True), "must be an integer op id"),
        (None, "cannot read"),
        (3.0, "cannot read"),
    ],
)
def test_bad_input_raises_one_clear_error(bad, message):
    with pytest.raises(InvalidArchError, match=message):
        SPACE.vector(bad)


def test_invalid_arch_error_is_a_value_error():
    with pytest.raises(ValueError):
        utils.get_arch_vector_from_arch_str("nonsense")
    with pytest.raises(InvalidArchError):
        utils.get_arch_str_from_arch_vector((0, 0, 0))


def test_packaged_index_file_is_read_only_and_a_permutation():
    codes = A.index_codes()
    assert codes.dtype == np.uint16
    assert not codes.flags.writeable
    assert sorted(codes.tolist()) == list(range(15625))
