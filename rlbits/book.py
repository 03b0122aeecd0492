"""The book as a whole: which chapters `_toc.yml` lists, executing them, and rendering the HTML strictly.

Layout of a build (``OUT`` is the repository root unless ``--out`` says otherwise)::

    OUT/_build/notebooks/NAME.ipynb   executed, normalised notebooks
    OUT/_build/results/NAME.json      each chapter's recorded results (name -> number or string)
    OUT/_build/execution.json         run time and status of every executed chapter
    OUT/_build/src/                   the staged book: executed notebooks in place of the MyST files
    OUT/_build/html/                  the rendered book

Rendering never executes anything: it reads the executed notebooks. Back-matter pages (``chapters/backmatter/``)
are executed after every other chapter, because they read the other chapters' results.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import nbformat
import yaml

from rlbits.execute import ChapterRun, execute_chapter

ROOT = Path(__file__).resolve().parent.parent
BACKMATTER = "chapters/backmatter/"


def toc_files(root: Path = ROOT) -> list[str]:
    """Every document of `_toc.yml`, in reading order, as paths relative to the root without suffix."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]

    def walk(entries):
        for entry in entries or []:
            if "file" in entry:
                files.append(entry["file"])
            walk(entry.get("sections"))
            walk(entry.get("chapters"))

    for part in toc.get("parts", []):
        walk(part.get("chapters"))
    walk(toc.get("chapters"))
    return [re.sub(r"\.(md|ipynb)$", "", f) for f in files]


def is_notebook(path: Path) -> bool:
    """A MyST file is a notebook (to execute) when its front matter carries a jupytext header."""
    text = path.read_text()
    if not text.startswith("---"):
        return False
    front = text.split("---", 2)[1]
    return "jupytext" in (yaml.safe_load(front) or {})


def chapter_sources(root: Path = ROOT) -> list[Path]:
    """The MyST notebooks of the book, in reading order."""
    return [root / f"{f}.md" for f in toc_files(root) if is_notebook(root / f"{f}.md")]


def _run_one(args) -> ChapterRun:
    source, out_dir, parameters, root = args
    os.environ.setdefault("PYTHONHASHSEED", "0")
    os.environ["RLBITS_BUILD"] = str(out_dir)  # inherited by the kernel: back matter reads this build's results
    return execute_chapter(source, out_dir, parameters, root)


def execute_all(sources: list[Path], build: Path, jobs: int = 1, parameters: dict | None = None,
                root: Path = ROOT, log=print) -> list[ChapterRun]:
    """Execute chapters (in parallel with ``jobs`` > 1); back matter runs last. Returns every run."""
    os.environ["PYTHONHASHSEED"] = "0"
    # one BLAS thread per kernel: chapters already run in parallel, oversubscribed BLAS threads slow small matrix
    # products by orders of magnitude, and a fixed thread count keeps floating-point reductions the same everywhere
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    waves = [[s for s in sources if BACKMATTER not in s.as_posix()],
             [s for s in sources if BACKMATTER in s.as_posix()]]
    runs: list[ChapterRun] = []
    for number, wave in enumerate(waves, start=1):
        if not wave:
            continue
        start = time.perf_counter()
        args = [(s, build, parameters, root) for s in wave]
        if jobs > 1 and len(wave) > 1:
            with ProcessPoolExecutor(max_workers=jobs) as pool:
                done = list(pool.map(_run_one, args))
        else:
            done = [_run_one(a) for a in args]
        for run in done:
            status = "ok" if run.ok else f"FAILED\n    {run.error}"
            log(f"  {_rel(run.source, root)}: {run.seconds:.1f} s {status}")
        runs += done
        _write_execution_table(build, runs, root)
        _write_wall_time(build, f"wave{number}", time.perf_counter() - start, jobs)
    return runs


