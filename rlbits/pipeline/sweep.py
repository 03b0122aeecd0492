"""``python -m rlbits sweep``: execute a chapter over a grid of parameter settings, on Dask distributed.

    python -m rlbits sweep chapters/06_the_sky_is.md -p eta "[0.3, 1.0]" -p n_runs "[200, 2000]"
    python -m rlbits sweep --declared                   every chapter at every setting its front matter declares
    python -m rlbits sweep chapters/03_seeing_the_answer.md --declared          one chapter's declared settings
    python -m rlbits sweep CHAPTER -p ... --scheduler tcp://HOST:8786          on a cluster started by hand

``-p NAME LIST`` gives the values to sweep for NAME as a Python literal list; a parameter that holds a list takes a
list of lists (``-p V_grid "[[10, 100, 1000], [10, 1000, 100000]]"``). The grid is the Cartesian product, in the
order the ``-p`` options are given (the first varies slowest). ``--declared`` runs the settings a chapter declares
in its YAML front matter instead (``rlbits: settings: [{p: 0.3}, {p: 1.0e-3, n_runs: 100}]``).

Every setting is a *point*, executed by :func:`rlbits.pipeline.execute.execute_chapter` in a fresh Jupyter kernel on a
Dask worker (an embedded ``LocalCluster`` of ``--jobs`` single-threaded worker processes, or the cluster at
``--scheduler``), so its results do not depend on which or how many points run beside it. A point fails on a cell
error (a failed assertion included) and on a glue key the prose refers to that the run did not record; a failed
point is reported with its parameters and its ``chapters/<file>.md:<line>`` and does not stop the others. The exit
status is 1 if any point failed, 2 if the sweep was refused before starting (an unknown parameter name, a bad list).

Layout, under ``OUT/_build/sweeps/`` (``OUT`` is the book's root unless ``--out`` says otherwise)::

    <chapter>/<point>/notebooks/<chapter>.ipynb   each point's executed notebook; <point> is a stable id of its
    <chapter>/<point>/results/<chapter>.json      parameters (readable part + hash), shared by sweeps that repeat it
    <chapter>/<point>/point.json                  the seconds the point took: the next sweep into this build runs
                                                  its points longest first (else by the chapter's default run time)
    <name>.csv, <name>.json                       the table: one row per point, in grid (or declaration) order;
                                                  <name> is the chapter's name, ``--name`` for a grid sweep, and
                                                  ``<chapter>.declared`` for --declared
    last-sweep.json                               the last invocation: command, cluster, points, failures, wall time

A table row holds the point id, the value of every swept parameter (the chapter's default where a declared setting
leaves it out), ``ok``, ``error``, ``seconds`` (the point's kernel time), every recorded number, and every verdict
(``verdict_Cxx``) with the sentence that decided it (``verdict_Cxx_note``); a recorded quantity named like a
parameter is in column ``recorded:NAME``. The JSON table also carries the sweep's
wall time, the cluster it ran on, and each row's overrides (``settings``).
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import itertools
import json
import os
import re
import sys
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import jupytext
import nbformat

from rlbits.pipeline.execute import _rel, execute_chapter, parameter_names

SWEEPS = "sweeps"
COST = "point.json"  #: in each point's directory: the seconds it took, for ordering the next sweep
_VERDICT = re.compile(r"verdict_C\d+(_note)?$")


class SweepError(ValueError):
    """A sweep refused before anything runs: a bad grid, an unknown parameter, a malformed declared setting."""


# --- what to run ---------------------------------------------------------------------------------------------------

def read_chapter(source: Path):
    """The chapter as a notebook (jupytext), as the pipeline reads it."""
    if not source.exists():
        raise SweepError(f"no such chapter: {source}")
    return jupytext.reads(source.read_text(), fmt="md:myst")


def parameter_defaults(nb) -> dict:
    """The literal default of each variable in the ``parameters`` cell (expressions are left out)."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            defaults = {}
            for node in ast.parse(cell.source).body:
                if isinstance(node, ast.Assign) and len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    try:
                        defaults[node.targets[0].id] = ast.literal_eval(node.value)
                    except ValueError:
                        pass
            return defaults
    return {}


