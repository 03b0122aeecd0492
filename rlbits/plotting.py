"""The book's figure style and colours (chapters 1-14).

Readable on a light and a dark page (figures sit on their own white card), legible at the
width of the text column on a desktop and on a phone, deterministic output, and colours that survive greyscale.

Figures are rendered as SVG (vector: sharp at any zoom, text drawn as paths so it looks the same in every browser,
element ids salted so two executions give byte-identical notebooks). An SVG's intrinsic size is its size in points,
so a figure ``w`` inches wide is ``96 w`` CSS pixels wide before the page scales it to the column; text of ``s`` points
is ``4 s / 3`` pixels at that size.

Legibility is a contract between this module and the book's CSS (``_static/rlbits.css``) and Sphinx extension
(:mod:`rlbits.pipeline.sphinxext`):

* the default figure (``FIGSIZE``, text at ``FONT_PT``) shown at the width of a phone's text column
  (``PHONE_COLUMN_PX``) still draws its smallest text at ``MIN_TEXT_PX`` or more;
* when a figure is displayed (:func:`figure_svg`, the notebook's SVG formatter), every visible text element smaller
  than the figure's floor is raised to it: the floor is ``MIN_TEXT_PT``, or more for a figure wider than the
  desktop column (``DESKTOP_COLUMN_PX``), so that a wide multi-panel figure shrunk to the desktop column still reads;
* the page never shrinks a figure below the scale at which its smallest text is ``MIN_TEXT_PX`` (the extension
  writes a ``min-width`` on each figure); a figure that is then wider than the column (a wide multi-panel figure on
  a phone) scrolls sideways inside its own box instead of shrinking. Drawing such a figure as stacked panels (one
  column of axes, ``FIGSIZE[0]`` wide) makes it fit a phone without scrolling.

Chapter 1 introduces it; every chapter calls :func:`setup_style` through ``rlbits.setup_chapter``.
"""

from __future__ import annotations

import io
import re

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

#: The smallest text a reader should meet on the page, in CSS pixels.
MIN_TEXT_PX = 9.0
#: Width of the text column in CSS pixels: a 390 px wide phone, and a 1280 px desktop (measured: 341 and 671 px;
#: the desktop value is kept lower so a slightly narrower window still fits).
PHONE_COLUMN_PX = 341.0
DESKTOP_COLUMN_PX = 640.0
#: Default figure size (inches) and base font size (points): 96 * 5.0 = 480 px wide, so at the phone column
#: (scale 341/480) text of FONT_PT points is 4/3 * 10 * 0.71 = 9.5 px.
FIGSIZE = (5.0, 3.1)
FONT_PT = 10.0
#: No text element of a displayed figure is smaller than this (points): 9.5 pt reads at 9 px in the default figure
#: on a phone.
MIN_TEXT_PT = 9.5
#: Pixels per point and per inch of an SVG shown at its intrinsic size.
PX_PER_PT = 4.0 / 3.0
PX_PER_INCH = 96.0

#: SVG metadata: no date (byte-identical rebuilds) and no creator link.
_SVG_METADATA = {"Date": None, "Creator": None, "Format": None, "Type": None}


def setup_style():
    """Set matplotlib's style for the book (called by the hidden first cell of each chapter) and, inside IPython,
    make figures display as SVG through :func:`figure_svg`."""
    matplotlib.rcParams.update(
        {
            "figure.figsize": FIGSIZE,
            "figure.dpi": 110,
            "savefig.dpi": 110,
            "figure.facecolor": "white",
            "savefig.facecolor": "white",
            "axes.facecolor": "white",
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "font.size": FONT_PT,
            "axes.titlesize": "medium",
            "axes.labelsize": "medium",
            "xtick.labelsize": "medium",
            "ytick.labelsize": "medium",
            "legend.fontsize": "medium",
            "legend.title_fontsize": "medium",
            "figure.titlesize": "medium",
            "legend.frameon": False,
            "svg.fonttype": "path",
            "svg.hashsalt": "rlbits",
            "path.simplify": True,
        }
    )
    _use_svg_formatter()


def _use_svg_formatter() -> None:
    try:
        from IPython import get_ipython
        from matplotlib.figure import Figure
        from matplotlib_inline.backend_inline import set_matplotlib_formats
    except Exception:  # pragma: no cover - outside IPython
        return
    shell = get_ipython()
    if shell is None:
        return
    set_matplotlib_formats("svg")  # removes the PNG formatter
    shell.display_formatter.formatters["image/svg+xml"].for_type(Figure, figure_svg)


def text_floor_pt(fig, width_in: float | None = None) -> float:
    """The smallest text size (points) :func:`figure_svg` lets ``fig`` display: ``MIN_TEXT_PT``, or more when the
    figure is wider than the desktop column, so that shrunk to that column its text is still ``MIN_TEXT_PX``.
    ``width_in`` is the width as saved (default: the figure's size)."""
    width_px = (fig.get_size_inches()[0] if width_in is None else width_in) * PX_PER_INCH
    return max(MIN_TEXT_PT, MIN_TEXT_PX / PX_PER_PT * width_px / DESKTOP_COLUMN_PX)


