"""The book's figure style: readable on a light and a dark page (figures sit on their own white card),
deterministic output (no random SVG ids, fixed DPI), and colours that survive greyscale."""

from __future__ import annotations

import matplotlib

#: Colours for the learners, used in every chapter so a method keeps its colour across the book.
COLORS = {
    "SL": "#1f4e9c",
    "RL": "#c0392b",
    "RL (mean baseline)": "#e67e22",
    "eliminator": "#2e7d32",
    "distillation": "#6a1b9a",
    "floor": "#555555",
}


def setup_style():
    """Set matplotlib's style for the book (called by the hidden first cell of each chapter)."""
    matplotlib.rcParams.update(
        {
            "figure.figsize": (6.4, 3.8),
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "figure.facecolor": "white",
            "savefig.facecolor": "white",
            "axes.facecolor": "white",
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": 10,
            "legend.frameon": False,
            "svg.hashsalt": "rlbits",
            "path.simplify": True,
        }
    )
    try:  # inline backend: PNG output, no random metadata
        from matplotlib_inline.backend_inline import set_matplotlib_formats

        set_matplotlib_formats("png")
    except Exception:  # pragma: no cover - outside IPython
        pass
