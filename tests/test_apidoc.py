"""Tests of rlbits.pipeline.apidoc (the API appendix): what it lists, and how it finds where chapters use it."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from rlbits.pipeline import apidoc

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "rlbits"


def _module_files() -> dict[str, Path]:
    """Every module of the package, by dotted name, from the files on disk."""
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(ROOT).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _public_names(path: Path) -> set[str]:
    """Top-level public ``def`` and ``class`` names of a source file (its ``__all__`` if it has one)."""
    tree = ast.parse(path.read_text())
    names = {n.name for n in tree.body if isinstance(n, (ast.FunctionDef, ast.ClassDef)) and not n.name.startswith("_")}
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "__all__" for t in node.targets):
            names &= set(ast.literal_eval(node.value))
    return names


def test_the_appendix_covers_every_module_but_the_machinery():
    listed = set(apidoc.api_modules())
    files = _module_files()
    machinery = {m for m in files if set(m.split(".")[1:]) & apidoc.MACHINERY or m.endswith("__main__")}
    assert listed == set(files) - machinery
    assert "rlbits" in listed and "rlbits.info" in listed and "rlbits.results" in listed
    assert not listed & {"rlbits.book", "rlbits.cli", "rlbits.sphinxext", "rlbits.pipeline.apidoc"}
    # every module a chapter imports is documented
    imported = set()
    for md in (ROOT / "chapters").glob("[0-9]*.md"):
        text = md.read_text()
        imported |= {f"rlbits.{m}" for m in re.findall(r"^from rlbits\.(\w+) import", text, re.M)}
        for names in re.findall(r"^from rlbits import ([\w, ]+(?: as \w+)?[\w, ]*)", text, re.M):
            imported |= {f"rlbits.{n.split(' as ')[0].strip()}" for n in names.split(",")}
    modules = {m for m in imported if m in files}
    assert modules and modules <= listed, modules - listed


def test_every_public_function_and_class_is_listed():
    files = _module_files()
    for module in apidoc.api_modules():
        expected = {f"{module}.{n}" for n in _public_names(files[module])}
        got = {name for name, _ in apidoc.public_objects(module)}
        assert got == expected, (module, expected ^ got)
    assert len(apidoc.documented()) > 200
    assert apidoc.documented()["rlbits.setup_chapter"] == "function"
    assert apidoc.documented()["rlbits.validate.ParameterError"] == "class"


def test_the_generated_page_has_a_directive_and_a_placeholder_per_object():
    rst = "\n".join(apidoc.generated_rst())
    for name, kind in apidoc.documented().items():
        assert f".. auto{kind}:: {name}\n" in rst + "\n", name
        assert f".. rlbits-used-in:: {name}\n" in rst + "\n", name
    for module in apidoc.api_modules():
        assert f".. automodule:: {module}\n" in rst


def test_uses_follow_imports_aliases_and_attribute_chains():
    cells = [
        "import numpy as np\nimport rlbits\nfrom rlbits import info as i, record\n"
        "from rlbits.validate import integer as I",
        "x = record('a', i.surprisal(0.5))",
        "seeds = rlbits.setup_chapter(seed=1)\nn = I('n', 3, minimum=1)",
        "%matplotlib inline\nrlbits.info.binary_entropy(np.array([0.1]))",
        "def f(p):\n    return i.kl_divergence(p, 0.5)\nrecord = 3",  # a use inside a function; rebinding is not a use
        "import rlbits.passk as pk\nfrom rlbits.plotting import COLORS\nCOLORS['sl']",  # an import alone is not a use
        "rlbits.does_not_exist(1)\nnp.log(2)",
    ]
    uses = apidoc.code_uses(cells)
    assert uses[1] == {"rlbits.results.record", "rlbits.info.surprisal"}
    assert uses[2] == {"rlbits.setup_chapter", "rlbits.validate.integer"}
    assert uses[3] == {"rlbits.info.binary_entropy"}
    assert uses[4] == {"rlbits.info.kl_divergence"}
    assert 0 not in uses and 5 not in uses and 6 not in uses


def test_canonical_names_and_prose_mentions():
    assert apidoc.canonical("rlbits.record") == "rlbits.results.record"
    assert apidoc.canonical("rlbits.decide") == "rlbits.verdicts.decide"
    assert apidoc.canonical("rlbits.info") is None  # a module, not an entry
    assert apidoc.canonical("numpy.log") is None
    assert apidoc.canonical("rlbits.validate.ParameterError.args") == "rlbits.validate.ParameterError"
    assert apidoc.prose_use("rlbits.info.surprisal(p)") == "rlbits.info.surprisal"
    assert apidoc.prose_use("rlbits.info") is None and apidoc.prose_use("record(x)") is None


def test_bars_are_escaped_outside_literals_only():
    assert apidoc.plain_bars(["|x|^2 and ``a | b``", "| a line block", "E[r |g|^2]"]) == \
        [r"\|x\|^2 and ``a | b``", "| a line block", r"E[r \|g\|^2]"]
