"""rlbits.numbers: one formatter for every number the book prints (issue 16, item 3)."""

import math

import numpy as np
import pytest

from rlbits.numbers import E_NOTATION, TIMES, fmt, number, rewrite, superscript, words


def sci(mantissa: str, exponent: str) -> str:
    return f"{mantissa}{TIMES}10{exponent}" if mantissa else f"10{exponent}"


@pytest.mark.parametrize("value, text", [
    (0, "0"), (0.0, "0"), (-0.0, "0"),
    (7, "7"), (-7, "-7"), (13333, "13,333"), (-1_234_567, "-1,234,567"), (999_999_999, "999,999,999"),
    (10**9, sci("", "⁹")), (123_456_789_012, sci("1.23", "¹¹")), (np.int64(299572), "299,572"),
    (0.5, "0.5"), (0.25, "0.25"), (1 / 3, "0.333"), (-1 / 3, "-0.333"), (2 / 3, "0.667"),
    (999.4, "999"), (999.5, "1,000"), (99.95, "100"), (1234.5, "1,234"), (188_519.85, "188,520"),
    (1e4, "10,000"), (-1e4, "-10,000"), (999_999.4, "999,999"), (999_999.6, sci("", "⁶")), (1e6, sci("", "⁶")),
    (8.49e14, sci("8.49", "¹⁴")), (1.227e9, sci("1.23", "⁹")), (-2.4e-4, "-" + sci("2.4", "⁻⁴")),
    (0.001, "0.001"), (0.00458, "0.00458"), (0.000999, sci("9.99", "⁻⁴")),
    (1e-5, sci("", "⁻⁵")), (1.0000001e-5, sci("", "⁻⁵")), (1.5e-5, sci("1.5", "⁻⁵")), (7.213e-17, sci("7.21", "⁻¹⁷")),
    (float("nan"), "NaN"), (float("inf"), "∞"), (float("-inf"), "-∞"), (np.float64(2.5e-6), sci("2.5", "⁻⁶")),
    (True, "yes"), (False, "no"), (np.bool_(True), "yes"),
])
def test_number_reads_like_prose(value, text):
    assert number(value) == text


def test_number_keeps_the_significant_figures_asked_for():
    assert number(math.pi, sig=1) == "3"
    assert number(math.pi, sig=5) == "3.1416"
    assert number(1.227e9, sig=4) == sci("1.227", "⁹")
    assert number(0.0123456, sig=2) == "0.012"
    assert number(1.0, sig=5) == "1"  # trailing zeros dropped
    for bad in (0, 18, 2.5, True):
        with pytest.raises(ValueError, match="sig="):
            number(1.0, sig=bad)
    with pytest.raises(TypeError, match="str"):
        number("1e5")


@pytest.mark.parametrize("before, after", [
    ("8.49e+14", sci("8.49", "¹⁴")),
    ("1.227e+09", sci("1.227", "⁹")),
    ("1e-05", sci("", "⁻⁵")), ("1.0e-05", sci("", "⁻⁵")), ("1.00E-05", sci("", "⁻⁵")),  # one style for both
    ("2.43e+03", "2,430"), ("1.97e+05 times faster", "197,000 times faster"), ("1e+05", "100,000"),
    ("4.58e-03", "0.00458"), ("1.0e-01", "0.10"), ("1e-03", "0.001"),
    ("0.0e+00", "0"), ("-2.4e-04", "-" + sci("2.4", "⁻⁴")), ("8.000e-05", sci("8.000", "⁻⁵")),
    ("gap 7.2e-17.", f"gap {sci('7.2', '⁻¹⁷')}."), ("T = 1e4 tokens", "T = 10,000 tokens"),
    ("from 1e4 to 1e5", "from 10,000 to 100,000"), ("12.5e3", "12,500"),
    # not numbers: identifiers, versions, words
    ("rl_vs_sl_gap_T1e4_p1e_5", "rl_vs_sl_gap_T1e4_p1e_5"), ("v2.5e3x", "v2.5e3x"), ("1.2.3e4", "1.2.3e4"),
    ("the 3 seeds", "the 3 seeds"), ("e-notation", "e-notation"), ("", ""),
])
def test_rewrite_turns_e_notation_into_the_books_form(before, after):
    assert rewrite(before) == after
    assert not E_NOTATION.search(rewrite(before)) or before == after


def test_fmt_is_format_then_rewrite_and_booleans_are_words():
    assert fmt(8.49e14, ".2e") == sci("8.49", "¹⁴")
    assert fmt(1e-5, ".0e") == fmt(1e-5, ".1e") == sci("", "⁻⁵")
    assert fmt(12345678.0, ",.0f") == "12,345,678"
    assert fmt(0.5, ".3f") == "0.500"
    assert fmt(1.234e7, ".3g") == sci("1.23", "⁷")
    assert fmt(1e-5) == sci("", "⁻⁵") and fmt(12345) == "12,345" and fmt("a 1e-3 b") == "a 0.001 b"
    assert fmt(True, ".2f") == "yes" and fmt(np.bool_(False)) == "no" and words(1) == "yes"


def test_superscripts():
    assert superscript(-17) == "⁻¹⁷" and superscript(0) == "⁰" and superscript(9) == "⁹"
