"""The read API for studies, samples, runs, assemblies, analyses and biomes (mounted at ``/api/v2/``).

Views are thin: they validate input (ninja schemas, :mod:`ena.accessions`) and call
:mod:`analyses.selectors`. Errors are 4xx with a ``detail`` message: 400 for a malformed accession
or lineage in the path (the path parameters document their patterns), 422 for a bad query parameter,
404 for anything missing *or private*, and a page past the last one. The statuses every operation may
get before its view runs (400, 401, 429) are documented by :func:`core.api.document_errors`.
Results, quality control and downloads of an analysis are on their own action endpoints so that
lists and details stay small.
"""

from django.core.exceptions import ValidationError
from django.http import HttpRequest
from ninja import Query, Router
from ninja.pagination import paginate

from analyses import selectors
from analyses.api_schemas import (
    AnalysisAccession,
    AnalysisDetailOut,
    AnalysisFilters,
    AnalysisOut,
    AssemblyDetailOut,
    AssemblyFilters,
    AssemblyKey,
    AssemblyOut,
    BiomeDetailOut,
    BiomeFilters,
    BiomeOut,
    LineagePath,
    RunAccession,
    RunDetailOut,
    RunFilters,
    RunOut,
    SampleAccession,
    SampleDetailOut,
    SampleFilters,
    SampleOut,
    StudyAccession,
    StudyDetailOut,
    StudyFilters,
    StudyOut,
    validate_lineage,
)
from analyses.models import Analysis, Assembly, Biome, Run, Sample, Study
from analyses.schemas import AnalysisResults as AnalysisResultsOut
from analyses.schemas import DownloadFile, QualityControl
from core.api import ErrorOut, ValidationErrorOut
from core.errors import NotFound
from core.pagination import PageNumberPagination

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
    study = selectors.study_get(user=request.user, accession=accession)
    for name, value in selectors.study_counts(user=request.user, study=study).items():
        setattr(study, name, value)
    return study


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

    :param accession: ``MGYA…``
    """
    return selectors.analysis_get(user=request.user, accession=accession)


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
