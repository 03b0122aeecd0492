"""The API appendix (back matter, ``chapters/backmatter/api.md``): every public function and class of the book's
science modules and of the chapter-facing API, with its docstring (Sphinx autodoc), and under each the chapter
sections whose code uses it, the way the d2l book points its library code back to its chapters.

Nothing on the page is typed by hand:

* **What is listed** is discovered: :func:`api_modules` walks the ``rlbits`` package and keeps every module except
  the machinery that runs the book (:data:`MACHINERY`: the ``rlbits.pipeline`` subpackage, and the same modules
  while they still sit at the top level); :func:`public_objects` lists a module's public functions and classes (its
  ``__all__`` if it has one, else every name without a leading underscore that the module itself defines), in
  source order.
* **Where each is used** is computed while Sphinx reads the book: every executed notebook's code cells are parsed
  (:func:`code_uses` resolves ``import rlbits``, ``from rlbits import info as i``, ``from rlbits.info import
  surprisal`` and attribute chains such as ``rlbits.info.surprisal`` or ``i.surprisal`` to the object's home
  module), inline code in the prose that names ``rlbits.<module>.<name>`` counts too, and each use is placed in the
  innermost section that holds its cell. The ``rlbits-used-in`` placeholder under each entry becomes links to those
  sections (numbered as the book numbers them) when the page is written.

The page holds one directive, ``rlbits-api`` (inside ``{eval-rst}``, since autodoc writes reStructuredText).
References in docstrings to modules the appendix leaves out (the pipeline, by its current or its former top-level
name) or to other packages (numpy, the standard library) render as plain code instead of failing the strict render;
a reference to any other ``rlbits`` name that does not exist still fails it.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
from functools import lru_cache
from pathlib import Path

from docutils import nodes
from docutils.statemachine import StringList
from sphinx.util.docutils import SphinxDirective
from sphinx.util.nodes import nested_parse_with_titles

PACKAGE = "rlbits"

#: Modules that run the book rather than compute its results: left out of the appendix. ``pipeline`` is the
#: subpackage they live in; the other names are the same modules where they sat before moving there.
MACHINERY = frozenset({"pipeline", "__main__", "cli", "book", "execute", "kernels", "sweep", "ledger",
                       "environment", "bench", "sphinxext", "apidoc"})


# ---------------------------------------------------------------------------------------------------------------
# What the appendix lists
# ---------------------------------------------------------------------------------------------------------------

def _is_machinery(name: str) -> bool:
    return any(part in MACHINERY or part.startswith("_") for part in name.split(".")[1:])


@lru_cache(maxsize=1)
def api_modules() -> tuple[str, ...]:
    """The package and every science module under it (subpackages included, the machinery left out), sorted."""
    package = importlib.import_module(PACKAGE)
    names = {PACKAGE}
    for info in pkgutil.walk_packages(package.__path__, f"{PACKAGE}.",
                                      onerror=lambda name: None):
        if not _is_machinery(info.name):
            names.add(info.name)
    return tuple(sorted(names))


def _documentable(obj, module: str) -> bool:
    return (inspect.isfunction(obj) or inspect.isclass(obj)) and getattr(obj, "__module__", None) == module


def _source_line(obj) -> int:
    try:
        return inspect.getsourcelines(obj)[1]
    except (OSError, TypeError):
        return 10**9


def public_objects(module: str) -> list[tuple[str, str]]:
    """``(qualified name, "function" | "class")`` of each public function and class ``module`` defines, in source
    order. Names re-exported from another module are documented where they are defined."""
    mod = importlib.import_module(module)
    names = getattr(mod, "__all__", None)
    if names is None:
        names = [n for n in vars(mod) if not n.startswith("_")]
    found = [(n, getattr(mod, n)) for n in names if hasattr(mod, n) and _documentable(getattr(mod, n), module)]
    found.sort(key=lambda item: (_source_line(item[1]), item[0]))
    return [(f"{module}.{n}", "class" if inspect.isclass(obj) else "function") for n, obj in found]


@lru_cache(maxsize=1)
def documented() -> dict[str, str]:
    """Every object the appendix documents: qualified name -> "function" | "class"."""
    return {name: kind for module in api_modules() for name, kind in public_objects(module)}


# ---------------------------------------------------------------------------------------------------------------
# Where each object is used
# ---------------------------------------------------------------------------------------------------------------

@lru_cache(maxsize=4096)
def canonical(dotted: str) -> str | None:
    """The documented object that ``dotted`` (``rlbits.record``, ``rlbits.info.surprisal``,
    ``rlbits.bpe.Tokenizer.encode``) names, by its home module's name (``rlbits.results.record``); None when it
    names no documented function or class (a module, a constant, something outside ``rlbits``)."""
    parts = dotted.split(".")
    if parts[0] != PACKAGE:
        return None
    obj = None
    for i in range(len(parts), 0, -1):  # the longest importable module prefix
        try:
            obj = importlib.import_module(".".join(parts[:i]))
        except ImportError:
            continue
        rest = parts[i:]
        break
    else:
        return None
    for attr in rest:
        if inspect.isfunction(obj) or inspect.isclass(obj):
            break  # a method or attribute of a documented object: the object itself
        try:
            obj = getattr(obj, attr)
        except AttributeError:
            return None
    if not (inspect.isfunction(obj) or inspect.isclass(obj)):
        return None
    name = f"{obj.__module__}.{obj.__qualname__.split('.')[0]}"
    return name if name in documented() else None


def _bindings(tree: ast.AST) -> dict[str, str]:
    """Local names bound by imports from rlbits: ``{"i": "rlbits.info", "surprisal": "rlbits.info.surprisal"}``."""
    bound = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == PACKAGE:
                    if alias.asname:
                        bound[alias.asname] = alias.name
                    else:
                        bound[alias.name.split(".")[0]] = PACKAGE
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                and node.module.split(".")[0] == PACKAGE:
            for alias in node.names:
                if alias.name != "*":
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
    return bound


def _chain(node: ast.AST) -> list[str] | None:
    """``a.b.c`` as ``["a", "b", "c"]`` for a chain of attributes on a name; None for anything else."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        return [node.id, *reversed(parts)]
    return None


