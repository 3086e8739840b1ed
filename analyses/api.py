"""The read API for studies, samples, runs, assemblies, analyses and biomes (mounted at ``/api/v2/``).

Views are thin: they validate input (ninja schemas, :mod:`ena.accessions`) and call
:mod:`analyses.selectors`. Errors are 4xx with a ``detail`` message: 400 for a malformed accession
or lineage in the path (the path parameters document their patterns), 422 for a bad query parameter,
404 for anything missing *or private*, and a page past the last one. The statuses every operation may
get before its view runs (400, 401, 429) are documented by :func:`core.api.document_errors`.
Results, quality control, downloads and annotations (Pfam domains, rRNA genes) of an analysis are on their
own action endpoints so that lists and details stay small; each reads only its part of one JSON column.

Charts (:mod:`analyses.charts`) are served as SVG or PNG at ``/analyses/{accession}/charts/{chart}.{format}`` and
``/studies/{accession}/charts/{chart}.{format}``; ``.../charts`` lists them with their URLs and whether their data
exists. A chart whose data is missing is a 404 naming the chart; an unknown chart or format is a 422 naming the
parameter; a private analysis or study is a 404 to anyone but its owner and curators, as everywhere.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from matplotlib.figure import Figure
from ninja import Query, Router
from ninja.pagination import paginate

from analyses import selectors
from analyses.api_schemas import (
    AnalysisAccession,
    AnalysisChartName,
    AnalysisDetailOut,
    AnalysisFilters,
    AnalysisLinksOut,
    AnalysisOut,
    AssemblyDetailOut,
    AssemblyFilters,
    AssemblyKey,
    AssemblyOut,
    BiomeDetailOut,
    BiomeFilters,
    BiomeOut,
    ChartFormatPath,
    ChartOut,
    LineagePath,
    PfamHitFilters,
    ReportLinkOut,
    RunAccession,
    RunDetailOut,
    RunFilters,
    RunOut,
    SampleAccession,
    SampleDetailOut,
    SampleFilters,
    SampleOut,
    StudyAccession,
    StudyChartName,
    StudyDetailOut,
    StudyFilters,
    StudyOut,
    validate_lineage,
)
from analyses.charts import AnalysisChart, ChartFormat, StudyChart
from analyses.charts.lengths import contig_lengths_figure
from analyses.charts.pfam import pfam_heatmap_figure, top_domains, top_pfam_figure
from analyses.charts.quality import quality_figure
from analyses.charts.render import render
from analyses.charts.rrna import rrna_figure
from analyses.charts.study import AnalysisSummary, analysis_states_figure, assembly_summary_figure
from analyses.models import Analysis, Assembly, Biome, Run, Sample, Study
from analyses.schemas import AnalysisResults as AnalysisResultsOut
from analyses.schemas import (
    AssemblyStats,
    DownloadFile,
    LengthHistogram,
    PfamDomainCount,
    ProteinDomainHit,
    QualityControl,
    QualityCurve,
    RrnaAnnotations,
    RrnaCount,
)
from core.api import ErrorOut, ValidationErrorOut
from core.errors import NotFound
from core.pagination import PageNumberPagination
from drs import selectors as drs_selectors

router = Router()

#: A detail: 400 for a malformed accession (outside its pattern), 404 for one missing or private.
ERRORS = {400: ErrorOut, 404: ErrorOut, 422: ValidationErrorOut}
#: A list: 404 for a page past the last one, 422 for a bad filter or page.
LIST_ERRORS = {404: ErrorOut, 422: ValidationErrorOut}


# ---------------------------------------------------------------------------------------------- studies


@router.get("/studies", response={200: list[StudyOut], **LIST_ERRORS}, tags=["Studies"])
@paginate(PageNumberPagination)
def list_studies(request: HttpRequest, filters: StudyFilters = Query(...)):
    """List studies, newest first (best title match first when searching).

    :param filters: ``biome_lineage`` (this biome and below) and ``search`` (web-search syntax over titles)
    """
    return selectors.study_list(user=request.user, biome_lineage=filters.biome_lineage, search=filters.search)


@router.get("/studies/{accession}", response={200: StudyDetailOut, **ERRORS}, tags=["Studies"])
def get_study(request: HttpRequest, accession: StudyAccession) -> Study:
    """One study, by its MGYS accession or any ENA study accession (``PRJEB1234``, ``ERP001234``).

    :param accession: ``MGYS…``, ``PRJ…``, ``ERP…``, ``SRP…`` or ``DRP…``
    """
    return selectors.study_get(user=request.user, accession=accession, with_counts=True)


@router.get("/studies/{accession}/analyses", response={200: list[AnalysisOut], **ERRORS}, tags=["Studies"])
@paginate(PageNumberPagination)
def list_study_analyses(request: HttpRequest, accession: StudyAccession, filters: AnalysisFilters = Query(...)):
    """The analyses of one study, newest first, with the same filters as ``/analyses``.

    :param accession: the study's MGYS or ENA study accession
    """
    study = selectors.study_get(user=request.user, accession=accession)
    return selectors.analysis_list(user=request.user, study=study, **filters.selector_kwargs())


@router.get("/studies/{accession}/samples", response={200: list[SampleOut], **ERRORS}, tags=["Studies"])
@paginate(PageNumberPagination)
def list_study_samples(request: HttpRequest, accession: StudyAccession, filters: SampleFilters = Query(...)):
    """The samples of one study, newest first.

    :param accession: the study's MGYS or ENA study accession
    """
    study = selectors.study_get(user=request.user, accession=accession)
    return selectors.sample_list(user=request.user, study=study, biome_lineage=filters.biome_lineage)


# ---------------------------------------------------------------------------------------------- samples


@router.get("/samples", response={200: list[SampleOut], **LIST_ERRORS}, tags=["Samples"])
@paginate(PageNumberPagination)
def list_samples(request: HttpRequest, filters: SampleFilters = Query(...)):
    """List samples, newest first.

    :param filters: ``biome_lineage``: the sample's own biome is this one or below it
    """
    return selectors.sample_list(user=request.user, biome_lineage=filters.biome_lineage)


@router.get("/samples/{accession}", response={200: SampleDetailOut, **ERRORS}, tags=["Samples"])
def get_sample(request: HttpRequest, accession: SampleAccession) -> Sample:
    """One sample, by any of its ENA accessions (``SAMEA…``, ``ERS…``, ...).

    :param accession: an ENA sample accession
    """
    return selectors.sample_get(user=request.user, accession=accession)


# ---------------------------------------------------------------------------------------------- runs


@router.get("/runs", response={200: list[RunOut], **LIST_ERRORS}, tags=["Runs"])
@paginate(PageNumberPagination)
def list_runs(request: HttpRequest, filters: RunFilters = Query(...)):
    """List runs, newest first.

    :param filters: ``experiment_type``; ``biome_lineage`` (of the run's study)
    """
    return selectors.run_list(
        user=request.user, experiment_type=filters.experiment_type, biome_lineage=filters.biome_lineage
    )


@router.get("/runs/{accession}", response={200: RunDetailOut, **ERRORS}, tags=["Runs"])
def get_run(request: HttpRequest, accession: RunAccession) -> Run:
    """One run, by its ENA run accession (``ERR…``, ``SRR…``, ``DRR…``).

    :param accession: an ENA run accession
    """
    return selectors.run_get(user=request.user, accession=accession)


# ---------------------------------------------------------------------------------------------- analyses


@router.get("/analyses", response={200: list[AnalysisOut], **LIST_ERRORS}, tags=["Analyses"])
@paginate(PageNumberPagination)
def list_analyses(request: HttpRequest, filters: AnalysisFilters = Query(...)):
    """List analyses (without their results), newest first.

    :param filters: ``experiment_type``, ``state``, ``pipeline_name``, ``pipeline_version``,
        ``biome_lineage`` (of the analysis' study), ``include_superseded``
    """
    return selectors.analysis_list(user=request.user, **filters.selector_kwargs())


@router.get("/analyses/{accession}", response={200: AnalysisDetailOut, **ERRORS}, tags=["Analyses"])
def get_analysis(request: HttpRequest, accession: AnalysisAccession) -> Analysis:
    """One analysis by its MGYA accession: states, provenance, and whether results exist.

    ``links`` point at the action endpoints, the charts and fastp's HTML report of the reads.

    :param accession: ``MGYA…``
    """
    analysis = selectors.analysis_get(user=request.user, accession=accession)
    analysis.links = analysis_links(request, analysis)
    return analysis


def analysis_links(request: HttpRequest, analysis: Analysis) -> AnalysisLinksOut:
    """Absolute URLs of what the analysis detail leaves out, and the fastp report's DRS blob if published."""

    def url(name: str, **kwargs: str) -> str:
        return request.build_absolute_uri(reverse(f"api:{name}", kwargs={"accession": analysis.accession, **kwargs}))

    return AnalysisLinksOut(
        results=url("get_analysis_results"),
        quality_control=url("get_analysis_quality_control"),
        downloads=url("get_analysis_downloads"),
        pfam=url("list_analysis_pfam"),
        pfam_hits=url("list_analysis_pfam_hits"),
        rrna=url("get_analysis_rrna"),
        charts=url("list_analysis_charts"),
        fastp_report=fastp_report_link(analysis),
    )


def fastp_report_link(analysis: Analysis) -> ReportLinkOut | None:
    """The first published fastp HTML report among the analysis' downloads (``fastp_reports``), as a DRS link."""
    object_id = next(
        (item["drs_object_id"] for item in analysis.fastp_reports or [] if item.get("drs_object_id")), None
    )
    if object_id is None:
        return None
    if analysis.is_private:  # the blob is private too: its owner asks DRS for a signed URL
        url = drs_selectors.access_endpoint_url(object_id)
    else:
        url = drs_selectors.file_url(object_id)
    return ReportLinkOut(drs_object_id=object_id, drs_uri=drs_selectors.self_uri(object_id), url=url)


@router.get("/analyses/{accession}/results", response={200: AnalysisResultsOut, **ERRORS}, tags=["Analyses"])
def get_analysis_results(request: HttpRequest, accession: AnalysisAccession):
    """The results of an analysis (assembly statistics, predicted proteins, sequence stats, profile hits).

    404 while the analysis has no results yet.

    :param accession: ``MGYA…``
    """
    results = selectors.analysis_json(user=request.user, accession=accession, field="results")
    if results is None:
        raise NotFound(f"Analysis {accession} has no results yet")
    return results


@router.get("/analyses/{accession}/quality-control", response={200: QualityControl, **ERRORS}, tags=["Analyses"])
def get_analysis_quality_control(request: HttpRequest, accession: AnalysisAccession):
    """Read quality control of an analysis, before and after filtering. 404 while there is none yet.

    :param accession: ``MGYA…``
    """
    quality_control = selectors.analysis_json(user=request.user, accession=accession, field="quality_control")
    if quality_control is None:
        raise NotFound(f"Analysis {accession} has no quality control yet")
    return quality_control


@router.get("/analyses/{accession}/downloads", response={200: list[DownloadFile], **ERRORS}, tags=["Analyses"])
def get_analysis_downloads(request: HttpRequest, accession: AnalysisAccession):
    """The files an analysis produced, with sizes and checksums (an empty list until there are any).

    :param accession: ``MGYA…``
    """
    return selectors.analysis_json(user=request.user, accession=accession, field="downloads") or []


# ---------------------------------------------------------------------------------------------- annotations

PFAM_HITS = "$.pfam.hits[*]"


@router.get(
    "/analyses/{accession}/annotations/pfam",
    response={200: list[PfamDomainCount], **ERRORS},
    tags=["Annotations"],
)
@paginate(PageNumberPagination)
def list_analysis_pfam(request: HttpRequest, accession: AnalysisAccession):
    """Pfam models with domain hits in the analysis' predicted proteins, most domains first (as MGnify's
    ``/analyses/{id}/pfam-entries``): domains and proteins per model, and the cut-off that admitted them.

    404 while the analysis has no Pfam annotation; an annotation that found nothing is an empty list.
    The hits themselves are at ``/annotations/pfam/hits``.

    :param accession: ``MGYA…``
    """
    parts = selectors.analysis_json_parts(
        user=request.user, accession=accession, parts={"counts": ("annotations", "pfam", "counts")}
    )
    if parts["counts"] is None:
        raise NotFound(f"Analysis {accession} has no Pfam annotation")
    return top_domains([PfamDomainCount.model_validate(count) for count in parts["counts"]], limit=None)


@router.get(
    "/analyses/{accession}/annotations/pfam/hits",
    response={200: list[ProteinDomainHit], **ERRORS},
    tags=["Annotations"],
)
@paginate(PageNumberPagination)
def list_analysis_pfam_hits(request: HttpRequest, accession: AnalysisAccession, filters: PfamHitFilters = Query(...)):
    """Pfam domain hits per predicted protein, in hmmsearch's order: each hit that passed its model's cut-off,
    with its bit score, independent E-value and envelope. Paged inside the database.

    404 while the analysis has no Pfam annotation.

    :param accession: ``MGYA…``
    :param filters: ``accession``: only the hits of one Pfam model (``PF00005`` matches every version)
    """
    path, variables = PFAM_HITS, {}
    if filters.accession:
        variables = {"accession": filters.accession, "versioned": f"{filters.accession}."}
        path += " ? (@.accession == $accession || @.accession starts with $versioned)"
        if "." in filters.accession:
            path = PFAM_HITS + " ? (@.accession == $accession)"
    hits = selectors.analysis_json_array(
        user=request.user,
        accession=accession,
        column="annotations",
        container="$.pfam.hits",
        path=path,
        variables=variables,
    )
    if hits is None:
        raise NotFound(f"Analysis {accession} has no Pfam annotation")
    return hits


@router.get("/analyses/{accession}/rrna", response={200: RrnaAnnotations, **ERRORS}, tags=["Annotations"])
def get_analysis_rrna(request: HttpRequest, accession: AnalysisAccession):
    """rRNA genes found on the analysis' contigs (barrnap): counts per kingdom and gene type, then every gene
    with its contig, coordinates, strand, model and E-value.

    404 while the analysis has no rRNA annotation; one that found nothing has empty lists.

    :param accession: ``MGYA…``
    """
    parts = selectors.analysis_json_parts(
        user=request.user, accession=accession, parts={"rrna": ("annotations", "rrna")}
    )
    if parts["rrna"] is None:
        raise NotFound(f"Analysis {accession} has no rRNA annotation")
    return parts["rrna"]


# ---------------------------------------------------------------------------------------------- charts

#: The 200 of a chart, which ninja cannot describe from a return type: one of two image types.
CHART_OPENAPI = {
    "responses": {
        "200": {
            "description": "The chart, as `format` says: SVG (`image/svg+xml`, labels kept as text) or PNG "
            "(`image/png`, 120 dpi). The same data always gives the same bytes.",
            "headers": {
                "Cache-Control": {"description": "Cacheable by the browser only", "schema": {"type": "string"}}
            },
            "content": {
                ChartFormat.SVG.content_type: {"schema": {"type": "string"}},
                ChartFormat.PNG.content_type: {"schema": {"type": "string", "format": "binary"}},
            },
        }
    }
}
#: The browser may keep a chart a few minutes; shared caches never (it may be of a private analysis).
CHART_CACHE_CONTROL = "private, max-age=300"
#: No scripts or fetches from a chart; inline styles and embedded (data:) images, which matplotlib
#: writes for raster parts such as a colour bar, are allowed.
SVG_CONTENT_SECURITY_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


@dataclass(frozen=True)
class ChartSource:
    """Where a chart's data is, and how it is drawn.

    :param exists: a JSON column and an SQL/JSON path that finds something exactly when the chart can be drawn
    :param parts: what :func:`analyses.selectors.analysis_json_parts` reads; the first one is required
    :param draw: the figure, from the parts and a title
    :param missing: what the 404 says is missing
    """

    exists: tuple[str, str]
    parts: dict[str, selectors.JsonPart]
    draw: Callable[[dict[str, Any], str], Figure]
    missing: str


ANALYSIS_CHARTS: dict[AnalysisChart, ChartSource] = {
    AnalysisChart.QUALITY: ChartSource(
        exists=("quality_control", "$.quality_curves[0]"),
        parts={"curves": ("quality_control", "quality_curves")},
        draw=lambda parts, title: quality_figure(
            [QualityCurve.model_validate(curve) for curve in parts["curves"]], title=title
        ),
        missing="per-position read quality",
    ),
    AnalysisChart.CONTIG_LENGTHS: ChartSource(
        exists=("results", "$.contig_lengths.counts"),
        parts={"histogram": ("results", "contig_lengths"), "assembly": ("results", "assembly")},
        draw=lambda parts, title: contig_lengths_figure(
            LengthHistogram.model_validate(parts["histogram"]),
            assembly=AssemblyStats.model_validate(parts["assembly"]) if parts["assembly"] else None,
            title=title,
        ),
        missing="contig length histogram",
    ),
    AnalysisChart.PFAM: ChartSource(
        exists=("annotations", "$.pfam.counts"),
        parts={"counts": ("annotations", "pfam", "counts")},
        draw=lambda parts, title: top_pfam_figure(
            [PfamDomainCount.model_validate(count) for count in parts["counts"]], title=title
        ),
        missing="Pfam annotation",
    ),
    AnalysisChart.RRNA: ChartSource(
        exists=("annotations", "$.rrna.counts"),
        parts={"counts": ("annotations", "rrna", "counts")},
        draw=lambda parts, title: rrna_figure(
            [RrnaCount.model_validate(count) for count in parts["counts"]], title=title
        ),
        missing="rRNA annotation",
    ),
}
#: Where the study charts' data is: any of the study's analyses has something there.
STUDY_CHART_EXISTS: dict[StudyChart, tuple[str, str]] = {
    StudyChart.ASSEMBLY_SUMMARY: ("results", "$ ? (@.assembly.n50 >= 0 || @.predicted_proteins >= 0)"),
    StudyChart.PFAM_HEATMAP: ("annotations", "$.pfam.counts"),
}


def chart_response(figure: Figure, chart_format: ChartFormat, filename: str) -> HttpResponse:
    """The figure rendered, with its content type, a file name for saving, and cache headers.

    :param figure: the chart
    :param chart_format: svg or png
    :param filename: the name a browser saves it under, without extension
    """
    response = HttpResponse(render(figure, chart_format), content_type=chart_format.content_type)
    response["Content-Disposition"] = f'inline; filename="{filename}.{chart_format}"'
    response["Cache-Control"] = CHART_CACHE_CONTROL
    response["X-Content-Type-Options"] = "nosniff"
    if chart_format is ChartFormat.SVG:
        response["Content-Security-Policy"] = SVG_CONTENT_SECURITY_POLICY
    return response


def chart_links(request: HttpRequest, view: str, accession: str, chart: AnalysisChart | StudyChart) -> dict[str, str]:
    """The absolute SVG and PNG URLs of one chart."""
    return {
        chart_format.value: request.build_absolute_uri(
            reverse(f"api:{view}", kwargs={"accession": accession, "chart": chart.value, "format": chart_format.value})
        )
        for chart_format in ChartFormat
    }


@router.get("/analyses/{accession}/charts", response={200: list[ChartOut], **ERRORS}, tags=["Charts"])
def list_analysis_charts(request: HttpRequest, accession: AnalysisAccession) -> list[ChartOut]:
    """The charts of an analysis, with their SVG and PNG URLs and whether their data exists yet.

    :param accession: ``MGYA…``
    """
    available = selectors.analysis_json_paths_exist(
        user=request.user,
        accession=accession,
        paths={chart: source.exists for chart, source in ANALYSIS_CHARTS.items()},
    )
    return [
        ChartOut(
            name=chart.value,
            title=chart.title,
            available=available[chart],
            **chart_links(request, "get_analysis_chart", accession, chart),
        )
        for chart in AnalysisChart
    ]


@router.get(
    "/analyses/{accession}/charts/{chart}.{format}",
    response=ERRORS,
    tags=["Charts"],
    openapi_extra=CHART_OPENAPI,
)
def get_analysis_chart(
    request: HttpRequest, accession: AnalysisAccession, chart: AnalysisChartName, format: ChartFormatPath
) -> HttpResponse:
    """One chart of an analysis as SVG or PNG, e.g. ``/analyses/MGYA00000001/charts/pfam.svg``.

    ``quality``: mean quality per read position before and after fastp's filtering, per mate;
    ``contig-lengths``: the contig length histogram with the N50; ``pfam``: the 20 Pfam domains with most hits;
    ``rrna``: rRNA genes per kingdom and gene type. 404 naming the chart while its data is missing.

    :param accession: ``MGYA…``
    :param chart: the chart's name
    :param format: ``svg`` or ``png``
    """
    source = ANALYSIS_CHARTS[chart]
    parts = selectors.analysis_json_parts(user=request.user, accession=accession, parts=source.parts)
    if not parts[next(iter(source.parts))]:
        raise NotFound(f"Analysis {accession} has no {source.missing} for the {chart.value!r} chart yet")
    figure = source.draw(parts, f"{accession}: {chart.title}")
    return chart_response(figure, format, f"{accession}_{chart.value}")


@router.get("/studies/{accession}/charts", response={200: list[ChartOut], **ERRORS}, tags=["Charts"])
def list_study_charts(request: HttpRequest, accession: StudyAccession) -> list[ChartOut]:
    """The charts of a study's analyses, with their SVG and PNG URLs and whether their data exists yet.

    :param accession: the study's MGYS or ENA study accession
    """
    study = selectors.study_get(user=request.user, accession=accession)
    available = selectors.study_json_paths_exist(user=request.user, study=study, paths=STUDY_CHART_EXISTS)
    return [
        ChartOut(
            name=chart.value,
            title=chart.title,
            available=available.get(chart, True),
            **chart_links(request, "get_study_chart", study.accession, chart),
        )
        for chart in StudyChart
    ]


@router.get(
    "/studies/{accession}/charts/{chart}.{format}",
    response=ERRORS,
    tags=["Charts"],
    openapi_extra=CHART_OPENAPI,
)
def get_study_chart(
    request: HttpRequest, accession: StudyAccession, chart: StudyChartName, format: ChartFormatPath
) -> HttpResponse:
    """One chart of a study's analyses as SVG or PNG, e.g. ``/studies/MGYS00000001/charts/analysis-states.svg``.

    ``analysis-states``: the study's analyses by state; ``assembly-summary``: contig N50, contigs and predicted
    proteins per analysis; ``pfam-heatmap``: the most frequent Pfam domains across the analyses. The last two
    show the newest 50 analyses, and are a 404 naming the chart while no analysis has their data.

    :param accession: the study's MGYS or ENA study accession
    :param chart: the chart's name
    :param format: ``svg`` or ``png``
    """
    study = selectors.study_get(user=request.user, accession=accession)
    title = f"{study.accession}: {chart.title}"
    if chart is StudyChart.ANALYSIS_STATES:
        figure = analysis_states_figure(selectors.study_analysis_states(user=request.user, study=study), title=title)
    elif chart is StudyChart.ASSEMBLY_SUMMARY:
        rows = selectors.study_analysis_parts(
            user=request.user,
            study=study,
            parts={"assembly": ("results", "assembly"), "proteins": ("results", "predicted_proteins")},
        )
        summaries = [
            AnalysisSummary(
                accession=row["accession"],
                n50=(row["assembly"] or {}).get("n50"),
                contig_count=(row["assembly"] or {}).get("contig_count"),
                predicted_proteins=row["proteins"],
            )
            for row in rows
        ]
        if not any(summary.n50 is not None or summary.predicted_proteins is not None for summary in summaries):
            raise NotFound(f"No analysis of study {study.accession} has results for the {chart.value!r} chart yet")
        figure = assembly_summary_figure(summaries, title=title)
    else:
        rows = selectors.study_analysis_parts(
            user=request.user, study=study, parts={"counts": ("annotations", "pfam", "counts")}
        )
        counts = {
            row["accession"]: [PfamDomainCount.model_validate(count) for count in row["counts"]]
            for row in rows
            if row["counts"] is not None
        }
        if not counts:
            raise NotFound(
                f"No analysis of study {study.accession} has a Pfam annotation for the {chart.value!r} chart"
            )
        figure = pfam_heatmap_figure(counts, title=title)
    return chart_response(figure, format, f"{study.accession}_{chart.value}")


# ---------------------------------------------------------------------------------------------- assemblies


@router.get("/assemblies", response={200: list[AssemblyOut], **LIST_ERRORS}, tags=["Assemblies"])
@paginate(PageNumberPagination)
def list_assemblies(request: HttpRequest, filters: AssemblyFilters = Query(...)):
    """List assemblies, newest first.

    :param filters: ``status``; ``biome_lineage`` (of the assembly's study)
    """
    return selectors.assembly_list(user=request.user, status=filters.status, biome_lineage=filters.biome_lineage)


@router.get("/assemblies/{id_or_accession}", response={200: AssemblyDetailOut, **ERRORS}, tags=["Assemblies"])
def get_assembly(request: HttpRequest, id_or_accession: AssemblyKey) -> Assembly:
    """One assembly, by its numeric id, its ERZ accession or a GCA accession.

    :param id_or_accession: ``42``, ``ERZ1234567`` or ``GCA_000000001.1``
    """
    return selectors.assembly_get(user=request.user, id_or_accession=id_or_accession)


# ---------------------------------------------------------------------------------------------- biomes


@router.get("/biomes", response={200: list[BiomeOut], **LIST_ERRORS}, tags=["Biomes"])
@paginate(PageNumberPagination)
def list_biomes(request: HttpRequest, filters: BiomeFilters = Query(...)):
    """List biomes in lineage order.

    :param filters: ``biome_lineage``: only this biome and those below it
    """
    return selectors.biome_list(biome_lineage=filters.biome_lineage)


@router.get("/biomes/{lineage}", response={200: BiomeDetailOut, **ERRORS}, tags=["Biomes"])
def get_biome(request: HttpRequest, lineage: LineagePath) -> Biome:
    """One biome by its full lineage, e.g. ``root:Environmental:Aquatic:Marine``, with its children.

    :param lineage: the biome's lineage (URL-encode spaces)
    """
    try:
        validate_lineage(lineage)
    except ValueError as error:
        raise ValidationError(str(error)) from None
    return selectors.biome_get(lineage=lineage)
