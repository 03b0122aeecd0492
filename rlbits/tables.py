"""Numbered, captioned tables built from computed rows (chapters 5, 6 and 8-13).

A chapter glues a table it computes with :func:`table` and shows it with

    ```{glue:md} key
    :format: myst
    ```

The glued text is a MyST ``{table}`` directive (in a colon fence, so a caption may hold inline code), so the table gets a number ("Table 6.1"), its caption, and a label
that ``{numref}`` can point at, exactly like a table typed in the prose.
"""

from __future__ import annotations

import re
from typing import Iterable, Sequence

from IPython.display import Markdown

_LABEL = re.compile(r"^tbl-[a-z0-9][a-z0-9-]*$")
_ALIGN = {"left": ":---", "right": "---:", "center": ":---:", None: "---"}


def markdown(header: Sequence[str], rows: Iterable[Sequence[object]], caption: str, name: str,
             align: Sequence[str | None] | None = None) -> str:
    """The MyST text of a numbered table: ``header`` cells, ``rows`` of already formatted cells, a ``caption``
    (MyST: math and roles allowed) and a ``name`` such as ``tbl-ch06-budget`` (global across the book, so prefixed
    with the chapter). ``align`` gives each column ``"left"``, ``"right"``, ``"center"`` or ``None``."""
    header = [str(h) for h in header]
    if not header:
        raise ValueError("a table needs at least one column")
    if not _LABEL.match(name):
        raise ValueError(f"table name {name!r}: expected 'tbl-' followed by lower-case letters, digits and hyphens")
    if not caption.strip() or "\n\n" in caption:
        raise ValueError(f"table {name}: the caption must be one non-empty paragraph, got {caption!r}")
    align = list(align) if align is not None else [None] * len(header)
    if len(align) != len(header) or any(a not in _ALIGN for a in align):
        raise ValueError(f"table {name}: align needs one of {sorted(k for k in _ALIGN if k)} or None per column")
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(_ALIGN[a] for a in align) + "|"]
    for i, row in enumerate(rows):
        # a cell is one line (a "|" in it must come escaped); no-break spaces (1.2 × 10⁹) stay
        cells = [re.sub(r"[ \t\r\n]+", " ", str(c)).strip() for c in row]
        if len(cells) != len(header):
            raise ValueError(f"table {name}: row {i} has {len(cells)} cells for {len(header)} columns")
        lines.append("| " + " | ".join(cells) + " |")
    if len(lines) == 2:
        raise ValueError(f"table {name}: no rows")
    caption = re.sub(r"[ \t\r\n]+", " ", caption).strip()
    # a colon fence, so that a caption may hold inline code (a backtick fence's first line may not)
    return f":::{{table}} {caption}\n:name: {name}\n\n" + "\n".join(lines) + "\n:::\n"


def wrap(pipe_table: str, caption: str, name: str) -> Markdown:
    """An already written pipe table (header, rule, rows: MyST text) as a numbered table, ready to glue."""
    lines = [line.strip() for line in pipe_table.strip().splitlines()]
    if len(lines) < 3 or not all(line.startswith("|") and line.endswith("|") for line in lines) \
            or not set(lines[1]) <= set("|-: "):
        raise ValueError(f"table {name}: expected a pipe table (header, rule, at least one row), got {pipe_table!r}")
    split = [line.strip("|").split("|") for line in lines]  # cells (an escaped "\\|" inside math is rare here)
    header, rows = [c.strip() for c in split[0]], [[c.strip() for c in r] for r in split[2:]]
    align = [{(True, True): "center", (True, False): "left", (False, True): "right"}.get(
        (c.strip().startswith(":"), c.strip().endswith(":"))) for c in split[1]]
    return Markdown(markdown(header, rows, caption, name, align))


def table(header: Sequence[str], rows: Iterable[Sequence[object]], caption: str, name: str,
          align: Sequence[str | None] | None = None) -> Markdown:
    """:func:`markdown` as an IPython ``Markdown`` object, ready for ``glue(key, ..., display=False)``."""
    return Markdown(markdown(header, rows, caption, name, align))
