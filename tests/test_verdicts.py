"""The rule evaluator of data/claims.yml: restricted expressions, case order, premises, and every claim's shape."""

import pytest

from rlbits import verdicts
from rlbits.verdicts import RuleError, evaluate, evaluate_expression

CLAIM = {
    "id": "C99", "claim": "x", "source": ["essay"], "chapter": "01_x",
    "test": {
        "premise": {"p": 1e-5}, "premise_says": "one over V", "uses": ["n", "p"],
        "rule": [
            {"when": "abs(n / 300000 - 1) <= 0.05", "verdict": "holds", "says": "n = {n:,} is close"},
            {"when": "n < 1e6", "verdict": "holds with a caveat", "says": "n = {n:,} is of the order"},
            {"verdict": "does not hold", "says": "n = {n:,} is far"},
        ],
        "why": "because",
    },
}


@pytest.mark.parametrize("n,expected", [(285_001, "holds"), (314_999, "holds"), (284_999, "holds with a caveat"),
                                        (315_001, "holds with a caveat"), (999_999, "holds with a caveat"),
                                        (1_000_000, "does not hold")])
def test_first_true_case_decides_at_the_threshold_boundaries(n, expected):
    d = evaluate(CLAIM, {"n": n, "p": 1e-5})
    assert d.verdict == expected
    assert d.says.startswith(f"n = {n:,} ")
    assert d.premise_ok


def test_premise_off_is_said_in_the_text():
    d = evaluate(CLAIM, {"n": 9, "p": 0.3})
    assert not d.premise_ok
    assert "premise (p = 1e-05: one over V) does not apply" in d.text
    assert evaluate(CLAIM, {"n": 9, "p": 1e-5 * (1 + 1e-12)}).premise_ok


def test_missing_quantity_is_named():
    with pytest.raises(RuleError, match="'n', which the chapter did not record"):
        evaluate(CLAIM, {"p": 1e-5})


@pytest.mark.parametrize("expr", ["__import__('os')", "n.real", "[1][0]", "open('x')", "(lambda: 1)()"])
def test_evaluator_refuses_anything_but_arithmetic(expr):
    with pytest.raises(RuleError):
        evaluate_expression(expr, {"n": 1})


def test_evaluator_arithmetic_and_chained_comparisons():
    v = {"a": 2.0, "b": 3}
    assert evaluate_expression("1 < a < b and not a > b", v) is True
    assert evaluate_expression("max(a, b) ** 2 - log2(8)", v) == 6.0
    assert evaluate_expression("a if b > 5 else -a", v) == -2.0


def test_declared_status_and_malformed_claims():
    c = {"id": "C98", "status": "discussed, not testable", "because": "historical"}
    assert evaluate(c, {}).verdict == "discussed, not testable"
    with pytest.raises(RuleError):
        verdicts.check_claim({"id": "C97", "status": "holds", "because": "typed"})
    bad = {"id": "C96", "test": {**CLAIM["test"], "rule": CLAIM["test"]["rule"][:2]}}
    with pytest.raises(RuleError, match="fallback"):
        verdicts.check_claim(bad)
    with pytest.raises(RuleError, match="not one of"):
        verdicts.check_claim({"id": "C95", "test": {**CLAIM["test"], "rule": [{"verdict": "mostly", "says": ""}]}})


def test_every_claim_in_the_file_is_well_formed():
    claims = verdicts.load_claims()
    assert len(claims) >= 28


def test_no_chapter_types_a_verdict():
    """Verdicts come from rules: no chapter calls the removed ``verdict(...)`` or records a ``verdict_`` key itself."""
    import re

    from rlbits.pipeline.book import ROOT

    for md in sorted((ROOT / "chapters").rglob("*.md")):
        text = md.read_text()
        assert not re.search(r"(?<![\w.])verdict\(", text), f"{md.name} calls verdict(...)"
        assert not re.search(r"record\(\s*f?[\"']verdict_", text), f"{md.name} records a verdict by hand"