def _write_wall_time(build: Path, key: str, seconds: float, jobs: int) -> None:
    """Wall-clock seconds of each execution wave (chapters, then back matter), for the Reproducibility page."""
    path = build / "timing.json"
    data = json.loads(path.read_text()) if path.exists() else {}
    data[key] = {"wall_seconds": round(seconds, 1), "jobs": jobs}
    path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")


def _write_execution_table(build: Path, runs: list[ChapterRun], root: Path) -> None:
    path = build / "execution.json"
    table = json.loads(path.read_text()) if path.exists() else {}
    for run in runs:
        table[_rel(run.source, root)] = {"seconds": round(run.seconds, 1), "status": "ok" if run.ok else "error"}
    path.write_text(json.dumps(dict(sorted(table.items())), indent=1) + "\n")


def _partial_toc(toc: dict, keep) -> dict:
    """A copy of the table of contents with only the files ``keep(file)`` accepts (for ``render --partial``)."""
    def walk(entries):
        out = []
        for entry in entries or []:
            entry = dict(entry)
            for key in ("sections", "chapters"):
                if key in entry:
                    entry[key] = walk(entry[key])
                    if not entry[key]:
                        entry.pop(key)
            if "file" in entry and not keep(entry["file"]):
                continue
            if "file" in entry or entry.get("chapters"):
                out.append(entry)
        return out

    toc = dict(toc)
    if "parts" in toc:
        toc["parts"] = [dict(part, chapters=walk(part["chapters"])) for part in toc["parts"]]
        toc["parts"] = [part for part in toc["parts"] if part["chapters"]]
    return toc


def stage(build: Path, root: Path = ROOT, partial: bool = False) -> Path:
    """Lay out the book to render: executed notebooks replace the MyST notebooks, each with download links.

    With ``partial`` (a development aid, never used by ``build``), chapters that were not executed into this build
    directory are left out of the table of contents instead of failing the render.
    """
    src = build / "src"
    if src.exists():
        shutil.rmtree(src)
    src.mkdir(parents=True)
    shutil.copy(root / "_config.yml", src / "_config.yml")
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    if partial:
        def keep(f):
            md = root / f"{re.sub(r'[.](md|ipynb)$', '', f)}.md"
            return md.exists() and (not is_notebook(md) or (build / "notebooks" / f"{md.stem}.ipynb").exists())
        toc = _partial_toc(toc, keep)
    (src / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False))
    for folder in ("data", "_static"):
        if (root / folder).exists():
            shutil.copytree(root / folder, src / folder)
    missing = []
    for rel in toc_files(src):
        md = root / f"{rel}.md"
        if not md.exists():
            missing.append(f"{rel}.md")
            continue
        target = src / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        if not is_notebook(md):
            text = md.read_text()
            if partial:  # links to chapters left out of a partial book become plain text
                kept = set(toc_files(src))
                text = re.sub(r"\{doc\}`([^`<]*?)`", lambda m: m.group(0) if _doc_target(rel, m.group(1)) in kept
                              else m.group(1), text)
            target.with_suffix(".md").write_text(text)
            continue
        executed = build / "notebooks" / f"{md.stem}.ipynb"
        if not executed.exists():
            missing.append(f"{rel}.md (not executed: run `python -m rlbits run {rel}.md`)")
            continue
        nb = nbformat.read(executed, as_version=4)
        sources_copy = src / "_myst" / f"{rel}.md"
        sources_copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(md, sources_copy)
        rerun = (f" · re-run with other parameters: `python -m rlbits run {rel}.md -p NAME VALUE`"
                 if any("parameters" in c.metadata.get("tags", []) for c in nb.cells) else "")
        nb.cells.insert(1, nbformat.v4.new_markdown_cell(
            f"```{{admonition}} Run this page yourself\n:class: tip\n"
            f"{{download}}`Executed notebook </{rel}.ipynb>` · {{download}}`MyST source </_myst/{rel}.md>`"
            f"{rerun}\n```",
            id="rlbits-downloads"))
        nb.metadata["source_map"] = source_map(md.read_text(), nb)
        nbformat.write(nb, target.with_suffix(".ipynb"))
    if missing:
        raise FileNotFoundError("cannot render, missing: " + "; ".join(missing))
    return src


