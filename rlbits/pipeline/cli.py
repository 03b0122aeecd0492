"""``python -m rlbits``: execute chapters, render the book, run the benchmark.

    python -m rlbits build [-j N] [--force]             execute every chapter, then render _build/html
    python -m rlbits run chapters/06_the_sky_is.md -p V 1000   execute one chapter with overrides
    python -m rlbits render                             render from the already executed notebooks
    python -m rlbits bench                              the engine benchmark -> _build/bench.json
    python -m rlbits sweep CHAPTER -p NAME LIST ...     execute a chapter over a grid, on Dask (rlbits.pipeline.sweep)
    python -m rlbits compare OLD NEW                    do two builds agree on every number the book prints?

Builds are incremental: a chapter (the benchmark, the render) whose inputs did not change since its last
successful run is reused. ``--force`` re-executes everything; with the environment variable CI set, every build
starts from scratch.
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path

from rlbits.pipeline import book


def _value(text: str):
    """A ``-p`` value: a Python literal (1e5, 3, 'x', [1, 2]) or else the bare string."""
    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m rlbits", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    jobs_default = max(1, min(os.cpu_count() or 1, 2))

    def common(sp):
        sp.add_argument("--root", type=Path, default=book.ROOT,
                        help="the book's root, holding _toc.yml and _config.yml (default: this repository)")
        sp.add_argument("--out", type=Path, default=None,
                        help="directory that receives _build/ (default: the book's root)")

    run = sub.add_parser("run", help="execute chapters (all in _toc.yml when none is named)")
    run.add_argument("chapters", nargs="*", type=Path)
    run.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                     help="override a variable of the chapter's parameters cell (one chapter only)")
    run.add_argument("-j", "--jobs", type=int, default=jobs_default, help="chapters executed in parallel")
    run.add_argument("--force", action="store_true", help="execute even chapters unchanged since their last run")
    common(run)

    build = sub.add_parser("build", help="execute every chapter, then render the book")
    build.add_argument("-j", "--jobs", type=int, default=jobs_default)
    build.add_argument("--skip-bench", action="store_true", help="do not run the benchmark (reuse _build/bench.json)")
    build.add_argument("--force", action="store_true",
                       help="re-execute everything (benchmark, chapters, render) even if nothing changed")
    common(build)

    render = sub.add_parser("render", help="render _build/html from the executed notebooks")
    render.add_argument("--partial", action="store_true",
                        help="development aid: leave chapters not executed into this --out out of the book")
    render.add_argument("--force", action="store_true", help="render even if the staged book did not change")
    common(render)

    bench = sub.add_parser("bench", help="benchmark the simulation engine against the reference")
    bench.add_argument("--quick", action="store_true", help="smaller workloads (for tests)")
    common(bench)

    from rlbits.pipeline import sweep
    sweep.add_arguments(sub.add_parser("sweep", help="execute a chapter over a grid of parameter settings, on Dask"))
    common(sub.choices["sweep"])

    compare = sub.add_parser("compare", help="do two builds agree on every number the book prints?")
    compare.add_argument("old", type=Path, help="the build before a change (a book root or its _build directory)")
    compare.add_argument("new", type=Path, help="the build after it")
    compare.add_argument("--common-only", action="store_true", help="compare only the chapters both executed")
    compare.add_argument("--root", type=Path, default=book.ROOT,
                         help="the book whose chapters say what is printed (default: this repository)")
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "compare":  # reads two builds, writes nothing
        from rlbits.pipeline import compare
        status, lines = compare.compare(args.old, args.new, args.root.resolve(), args.common_only)
        print("\n".join(lines))
        print("every printed number agrees" if status == 0 else "DIFFERENCES in what the book prints (see above)")
        return status
    root = args.root.resolve()
    build_dir = (args.out or root).resolve() / "_build"
    build_dir.mkdir(parents=True, exist_ok=True)
    try:
        return _main(args, root, build_dir)
    except KeyboardInterrupt as exc:
        text = str(exc) if isinstance(exc, book.Interrupted) else "interrupted"
        print(text, file=sys.stderr, flush=True)
        return 130


def _main(args, root: Path, build_dir: Path) -> int:
    if args.command == "render":
        return book.render(build_dir, root, partial=args.partial, force=args.force)
    if args.command == "sweep":
        from rlbits.pipeline import sweep
        return sweep.main(args, build_dir, root)
    if args.command == "bench":
        return _bench(build_dir, args.quick)
    if args.command == "run":
        sources = [c.resolve() for c in args.chapters] or book.chapter_sources(root)
        for s in sources:
            if not s.exists():
                print(f"no such chapter: {s}", file=sys.stderr)
                return 2
        params = {name: _value(v) for name, v in args.parameter}
        if params and len(sources) != 1:
            print("-p overrides apply to exactly one chapter; name it", file=sys.stderr)
            return 2
        if args.chapters and not any(book.BACKMATTER in s.as_posix() for s in sources):
            # the back matter of a book already executed here reads this chapter's results (the ledger marks a
            # reader run): bring it up to date, so that a following `render` shows a consistent book
            sources += [s for s in book.chapter_sources(root) if book.BACKMATTER in s.as_posix()
                        and (build_dir / "cache" / f"{s.stem}.json").exists()]
        return _execute(sources, build_dir, args.jobs, params, root, args.force)
    if args.command == "build":
        force = args.force or bool(os.environ.get("CI"))
        if not args.skip_bench and _bench_if_changed(build_dir, root, force):
            return 1
        status = _execute(book.chapter_sources(root), build_dir, args.jobs, {}, root, force)
        if status:
            print("not rendering: a chapter failed (the last good book stays in place)", file=sys.stderr)
            return status
        return book.render(build_dir, root, force=force)
    return 2


def _execute(sources, build_dir, jobs, params, root, force=False) -> int:
    print(f"executing {len(sources)} chapter(s) with {jobs} job(s) into {build_dir}", flush=True)
    runs = book.execute_all(sources, build_dir, jobs=jobs, parameters=params, root=root, force=force,
                            log=lambda line: print(line, flush=True), progress=sys.stdout.isatty())
    failed = [r for r in runs if not r.ok]
    reused = sum(r.cached for r in runs)
    ok = len(runs) - len(failed)
    summary = f"{ok} ok ({reused} unchanged, reused)" if reused else f"{ok} ok"
    if failed:
        print(f"{summary}, {len(failed)} FAILED: " + ", ".join(book._rel(r.source, root) for r in failed),
              file=sys.stderr, flush=True)
        return 2 if any("unknown parameter(s)" in (r.error or "") for r in failed) else 1
    print(summary, flush=True)
    return 0


def _bench_key(root: Path) -> str:
    import platform

    from rlbits.pipeline.execute import cache_key

    machine = f"{platform.node()}|{platform.machine()}|{platform.processor()}|{os.cpu_count()}"
    return cache_key("bench", {}, root, extra=machine, inputs=("requirements.txt",))


def _bench_if_changed(build_dir: Path, root: Path, force: bool) -> int:
    """The benchmark, unless ``bench.json`` was measured on this machine from the same sources and requirements."""
    import json
    import time

    from rlbits.pipeline.execute import atomic_write

    key = _bench_key(root)
    stamp = build_dir / "cache" / "bench.json"
    if not force and (build_dir / "bench.json").exists() and stamp.exists() and \
            json.loads(stamp.read_text()).get("key") == key:
        print("bench: unchanged sources on this machine, reusing _build/bench.json", flush=True)
        return 0
    start = time.perf_counter()
    status = _bench(build_dir, quick=False, quiet=True)
    if status == 0 and (build_dir / "bench.json").exists():
        atomic_write(stamp, json.dumps({"key": key}) + "\n")
        book.record_timing(build_dir, "bench", time.perf_counter() - start)
    return status


def _bench(build_dir: Path, quick: bool, quiet: bool = False) -> int:
    """The benchmark; ``quiet`` keeps only its last line (the build prints one line per stage)."""
    import contextlib
    import io

    from rlbits.pipeline import bench  # imported here: it loads numba and the engines, which other commands do not need

    if not quiet:
        return bench.main(build_dir, quick=quick)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        status = bench.main(build_dir, quick=quick)
    lines = out.getvalue().strip().splitlines()
    print("bench: " + (lines[-1] if lines else "done"), flush=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
