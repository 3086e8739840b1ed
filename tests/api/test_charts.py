"""Charts: drawn from the schemas' data without HTTP, served as SVG and PNG by the API, opened in a browser.

The chart functions are checked on realistic data (what the pipeline records, see ``tests/api/conftest.py``):
SVGs parse and carry their labels as text, PNGs are PNGs of the expected size, the same data gives the same
bytes. The endpoints are checked for content types, one query per analysis chart (two per study chart),
404s naming a chart whose data is missing, 422s naming an unknown chart or format, and privacy on every path.
The browser test opens every chart in headless Chromium (``tests/browser_charts.py``) and keeps screenshots.
"""

from __future__ import annotations

import io
import struct
import xml.etree.ElementTree as ElementTree
from collections.abc import Iterator

import pytest
from PIL import Image

from analyses.charts import AnalysisChart, ChartFormat, StudyChart
from analyses.charts.lengths import contig_lengths_figure
from analyses.charts.pfam import pfam_heatmap_figure, top_pfam_figure
from analyses.charts.quality import quality_figure
from analyses.charts.render import PNG_DPI, render
from analyses.charts.rrna import rrna_figure
from analyses.charts.study import AnalysisSummary, analysis_states_figure, assembly_summary_figure
from tests.api.conftest import (
    Annotated,
    Graph,
    quality_with_curves,
    realistic_annotations,
    results_with_histogram,
)
from tests.browser_charts import CHROMIUM, artifacts_dir, chromium, screenshot_charts

API = "/api/v2"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
SVG_NAMESPACE = "{http://www.w3.org/2000/svg}"


def svg_text(svg: bytes) -> str:
    """All the text of an SVG document (it must parse as XML)."""
    root = ElementTree.fromstring(svg)
    assert root.tag == f"{SVG_NAMESPACE}svg"
    return " ".join(text for text in root.itertext() if text.strip())


def png_size(png: bytes) -> tuple[int, int]:
    """Width and height from the IHDR chunk, after checking the signature."""
    assert png.startswith(PNG_SIGNATURE)
    return struct.unpack(">II", png[16:24])


# ---------------------------------------------------------------------------------------------- figures (no HTTP)

ANNOTATIONS = realistic_annotations()
RESULTS = results_with_histogram()
SUMMARIES = [
    AnalysisSummary("MGYA00000011", n50=912, contig_count=12_403, predicted_proteins=18_220),
    AnalysisSummary("MGYA00000012", n50=1_504, contig_count=8_210, predicted_proteins=15_002),
    AnalysisSummary("MGYA00000013"),  # failed: nothing to show
]
#: Each chart family on realistic data, and labels its SVG must carry as text.
FIGURES = {
    "quality": (
        lambda: quality_figure(quality_with_curves().quality_curves, title="MGYA1 quality"),
        ["read1", "read2"],
    ),
    "contig-lengths": (
        lambda: contig_lengths_figure(RESULTS.contig_lengths, assembly=RESULTS.assembly, title="MGYA1 contigs"),
        ["N50 912 bp", "12,403 contigs"],
    ),
    "pfam": (lambda: top_pfam_figure(ANNOTATIONS.pfam.counts, title="MGYA1 Pfam"), ["PF00005.31 ABC_tran"]),
    "rrna": (lambda: rrna_figure(ANNOTATIONS.rrna.counts, title="MGYA1 rRNA"), ["bacteria", "archaea", "5.8S"]),
    "analysis-states": (
        lambda: analysis_states_figure({"pending": 1, "running": 0, "completed": 2, "failed": 1}, title="MGYS1"),
        ["completed", "failed"],
    ),
    "assembly-summary": (
        lambda: assembly_summary_figure(SUMMARIES, title="MGYS1 assemblies"),
        ["MGYA00000012", "1,504", "predicted proteins"],
    ),
    "pfam-heatmap": (
        lambda: pfam_heatmap_figure(
            {"MGYA00000011": ANNOTATIONS.pfam.counts, "MGYA00000012": ANNOTATIONS.pfam.counts[5:]}, title="MGYS1 Pfam"
        ),
        ["PF00005.31 ABC_tran", "MGYA00000012"],
    ),
}


@pytest.mark.parametrize("name", FIGURES)
def test_svg_parses_and_carries_its_labels(name: str):
    build, labels = FIGURES[name]
    text = svg_text(render(build(), ChartFormat.SVG))
    for label in labels:
        assert label in text, (name, label)


@pytest.mark.parametrize("name", FIGURES)
def test_png_is_a_png_of_the_figure_size(name: str):
    build, _labels = FIGURES[name]
    figure = build()
    png = render(figure, ChartFormat.PNG)
    width, height = png_size(png)
    expected = figure.get_size_inches() * PNG_DPI
    assert (width, height) == (round(expected[0]), round(expected[1]))
    assert 5_000 < len(png) < 1_000_000
    assert Image.open(io.BytesIO(png)).getextrema()[0][0] < 100  # something dark was drawn, not a blank canvas


