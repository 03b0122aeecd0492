"""Unit tests of rlbits.plotting: the book's figure style (SVG, text floor, legible at the column width)."""

import re

import matplotlib

matplotlib.use("agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from rlbits import plotting  # noqa: E402


@pytest.fixture(autouse=True)
def style():
    with matplotlib.rc_context():
        plotting.setup_style()
        yield
        plt.close("all")


def _sizes(svg):
    """Independent reading of text sizes: matplotlib scales each text group by size / 100."""
    return [100 * float(s) for s in re.findall(r"scale\(([\d.e-]+) -\1\)", svg)]


def _width_pt(svg):
    return float(re.search(r'<svg[^>]*\bwidth="([\d.]+)pt"', svg).group(1))


def _line_figure(figsize=None, legend_pt=None, ncols=1):
    fig, axes = plt.subplots(1, ncols, figsize=figsize, squeeze=False)
    x = np.logspace(-5, 0, 30)
    for ax in axes[0]:
        ax.loglog(x, -np.log2(x), label=r"SL: $-\log_2 p$")
        ax.loglog(x, x, label="RL")
        ax.set_xlabel("pass rate $p$")
        ax.set_ylabel("bits")
        ax.legend(fontsize=legend_pt)
    return fig


def test_svg_is_deterministic_and_dateless():
    a = plotting.figure_svg(_line_figure())
    b = plotting.figure_svg(_line_figure())
    assert a == b
    assert "<dc:date>" not in a and a.lstrip().startswith("<?xml")


def test_small_text_is_raised_to_the_floor():
    fig = _line_figure(legend_pt=6)
    svg = plotting.figure_svg(fig)
    sizes = _sizes(svg)
    assert sizes and min(sizes) >= plotting.MIN_TEXT_PT - 1e-6
    assert max(sizes) == pytest.approx(plotting.FONT_PT)  # text above the floor keeps its size


def test_wide_figure_floor_makes_it_read_at_the_desktop_column():
    fig = _line_figure(figsize=(11, 3.6), legend_pt=7, ncols=3)
    svg = plotting.figure_svg(fig)
    shown = min(plotting.DESKTOP_COLUMN_PX, _width_pt(svg) * 4 / 3)  # shrunk to the column
    smallest_px = min(_sizes(svg)) * shown / _width_pt(svg)
    assert smallest_px >= plotting.MIN_TEXT_PX - 1e-6
    assert plotting.text_floor_pt(fig) == pytest.approx(9 * 0.75 * 11 * 96 / plotting.DESKTOP_COLUMN_PX)


def test_floor_follows_the_saved_width_when_a_legend_widens_the_figure():
    fig, ax = plt.subplots(figsize=(8.4, 4.0))
    ax.plot([1, 2], [1, 2], label="a rather long label for a curve, placed outside")
    ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
    svg = plotting.figure_svg(fig)
    assert _width_pt(svg) * 4 / 3 > 8.4 * 96  # the legend widened the saved figure
    shown = min(plotting.DESKTOP_COLUMN_PX, _width_pt(svg) * 4 / 3)
    assert min(_sizes(svg)) * shown / _width_pt(svg) >= plotting.MIN_TEXT_PX - 1e-6


def test_default_figure_reads_on_a_phone_without_scrolling():
    svg = plotting.figure_svg(_line_figure())
    smallest_px = min(_sizes(svg)) * plotting.PHONE_COLUMN_PX / _width_pt(svg)
    assert smallest_px >= plotting.MIN_TEXT_PX
    assert plotting.min_display_width_px(svg) <= plotting.PHONE_COLUMN_PX


def test_geometry_and_min_width_against_a_hand_written_svg():
    svg = ('<svg width="300pt" height="200pt" viewBox="0 0 300 200" xmlns="http://www.w3.org/2000/svg">'
           '<g transform="translate(1 2) scale(0.08 -0.08)"></g>'
           '<g transform="translate(1 2) rotate(-90) scale(0.12 -0.12)"></g>'
           '<use transform="translate(3 4) scale(0.7)"/></svg>')
    width, height, sizes = plotting.svg_text_geometry(svg)
    assert (width, height) == (300, 200) and sorted(sizes) == pytest.approx([8, 12])
    # 8 pt is 32/3 px at the intrinsic 400 px width; 9 px needs 400 * 9 / (32/3) = 337.5 px
    assert plotting.min_display_width_px(svg) == pytest.approx(337.5)
    assert plotting.min_display_width_px(svg.replace("scale(0.08 -0.08)", "").replace(
        "scale(0.12 -0.12)", "")) is None
    with pytest.raises(ValueError, match="viewBox"):
        plotting.svg_text_geometry("<svg width='1pt'></svg>")


def _extent(artist, fig):
    return artist.get_window_extent(fig.canvas.get_renderer())


def test_legend_below_clears_the_axis_labels():
    fig = _line_figure()
    ax = fig.axes[0]
    leg = plotting.legend_outside(ax)
    fig.canvas.draw()
    top = _extent(leg, fig).y1
    assert top < _extent(ax.xaxis.label, fig).y0
    assert all(top < _extent(t, fig).y0 for t in ax.get_xticklabels() if t.get_text())
    assert leg._ncols == 2


def test_legend_right_clears_the_axes_and_bad_calls_fail():
    fig = _line_figure()
    ax = fig.axes[0]
    leg = plotting.legend_outside(ax, "right")
    fig.canvas.draw()
    assert _extent(leg, fig).x0 > _extent(ax, fig).x1
    with pytest.raises(ValueError, match="where"):
        plotting.legend_outside(ax, "above")
    empty = plt.subplots()[1]
    with pytest.raises(ValueError, match="no labelled"):
        plotting.legend_outside(empty)
