"""What the Reproducibility page reports: the execution table, package versions and the seeds of each chapter."""

from __future__ import annotations

import json
import platform
import re
import sys
from importlib import metadata
from pathlib import Path

from rlbits.pipeline.book import ROOT, is_notebook, toc_files
from rlbits.results import build_dir

#: The packages whose versions decide the book's numbers and rendering.
KEY_PACKAGES = ("numpy", "numba", "scipy", "sympy", "mpmath", "matplotlib", "jupyter-book", "sphinx", "myst-nb",
                "papermill", "jupytext", "ipykernel", "sphinx-mathjax-offline", "pytest", "hypothesis")


def package_versions(names=KEY_PACKAGES) -> dict[str, str]:
    """Installed versions, with Python's, as ``name -> version``."""
    out = {"python": platform.python_version()}
    for name in names:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def pinned_versions(requirements: Path | None = None) -> dict[str, str]:
    """The exact pins of ``requirements.txt`` (``name -> version``, names lower-cased)."""
    pins = {}
    for line in Path(requirements or ROOT / "requirements.txt").read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9_.\-]+)==([^\s;#]+)", line)
        if m:
            pins[m.group(1).lower().replace("_", "-")] = m.group(2)
    return pins


def execution_table(path: Path | None = None) -> dict[str, dict]:
    """Run time and status of every executed chapter of this build (written by the pipeline)."""
    path = Path(path or build_dir() / "execution.json")
    return json.loads(path.read_text()) if path.exists() else {}


def wall_times(path: Path | None = None) -> dict[str, dict]:
    """Wall-clock seconds of the execution waves of this build (``wave1``: chapters, ``wave2``: back matter)."""
    path = Path(path or build_dir() / "timing.json")
    return json.loads(path.read_text()) if path.exists() else {}


def bench_seconds(path: Path | None = None) -> float:
    """Seconds the benchmark of this build spent measuring (0 when the build ran none)."""
    path = Path(path or build_dir() / "bench.json")
    return round(float(json.loads(path.read_text()).get("seconds", 0.0)), 1) if path.exists() else 0.0


def chapter_seeds(root: Path = ROOT) -> dict[str, int | None]:
    """The root seed each chapter passes to ``rlbits.setup_chapter(seed=...)``."""
    seeds = {}
    for rel in toc_files(root):
        md = root / f"{rel}.md"
        if not (md.exists() and is_notebook(md)):
            continue
        m = re.search(r"setup_chapter\(seed=(\d+)\)", md.read_text())
        seeds[str(md.relative_to(root))] = int(m.group(1)) if m else None
    return seeds


def platform_summary() -> str:
    return f"{platform.system()} {platform.machine()}, Python {sys.version.split()[0]}"