@pytest.mark.parametrize("name", FIGURES)
@pytest.mark.parametrize("chart_format", list(ChartFormat))
def test_same_data_same_bytes(name: str, chart_format: ChartFormat):
    build, _labels = FIGURES[name]
    assert render(build(), chart_format) == render(build(), chart_format)


@pytest.mark.parametrize(
    ("figure", "message"),
    [
        (lambda: quality_figure([]), "No per-position quality"),
        (lambda: top_pfam_figure([]), "No Pfam domain"),
        (lambda: rrna_figure([]), "No rRNA genes"),
        (lambda: analysis_states_figure({"pending": 0, "completed": 0}), "no analyses"),
        (lambda: assembly_summary_figure([]), "no analyses"),
        (lambda: pfam_heatmap_figure({"MGYA00000011": []}), "No Pfam domains"),
    ],
)
def test_empty_data_says_so(figure, message: str):
    assert message in svg_text(render(figure(), ChartFormat.SVG))


# ---------------------------------------------------------------------------------------------- endpoints


def analysis_chart_paths(accession: str) -> list[str]:
    return [f"/analyses/{accession}/charts"] + [
        f"/analyses/{accession}/charts/{chart}.{chart_format}"
        for chart in AnalysisChart
        for chart_format in ChartFormat
    ]


def study_chart_paths(accession: str) -> list[str]:
    charts = [f"/studies/{accession}/charts/{chart}.{fmt}" for chart in StudyChart for fmt in ChartFormat]
    return [f"/studies/{accession}/charts", *charts]


@pytest.mark.django_db
@pytest.mark.parametrize("chart", list(AnalysisChart))
@pytest.mark.parametrize("chart_format", list(ChartFormat))
def test_analysis_chart_served(client, annotated: Annotated, chart, chart_format, django_assert_max_num_queries):
    accession = annotated.public.accession
    with django_assert_max_num_queries(1):
        response = client.get(f"{API}/analyses/{accession}/charts/{chart}.{chart_format}")
    assert response.status_code == 200
    assert response["Content-Type"] == chart_format.content_type
    assert response["Cache-Control"] == "private, max-age=300"
    assert f'filename="{accession}_{chart}.{chart_format}"' in response["Content-Disposition"]
    if chart_format is ChartFormat.SVG:
        assert accession in svg_text(response.content)
    else:
        assert png_size(response.content)[0] >= 600
    again = client.get(f"{API}/analyses/{accession}/charts/{chart}.{chart_format}")
    assert again.content == response.content


@pytest.mark.django_db
def test_analysis_chart_labels(client, annotated: Annotated):
    accession = annotated.public.accession
    pfam = svg_text(client.get(f"{API}/analyses/{accession}/charts/pfam.svg").content)
    assert "PF00005.31 ABC_tran" in pfam and "PF07690.20 MFS_1" in pfam
    assert "N50 912 bp" in svg_text(client.get(f"{API}/analyses/{accession}/charts/contig-lengths.svg").content)


@pytest.mark.django_db
@pytest.mark.parametrize("chart", list(StudyChart))
@pytest.mark.parametrize("chart_format", list(ChartFormat))
def test_study_chart_served(client, annotated: Annotated, chart, chart_format, django_assert_max_num_queries):
    accession = annotated.public_study.accession
    with django_assert_max_num_queries(2):
        response = client.get(f"{API}/studies/{accession}/charts/{chart}.{chart_format}")
    assert response.status_code == 200
    assert response["Content-Type"] == chart_format.content_type
    if chart_format is ChartFormat.SVG:
        text = svg_text(response.content)
        assert accession in text
        if chart is not StudyChart.ANALYSIS_STATES:
            assert annotated.public.accession in text and annotated.second.accession in text


@pytest.mark.django_db
def test_study_chart_by_ena_accession(client, annotated: Annotated):
    ena_accession = annotated.public_study.ena_accessions[0]
    response = client.get(f"{API}/studies/{ena_accession}/charts/analysis-states.svg")
    assert response.status_code == 200 and annotated.public_study.accession in svg_text(response.content)