def _parse(source: str) -> ast.AST | None:
    # IPython magics and shell escapes are not Python
    lines = ["" if line.lstrip().startswith(("%", "!")) else line for line in source.splitlines()]
    try:
        return ast.parse("\n".join(lines))
    except SyntaxError:
        return None


def code_uses(sources: list[str]) -> dict[int, set[str]]:
    """For the code cells ``sources`` of one notebook, the documented objects each cell uses (by index).

    Imports anywhere in the notebook bind names for every cell (a chapter imports in its hidden first cell); an
    import statement alone is not a use."""
    trees = [_parse(s) for s in sources]
    bound: dict[str, str] = {}
    for tree in trees:
        if tree is not None:
            bound.update(_bindings(tree))
    uses: dict[int, set[str]] = {}
    for index, (source, tree) in enumerate(zip(sources, trees)):
        found = set()
        if tree is None:  # not parseable: fall back on fully qualified mentions
            found = {c for m in re.findall(r"\brlbits(?:\.\w+)+", source) if (c := canonical(m))}
        else:
            for node in ast.walk(tree):
                if isinstance(node, (ast.Attribute, ast.Name)) and not isinstance(getattr(node, "ctx", None),
                                                                                  ast.Store):
                    chain = _chain(node)
                    if chain and chain[0] in bound:
                        name = canonical(".".join([bound[chain[0]], *chain[1:]]))
                        if name:
                            found.add(name)
        if found:
            uses[index] = found
    return uses


_MENTION = re.compile(r"^(rlbits(?:\.\w+)+)(?:\(.*\))?$")


def prose_use(text: str) -> str | None:
    """The documented object that inline code such as ``rlbits.learners.run`` or ``rlbits.info.surprisal(p)`` names."""
    m = _MENTION.match(text.strip())
    return canonical(m.group(1)) if m else None


# ---------------------------------------------------------------------------------------------------------------
# Sphinx: the directive, collecting uses while reading, links while writing
# ---------------------------------------------------------------------------------------------------------------

def generated_rst() -> list[str]:
    """The reStructuredText of the appendix: a section per module, its docstring, then each object with its
    docstring and a ``rlbits-used-in`` placeholder."""
    lines = []
    for module in api_modules():
        objects = public_objects(module)
        title = f"``{module}``"
        lines += [title, "-" * len(title), "", f".. automodule:: {module}", "   :no-members:", ""]
        for name, kind in objects:
            lines += [f".. auto{kind}:: {name}"]
            if kind == "class":
                lines += ["   :members:"]
            lines += ["", f"   .. rlbits-used-in:: {name}", ""]
    return lines