def _check_names(names, nb, source: Path, what: str) -> None:
    allowed = parameter_names(nb)
    unknown = [n for n in names if n not in allowed]
    if unknown:
        raise SweepError(f"{source}: {what}: unknown parameter(s) {unknown}; "
                         f"this chapter's parameters are {allowed or 'none'}")


def parse_grid(pairs: list[tuple[str, str]], nb, source: Path) -> list[dict]:
    """The points of ``-p NAME LIST`` options: the Cartesian product of the lists, first option slowest."""
    names = [name for name, _ in pairs]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise SweepError(f"-p {duplicated[0]} is given twice; put all its values in one list")
    _check_names(names, nb, source, "-p")
    defaults = parameter_defaults(nb)
    axes = []
    for name, text in pairs:
        try:
            values = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            values = None
        if not isinstance(values, (list, tuple)) or not values:
            raise SweepError(f"-p {name} {text!r}: give the values to sweep as a Python list, "
                             f"e.g. -p {name} \"[0.3, 1.0]\" (one value: \"[0.3]\")")
        if isinstance(defaults.get(name), (list, tuple)) and not all(isinstance(v, (list, tuple)) for v in values):
            raise SweepError(f"-p {name} {text!r}: {name} holds a list (default {defaults[name]!r}), so its values "
                             f"are lists: give a list of lists, e.g. -p {name} \"[[10, 100, 1000], [10, 1000]]\"")
        axes.append([_plain(v) for v in values])
    return [dict(zip(names, combo)) for combo in itertools.product(*axes)]


def declared_settings(nb, source: Path) -> list[dict]:
    """The settings of the front matter's ``rlbits: settings:`` list (empty if the chapter declares none)."""
    settings = (nb.metadata.get("rlbits") or {}).get("settings") or []
    if not isinstance(settings, list) or not all(isinstance(s, dict) for s in settings):
        raise SweepError(f"{source}: front matter `rlbits: settings:` must be a list of dicts of parameter "
                         f"overrides, e.g. [{{p: 0.3}}, {{p: 1.0e-3, n_runs: 100}}]; it is {settings!r}")
    for i, setting in enumerate(settings, 1):
        _check_names(list(setting), nb, source, f"declared setting {i} {setting}")
    return [{k: _plain(v) for k, v in s.items()} for s in settings]


def _plain(value):
    """Tuples become lists, so a point's parameters (and its id) are the same however they were written."""
    return [_plain(v) for v in value] if isinstance(value, (list, tuple)) else value


def point_id(parameters: dict) -> str:
    """A stable directory name for a point: a readable part and a hash of its canonical parameters."""
    if not parameters:
        return "defaults"
    canonical = json.dumps(parameters, sort_keys=True, default=repr)
    readable = "_".join(f"{k}=" + re.sub(r"[\[\]\"]", "", json.dumps(v, separators=(",", ":"), default=repr))
                        for k, v in sorted(parameters.items()))
    readable = re.sub(r"[^A-Za-z0-9_.=+-]+", "-", readable)[:60]
    return f"{readable}-{hashlib.sha1(canonical.encode()).hexdigest()[:8]}"


def label(parameters: dict) -> str:
    return " ".join(f"{k}={v!r}" for k, v in parameters.items()) or "(defaults)"


def plan(args, root: Path) -> list[dict]:
    """One entry per chapter to sweep: its source, table name, parameter defaults and points (all checked)."""
    sources = [Path(c).resolve() for c in args.chapters]
    if args.declared:
        if args.parameter or args.name:
            raise SweepError("--declared runs the chapters' declared settings; it takes no -p and no --name")
        from rlbits.pipeline.book import chapter_sources
        named = bool(sources)
        plans = []
        for source in sources or chapter_sources(root):
            nb = read_chapter(source)
            points = declared_settings(nb, source)
            if not points and named:
                raise SweepError(f"{source}: declares no settings (`rlbits: settings:` in its front matter)")
            if points:
                plans.append(dict(source=source, name=f"{source.stem}.declared", defaults=parameter_defaults(nb),
                                  points=_unique(points)))
        return plans
    if len(sources) != 1 or not args.parameter:
        raise SweepError("name one chapter and give at least one -p NAME LIST (or use --declared)")
    nb = read_chapter(sources[0])
    points = parse_grid(args.parameter, nb, sources[0])
    return [dict(source=sources[0], name=args.name or sources[0].stem, defaults=parameter_defaults(nb),
                 points=_unique(points))]


