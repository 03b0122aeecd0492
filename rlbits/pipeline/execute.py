"""Execute one MyST chapter with papermill, normalise the notebook, and extract its recorded results.

Steps for a chapter ``chapters/NAME.md``:

1. jupytext reads the MyST file into a notebook;
2. ``-p NAME VALUE`` overrides are checked against the names in the cell tagged ``parameters``;
3. papermill runs it in a fresh kernel (over IPC, quiet, dying with its parent: :mod:`rlbits.pipeline.kernels`) with the
   repository root as working directory, into a scratch directory;
4. the executed notebook is normalised (fixed cell ids, no timestamps or durations) so that two runs of the same
   commit give byte-identical files, and every glue key the text refers to must have been recorded;
5. only then are the notebook and ``results/NAME.json`` (every glued scalar) renamed into place, together. A run
   with overrides is a *reader run*: its page carries a notice at the top and its results file an ``__overrides__``
   entry, while ``results/default/NAME.json`` keeps the last default run's results for the claims ledger.

On a cell error the report names the chapter file, the line in the ``.md`` file and the exception, on one line;
the last good notebook and results stay in place.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat

GLUE_PREFIX = "application/papermill.record/"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")
#: The entry of a results file that lists a reader run's overrides (absent for a default run).
OVERRIDES_KEY = "__overrides__"


@dataclass
class ChapterRun:
    """What happened when one chapter was executed."""

    source: Path
    notebook: Path | None = None
    results: dict = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None
    #: ``-p`` values that differ from the chapter's defaults (empty for a default run)
    overrides: dict = field(default_factory=dict)
    #: True when an unchanged earlier run was reused instead of executing (see :func:`cache_key`)
    cached: bool = False
    key: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class ParameterNameError(ValueError):
    """A ``-p NAME VALUE`` override names no variable of the chapter's parameters cell."""


