"""rlbits.tables: the MyST text of a numbered table, and its refusals."""

from __future__ import annotations

import pytest

from rlbits.tables import markdown, table


def test_a_table_is_a_myst_table_directive_with_caption_and_name():
    text = markdown(["$V$", "share"], [[10, "0.50"], ["1,000", "0.25"]], "Share of runs by  $V$.", "tbl-ch06-share",
                    align=[None, "right"])
    assert text.splitlines() == [":::{table} Share of runs by $V$.", ":name: tbl-ch06-share", "",
                                 "| $V$ | share |", "|---|---:|", "| 10 | 0.50 |", "| 1,000 | 0.25 |", ":::"]
    assert table(["a"], [[1]], "One.", "tbl-x").data == markdown(["a"], [[1]], "One.", "tbl-x")


@pytest.mark.parametrize("kwargs, message", [
    (dict(name="fig-ch06"), "expected 'tbl-'"),
    (dict(name="tbl-Ch06"), "expected 'tbl-'"),
    (dict(caption=" "), "caption must be one non-empty paragraph"),
    (dict(caption="one\n\ntwo"), "caption must be one non-empty paragraph"),
    (dict(rows=[[1, 2, 3]]), "row 0 has 3 cells for 2 columns"),
    (dict(rows=[]), "no rows"),
    (dict(align=["left"]), "align needs"),
    (dict(align=["left", "middle"]), "align needs"),
    (dict(header=[]), "at least one column"),
])
def test_bad_tables_are_refused_with_what_is_wrong(kwargs, message):
    args = dict(header=["a", "b"], rows=[[1, 2]], caption="C.", name="tbl-t")
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        markdown(**args)


def test_wrap_keeps_a_pipe_table_and_its_alignment():
    from rlbits.tables import wrap

    text = wrap("| a | b |\n|---|---:|\n| 1 | 2 |\n| 3 | 4 |\n", "Two rows.", "tbl-w").data
    assert text == markdown(["a", "b"], [["1", "2"], ["3", "4"]], "Two rows.", "tbl-w", align=[None, "right"])
    with pytest.raises(ValueError, match="expected a pipe table"):
        wrap("| a | b |\n| 1 | 2 |\n", "No rule.", "tbl-w")


def test_no_break_spaces_in_cells_stay():
    text = markdown(["x"], [["1.2\u00a0×\u00a010⁹"]], "One\nline.", "tbl-n")
    assert "| 1.2\u00a0×\u00a010⁹ |" in text and ":::{table} One line." in text
