"""Charts of analyses and studies, drawn with matplotlib and served by the read API.

Each module holds one family of charts as plain functions from :mod:`analyses.schemas` data to a
:class:`matplotlib.figure.Figure`; :func:`analyses.charts.render.render` turns a figure into SVG or PNG
bytes. No pyplot: a figure is an object the request owns, so concurrent requests share no state.
The closed sets (chart names, formats) are the enums below, which the API documents as path parameters.
"""

from __future__ import annotations

from enum import StrEnum


class ChartFormat(StrEnum):
    """What a chart is rendered as: svg (``image/svg+xml``, labels kept as text) or png (``image/png``)."""

    SVG = "svg"
    PNG = "png"

    @property
    def content_type(self) -> str:
        return {ChartFormat.SVG: "image/svg+xml", ChartFormat.PNG: "image/png"}[self]


class AnalysisChart(StrEnum):
    """Charts of one analysis (``GET /analyses/{accession}/charts`` lists them, with their URLs)."""

    QUALITY = "quality"
    CONTIG_LENGTHS = "contig-lengths"
    PFAM = "pfam"
    RRNA = "rrna"

    @property
    def title(self) -> str:
        return ANALYSIS_CHART_TITLES[self]


class StudyChart(StrEnum):
    """Charts of a study's analyses (``GET /studies/{accession}/charts`` lists them, with their URLs)."""

    ANALYSIS_STATES = "analysis-states"
    ASSEMBLY_SUMMARY = "assembly-summary"
    PFAM_HEATMAP = "pfam-heatmap"

    @property
    def title(self) -> str:
        return STUDY_CHART_TITLES[self]


ANALYSIS_CHART_TITLES = {
    AnalysisChart.QUALITY: "Mean read quality per position, before and after fastp filtering, per mate",
    AnalysisChart.CONTIG_LENGTHS: "Contig length distribution, with the N50",
    AnalysisChart.PFAM: "Pfam domains with the most hits in the predicted proteins",
    AnalysisChart.RRNA: "rRNA genes on the contigs, per kingdom and gene type (barrnap)",
}
STUDY_CHART_TITLES = {
    StudyChart.ANALYSIS_STATES: "The study's analyses by state",
    StudyChart.ASSEMBLY_SUMMARY: "Per analysis: contig N50, contigs and predicted proteins",
    StudyChart.PFAM_HEATMAP: "Pfam domain hits of the most frequent domains, across the study's analyses",
}

__all__ = ["AnalysisChart", "ChartFormat", "StudyChart"]