def parameter_names(nb) -> list[str]:
    """Names assigned in the cell tagged ``parameters``."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            tree = ast.parse(cell.source)
            names = []
            for node in tree.body:
                targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
                names += [t.id for t in targets if isinstance(t, ast.Name)]
            return names
    return []


def check_parameters(nb, parameters: dict, source: Path) -> None:
    if not parameters:
        return
    allowed = parameter_names(nb)
    unknown = sorted(set(parameters) - set(allowed))
    if unknown:
        raise ParameterNameError(
            f"{source}: unknown parameter(s) {unknown}; this chapter's parameters are {allowed or 'none'}"
        )


def code_cell_lines(md_text: str) -> list[int]:
    """1-based line number in the MyST file of the first source line of each code cell, in order.

    A cell's options come either as a YAML block between ``---`` lines or as ``:name: value`` lines right after the
    fence (the chapters' ``:tags: [...]``); jupytext then drops one blank line, if there is one, before the source.
    """
    lines = md_text.splitlines()
    starts, i = [], 0
    while i < len(lines):
        if lines[i].startswith("```{code-cell}"):
            j = i + 1
            if j < len(lines) and lines[j].strip() == "---":  # YAML option block
                j += 1
                while j < len(lines) and lines[j].strip() != "---":
                    j += 1
                j += 1
            else:
                while j < len(lines) and re.match(r":\w[\w-]*:", lines[j]):
                    j += 1
            if j < len(lines) and not lines[j].strip() and not lines[j].startswith("```"):
                j += 1  # the one blank line jupytext removes
            starts.append(j + 1)
            while j < len(lines) and not lines[j].startswith("```"):
                j += 1
            i = j + 1
        else:
            i += 1
    return starts


def locate_error(md_text: str, nb, cell_index: int, traceback: list[str]) -> int | None:
    """Line in the MyST file where the failing statement of executed cell ``cell_index`` sits."""
    # papermill adds banner cells to a failed notebook; its cell_index counts cells without them
    cells = [c for c in nb.cells if "papermill-error-cell-tag" not in c.metadata.get("tags", [])]
    nb = nbformat.from_dict({**nb, "cells": cells})
    k = -1
    for idx, cell in enumerate(nb.cells[: cell_index + 1]):
        if cell.cell_type == "code" and "injected-parameters" not in cell.metadata.get("tags", []):
            k += 1
    if "injected-parameters" in nb.cells[cell_index].metadata.get("tags", []):
        return None
    starts = code_cell_lines(md_text)
    if not 0 <= k < len(starts):
        return None
    in_cell = 1
    text = _ANSI.sub("", "\n".join(traceback))
    hits = re.findall(r"Cell In\[\d+\], line (\d+)", text)
    if hits:
        in_cell = int(hits[0])
    return starts[k] + in_cell - 1


def normalise(nb) -> None:
    """Remove everything that varies between two runs of the same commit."""
    nb.metadata.pop("widgets", None)
    pm = nb.metadata.get("papermill", {})
    for key in ("start_time", "end_time", "duration", "input_path", "output_path", "environment_variables",
                "exception"):
        pm.pop(key, None)
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:03d}"
        cell.metadata.pop("execution", None)
        cell.metadata.pop("papermill", None)
        for out in cell.get("outputs", []):
            out.get("metadata", {}).pop("execution", None)


def extract_results(nb) -> dict:
    """Every glued value whose plain-text form is a number or a string, by glue name."""
    results = {}
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if not meta:
                continue
            text = out.get("data", {}).get(meta.get("mime_prefix", "") + "text/plain")
            if text is None:
                continue
            try:
                value = ast.literal_eval(text)
            except (ValueError, SyntaxError):
                continue
            if isinstance(value, (int, float, str)) and not isinstance(value, bool):
                results[meta["name"]] = value
    return dict(sorted(results.items()))


GLUE_ROLE = re.compile(r"\{glue(?::(?:text|md|any|figure|math))?\}`([^`]+)`")
GLUE_DIRECTIVE = re.compile(r"^\s*(?:`{3,}|:{3,})\{glue(?::(?:figure|math|md|any))?\}\s+(\S+)")


def text_lines(md_text: str):
    """``(line number, line)`` of a MyST chapter outside its code cells (1-based lines of the file)."""
    in_code = False
    for number, line in enumerate(md_text.splitlines(), start=1):
        if line.startswith("```{code-cell}"):
            in_code = True
            continue
        if in_code:
            in_code = not line.startswith("```")
            continue
        yield number, line


def glue_references(md_text: str) -> list[tuple[int, str]]:
    """Every glue key the chapter's text refers to, as ``(line, key)`` (1-based lines of the MyST file).

    Roles ``{glue}``, ``{glue:text}``, ``{glue:md}``, ``{glue:any}`` and directives ``{glue}``, ``{glue:figure}``,
    ``{glue:math}``, ``{glue:md}``; code cells are skipped, and so are keys of other documents (``doc::key``).
    """
    refs = []
    for number, line in text_lines(md_text):
        m = GLUE_DIRECTIVE.match(line)
        if m:
            refs.append((number, m.group(1)))
            continue
        for content in GLUE_ROLE.findall(line):
            if "::" not in content:
                refs.append((number, content.split(":", 1)[0].strip()))
    return refs


def glued_names(nb) -> set[str]:
    """The names of everything glued in an executed notebook (numbers, strings, figures, math)."""
    names = set()
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            meta = out.get("metadata", {}).get("scrapbook")
            if meta and "name" in meta:
                names.add(meta["name"])
    return names


def missing_glue(md_text: str, nb, where: str) -> list[str]:
    """One message per glue reference of the text whose key the run did not record."""
    have = glued_names(nb)
    return [f"{where}:{line}: the text refers to glue key {key!r}, which this run did not record"
            for line, key in glue_references(md_text) if key not in have]


def parameter_defaults(nb) -> dict[str, tuple[object, str]]:
    """``name -> (value, source text)`` of each assignment in the parameters cell (value ``None`` if not a literal)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            out = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    text = ast.get_source_segment(cell.source, node.value) or ""
                    try:
                        value = ast.literal_eval(node.value)
                    except ValueError:
                        value = None
                    out[node.targets[0].id] = (value, text)
            return out
    return {}


def overrides_of(nb, parameters: dict) -> dict[str, dict]:
    """The ``-p`` values that differ from the chapter's defaults: ``name -> {"value": ..., "default": "source"}``.

    A value equal to the default and of the same type (``-p V 100000`` where the chapter says ``V = 100_000``) is
    not an override: that run is the default run.
    """
    defaults = parameter_defaults(nb)
    out = {}
    for name, value in sorted(parameters.items()):
        default, text = defaults.get(name, (None, "?"))
        if type(value) is type(default) and value == default:
            continue
        out[name] = {"value": value, "default": text}
    return out


def reader_run_notice(overrides: dict) -> str:
    """The admonition at the top of a page executed with overrides."""
    items = ", ".join(f"`{name} = {o['value']!r}` (default `{o['default']}`)" for name, o in overrides.items())
    return ("```{admonition} A reader run, not the book's default parameters\n:class: warning\n"
            f"This page was executed with {items}. Its numbers, sentences and verdicts are those of this run; where "
            "a claim's premise does not hold at these values its verdict says so. The claims ledger takes its "
            "verdicts only from default runs.\n```")


def mark_reader_run(nb, overrides: dict) -> None:
    """Put :func:`reader_run_notice` right under the page's title (or first, if the page starts otherwise)."""
    notice = reader_run_notice(overrides)
    first = nb.cells[0] if nb.cells else None
    if first is not None and first.cell_type == "markdown":
        lines = first.source.splitlines()
        k = next((i for i, t in enumerate(lines) if t.startswith("# ")), None)
        if k is not None:
            first.source = "\n".join(lines[: k + 1] + ["", notice, ""] + lines[k + 1:])
            return
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(notice))


