"""Contig length distribution (from :class:`analyses.schemas.LengthHistogram`)."""

from __future__ import annotations

from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from analyses.charts.render import PALETTE, new_figure, no_data, style_axes
from analyses.schemas import AssemblyStats, LengthHistogram

#: Bin edges spanning more than this ratio are drawn on a log axis (contig lengths usually do).
LOG_SPAN = 50


def _bp(value: float, _position: int | None = None) -> str:
    """``1500`` -> ``1.5 kb``: contig lengths are read in kb and Mb."""
    for size, unit in ((1_000_000, "Mb"), (1_000, "kb")):
        if value >= size:
            return f"{value / size:.3g} {unit}"
    return f"{value:g} bp"


def contig_lengths_figure(
    histogram: LengthHistogram, *, assembly: AssemblyStats | None = None, title: str = "Contig lengths"
) -> Figure:
    """The histogram as bars over their bins, with the N50 marked when the assembly's statistics are given.

    :param histogram: contig counts per length bin
    :param assembly: the assembly's statistics (N50, contig count, total length), if known
    :param title: the figure's title
    """
    figure = new_figure(title)
    axes = figure.add_subplot()
    if not any(histogram.counts):
        no_data(axes, "No contigs in this assembly")
        return figure
    style_axes(axes)
    edges, counts = histogram.bin_edges, histogram.counts
    axes.stairs(counts, edges, fill=True, color=PALETTE[0], alpha=0.85, label="contigs")
    axes.stairs(counts, edges, color="#1f3f66", linewidth=0.8)
    if edges[0] > 0 and edges[-1] / edges[0] > LOG_SPAN:
        axes.set_xscale("log")
    axes.xaxis.set_major_formatter(FuncFormatter(_bp))
    axes.set_xlim(edges[0], edges[-1])
    axes.set_xlabel("contig length")
    axes.set_ylabel("contigs")
    if max(counts) > LOG_SPAN * max(1, min(c for c in counts if c)):
        axes.set_yscale("log")
        axes.set_ylim(bottom=0.8)
    if assembly is not None:
        axes.axvline(assembly.n50, color=PALETTE[3], linestyle="--", linewidth=1.4, label=f"N50 {_bp(assembly.n50)}")
        summary = f"{assembly.contig_count:,} contigs, {_bp(assembly.total_length)} in total"
        axes.text(0.99, 0.97, summary, transform=axes.transAxes, ha="right", va="top", fontsize=9)
        axes.legend(loc="upper right", bbox_to_anchor=(1.0, 0.9), fontsize=8)
    return figure
