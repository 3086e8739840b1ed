"""Pfam domains: the top domains of one analysis, and a domains x analyses heatmap of a study."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure

from analyses.charts.render import PALETTE, new_figure, no_data, style_axes
from analyses.schemas import PfamDomainCount

#: Bars in the top-domains chart, and rows of the heatmap.
TOP_DOMAINS = 20
#: Cells annotated with their count when the heatmap has at most this many.
ANNOTATED_CELLS = 200


def domain_label(count: PfamDomainCount) -> str:
    """``PF00069.17 Pkinase``: the accession a biologist searches for, and the name they recognise."""
    return count.accession if count.name == count.accession else f"{count.accession} {count.name}"


def top_domains(counts: Sequence[PfamDomainCount], limit: int | None = TOP_DOMAINS) -> list[PfamDomainCount]:
    """The ``limit`` models (all with ``None``) with the most domain hits, ties by accession so the order is stable."""
    return sorted(counts, key=lambda count: (-count.domains, count.accession))[:limit]


def top_pfam_figure(
    counts: Sequence[PfamDomainCount], *, limit: int = TOP_DOMAINS, title: str = "Top Pfam domains"
) -> Figure:
    """Horizontal bars of the ``limit`` domains with most hits, most first, each labelled with its proteins.

    :param counts: per-model counts of one analysis
    :param limit: how many domains to show
    :param title: the figure's title
    """
    top = top_domains(counts, limit)
    figure = new_figure(title, size=(8.0, max(3.0, 1.2 + 0.3 * len(top))))
    axes = figure.add_subplot()
    if not top:
        no_data(axes, "No Pfam domain passed its threshold")
        return figure
    style_axes(axes)
    axes.grid(axis="y", visible=False)
    positions = np.arange(len(top))
    domains = [count.domains for count in top]
    axes.barh(positions, domains, color=PALETTE[0], height=0.7)
    axes.set_yticks(positions, [domain_label(count) for count in top], fontsize=8)
    axes.invert_yaxis()
    for position, count in zip(positions, top, strict=True):
        axes.text(
            count.domains,
            position,
            f" {count.domains:,} ({count.proteins:,} proteins)",
            va="center",
            fontsize=7,
        )
    axes.set_xlim(0, max(domains) * 1.3)
    axes.set_xlabel("domain hits")
    if len(counts) > len(top):
        axes.set_title(f"{len(top)} of {len(counts)} domains with hits", fontsize=9, loc="left")
    return figure


def pfam_heatmap_figure(
    counts_by_analysis: Mapping[str, Sequence[PfamDomainCount]],
    *,
    limit: int = TOP_DOMAINS,
    title: str = "Pfam domains across analyses",
) -> Figure:
    """Domain hits of the ``limit`` domains most frequent over all analyses (rows) in each analysis (columns).

    Colour is on a log scale, so a domain common in one analysis does not wash out the others; empty cells
    are blank.

    :param counts_by_analysis: per-model counts, by analysis accession, in the column order wanted
    :param limit: how many domains (rows) to show
    :param title: the figure's title
    """
    totals: dict[str, int] = {}
    labels: dict[str, str] = {}
    for counts in counts_by_analysis.values():
        for count in counts:
            totals[count.accession] = totals.get(count.accession, 0) + count.domains
            labels.setdefault(count.accession, domain_label(count))
    rows = sorted(totals, key=lambda accession: (-totals[accession], accession))[:limit]
    columns = list(counts_by_analysis)
    figure = new_figure(title, size=(max(6.0, 3.5 + 0.55 * len(columns)), max(3.0, 1.8 + 0.3 * len(rows))))
    axes = figure.add_subplot()
    if not rows:
        no_data(axes, "No Pfam domains in these analyses")
        return figure
    matrix = np.zeros((len(rows), len(columns)))
    row_of = {accession: index for index, accession in enumerate(rows)}
    for column, accession in enumerate(columns):
        for count in counts_by_analysis[accession]:
            if count.accession in row_of:
                matrix[row_of[count.accession], column] = count.domains
    shown = np.ma.masked_equal(matrix, 0)
    # Vector cells (not imshow's embedded raster): crisp at any zoom, and the SVG holds no image.
    image = axes.pcolormesh(
        np.arange(len(columns) + 1) - 0.5,
        np.arange(len(rows) + 1) - 0.5,
        shown,
        cmap="viridis",
        norm=LogNorm(vmin=1, vmax=max(1.0, matrix.max())),
        edgecolors="white",
        linewidth=0.5,
    )
    axes.invert_yaxis()  # the most frequent domain on top
    axes.set_xticks(np.arange(len(columns)), columns, rotation=45, ha="right", fontsize=8)
    axes.set_yticks(np.arange(len(rows)), [labels[accession] for accession in rows], fontsize=8)
    axes.tick_params(length=0)
    if matrix.size <= ANNOTATED_CELLS:
        threshold = np.sqrt(max(1.0, matrix.max()))
        for (row, column), value in np.ndenumerate(matrix):
            if value:
                colour = "white" if value < threshold else "black"
                axes.text(column, row, f"{int(value):,}", ha="center", va="center", fontsize=7, color=colour)
    figure.colorbar(image, ax=axes, label="domain hits (log scale)", shrink=0.8)
    return figure
