"""Recording results: one call puts a number into the prose (myst-nb glue) and into the results file.

The pipeline (:mod:`rlbits.pipeline`; :func:`rlbits.pipeline.execute.extract_results`) reads every glued scalar back
out of the executed notebook and writes ``_build/results/<chapter>.json`` (and, for a default run,
``_build/results/default/<chapter>.json``); tests read the first, the claims ledger the second. So a number in the
prose, the number the tests check and the number in the ledger are one and the same object. Chapters import this
module (through ``rlbits.record``), which is why it is not in the pipeline subpackage.
"""

from __future__ import annotations

import json
import math
import os
from numbers import Integral, Real
from pathlib import Path

import numpy as np

#: The verdicts a chapter may give a claim (see the claims ledger).
VERDICTS = (
    "holds",
    "holds with a caveat",
    "depends on the definition",
    "does not hold",
    "discussed, not testable",
)


def _plain(value):
    """Convert numpy scalars to Python ones, so the glued text is ``0.5`` and not ``np.float64(0.5)``."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (Integral, np.integer)):
        return int(value)
    if isinstance(value, (Real, np.floating)):
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"refusing to record a non-finite value {value!r}")
        return value
    if isinstance(value, str):
        return value
    raise TypeError(f"record() takes a number or a string, not {type(value).__name__}")


_RECORDED: dict = {}


def recorded() -> dict:
    """Every value recorded so far in this process (a chapter's kernel): what :func:`rlbits.verdicts.decide` reads."""
    return dict(_RECORDED)


def record(name: str, value):
    """Glue ``value`` under ``name`` (for ``{glue:text}`name:fmt``` in the prose) and record it as a result.

    Returns the plain value, so a chapter can write ``n95 = record("n95", ...)``.
    """
    if not name.replace("_", "").isalnum():
        raise ValueError(f"result name {name!r} must be letters, digits and underscores")
    value = _plain(value)
    _RECORDED[name] = value
    try:
        from myst_nb import glue
    except ImportError:  # outside a notebook toolchain the value is still returned
        return value
    glue(name, value, display=False)
    return value


def build_dir() -> Path:
    """The ``_build`` directory of the running build (the pipeline sets ``RLBITS_BUILD``; default: the repo's)."""
    env = os.environ.get("RLBITS_BUILD")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "_build"


def load_results(stem: str) -> dict:
    """The recorded results of chapter ``stem`` in the current build (back-matter pages read them)."""
    path = build_dir() / "results" / f"{stem}.json"
    if not path.exists():
        raise FileNotFoundError(f"no results for chapter {stem!r} at {path}: execute it first")
    return json.loads(path.read_text())