def floor_text(fig, floor_pt: float | None = None) -> float:
    """Raise every visible text element of ``fig`` smaller than ``floor_pt`` (default :func:`text_floor_pt`) to it:
    tick labels (through ``tick_params``, so ticks created at draw time follow), legends, labels, titles, annotations.
    Returns the floor used."""
    from matplotlib.text import Text

    floor = text_floor_pt(fig) if floor_pt is None else float(floor_pt)
    for ax in fig.axes:
        for name, axis in (("x", ax.xaxis), ("y", ax.yaxis)):
            for which, ticks in (("major", axis.get_major_ticks()), ("minor", axis.get_minor_ticks())):
                sizes = [t.label1.get_fontsize() for t in ticks[:1]]
                if sizes and sizes[0] < floor:
                    ax.tick_params(axis=name, which=which, labelsize=floor)
    for text in fig.findobj(Text):
        if text.get_visible() and text.get_text() and text.get_fontsize() < floor:
            text.set_fontsize(floor)
    return floor


def figure_svg(fig) -> str:
    """The SVG a notebook displays (and glues) for a matplotlib figure: text floored by :func:`floor_text` (the floor
    taken from the width the figure is saved at), tight bounding box, text as paths, no date. Deterministic: the same
    figure gives the same bytes."""
    floor = text_floor_pt(fig)
    for _ in range(12):  # raising text can widen the saved figure (a legend outside), which raises the floor
        floor_text(fig, floor)
        buf = io.BytesIO()
        fig.canvas.print_figure(buf, format="svg", bbox_inches="tight", metadata=_SVG_METADATA)
        svg = buf.getvalue().decode("utf-8")
        width_pt, _, _ = svg_text_geometry(svg)
        needed = text_floor_pt(fig, width_pt / 72.0)
        if needed <= floor + 1e-6:
            break
        floor = needed * 1.01  # a little ahead: the width grows less than the text, so this settles in a few steps
    return svg


_SVG_TAG = re.compile(r"<svg\b[^>]*>")
_VIEWBOX = re.compile(r'viewBox="\s*[-\d.e]+\s+[-\d.e]+\s+([\d.e]+)\s+([\d.e]+)\s*"')
# matplotlib draws a text element as a group scaled by (font size / 100) with the y axis flipped
_TEXT_SCALE = re.compile(r'scale\(([\d.e-]+) -\1\)')


def svg_text_geometry(svg: str) -> tuple[float, float, list[float]]:
    """Width and height of a matplotlib SVG (points, from its viewBox) and the nominal size (points) of every text
    element in it, read from the drawing itself (each text group's ``scale(s -s)``, with ``s`` = size / 100)."""
    tag = _SVG_TAG.search(svg)
    box = _VIEWBOX.search(tag.group(0)) if tag else None
    if not box:
        raise ValueError("not a matplotlib SVG: no viewBox on the <svg> element")
    sizes = [float(s) * 100.0 for s in _TEXT_SCALE.findall(svg)]
    return float(box.group(1)), float(box.group(2)), sizes


def min_display_width_px(svg: str, min_text_px: float = MIN_TEXT_PX) -> float | None:
    """The narrowest width (CSS px) at which an SVG figure can be shown with its smallest text still
    ``min_text_px``; ``None`` when it has no text."""
    width_pt, _, sizes = svg_text_geometry(svg)
    if not sizes:
        return None
    smallest_px = min(sizes) * PX_PER_PT  # at the intrinsic size, width_pt * PX_PER_PT pixels wide
    return width_pt * PX_PER_PT * min_text_px / smallest_px


def legend_outside(ax, where: str = "below", ncol: int | None = None, **kwargs):
    """Put ``ax``'s legend outside its data (issue 16: no legend on the curves), and return it.

    ``where="below"`` (the default) puts it under the x-axis label, in ``ncol`` columns (default: up to 2), so the
    figure grows downwards and keeps its width, which is what a phone needs; ``where="right"`` puts it to the right
    of the axes in one column (the figure grows wider: use it only for a single-panel figure with short labels).
    Other keyword arguments go to :meth:`matplotlib.axes.Axes.legend`. Saved with a tight bounding box (as the book
    does), the figure includes the legend.
    """
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        raise ValueError("legend_outside: the axes have no labelled artists (pass label=... when plotting)")
    if where == "below":
        has_xlabel = bool(ax.get_xlabel())
        # distance from the axes' bottom edge, in font sizes: tick labels (with a log axis' superscripts), their pad,
        # and the x label with its pad
        pad = 3.4 if has_xlabel else 2.2
        kwargs.setdefault("ncol", ncol or min(2, len(handles)))
        return ax.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), borderaxespad=pad,
                         **kwargs)
    if where == "right":
        kwargs.setdefault("ncol", ncol or 1)
        return ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0.0,
                         **kwargs)
    raise ValueError(f"legend_outside: where must be 'below' or 'right', got {where!r}")
