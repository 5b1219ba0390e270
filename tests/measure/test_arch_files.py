"""Files of archs: one reader for every command, errors that name the file's real line."""

import numpy as np
import pytest

from eagle import spaces
from eagle.errors import EagleError
from eagle.measurement.archs import read_arch_table, select_archs, select_keys

FBNET = spaces.get("fbnet")


def test_plain_file_skips_comments_and_blank_lines_and_names_the_real_line(tmp_path):
    a, b = FBNET.sample(2, np.random.default_rng(0))
    path = tmp_path / "archs.txt"
    path.write_text(f"# two archs\n\n{a}\n{a}  # again\n{b}\n")
    assert select_keys(str(path), 0, FBNET) == [FBNET.parse(a), FBNET.parse(b)]  # file order, no repeats
    path.write_text(f"# header comment\n\n{a}\nk3_e1-nonsense\n")
    with pytest.raises(EagleError, match=r"line 4"):
        select_keys(str(path), 0, FBNET)


def test_csv_keeps_columns_and_line_numbers(tmp_path):
    path = tmp_path / "archs.csv"
    path.write_text('id,arch\nx,"|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"\n\ny,5\n')
    table = read_arch_table(path)
    assert table.column == "arch" and table.header == ["id", "arch"] and table.lines == [2, 4]
    assert table.archs[1] == "5" and [r[0] for r in table.rows] == ["x", "y"]
    assert select_archs(str(path), space="nasbench201") == [
        spaces.get("nasbench201").index("|nor_conv_3x3~0|+|none~0|none~1|+|skip_connect~0|none~1|none~2|"),
        5,
    ]
    path.write_text("arch\n1\n\nnot-an-arch\n")
    with pytest.raises(EagleError, match=r"line 4"):
        select_archs(str(path), space="nasbench201")
    path.write_text("arch\n\n")
    with pytest.raises(EagleError, match="lists no architectures"):
        select_archs(str(path), space="nasbench201")