_LITERAL = re.compile(r"(``.+?``)")


def plain_bars(lines: list[str]) -> list[str]:
    """Escape ``|`` outside inline literals: the docstrings write ``|x|`` for an absolute value and ``r | g`` for a
    condition, never a reStructuredText substitution, which is what a bare ``|`` would start."""
    out = []
    for line in lines:
        if line.lstrip().startswith(("| ", "+-", "+=")) or line.strip() == "|":  # a line block or a table
            out.append(line)
            continue
        parts = _LITERAL.split(line)
        out.append("".join(p if k % 2 else re.sub(r"(?<!\\)\|", r"\\|", p) for k, p in enumerate(parts)))
    return out


def _uses_data(env) -> dict:
    if not hasattr(env, "rlbits_api_uses"):
        env.rlbits_api_uses = {}
    return env.rlbits_api_uses


class used_in(nodes.General, nodes.Element):
    """Placeholder for the links to the sections that use ``self["name"]`` (filled in when the page is written)."""


class APIDirective(SphinxDirective):
    """``.. rlbits-api::``: the whole appendix."""

    def run(self):
        self.env.rlbits_api_pages = getattr(self.env, "rlbits_api_pages", set()) | {self.env.docname}
        node = nodes.section()
        node.document = self.state.document
        nested_parse_with_titles(self.state, StringList(generated_rst(), source="rlbits-api"), node)
        return node.children


class UsedInDirective(SphinxDirective):
    """``.. rlbits-used-in:: NAME``: where the placeholder goes."""

    required_arguments = 1

    def run(self):
        return [used_in(name=self.arguments[0])]


