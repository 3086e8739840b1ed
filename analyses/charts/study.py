"""Charts of a study's analyses: how many are in each state, and their assemblies and proteins side by side."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
from matplotlib.figure import Figure

from analyses.charts.render import MUTED, PALETTE, new_figure, no_data, style_axes

#: Colours of the analysis states (``analyses.models.Analysis.State`` values); others are grey.
STATE_COLOURS = {"pending": MUTED, "running": PALETTE[0], "completed": PALETTE[2], "failed": PALETTE[3]}


@dataclass(frozen=True)
class AnalysisSummary:
    """What the assembly summary shows of one analysis; ``None`` where the analysis has no such result."""

    accession: str
    n50: int | None = None
    contig_count: int | None = None
    predicted_proteins: int | None = None


def analysis_states_figure(counts: Mapping[str, int], *, title: str = "Analyses by state") -> Figure:
    """One horizontal bar per state, in the order given, each labelled with its count.

    :param counts: analyses per state, e.g. ``{"pending": 2, "running": 0, "completed": 5, "failed": 1}``
    :param title: the figure's title
    """
    figure = new_figure(title, size=(7.0, 1.6 + 0.45 * max(1, len(counts))))
    axes = figure.add_subplot()
    if not any(counts.values()):
        no_data(axes, "This study has no analyses")
        return figure
    style_axes(axes)
    axes.grid(axis="y", visible=False)
    states = list(counts)
    positions = np.arange(len(states))
    values = [counts[state] for state in states]
    bars = axes.barh(positions, values, color=[STATE_COLOURS.get(state, MUTED) for state in states], height=0.6)
    axes.bar_label(bars, labels=[f"{value:,}" for value in values], fontsize=9, padding=3)
    axes.set_yticks(positions, states)
    axes.invert_yaxis()
    axes.set_xlim(0, max(values) * 1.15)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.set_xlabel("analyses")
    return figure


def assembly_summary_figure(rows: Sequence[AnalysisSummary], *, title: str = "Assemblies and proteins") -> Figure:
    """Three panels sharing one row per analysis: contig N50, number of contigs, predicted proteins.

    An analysis without a value (no assembly yet, a failed run) has an empty bar and a dash.

    :param rows: one summary per analysis, in the order to show them (top to bottom)
    :param title: the figure's title
    """
    figure = new_figure(title, size=(9.0, 1.6 + 0.32 * max(1, len(rows))))
    if not rows:
        no_data(figure.add_subplot(), "This study has no analyses")
        return figure
    panels = figure.subplots(1, 3, sharey=True)
    positions = np.arange(len(rows))
    metrics = (
        ("contig N50 (bp)", [row.n50 for row in rows], PALETTE[0]),
        ("contigs", [row.contig_count for row in rows], PALETTE[5]),
        ("predicted proteins", [row.predicted_proteins for row in rows], PALETTE[2]),
    )
    for axes, (label, values, colour) in zip(panels, metrics, strict=True):
        style_axes(axes)
        axes.grid(axis="y", visible=False)
        drawn = [value or 0 for value in values]
        bars = axes.barh(positions, drawn, color=colour, height=0.65)
        axes.bar_label(bars, labels=["—" if value is None else f"{value:,}" for value in values], fontsize=7, padding=2)
        axes.set_xlim(0, max(1, *drawn) * 1.35)
        axes.set_xlabel(label)
        axes.tick_params(axis="x", labelsize=7)
    panels[0].set_yticks(positions, [row.accession for row in rows], fontsize=8)
    panels[0].invert_yaxis()
    return figure