def _unique(points: list[dict]) -> list[dict]:
    seen, kept = set(), []
    for p in points:
        if point_id(p) not in seen:
            seen.add(point_id(p))
            kept.append(p)
    return kept


# --- one point, on a worker ----------------------------------------------------------------------------------------

def run_point(source: str, out_dir: str, parameters: dict, root: str, build_dir: str,
              kernels: int | None = None) -> dict:
    """Execute one point (on a Dask worker) and return ``{ok, error, seconds, results}``; never raises.

    ``kernels``: about how many points this worker runs in the sweep (a warm kernel server pays only for several:
    :func:`rlbits.pipeline.warmkernel.expect`)."""
    import shutil

    from rlbits.pipeline import warmkernel

    warmkernel.expect(kernels)
    source, out, root = Path(source), Path(out_dir), Path(root)
    # inherited by the kernel, as in `rlbits run`: a fixed hash seed, one BLAS thread, this build's results
    os.environ.update(PYTHONHASHSEED="0", OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1", MKL_NUM_THREADS="1",
                      RLBITS_BUILD=build_dir)
    shutil.rmtree(out, ignore_errors=True)  # no stale results from an earlier sweep of the same point
    start = time.perf_counter()
    try:
        run = execute_chapter(source, out, parameters, root)
    except Exception as exc:  # a dead kernel, a timeout: still a row of the table, not a lost sweep
        return dict(ok=False, error=f"{_rel(source, root)}: {type(exc).__name__}: {exc}",
                    seconds=time.perf_counter() - start, results={})
    # what the next sweep of this point expects it to cost (see estimated_seconds)
    (out / COST).write_text(json.dumps({"seconds": round(run.seconds, 2)}) + "\n")
    # execute_chapter fails a run whose prose refers to a glue key it did not record
    return dict(ok=run.ok, error=run.error, seconds=run.seconds, results=run.results)


