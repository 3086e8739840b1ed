"""Figures to bytes, and the look every chart shares.

Rendering is deterministic: the same figure gives the same bytes (no date in the SVG metadata, a fixed
``svg.hashsalt`` for the ids matplotlib generates), so responses can be cached and compared. SVG text
stays text (``svg.fonttype = none``): labels such as Pfam accessions are searchable and selectable.
These settings (and the font, DejaVu Sans, which ships with matplotlib: the same glyphs on every server)
live in matplotlib's global ``rcParams``; they are constants, set once here, so concurrent renders cannot
disagree about them. Everything else about a chart's look is set on its own figure.
"""

from __future__ import annotations

import io
import textwrap

import matplotlib
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from analyses.charts import ChartFormat

matplotlib.use("Agg")  # no display, no GUI toolkit: should anything reach for pyplot, it renders off-screen

#: Render-time settings, set once for the process (see the module docstring).
RENDER_RC = {"svg.hashsalt": "emg-charts", "svg.fonttype": "none", "font.family": "DejaVu Sans"}
matplotlib.rcParams.update(RENDER_RC)

#: PNG resolution: a 8 x 4.5 in figure is 960 x 540 px.
PNG_DPI = 120
#: Default figure size in inches (width, height).
FIGURE_SIZE = (8.0, 4.5)
#: A colour-blind-safe palette (Okabe-Ito).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000")
MUTED = "#9a9a9a"


#: About how many characters of an 11 pt title fit in an inch of figure width.
TITLE_CHARACTERS_PER_INCH = 11


def new_figure(title: str, *, size: tuple[float, float] = FIGURE_SIZE) -> Figure:
    """A figure with the charts' layout (constrained, so labels never overlap or get cut) and a title.

    :param title: shown at the top; callers put the accession in it so a saved image says what it shows
    :param size: width and height in inches
    """
    figure = Figure(figsize=size, layout="constrained")
    # Wrapped to the figure's width: constrained layout makes room for a tall title, not a wide one.
    figure.suptitle(textwrap.fill(title, width=max(30, int(size[0] * TITLE_CHARACTERS_PER_INCH))), fontsize=11)
    return figure


def style_axes(axes: Axes) -> Axes:
    """Plain axes: no top and right spines, a light grid behind the data."""
    axes.spines[["top", "right"]].set_visible(False)
    axes.set_axisbelow(True)
    axes.grid(color="#e6e6e6", linewidth=0.8)
    axes.tick_params(labelsize=9)
    return axes


def no_data(axes: Axes, message: str) -> Axes:
    """Say on the axes that there is nothing to draw, instead of an empty frame."""
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=11, color=MUTED, transform=axes.transAxes)
    return axes


def render(figure: Figure, chart_format: ChartFormat) -> bytes:
    """The figure as SVG or PNG bytes; the same figure always gives the same bytes.

    :param figure: a figure built by one of the chart functions
    :param chart_format: :class:`ChartFormat.SVG` or :class:`ChartFormat.PNG`
    """
    buffer = io.BytesIO()
    title = figure.get_suptitle()
    if chart_format is ChartFormat.SVG:
        figure.savefig(buffer, format="svg", metadata={"Date": None, "Title": title})
    else:
        FigureCanvasAgg(figure)
        figure.savefig(buffer, format="png", dpi=PNG_DPI, metadata={"Title": title})
    return buffer.getvalue()