@pytest.mark.django_db
def test_chart_listings(client, graph: Graph, annotated: Annotated, django_assert_max_num_queries):
    with django_assert_max_num_queries(1):
        charts = client.get(f"{API}/analyses/{annotated.public.accession}/charts").json()
    assert [chart["name"] for chart in charts] == [chart.value for chart in AnalysisChart]
    assert all(chart["available"] for chart in charts)
    assert charts[0]["svg"] == f"http://testserver{API}/analyses/{annotated.public.accession}/charts/quality.svg"
    for chart in charts:
        assert client.get(chart["png"]).status_code == 200
    bare = client.get(f"{API}/analyses/{graph.public_analysis.accession}/charts").json()
    assert not any(chart["available"] for chart in bare)  # results and QC, but no curves, histogram or annotations
    with django_assert_max_num_queries(2):
        study = client.get(f"{API}/studies/{annotated.public_study.accession}/charts").json()
    assert [chart["name"] for chart in study] == [chart.value for chart in StudyChart]
    assert all(chart["available"] for chart in study)


@pytest.mark.django_db
def test_missing_chart_data_is_404_naming_the_chart(client, graph: Graph, annotated: Annotated):
    accession = graph.public_analysis.accession
    for chart in AnalysisChart:
        response = client.get(f"{API}/analyses/{accession}/charts/{chart}.svg")
        assert response.status_code == 404, chart
        assert f"'{chart}'" in response.json()["detail"] and accession in response.json()["detail"]


@pytest.mark.django_db
def test_study_without_results_is_404_naming_the_chart(owner_client, graph: Graph):
    accession = graph.private_study.accession  # its one analysis has neither results nor annotations
    for chart in (StudyChart.ASSEMBLY_SUMMARY, StudyChart.PFAM_HEATMAP):
        response = owner_client.get(f"{API}/studies/{accession}/charts/{chart}.png")
        assert response.status_code == 404 and f"'{chart}'" in response.json()["detail"]
    assert owner_client.get(f"{API}/studies/{accession}/charts/analysis-states.png").status_code == 200


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/analyses/{analysis}/charts/heatmap.svg", "chart"),
        ("/analyses/{analysis}/charts/pfam.gif", "format"),
        ("/analyses/{analysis}/charts/pfam.SVG", "format"),
        ("/studies/{study}/charts/pfam.svg", "chart"),
        ("/studies/{study}/charts/analysis-states.jpeg", "format"),
    ],
)
def test_unknown_chart_or_format_is_422_naming_it(client, annotated: Annotated, path: str, parameter: str):
    url = path.format(analysis=annotated.public.accession, study=annotated.public_study.accession)
    response = client.get(f"{API}{url}")
    assert response.status_code == 422
    assert f"path.{parameter}" in response.json()["detail"]


@pytest.mark.django_db
def test_private_charts_are_404_to_anyone_but_the_owner(client, owner_client, annotated: Annotated):
    paths = analysis_chart_paths(annotated.private.accession) + study_chart_paths(annotated.private_study.accession)
    for path in paths:
        anonymous = client.get(f"{API}{path}")
        assert anonymous.status_code == 404, path
        assert anonymous["Content-Type"].startswith("application/json"), path
        assert owner_client.get(f"{API}{path}").status_code == 200, path


@pytest.mark.django_db
def test_study_charts_count_only_visible_analyses(client, owner_client, graph: Graph, annotated: Annotated):
    """The private analysis of a public study is left out of the study's charts for anyone but its owner."""
    from analyses.models import Analysis

    Analysis.objects.filter(pk=annotated.second.pk).update(is_private=True, webin_submitter="Webin-777")
    anonymous = svg_text(client.get(f"{API}/studies/{graph.public_study.accession}/charts/pfam-heatmap.svg").content)
    owner = svg_text(owner_client.get(f"{API}/studies/{graph.public_study.accession}/charts/pfam-heatmap.svg").content)
    assert annotated.second.accession not in anonymous and annotated.public.accession in anonymous
    assert annotated.second.accession in owner


# ---------------------------------------------------------------------------------------------- in a browser


@pytest.fixture
def browser() -> Iterator:
    with chromium() as browser:
        yield browser


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (scripts/setup.sh installs it)")
def test_every_chart_renders_in_chromium(annotated: Annotated, browser, live_server):

    out_dir = artifacts_dir()
    shots = screenshot_charts(
        browser,
        live_server.url,
        annotated.public.accession,
        annotated.public_study.accession,
        out_dir,
        expected_labels={
            "pfam": ["PF00005.31 ABC_tran"],
            "rrna": ["bacteria", "eukaryota"],
            "quality": ["read1", "read2", "after filtering"],
            "contig-lengths": ["N50 912 bp"],
            "pfam-heatmap": [annotated.public.accession, annotated.second.accession, "PF00005.31 ABC_tran"],
            "assembly-summary": [annotated.second.accession],
        },
    )
    charts = len(AnalysisChart) + len(StudyChart)
    assert len(shots) == 2 * charts + 1  # SVG and PNG of each, and fastp's report
    for shot in shots:
        assert shot.exists() and Image.open(shot).size[0] > 0
