"""Execute one MyST chapter with papermill, normalise the notebook, and extract its recorded results.

Steps for a chapter ``chapters/NAME.md``:

1. jupytext reads the MyST file into a notebook;
2. ``-p NAME VALUE`` overrides are checked against the names in the cell tagged ``parameters``;
3. papermill runs it in a fresh kernel with the repository root as working directory;
4. the executed notebook is normalised (fixed cell ids, no timestamps or durations) so that two runs of the same
   commit give byte-identical files;
5. every glued scalar is written to ``results/NAME.json``.

On a cell error the report names the chapter file, the line in the ``.md`` file and the exception.
"""

from __future__ import annotations

import ast
import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import jupytext
import nbformat

GLUE_PREFIX = "application/papermill.record/"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


@dataclass
class ChapterRun:
    """What happened when one chapter was executed."""

    source: Path
    notebook: Path | None = None
    results: dict = field(default_factory=dict)
    seconds: float = 0.0
    error: str | None = None

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
    """1-based line number in the MyST file of the first source line of each code cell, in order."""
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
            while j < len(lines) and lines[j].startswith(":") and re.match(r":\w[\w-]*:", lines[j]):
                j += 1
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


def execute_chapter(source: Path, out_dir: Path, parameters: dict | None = None, root: Path | None = None,
                    timeout: int = 1800) -> ChapterRun:
    """Execute ``source`` (a MyST notebook) into ``out_dir/notebooks`` and ``out_dir/results``."""
    import papermill
    from papermill.exceptions import PapermillExecutionError

    source = Path(source)
    root = Path(root or Path.cwd())
    parameters = dict(parameters or {})
    run = ChapterRun(source=source)
    stem = source.stem
    nb_dir, res_dir = out_dir / "notebooks", out_dir / "results"
    nb_dir.mkdir(parents=True, exist_ok=True)
    res_dir.mkdir(parents=True, exist_ok=True)
    md_text = source.read_text()
    nb = jupytext.reads(md_text, fmt="md:myst")
    check_parameters(nb, parameters, source)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    input_path = nb_dir / f"{stem}.input.ipynb"
    output_path = nb_dir / f"{stem}.ipynb"
    nbformat.write(nb, input_path)
    start = time.perf_counter()
    try:
        papermill.execute_notebook(
            str(input_path), str(output_path), parameters=parameters, kernel_name="python3",
            cwd=str(root), progress_bar=False, log_output=False, request_save_on_cell_execute=False,
            execution_timeout=timeout,
        )
    except PapermillExecutionError as exc:
        executed = nbformat.read(output_path, as_version=4)
        line = locate_error(md_text, executed, exc.cell_index, exc.traceback)
        where = f"{_rel(source, root)}:{line}" if line else f"{_rel(source, root)} (parameters cell injected by -p)"
        run.error = f"{where}: {exc.ename}: {exc.evalue}"
    finally:
        run.seconds = time.perf_counter() - start
        input_path.unlink(missing_ok=True)
    if output_path.exists():
        executed = nbformat.read(output_path, as_version=4)
        normalise(executed)
        nbformat.write(executed, output_path)
        run.notebook = output_path
        run.results = extract_results(executed)
        if run.ok:
            (res_dir / f"{stem}.json").write_text(json.dumps(run.results, indent=1, sort_keys=True) + "\n")
    return run


def _rel(path: Path, root: Path) -> str:
    try:
        return str(path.resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
