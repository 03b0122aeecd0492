"""Verdicts decided by rules over recorded quantities (every chapter's Verdicts section; the claims ledger).

Each claim of ``data/claims.yml`` carries either a declared ``status`` (only ``discussed, not testable``, with
``because``) or a ``test``::

    test:
      premise: {p: 1.0e-5}          # the setting the source made the claim at: recorded parameters (or an expression)
      premise_says: one over a vocabulary of 100,000
      uses: [n95]                   # the recorded quantities the rule reads; the first is the headline evidence
      rule:                         # first case whose `when` is true decides; a case without `when` is the fallback
        - when: abs(n95 / 300000 - 1) <= 0.05
          verdict: holds
          says: "n95 = {n95:,} is within 5% of the essay's 300,000"
        - verdict: does not hold
          says: "n95 = {n95:,} is more than 5% away from the essay's 300,000"
      why: the essay says "about"; 5% is ...     # the reason for each threshold

Rules are small Python expressions over the recorded quantities (numbers, names, arithmetic, comparisons, ``and``,
``or``, ``not``, and the functions in :data:`FUNCTIONS`), evaluated by a restricted evaluator: no attribute access,
no subscripts, no other calls. A chapter calls :func:`decide`, which evaluates the rule on what the chapter recorded,
records the verdict and the sentence that decided it, and returns a :class:`Decision`. The ledger evaluates the same
rule on the chapter's results file and refuses a recorded verdict that disagrees with it.
"""

from __future__ import annotations

import ast
import math
import operator
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping

import yaml

from rlbits.results import VERDICTS, record, recorded

ROOT = Path(__file__).resolve().parent.parent
NOT_TESTABLE = "discussed, not testable"

#: Functions a rule may call.
FUNCTIONS = {
    "abs": abs, "min": min, "max": max, "log": math.log, "log2": math.log2, "log10": math.log10, "exp": math.exp,
    "sqrt": math.sqrt, "isfinite": math.isfinite,
}
_BIN = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
        ast.FloorDiv: operator.floordiv, ast.Pow: operator.pow, ast.Mod: operator.mod}
_CMP = {ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Eq: operator.eq,
        ast.NotEq: operator.ne}
_UNARY = {ast.USub: operator.neg, ast.UAdd: operator.pos, ast.Not: operator.not_}


class RuleError(ValueError):
    """A rule that cannot be evaluated: a bad expression, or a quantity the chapter did not record."""


def names_in(expression: str) -> set[str]:
    """The quantity names an expression reads (function names excluded)."""
    tree = ast.parse(expression, mode="eval")
    calls = {n.func.id for n in ast.walk(tree) if isinstance(n, ast.Call) and isinstance(n.func, ast.Name)}
    return {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)} - calls


def evaluate_expression(expression: str, values: Mapping, where: str = "rule"):
    """Evaluate ``expression`` over ``values`` with the restricted evaluator."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as exc:
        raise RuleError(f"{where}: cannot parse {expression!r}: {exc.msg}") from None

    def ev(node):
        if isinstance(node, ast.Expression):
            return ev(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float, str, bool)):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in values:
                return values[node.id]
            if node.id in ("inf", "nan"):
                return float(node.id)
            raise RuleError(f"{where}: {expression!r} reads {node.id!r}, which the chapter did not record")
        if isinstance(node, ast.BoolOp):
            vals = (ev(v) for v in node.values)
            return all(vals) if isinstance(node.op, ast.And) else any(vals)
        if isinstance(node, ast.UnaryOp) and type(node.op) in _UNARY:
            return _UNARY[type(node.op)](ev(node.operand))
        if isinstance(node, ast.BinOp) and type(node.op) in _BIN:
            return _BIN[type(node.op)](ev(node.left), ev(node.right))
        if isinstance(node, ast.Compare) and all(type(op) in _CMP for op in node.ops):
            left = ev(node.left)
            for op, comp in zip(node.ops, node.comparators):
                right = ev(comp)
                if not _CMP[type(op)](left, right):
                    return False
                left = right
            return True
        if isinstance(node, ast.IfExp):
            return ev(node.body) if ev(node.test) else ev(node.orelse)
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in FUNCTIONS
                and not node.keywords):
            return FUNCTIONS[node.func.id](*(ev(a) for a in node.args))
        raise RuleError(f"{where}: {expression!r}: {type(node).__name__} is not allowed in a rule")

    return ev(tree)


@dataclass
class Decision:
    """What a claim's rule decided on one set of recorded quantities."""

    claim: str
    verdict: str
    says: str  #: the sentence of the case that decided, filled with the quantities
    premise_ok: bool  #: whether the run is at the claim's premise (the source's setting)
    premise: str  #: the premise in words ("" when the claim has none)
    evidence: str | None  #: the headline quantity's name

    @property
    def text(self) -> str:
        """The sentence a chapter prints: verdict, the numbers that decided it, and a premise warning if needed."""
        out = f"{self.verdict}: {self.says}"
        if not self.premise_ok:
            out = (f"at this run's parameters the claim's premise ({self.premise}) does not apply, so this verdict "
                   f"belongs to the run, not to the claim; the rule gives {out}")
        return out


def load_claims(path: Path | None = None) -> dict[str, dict]:
    """``data/claims.yml`` by claim id, each test checked for shape (cases, verdicts, a fallback)."""
    claims = yaml.safe_load(Path(path or ROOT / "data" / "claims.yml").read_text())
    out = {}
    for c in claims:
        check_claim(c)
        out[c["id"]] = c
    return out