def setup(app):
    def sections_by_line(doctree):
        """(line, section) of every section in document order."""
        return [(s.line, s) for s in doctree.findall(nodes.section)]

    def innermost(sections, line):
        best = None
        for start, section in sections:
            if start is not None and start <= line:
                best = section
        return best

    def collect(app, doctree):
        env = app.env
        docname = env.docname
        data = _uses_data(env)
        data.pop(docname, None)
        if docname in getattr(env, "rlbits_api_pages", set()):
            return
        found = []  # (name, section)
        path = Path(env.doc2path(docname))
        if path.suffix == ".ipynb" and path.exists():
            nb = json.loads(path.read_text(encoding="utf-8"))
            cells = nb.get("cells", [])
            smap = nb.get("metadata", {}).get("source_map")
            code = [(i, "".join(c["source"]) if isinstance(c["source"], list) else c["source"])
                    for i, c in enumerate(cells) if c.get("cell_type") == "code"]
            uses = code_uses([s for _, s in code])
            sections = sections_by_line(doctree)
            for k, names in uses.items():
                index = code[k][0]
                line = (smap[index] if smap and index < len(smap) else (index + 1) * 10000) + 1
                section = innermost(sections, line) or next(iter(doctree.findall(nodes.section)), None)
                found += [(name, section) for name in names]
        for literal in doctree.findall(nodes.literal):
            name = prose_use(literal.astext())
            if name:
                section = literal.parent
                while section is not None and not isinstance(section, nodes.section):
                    section = section.parent
                found.append((name, section))
        rows = []
        top = next(iter(doctree.findall(nodes.section)), None)
        for name, section in found:
            if section is None or not section["ids"]:
                continue
            anchor = "" if section is top else section["ids"][0]
            title = section[0].astext() if section.children and isinstance(section[0], nodes.title) else ""
            rows.append((name, anchor, title))
        data[docname] = sorted(set(rows), key=rows.index)

    def purge(app, env, docname):
        _uses_data(env).pop(docname, None)
        getattr(env, "rlbits_api_pages", set()).discard(docname)

    def merge(app, env, docnames, other):
        data = _uses_data(env)
        for docname in docnames:
            if docname in getattr(other, "rlbits_api_uses", {}):
                data[docname] = other.rlbits_api_uses[docname]
        env.rlbits_api_pages = getattr(env, "rlbits_api_pages", set()) | getattr(other, "rlbits_api_pages", set())

    def number(env, docname, anchor) -> str:
        numbers = env.toc_secnumbers.get(docname, {}).get("#" + anchor if anchor else "")
        return ".".join(map(str, numbers)) if numbers else ""

    def resolve(app, doctree, fromdocname):
        from sphinx.util.nodes import make_refnode

        env = app.env
        placeholders = list(doctree.findall(used_in))
        if not placeholders:
            return
        by_name: dict[str, list] = {}
        order = {doc: i for i, doc in enumerate(_reading_order(env))}
        for docname, rows in _uses_data(env).items():
            for name, anchor, title in rows:
                by_name.setdefault(name, []).append((docname, anchor, title))
        for node in placeholders:
            uses = sorted(by_name.get(node["name"], []), key=lambda u: (order.get(u[0], 10**6), u[0]))
            para = nodes.paragraph(classes=["rlbits-used-in"])
            para += nodes.strong(text="Used in: ")
            if not uses:
                para += nodes.Text("no chapter calls it directly.")
                node.replace_self(para)
                continue
            docs = list(dict.fromkeys(u[0] for u in uses))
            many = len(uses) > 8
            for k, docname in enumerate(docs):
                if k:
                    para += nodes.Text("; ")
                doc_title = env.titles[docname].astext() if docname in env.titles else docname
                num = number(env, docname, "")
                label = f"{num}. {doc_title}" if num else doc_title
                if many:  # too many sections to name: the page, with its number of sections
                    n = sum(u[0] == docname for u in uses)
                    para += make_refnode(app.builder, fromdocname, docname, "",
                                         nodes.Text(label), label)
                    if n > 1:
                        para += nodes.Text(f" ({n} sections)")
                    continue
                rows = [u for u in uses if u[0] == docname]
                sections = [(anchor, title) for _, anchor, title in rows if anchor]
                if num:  # a numbered chapter: the chapter if used at its top, and each section by number
                    links = [make_refnode(app.builder, fromdocname, docname, "", nodes.Text(label), label)
                             ] if len(sections) < len(rows) else []
                    for anchor, title in sections:
                        n = number(env, docname, anchor)
                        text = f"§{n} {title}" if n else title
                        links.append(make_refnode(app.builder, fromdocname, docname, anchor, nodes.Text(text), text))
                    for j, link in enumerate(links):
                        if j:
                            para += nodes.Text(", ")
                        para += link
                else:  # back matter is not numbered: the page, then its sections by title
                    para += make_refnode(app.builder, fromdocname, docname, "", nodes.Text(label), label)
                    if sections:
                        para += nodes.Text(" (")
                        for j, (anchor, title) in enumerate(sections):
                            if j:
                                para += nodes.Text(", ")
                            para += make_refnode(app.builder, fromdocname, docname, anchor, nodes.Text(title), title)
                        para += nodes.Text(")")
            para += nodes.Text(".")
            node.replace_self(para)

    def quiet_reference(app, env, node, contnode):
        """A Python reference that finds no target: plain code when it names something outside the appendix
        (another package, or an rlbits module the appendix leaves out), a warning (so a failed render) when it
        names an rlbits object that does not exist."""
        if node.get("refdomain") != "py":
            return None
        target = node.get("reftarget", "")
        if target.split(".")[0] != PACKAGE or _is_machinery(target):
            return contnode  # (a pipeline module is named by its old top-level name too, e.g. rlbits.execute)
        parts = target.split(".")
        for i in range(len(parts), 0, -1):
            try:
                obj = importlib.import_module(".".join(parts[:i]))
            except ImportError:
                continue
            try:
                for attr in parts[i:]:
                    obj = getattr(obj, attr)
            except AttributeError:
                return None
            return contnode
        return None

    def process_docstring(app, what, name, obj, options, lines):
        if name.split(".")[0] == PACKAGE:
            lines[:] = plain_bars(lines)

    app.setup_extension("sphinx.ext.autodoc")
    app.connect("autodoc-process-docstring", process_docstring)
    app.add_node(used_in)
    app.add_directive("rlbits-api", APIDirective)
    app.add_directive("rlbits-used-in", UsedInDirective)
    app.connect("doctree-read", collect)
    app.connect("env-purge-doc", purge)
    app.connect("env-merge-info", merge)
    app.connect("doctree-resolved", resolve)
    app.connect("missing-reference", quiet_reference, priority=900)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}


def _reading_order(env) -> list[str]:
    """Documents in the order of the table of contents (as the sidebar lists them)."""
    order, seen = [], set()

    def walk(doc):
        if doc in seen:
            return
        seen.add(doc)
        order.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(env.config.root_doc)
    return order + sorted(set(env.found_docs) - seen)


__all__ = ["MACHINERY", "api_modules", "public_objects", "documented", "canonical", "code_uses", "prose_use",
           "generated_rst"]
