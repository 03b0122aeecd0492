"""``python -m rlbits``: execute chapters, render the book, run the benchmark.

    python -m rlbits build [-j N]                       execute every chapter, then render _build/html
    python -m rlbits run chapters/06_the_sky_is.md -p V 1000   execute one chapter with overrides
    python -m rlbits render                             render from the already executed notebooks
    python -m rlbits bench                              the engine benchmark -> _build/bench.json
    python -m rlbits sweep CHAPTER -p NAME LIST ...     execute a chapter over a grid, on Dask (see rlbits.sweep)
"""

from __future__ import annotations

import argparse
import ast
import os
import sys
from pathlib import Path

from rlbits import book


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
    common(run)

    build = sub.add_parser("build", help="execute every chapter, then render the book")
    build.add_argument("-j", "--jobs", type=int, default=jobs_default)
    build.add_argument("--skip-bench", action="store_true", help="do not run the benchmark (reuse _build/bench.json)")
    common(build)

    render = sub.add_parser("render", help="render _build/html from the executed notebooks")
    render.add_argument("--partial", action="store_true",
                        help="development aid: leave chapters not executed into this --out out of the book")
    common(render)

    bench = sub.add_parser("bench", help="benchmark the simulation engine against the reference")
    bench.add_argument("--quick", action="store_true", help="smaller workloads (for tests)")
    common(bench)

    from rlbits import sweep
    sweep.add_arguments(sub.add_parser("sweep", help="execute a chapter over a grid of parameter settings, on Dask"))
    common(sub.choices["sweep"])
    return p


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    root = args.root.resolve()
    build_dir = (args.out or root).resolve() / "_build"
    build_dir.mkdir(parents=True, exist_ok=True)
    if args.command == "render":
        return book.render(build_dir, root, partial=args.partial)
    if args.command == "sweep":
        from rlbits import sweep
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
        return _execute(sources, build_dir, args.jobs, params, root)
    if args.command == "build":
        if not args.skip_bench and _bench(build_dir, quick=False):
            return 1
        status = _execute(book.chapter_sources(root), build_dir, args.jobs, {}, root)
        if status:
            print("not rendering: a chapter failed", file=sys.stderr)
            return status
        return book.render(build_dir, root)
    return 2


def _execute(sources, build_dir, jobs, params, root) -> int:
    from rlbits.execute import ParameterNameError

    print(f"executing {len(sources)} chapter(s) with {jobs} job(s) into {build_dir}")
    try:
        runs = book.execute_all(sources, build_dir, jobs=jobs, parameters=params, root=root)
    except ParameterNameError as exc:
        print(exc, file=sys.stderr)
        return 2
    failed = [r for r in runs if not r.ok]
    for r in failed:
        print(f"ERROR {r.error}", file=sys.stderr)
    return 1 if failed else 0


def _bench(build_dir: Path, quick: bool) -> int:
    try:
        from rlbits import bench
    except ImportError:  # the engine benchmark arrives with the engine
        return 0
    return bench.main(build_dir, quick=quick)


if __name__ == "__main__":
    sys.exit(main())