def estimated_seconds(build_dir: Path, source: Path, parameters: dict) -> float:
    """What a point is expected to cost: its own time in the last sweep into this build, else the chapter's last
    default run in this build (``cache/<chapter>.json``), else 0 (unknown)."""
    own = build_dir / SWEEPS / source.stem / point_id(parameters) / COST
    for path in (own, build_dir / "cache" / f"{source.stem}.json"):
        try:
            return float(json.loads(path.read_text())["seconds"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return 0.0


# --- the cluster ---------------------------------------------------------------------------------------------------

@contextmanager
def cluster(scheduler: str | None, jobs: int):
    """A Dask client: on the cluster at ``scheduler``, or on an embedded ``LocalCluster`` of ``jobs`` processes."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    if scheduler:
        with Client(scheduler, timeout="30s") as client:
            client.wait_for_workers(1, timeout=60)
            _check_workers(client)
            print(f"on the cluster at {scheduler} ({len(client.scheduler_info()['workers'])} workers)", flush=True)
            yield client, f"scheduler {scheduler}"
        return
    # each point starts a Jupyter kernel as a subprocess: worker processes must not be daemonic
    with dask.config.set({"distributed.worker.daemon": False}), \
            LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True, dashboard_address=None,
                         silence_logs=logging.ERROR) as local, Client(local) as client:
        print(f"on an embedded LocalCluster of {jobs} worker process(es), one thread each", flush=True)
        yield client, f"LocalCluster({jobs} workers)"


def _check_workers(client) -> None:
    """Refuse a scheduler or workers that cannot import rlbits.pipeline.sweep; warn about any importing another copy."""
    def where():  # runs on the scheduler and on each worker (pickled by value)
        import importlib.util
        try:
            spec = importlib.util.find_spec("rlbits.pipeline.sweep")
        except ImportError:
            spec = None
        return spec.origin if spec else None

    ours = str(Path(__file__).resolve())
    found = {"the scheduler": client.run_on_scheduler(where),
             **{f"worker {w}": origin for w, origin in client.run(where).items()}}
    for who, origin in found.items():
        if origin is None:
            raise SweepError(f"{who} cannot import rlbits.pipeline.sweep: start it from the book's root with the "
                             f"book's Python and PYTHONPATH set to the root (see README, 'Sweeping a chapter')")
        if str(Path(origin).resolve()) != ours:
            print(f"warning: {who} imports rlbits from {Path(origin).parent}, this command from {Path(ours).parent}")


# --- the sweep and its table ---------------------------------------------------------------------------------------

def sweep(plans: list[dict], build_dir: Path, root: Path, client) -> list[list[dict]]:
    """Run every point of every plan on the client; print one line per finished point. Outcomes in plan order."""
    from distributed import as_completed

    total = sum(len(p["points"]) for p in plans)
    workers = max(1, len(client.scheduler_info()["workers"]))
    futures = {}
    for i, p in enumerate(plans):
        for j, params in enumerate(p["points"]):
            out = build_dir / SWEEPS / p["source"].stem / point_id(params)
            # longest first (Dask runs higher priorities first), so no long point is left to run alone at the end
            priority = round(10 * estimated_seconds(build_dir, p["source"], params))
            fut = client.submit(run_point, str(p["source"]), str(out), params, str(root), str(build_dir),
                                -(-total // workers), pure=False, priority=priority,
                                key=f"{p['source'].stem}-{point_id(params)}-{uuid.uuid4().hex[:8]}")
            futures[fut] = (i, j)
    outcomes = [[None] * len(p["points"]) for p in plans]
    failed = 0
    for done, fut in enumerate(as_completed(futures), 1):
        i, j = futures[fut]
        try:
            outcome = fut.result()
        except Exception as exc:  # the worker itself was lost
            error = " ".join(f"worker failure: {type(exc).__name__}: {exc}".split())
            outcome = dict(ok=False, error=error, seconds=0.0, results={})
        outcomes[i][j] = outcome
        params = plans[i]["points"][j]
        status = "ok" if outcome["ok"] else "FAILED"
        failed += not outcome["ok"]
        print(f"[{done}/{total}] {plans[i]['source'].stem} {label(params)}: {status} ({outcome['seconds']:.1f} s)"
            + ("" if outcome["ok"] else f"\n      {outcome['error']}"), flush=True)
    return outcomes


def table(p: dict, outcomes: list[dict]) -> tuple[list[str], list[dict]]:
    """Columns and rows of one chapter's table (rows in the plan's order)."""
    names = list(dict.fromkeys(k for params in p["points"] for k in params))
    keys = sorted({k for o in outcomes for k, v in o["results"].items()
                   if isinstance(v, (int, float)) or _VERDICT.match(k)})
    results = [k for k in keys if not _VERDICT.match(k)] + [k for k in keys if _VERDICT.match(k)]
    # a recorded quantity named like a parameter (a chapter may record the value it validated) gets its own column
    column = {k: f"recorded:{k}" if k in names or k in ("point", "ok", "error", "seconds") else k for k in results}
    columns = ["point", *names, "ok", "error", "seconds", *column.values()]
    rows = []
    for params, o in zip(p["points"], outcomes):
        row = {"point": point_id(params)}
        row.update({n: params.get(n, p["defaults"].get(n, "default")) for n in names})
        row.update(ok=o["ok"], error=o["error"] or "", seconds=round(o["seconds"], 2))
        row.update({column[k]: o["results"].get(k) for k in results})
        rows.append(row)
    return columns, rows


def write_table(path: Path, columns: list[str], rows: list[dict], meta: dict) -> None:
    """``path.csv`` (lists written as Python literals, absent values empty) and ``path.json`` (rows and meta)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".csv"), "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for row in rows:
            writer.writerow(["" if row[c] is None else row[c] if isinstance(row[c], (str, int, float)) else repr(row[c])
                             for c in columns])
    data = {**meta, "columns": columns, "rows": rows}
    path.with_name(path.name + ".json").write_text(json.dumps(data, indent=1) + "\n")