def _doc_target(rel: str, ref: str) -> str:
    """The document a ``{doc}`` reference from document ``rel`` points at (relative to the book's root)."""
    ref = ref.strip()
    if ref.startswith("/"):
        return ref.lstrip("/")
    return os.path.normpath(os.path.join(os.path.dirname(rel), ref))


_WARNING = re.compile(r"^(?P<path>\S+?\.(?:ipynb|md|rst|yml|bib))(?::(?P<line>\d+))?: (?P<kind>WARNING|ERROR|CRITICAL)")


def render(build: Path, root: Path = ROOT, log=print, partial: bool = False) -> int:
    """Render ``build/src`` into ``build/html`` with jupyter-book: a full build, every warning an error."""
    src = stage(build, root, partial)
    for stale in ("html", ".doctrees", "jupyter_execute"):
        shutil.rmtree(build / stale, ignore_errors=True)
    jb = Path(sys.executable).with_name("jupyter-book")
    cmd = [str(jb) if jb.exists() else "jupyter-book", "build", str(src), "--path-output", str(build.parent),
           "--all", "--warningiserror", "--nitpick", "--keep-going", "--builder", "html"]
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=root)
    output = re.sub(r"\x1b\[[0-9;]*m", "", proc.stdout + proc.stderr)
    problems = [_map_warning(line, src, root) for line in output.splitlines()
                if "WARNING" in line or "ERROR" in line or "CRITICAL" in line]
    (build / "render.log").write_text(output)
    if proc.returncode != 0 or problems or not (build / "html" / "index.html").exists():
        log("render FAILED (every Sphinx warning is an error); full log in " + str(build / "render.log"))
        for p in problems or output.splitlines()[-20:]:
            log("  " + p)
        return 1
    log(f"rendered {build / 'html' / 'index.html'}")
    return 0


def _map_warning(line: str, src: Path, root: Path) -> str:
    """Point a Sphinx warning on a staged notebook back at the chapter's MyST file.

    Staged notebooks carry a ``source_map`` (cell -> line of the MyST file), which myst-nb uses for its line numbers,
    so ``chapters/x.ipynb:42`` becomes ``chapters/x.md:42``.
    """
    line = line.replace(str(src) + os.sep, "").replace(str(src), "")
    m = _WARNING.match(line)
    if m and m.group("path").endswith(".ipynb"):
        line = m.group("path")[: -len(".ipynb")] + ".md" + line[m.end("path"):]
    return line


def source_map(md_text: str, nb) -> list[int]:
    """For each cell of a notebook read from ``md_text``, the 0-based line of the MyST file where its text starts.

    Cells that are not in the file (papermill's injected parameters, the download box) map to the line of the
    cell before them.
    """
    lines = md_text.splitlines()
    smap, cursor, last = [], 0, 0
    for cell in nb.cells:
        cell_lines = cell.source.splitlines()
        offset = next((k for k, t in enumerate(cell_lines) if t.strip()), 0)
        first = cell_lines[offset] if cell_lines else None
        tags = cell.metadata.get("tags", [])
        found = None
        if first is not None and "injected-parameters" not in tags and cell.get("id") != "rlbits-downloads":
            for i in range(cursor, len(lines)):
                if lines[i] == first:
                    found = i
                    break
        if found is None:
            smap.append(last)
            continue
        # myst-nb adds 1 (1-based lines) and myst-parser 1 more: the reported line is smap + 2 + line in cell
        smap.append(max(found - offset - 1, 0))
        last = found
        cursor = found + 1
    return smap


def _rel(path: Path, root: Path) -> str:
    try:
        return str(Path(path).resolve().relative_to(root.resolve()))
    except ValueError:
        return str(path)
