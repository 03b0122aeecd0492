"""Numbers as a reader reads them: one formatter for every number the book prints (no chapter: the Sphinx extension and the ledger apply it).

Python prints ``8.49e+14``, ``1e-05`` and ``True``; a page should print 8.49 × 10¹⁴, 10⁻⁵ and "yes". This module is
the single place that decides how:

* :func:`number` formats a value on its own: integers with thousands separators, floats to ``sig`` significant
  figures, positional (with separators) from 0.001 up to a million, else in scientific notation ``m × 10ⁿ`` with a
  Unicode superscript exponent (``10ⁿ`` alone when the mantissa is 1), booleans as "yes"/"no".
* :func:`rewrite` turns every number in e-notation inside a text (``"gap 1.227e+09 at p = 1e-05"``) into that form,
  keeping the digits it was given. The book's Sphinx extension (:mod:`rlbits.pipeline.sphinxext`) applies it to every
  rendered text outside code and math, so a glued value formatted as ``.2e``, a sentence a chapter builds with
  ``f"{x:.3g}"``, a table of results and the claims ledger all read the same way. Chapters need not change.
* :func:`fmt` is ``format(value, spec)`` followed by :func:`rewrite` (what a glue reference with a format spec
  renders as); :func:`words` turns a boolean into "yes"/"no".

The forms are plain Unicode text (the exponent in superscript digits, a no-break space on each side of ×), so they
read the same in HTML, in the search index and in a copied sentence, and tests can look for them.
"""

from __future__ import annotations

import math
import re
from decimal import Decimal
from numbers import Integral, Real

import numpy as np

#: ``×`` between mantissa and power of ten, with no-break spaces so a number never breaks across lines.
TIMES = "\u00a0×\u00a0"
_SUPERSCRIPT = str.maketrans("0123456789-+", "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺")

#: Exponents printed positionally (0.001 ... 999,999); outside this range scientific notation reads better.
POSITIONAL_EXPONENTS = range(-3, 6)

#: A number in e-notation inside text: not part of a word or of a longer number (``T1e4`` and ``2.5.1e3`` are not
#: numbers), with an optional sign and fraction, and an exponent of one or more digits.
E_NOTATION = re.compile(r"(?<![\w.])(?P<sign>-?)(?P<mant>\d+(?:\.\d*)?)[eE](?P<exp>[-+]?\d+)(?![\w]|\.\d)")

#: What a test looks for on a page: any e-notation number left unformatted.
E_NOTATION_LEFT = E_NOTATION


def superscript(exponent: int) -> str:
    """An integer exponent in Unicode superscript digits, as in 10⁻⁵: ``-5`` -> ``⁻⁵``."""
    return str(int(exponent)).translate(_SUPERSCRIPT)


def _group(digits: str) -> str:
    """Thousands separators in the integer part of a positional number string ``[-]d+[.d*]``."""
    sign = "-" if digits.startswith("-") else ""
    whole, dot, frac = digits.lstrip("-").partition(".")
    return f"{sign}{int(whole):,d}{dot}{frac}" if whole else digits


def _from_parts(sign: str, mantissa: str, exponent: int, strip_zeros: bool = False) -> str:
    """A number given as mantissa digits and a power of ten, in the book's form; keeps the mantissa's digits."""
    value = Decimal(f"{mantissa}e{exponent}")
    if value == 0:
        return "0"
    # normalise the mantissa to one digit before the point (12.5e3 -> 1.25e4), keeping its significant digits
    digits = mantissa.replace(".", "").lstrip("0") or "0"
    n_sig = len(digits)
    if strip_zeros:
        digits = digits.rstrip("0") or "0"
        n_sig = len(digits)
    lead = value.adjusted()  # the exponent of the leading digit
    if lead in POSITIONAL_EXPONENTS:
        decimals = max(n_sig - 1 - lead, 0)
        text = _group(f"{value:.{decimals}f}")
        return f"{sign}{text}"
    m = digits[0] + ("." + digits[1:n_sig] if n_sig > 1 else "")
    power = f"10{superscript(lead)}"
    if re.fullmatch(r"1(\.0*)?", m):  # 1e-05 and 1.0e-05 alike: 10⁻⁵
        return f"{sign}{power}"
    return f"{sign}{m}{TIMES}{power}"


def rewrite(text: str) -> str:
    """Every number in e-notation in ``text`` in the book's form, with the digits it was printed with:
    ``"8.49e+14"`` -> ``"8.49 × 10¹⁴"``, ``"1e-05"`` and ``"1.0e-05"`` -> ``"10⁻⁵"``, ``"2.43e+03"`` -> ``"2,430"``,
    ``"4.58e-03"`` -> ``"0.00458"``. Other text is unchanged."""
    if "e" not in text and "E" not in text:
        return text
    return E_NOTATION.sub(lambda m: _from_parts(m["sign"], m["mant"], int(m["exp"])), text)


def words(value: bool) -> str:
    """A boolean as prose: "yes" or "no"."""
    return "yes" if value else "no"


def number(value, sig: int = 3) -> str:
    """``value`` on its own, as a reader reads it.

    * booleans: "yes"/"no"; integers below 10⁹ exactly, with thousands separators (``13,333``);
    * other numbers to ``sig`` significant figures (trailing zeros dropped): positionally from 0.001 to below a
      million (``0.00458``, ``1,000``; a number with more integer digits than ``sig`` keeps them all, rounded to a
      whole number: ``188,520``), else as ``m × 10ⁿ`` (``1.23 × 10⁹``, ``10⁻⁵``);
    * 0 is ``0``; infinities are ``∞`` and ``-∞``; NaN is ``NaN``.
    """
    if not isinstance(sig, Integral) or isinstance(sig, bool) or not 1 <= sig <= 17:
        raise ValueError(f"sig={sig!r}: significant figures must be an integer from 1 to 17")
    if isinstance(value, (bool, np.bool_)):
        return words(bool(value))
    if isinstance(value, (Integral, np.integer)):
        value = int(value)
        if abs(value) < 10**9:
            return f"{value:,d}"
    if not isinstance(value, Real):
        raise TypeError(f"number() formats a number, not {type(value).__name__} ({value!r})")
    x = float(value)
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "∞" if x > 0 else "-∞"
    if x == 0:
        return "0"
    if abs(x) >= 10 ** (sig - 1) and round(abs(x)) < 10 ** POSITIONAL_EXPONENTS.stop:
        return f"{'-' if x < 0 else ''}{round(abs(x)):,d}"  # 188,519.85 -> 188,520, not 189,000
    mantissa, exponent = f"{abs(x):.{sig - 1}e}".split("e")
    return _from_parts("-" if x < 0 else "", mantissa, int(exponent), strip_zeros=True)


def fmt(value, spec: str = "") -> str:
    """``format(value, spec)`` in the book's form: what a glued value with format spec ``spec`` renders as. With no
    spec a float is :func:`number` to 4 significant figures; a boolean is "yes"/"no" whatever the spec."""
    if isinstance(value, (bool, np.bool_)):
        return words(bool(value))
    if not spec:
        if isinstance(value, Integral):
            return number(value)
        if isinstance(value, Real):
            return number(value, sig=4)
        return rewrite(str(value))
    return rewrite(format(value, spec))


__all__ = ["TIMES", "E_NOTATION", "superscript", "rewrite", "words", "number", "fmt"]