# ------------------------------------------------------------------ cache keys and safe writes
#: The book's files besides its text, ``rlbits`` and the data files (:data:`DATA_FILES`) that every run depends on.
KEY_INPUTS = ("requirements.txt",)


def cache_key(md_text: str, parameters: dict, root: Path, extra: str = "", inputs=KEY_INPUTS) -> str:
    """What an executed chapter depends on: its text, the ``rlbits`` sources, the files ``inputs`` of the book's root
    (``requirements.txt``), its parameters, and ``extra`` (:func:`execute_chapter` adds :func:`data_key`, so an edited
    rule or label re-executes; the back matter adds the other chapters' results and the ledger), hashed."""
    h = hashlib.sha256(b"rlbits-execute-v1\0")
    h.update(md_text.encode())
    package = Path(__file__).resolve().parents[1]  # the whole rlbits package
    for path in sorted(package.rglob("*.py")):
        h.update(b"\0" + path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    for name in inputs:
        f = Path(root) / name
        h.update(f"\0{name}\0".encode() + (f.read_bytes() if f.exists() else b""))
    h.update(b"\0params\0" + json.dumps(parameters, sort_keys=True, default=repr).encode())
    h.update(f"\0{sys.version}\0{extra}".encode())
    return h.hexdigest()


#: Data files a chapter's execution reads through ``rlbits``: the claims' rules (``decide``, the ledger), the ledger's
#: quantity labels, the corpus. A change to any of them re-executes the chapters (and the back matter).
DATA_FILES = ("data/claims.yml", "data/quantities.yml", "data/kjv")


def data_key(root: Path) -> str:
    """A hash of :data:`DATA_FILES` under ``root`` (names and bytes; a folder's files in order)."""
    h = hashlib.sha256(b"rlbits-data-v1\0")
    for rel in DATA_FILES:
        base = Path(root) / rel
        files = sorted(p for p in base.rglob("*") if p.is_file()) if base.is_dir() else [base]
        for path in files:
            name = rel if path == base else f"{rel}/{path.relative_to(base).as_posix()}"
            h.update(name.encode() + b"\0" + (path.read_bytes() if path.exists() else b"-") + b"\0")
    return h.hexdigest()


@contextmanager
def locked(build: Path):
    """An exclusive lock on a build directory (``fcntl``), held while its shared files are read and rewritten."""
    build.mkdir(parents=True, exist_ok=True)
    with open(build / ".rlbits.lock", "a") as handle:
        try:
            import fcntl
        except ImportError:  # not POSIX: no lock
            yield
            return
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def atomic_write(path: Path, text: str) -> None:
    """Write ``path`` through a temporary file in the same directory and a rename: readers see old or new, whole."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _results_text(results: dict, overrides: dict) -> str:
    data = dict(results)
    if overrides:
        data[OVERRIDES_KEY] = overrides
    return json.dumps(data, indent=1, sort_keys=True, default=repr) + "\n"


def read_results_file(path: Path) -> tuple[dict, dict]:
    """``(results, overrides)`` of a results file (overrides empty for a default run)."""
    data = json.loads(Path(path).read_text())
    overrides = data.pop(OVERRIDES_KEY, {})
    return data, overrides


def _cached(source: Path, out_dir: Path, key: str) -> ChapterRun | None:
    stem = source.stem
    notebook, results = out_dir / "notebooks" / f"{stem}.ipynb", out_dir / "results" / f"{stem}.json"
    key_file = out_dir / "cache" / f"{stem}.json"
    try:
        if json.loads(key_file.read_text()).get("key") != key or not notebook.exists():
            return None
        values, overrides = read_results_file(results)
    except (OSError, ValueError):
        return None
    seconds = float(json.loads(key_file.read_text()).get("seconds", 0.0))
    return ChapterRun(source=source, notebook=notebook, results=values, overrides=overrides, cached=True, key=key,
                      seconds=seconds)


# ------------------------------------------------------------------ executing one chapter
def execute_chapter(source: Path, out_dir: Path, parameters: dict | None = None, root: Path | None = None,
                    timeout: int = 1800, *, reuse: bool = False, extra_key: str = "",
                    check_glue: bool = True) -> ChapterRun:
    """Execute ``source`` (a MyST notebook) into ``out_dir/notebooks`` and ``out_dir/results``.

    Nothing in ``out_dir`` changes unless the run succeeds: then the normalised notebook, the results file and the
    cache key are renamed into place together (under the build's lock). A failed run leaves the last good notebook
    and results where they were, keeps the failed notebook in ``out_dir/failed/`` and reports the error.

    With ``reuse``, a chapter whose cache key (:func:`cache_key`, plus ``extra_key``) matches the last successful
    run's is not executed: the run returned has ``cached`` set. With ``check_glue``, a glue key the text refers to
    that the run did not record fails the run, naming the line of the MyST file.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    from rlbits.pipeline import kernels

    source = Path(source)
    out_dir = Path(out_dir)
    root = Path(root or Path.cwd())
    parameters = dict(parameters or {})
    stem = source.stem
    md_text = source.read_text()
    nb = jupytext.reads(md_text, fmt="md:myst")
    check_parameters(nb, parameters, source)
    overrides = overrides_of(nb, parameters)
    key = cache_key(md_text, parameters, root, extra_key + data_key(root))
    if reuse:
        cached = _cached(source, out_dir, key)
        if cached is not None:
            return cached
    run = ChapterRun(source=source, overrides=overrides, key=key)
    where = _rel(source, root)
    nb_dir, res_dir, work = out_dir / "notebooks", out_dir / "results", out_dir / "tmp"
    for d in (nb_dir, res_dir, work, out_dir / "logs"):
        d.mkdir(parents=True, exist_ok=True)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    scratch = Path(tempfile.mkdtemp(prefix=f"{stem}.", dir=work))
    input_path, output_path = scratch / "input.ipynb", scratch / f"{stem}.ipynb"
    nbformat.write(nb, input_path)
    log_path = out_dir / "logs" / f"{stem}.kernel.log"
    log_path.write_text("")
    sockets = kernels.socket_dir()
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(input_path), str(output_path), parameters=parameters, kernel_name="python3",
            cwd=str(root), progress_bar=False, log_output=False, request_save_on_cell_execute=False,
            execution_timeout=timeout, start_timeout=180,  # a loaded machine may take a while to start a kernel
            kernel_manager_class=kernels.kernel_manager_class(sockets, log_path),
        )
    except PapermillExecutionError as exc:
        executed = nbformat.read(output_path, as_version=4)
        line = locate_error(md_text, executed, exc.cell_index, exc.traceback)
        at = f"{where}:{line}" if line else f"{where} (parameters cell injected by -p)"
        evalue = " ".join(str(exc.evalue).split())
        run.error = f"{at}: {exc.ename}: {evalue}"
    except Exception as exc:  # the kernel died, did not start, timed out...
        run.error = f"{where}: {type(exc).__name__}: {' '.join(str(exc).split())[:500]} (kernel log: {log_path})"
    finally:
        run.seconds = time.perf_counter() - start
        kernels.remove_socket_dir(sockets)
    try:
        if not output_path.exists():
            return run
        executed = nbformat.read(output_path, as_version=4)
        normalise(executed)
        if run.ok and check_glue:
            missing = missing_glue(md_text, executed, where)
            if missing:
                run.error = "\n".join(missing)
        if not run.ok:
            failed = out_dir / "failed" / f"{stem}.ipynb"
            failed.parent.mkdir(exist_ok=True)
            nbformat.write(executed, failed)
            run.notebook = failed
            return run
        if overrides:
            mark_reader_run(executed, overrides)
        run.results = extract_results(executed)
        nbformat.write(executed, output_path)
        results_tmp = scratch / f"{stem}.json"
        results_tmp.write_text(_results_text(run.results, overrides))
        with locked(out_dir):
            os.replace(results_tmp, res_dir / f"{stem}.json")
            os.replace(output_path, nb_dir / f"{stem}.ipynb")
            if not overrides:  # the evidence the ledger reads survives later reader runs
                atomic_write(res_dir / "default" / f"{stem}.json", _results_text(run.results, {}))
            atomic_write(out_dir / "cache" / f"{stem}.json",
                         json.dumps({"key": key, "overrides": overrides, "seconds": round(run.seconds, 1)},
                                    sort_keys=True, default=repr) + "\n")
            (out_dir / "failed" / f"{stem}.ipynb").unlink(missing_ok=True)
        run.notebook = nb_dir / f"{stem}.ipynb"
        return run
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
