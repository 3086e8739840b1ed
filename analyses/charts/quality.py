"""Read quality before and after fastp's filtering, per mate (from :class:`analyses.schemas.QualityCurve`)."""

from __future__ import annotations

from collections.abc import Sequence

from matplotlib.figure import Figure

from analyses.charts.render import MUTED, PALETTE, new_figure, no_data, style_axes
from analyses.schemas import QualityCurve

#: Phred bands shaded behind the curves, as FastQC and MultiQC shade them: poor, fair, good.
QUALITY_BANDS = ((0, 20, "#f6d6d6"), (20, 28, "#f7ecd0"), (28, 60, "#d9efdb"))
BEFORE_COLOUR = PALETTE[1]
AFTER_COLOUR = PALETTE[0]


def quality_figure(curves: Sequence[QualityCurve], *, title: str = "Read quality") -> Figure:
    """Mean quality per position, raw reads against filtered reads, one panel per mate.

    :param curves: one curve per mate (``read1``, then ``read2`` for paired runs)
    :param title: the figure's title
    """
    figure = new_figure(title, size=(8.0, 4.0 if len(curves) < 2 else 4.2))
    if not curves:
        no_data(figure.add_subplot(), "No per-position quality in this analysis")
        return figure
    panels = figure.subplots(1, len(curves), sharey=True, squeeze=False)[0]
    top = max(41.0, *(max(c.before_filtering + c.after_filtering, default=0.0) + 1 for c in curves))
    for axes, curve in zip(panels, curves, strict=True):
        style_axes(axes)
        longest = max(len(curve.before_filtering), len(curve.after_filtering), 1)
        for low, high, colour in QUALITY_BANDS:
            axes.axhspan(low, min(high, top), color=colour, linewidth=0, zorder=0)
        axes.plot(
            range(1, len(curve.before_filtering) + 1),
            curve.before_filtering,
            color=BEFORE_COLOUR,
            linewidth=1.6,
            label="before filtering",
        )
        axes.plot(
            range(1, len(curve.after_filtering) + 1),
            curve.after_filtering,
            color=AFTER_COLOUR,
            linewidth=1.6,
            label="after filtering",
        )
        axes.set_xlim(1, longest)
        axes.set_ylim(0, top)
        axes.set_title(curve.mate, fontsize=10)
        axes.set_xlabel("position in read (bp)")
    panels[0].set_ylabel("mean quality (Phred)")
    panels[0].legend(loc="lower left", fontsize=8, frameon=True, edgecolor=MUTED)
    return figure