# --- the command ---------------------------------------------------------------------------------------------------

def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.description = __doc__
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument("chapters", nargs="*", type=Path,
                        help="the chapter to sweep (with --declared: any number; none means every chapter)")
    parser.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "LIST"), default=[],
                        help="the values to sweep for NAME, a Python literal list")
    parser.add_argument("--declared", action="store_true", help="run the settings the chapters' front matter declares")
    parser.add_argument("-j", "--jobs", type=int, default=2, help="worker processes of the embedded LocalCluster")
    parser.add_argument("--scheduler", metavar="ADDRESS", help="run on an existing Dask cluster (tcp://HOST:PORT)")
    parser.add_argument("--name", help="the table's name for a grid sweep (default: the chapter's name)")


def main(args, build_dir: Path, root: Path) -> int:
    """``python -m rlbits sweep``; returns the exit status."""
    try:
        plans = plan(args, root)
    except SweepError as exc:
        print(exc, file=sys.stderr)
        return 2
    out = build_dir / SWEEPS
    summary = {"command": " ".join(["python -m rlbits", *sys.argv[1:]]), "chapters": {}}
    if not plans:
        print("no chapter declares settings (`rlbits: settings:` in its front matter): nothing to sweep")
        out.mkdir(parents=True, exist_ok=True)
        (out / "last-sweep.json").write_text(json.dumps({**summary, "wall_seconds": 0.0}, indent=1) + "\n")
        return 0
    total = sum(len(p["points"]) for p in plans)
    if args.jobs < 1:
        print(f"--jobs {args.jobs}: need at least one worker process", file=sys.stderr)
        return 2
    print(f"sweeping {total} point(s) of {len(plans)} chapter(s) into {out}", flush=True)
    start = time.perf_counter()
    try:
        with cluster(args.scheduler, min(args.jobs, total)) as (client, where):
            outcomes = sweep(plans, build_dir, root, client)
    except (SweepError, OSError) as exc:  # OSError: no scheduler at that address (a timeout is one too)
        print(exc, file=sys.stderr)
        return 2
    wall = round(time.perf_counter() - start, 1)
    failures = []
    for p, chapter_outcomes in zip(plans, outcomes):
        columns, rows = table(p, chapter_outcomes)
        failed = [r for r in rows if not r["ok"]]
        meta = {"chapter": _rel(p["source"], root), "mode": "declared" if args.declared else "grid",
                "cluster": where, "wall_seconds": wall, "points": len(rows), "failed": len(failed),
                "settings": p["points"]}  # each row's overrides, in row order (the rows show defaults too)
        write_table(out / p["name"], columns, rows, meta)
        summary["chapters"][_rel(p["source"], root)] = {
            "table": f"{p['name']}.csv", "points": len(rows), "failed": len(failed),
            "kernel_seconds": round(sum(o["seconds"] for o in chapter_outcomes), 1)}  # where the wall time goes
        failures += [(p["source"].stem, params, o["error"]) for params, o in zip(p["points"], chapter_outcomes)
                     if not o["ok"]]
    summary.update(cluster=where, points=total, failed=len(failures), wall_seconds=wall)
    (out / "last-sweep.json").write_text(json.dumps(summary, indent=1) + "\n")
    print(f"{total - len(failures)} of {total} point(s) ok, wall time {wall:.1f} s; tables: "
        + ", ".join(str(out / f"{p['name']}.csv") for p in plans))
    for stem, params, error in failures:
        print(f"FAILED {stem} {label(params)}\n    {error}", file=sys.stderr)
    return 1 if failures else 0