def check_claim(c: dict) -> None:
    """Raise :class:`RuleError` unless ``c`` has a declared status or a well-formed test."""
    cid = c.get("id", "?")
    if "status" in c:
        if c["status"] != NOT_TESTABLE or not c.get("because"):
            raise RuleError(f"{cid}: a declared status must be {NOT_TESTABLE!r} with a 'because'")
        return
    test = c.get("test")
    if not test:
        raise RuleError(f"{cid}: data/claims.yml gives this claim neither a test (a rule) nor a declared status")
    cases = test.get("rule") or []
    if not cases or "when" in cases[-1]:
        raise RuleError(f"{cid}: a rule needs cases and a last case without 'when' (the fallback)")
    for case in cases:
        if case.get("verdict") not in VERDICTS or case["verdict"] == NOT_TESTABLE:
            raise RuleError(f"{cid}: verdict {case.get('verdict')!r} is not one of {list(VERDICTS[:-1])}")
        if "says" not in case:
            raise RuleError(f"{cid}: every case needs 'says'")
        if "when" in case:
            names_in(case["when"])
    if not test.get("uses") or not test.get("why"):
        raise RuleError(f"{cid}: a test names the quantities it 'uses' and says 'why' its thresholds are what they are")


def premise_text(test: dict) -> str:
    """The premise of a claim's ``test`` as a reader reads it (``premise_says``, or ``name = value`` pairs); "" if none."""
    premise = test.get("premise")
    if not premise:
        return ""
    said = test.get("premise_says")
    if isinstance(premise, str):
        return said or premise
    eqs = ", ".join(f"{k} = {v:g}" if isinstance(v, (int, float)) else f"{k} = {v}" for k, v in premise.items())
    return f"{eqs}: {said}" if said else eqs


def premise_holds(test: dict, values: Mapping, where: str) -> bool:
    """Whether the recorded ``values`` are at the premise of the claim's ``test`` (an expression, or ``name: value``
    pairs that must match); a premise that reads an unrecorded name raises :class:`RuleError`."""
    premise = test.get("premise")
    if not premise:
        return True
    if isinstance(premise, str):
        return bool(evaluate_expression(premise, values, f"{where} premise"))
    for name, want in premise.items():
        if name not in values:
            raise RuleError(f"{where} premise: reads {name!r}, which the chapter did not record")
        got = values[name]
        if isinstance(want, (int, float)) and isinstance(got, (int, float)):
            if not math.isclose(got, want, rel_tol=1e-9, abs_tol=0.0):
                return False
        elif got != want:
            return False
    return True


def evaluate(claim: dict, values: Mapping) -> Decision:
    """Apply ``claim``'s rule to ``values`` (a chapter's recorded quantities)."""
    cid = claim["id"]
    if "status" in claim:
        return Decision(cid, claim["status"], claim["because"], True, "", None)
    test = claim.get("test")
    if not test:
        raise RuleError(f"{cid}: data/claims.yml gives this claim neither a test nor a declared status")
    where = f"{cid} rule"
    for name in test["uses"]:
        if name not in values:
            raise RuleError(f"{where}: uses {name!r}, which the chapter did not record")
    for case in test["rule"]:
        if "when" not in case or evaluate_expression(case["when"], values, where):
            try:
                says = case["says"].format_map(_Values(values))
            except (KeyError, ValueError) as exc:
                raise RuleError(f"{where}: cannot fill {case['says']!r}: {exc}") from None
            return Decision(cid, case["verdict"], says, premise_holds(test, values, where), premise_text(test),
                            test["uses"][0])
    raise AssertionError("unreachable: the last case has no 'when'")


class _Values(dict):
    def __missing__(self, key):
        raise KeyError(f"{key!r} is not a recorded quantity")


def decide(claim_id: str, values: Mapping | None = None, *, claims: dict | None = None) -> Decision:
    """Decide ``claim_id`` from what the chapter recorded so far and record the verdict.

    Records ``verdict_<id>`` (the verdict), ``verdict_<id>_quantity`` (the headline quantity's name),
    ``verdict_<id>_note`` (the deciding sentence), ``verdict_<id>_text`` (the sentence to print, with a premise
    warning at a reader's parameters) and ``verdict_<id>_premise`` (1 at the claim's premise, else 0).
    """
    claims = claims or load_claims()
    if claim_id not in claims:
        raise RuleError(f"{claim_id} is not a claim of data/claims.yml")
    d = evaluate(claims[claim_id], recorded() if values is None else values)
    record(f"verdict_{claim_id}", d.verdict)
    record(f"verdict_{claim_id}_quantity", d.evidence or "")
    record(f"verdict_{claim_id}_note", d.says)
    record(f"verdict_{claim_id}_text", d.text)
    record(f"verdict_{claim_id}_premise", int(d.premise_ok))
    return d


def rule_markdown(claim: dict) -> str:
    """The rule as a reader sees it in the ledger: the cases in order, and why the thresholds are what they are."""
    if "status" in claim:
        return f"declared: {claim['because']}"
    test = claim.get("test")
    if not test:
        return "no rule"
    parts = []
    for case in test["rule"]:
        cond = f"`{case['when']}`" if "when" in case else "otherwise"
        parts.append(f"{cond} → *{case['verdict']}*")
    out = "; ".join(parts)
    if test.get("premise"):
        out += f". Premise: {premise_text(test)}"
    return f"{out}. Why: {test['why']}"
