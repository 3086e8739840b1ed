"""rRNA genes per kingdom and gene type (from :class:`analyses.schemas.RrnaCount`)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from matplotlib.figure import Figure

from analyses.charts.render import PALETTE, new_figure, no_data, style_axes
from analyses.schemas import RrnaCount, RrnaGeneType, RrnaKingdom


def rrna_figure(counts: Sequence[RrnaCount], *, title: str = "rRNA genes") -> Figure:
    """Grouped bars: one group per kingdom with genes, one bar per gene type, each labelled with its count.

    :param counts: genes per (kingdom, gene type); pairs not listed count as zero
    :param title: the figure's title
    """
    figure = new_figure(title)
    axes = figure.add_subplot()
    table = {(count.kingdom, count.gene): count.count for count in counts}
    kingdoms = [kingdom for kingdom in RrnaKingdom if any(table.get((kingdom, gene)) for gene in RrnaGeneType)]
    if not kingdoms:
        no_data(axes, "No rRNA genes found on the contigs")
        return figure
    style_axes(axes)
    axes.grid(axis="x", visible=False)
    genes = [gene for gene in RrnaGeneType if any(table.get((kingdom, gene)) for kingdom in kingdoms)]
    width = 0.8 / len(genes)
    positions = np.arange(len(kingdoms))
    for index, gene in enumerate(genes):
        values = [table.get((kingdom, gene), 0) for kingdom in kingdoms]
        offset = (index - (len(genes) - 1) / 2) * width
        bars = axes.bar(positions + offset, values, width, label=gene.value, color=PALETTE[index % len(PALETTE)])
        axes.bar_label(bars, labels=[f"{value:,}" if value else "" for value in values], fontsize=8, padding=2)
    axes.set_xticks(positions, [kingdom.value for kingdom in kingdoms])
    axes.set_ylabel("genes")
    axes.margins(y=0.15)
    axes.legend(title="gene", fontsize=8, title_fontsize=8)
    return figure
