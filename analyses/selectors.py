"""Read functions for the analyses app, shaped so that the API never issues a query per row.

Rules followed here:

* List querysets have no JOINs: relation filters are ``<fk>_id__in=<subquery>``, and related objects
  that a list shows are loaded with ``prefetch_related`` (one extra query per relation, whatever the
  page size) restricted to the columns shown.
* Every list is ordered by a unique key, so pages are stable.
* Privacy: rows are filtered with :meth:`PrivacyQuerySet.visible_to`; rows that hang off a study are
  also hidden when their study is. Something invisible is reported exactly like something missing
  (``NotFound``, a 404), never as forbidden.
* Accessions are checked with :mod:`ena.accessions` before any query: a malformed one raises
  :class:`ena.accessions.InvalidAccessionError` (a 400 in the API).
"""

from __future__ import annotations

import json
from typing import Any

from django.contrib.postgres.aggregates import BoolOr
from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db.models import (
    BigIntegerField,
    BooleanField,
    CharField,
    Count,
    ExpressionWrapper,
    F,
    Func,
    IntegerField,
    JSONField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.fields.json import KeyTransform
from django.db.models.functions import Cast, Coalesce

from analyses.models import Analysis, Assembly, Biome, Run, Sample, Study, lineage_to_ltree_text
from analyses.public_counts import COUNTERS
from core.errors import NotFound
from core.expressions import InArrayOf
from core.ranked_search import RankedMatches
from core.visibility import sees_only_public
from ena.accessions import (
    RUN_KINDS,
    SAMPLE_KINDS,
    STUDY_KINDS,
    AccessionKind,
    InvalidAccessionError,
    accession_kind,
    validate_accession,
)

#: Columns an analysis list shows; the JSON result columns are left in the database.
ANALYSIS_LIST_COLUMNS = (
    "id",
    "accession",
    "study_id",
    "sample_id",
    "run_id",
    "assembly_id",
    "experiment_type",
    "pipeline_name",
    "pipeline_version",
    "state",
    "is_superseded",
    "is_private",
    "webin_submitter",
    "created_at",
    "updated_at",
)
ANALYSIS_JSON_COLUMNS = ("status", "quality_control", "results", "annotations", "downloads", "provenance")
#: The downloads that are fastp's HTML report (the pipelines' ``qc_html`` output, ``qc/fastp.html``).
FASTP_REPORT_PATH = r'$[*] ? (@.relative_path like_regex "(^|/)fastp\\.html$")'


# ---------------------------------------------------------------------------------------------- helpers


def _accessions_only(model: type, *extra: str) -> QuerySet:
    """A queryset for prefetching ``model`` with just what a list shows of it."""
    return model.objects.only("id", *extra)


def _mgnify_accession_of(model: type, foreign_key: str) -> Subquery:
    """The MGnify accession of the row ``foreign_key`` points at, read with the row that points."""
    return Subquery(model.objects.filter(pk=OuterRef(foreign_key)).values("accession")[:1])


def _first_ena_accession_of(model: type, foreign_key: str) -> Subquery:
    """The first ENA accession of the row ``foreign_key`` points at, read with the row that points."""
    return Subquery(model.objects.filter(pk=OuterRef(foreign_key)).values(first=F("ena_accessions__0"))[:1])


def biome_ids_under(lineage: str) -> QuerySet:
    """Ids of the biome ``lineage`` and all biomes below it, as a subquery (uses the GiST index on path).

    :param lineage: e.g. ``root:Environmental:Aquatic``
    """
    return Biome.objects.filter(path__descendant_of=lineage_to_ltree_text(lineage)).values("id")


def visible_studies(user: Any) -> QuerySet:
    """Studies ``user`` may see."""
    return Study.objects.visible_to(user)


def _visible_study_ids(user: Any) -> QuerySet:
    return visible_studies(user).values("id")


def _study_ids_in_biome(user: Any, biome_lineage: str | None) -> QuerySet:
    """The ids of the studies ``user`` may see, in the biome ``biome_lineage`` or below it if given.

    The biomes are matched as an array (``biome_id = ANY(ARRAY(…))``), not ``IN (subquery)``: then the studies
    are one table, unique by id, and a list can walk them lazily. Joined to the biomes, the planner hashed all
    3,800 studies under ``root:Host-associated:Human`` first, to make them unique: a bounded count of their
    analyses took 1.6 ms, now 0.5 ms.
    """
    studies = visible_studies(user)
    if biome_lineage:
        studies = studies.filter(InArrayOf("biome_id", biome_ids_under(biome_lineage)))
    return studies.values("id")


# ---------------------------------------------------------------------------------------------- biomes


def biome_list(*, biome_lineage: str | None = None) -> QuerySet:
    """All biomes in lineage order, optionally only ``biome_lineage`` and those below it.

    :param biome_lineage: a lineage prefix (whole labels), e.g. ``root:Host-associated``
    """
    biomes = Biome.objects.only("id", "biome_name", "lineage").order_by("lineage")
    if biome_lineage:
        biomes = biomes.filter(id__in=biome_ids_under(biome_lineage))
    return biomes


def biome_get(*, lineage: str) -> Biome:
    """The biome with exactly this lineage, with ``children`` (the biomes directly below it) attached.

    :param lineage: e.g. ``root:Environmental:Aquatic:Marine``
    :raises NotFound: when there is no such biome
    """
    biome = Biome.objects.filter(lineage=lineage).first()
    if biome is None:
        raise NotFound(f"No biome with lineage {lineage!r}")
    biome.children = list(
        Biome.objects.filter(path__descendant_of=biome.path, lineage__regex=rf"^[^:]+(:[^:]+){{{biome.depth}}}$")
        .only("id", "biome_name", "lineage")
        .order_by("lineage")
    )
    return biome


# ---------------------------------------------------------------------------------------------- studies


def study_list(*, user: Any, biome_lineage: str | None = None, search: str | None = None) -> QuerySet | RankedMatches:
    """Studies ``user`` may see, newest first; with ``search``, best title match first (then counted exactly,
    in the ranking's own pass: see :mod:`core.ranked_search`).

    :param user: the requesting user (anonymous users see public studies only)
    :param biome_lineage: only studies in this biome or below it
    :param search: web-search syntax over titles (``"a phrase" word -excluded``)
    """
    studies = (
        visible_studies(user)
        .defer("search_vector")  # searched and ranked in SQL, never shown
        .prefetch_related(Prefetch("biome", queryset=_accessions_only(Biome, "biome_name", "lineage")))
    )
    if biome_lineage:
        studies = studies.filter(biome_id__in=biome_ids_under(biome_lineage))
    if search:
        query = SearchQuery(search, search_type="websearch", config="english")
        return RankedMatches(studies.filter(search_vector=query), rank=SearchRank(F("search_vector"), query))
    return studies.order_by("-id")


def study_get(*, user: Any, accession: str, with_counts: bool = False) -> Study:
    """The study known by an MGYS accession or by any ENA study accession (PRJ*/ERP/SRP/DRP).

    When several MGnify studies mirror one ENA study, the oldest is returned.

    :param user: the requesting user
    :param accession: ``MGYS00000001``, ``PRJEB1234`` or ``ERP001234``
    :param with_counts: also read :func:`study_counts` as ``samples_count``, ``runs_count`` and
        ``analyses_count`` attributes, in the same query (a study detail's one round trip)
    :raises InvalidAccessionError: when ``accession`` is none of those kinds
    :raises NotFound: when no study the user may see has it
    """
    kind = validate_accession(
        accession, STUDY_KINDS | {AccessionKind.MGNIFY_STUDY}, expected="study (MGYS/PRJ*/ERP/SRP/DRP)"
    )
    studies = visible_studies(user).select_related("biome", "ena_study").defer("search_vector", "ena_study__metadata")
    if with_counts:
        counts = stored_public_counts() if sees_only_public(user) else study_counts(user=user, study_id=OuterRef("pk"))
        studies = studies.annotate(**counts)
    if kind == AccessionKind.MGNIFY_STUDY:
        study = studies.filter(accession=accession).first()
    else:
        study = studies.oldest_by_accession(accession)
    if study is None:
        raise NotFound(f"No study {accession}")
    return study


def stored_public_counts() -> dict[str, Coalesce]:
    """How many public samples, runs and (active) analyses a study has, read from the counts its triggers keep
    (:class:`analyses.models.StudyPublicCounts`, one joined row): for callers who see public rows alone."""
    return {
        f"{counter}_count": Coalesce(F(f"public_counts__{counter}"), Value(0), output_field=BigIntegerField())
        for counter in COUNTERS
    }


def study_counts(*, user: Any, study_id: int | OuterRef) -> dict[str, Subquery]:
    """How many samples, runs and (active) analyses of a study the user may see, as count subqueries.

    Counted live, in time proportional to the study: for callers who may see private rows, whose counts
    differ from the public ones kept ahead (:func:`stored_public_counts`).

    The study is visible (the caller reads it in the same query): only each row's own visibility is left to
    check, and the counts are index-only scans (``analysis_study_id``, ``run_study_id``, the M2M table's
    ``(study_id, sample_id)``), exact however large the study.

    :param user: the requesting user
    :param study_id: the study's id, or ``OuterRef("pk")`` inside a query of studies
    """
    counts = {
        "samples_count": Sample.objects.visible_to(user).filter(InArrayOf("id", _sample_ids_of(study_id))),
        "runs_count": Run.objects.visible_to(user).filter(study_id=study_id),
        "analyses_count": Analysis.objects.visible_to(user).filter(study_id=study_id, is_superseded=False),
    }
    return {name: _count_of(rows) for name, rows in counts.items()}


def _sample_ids_of(study_id: int | OuterRef) -> QuerySet:
    """The ids of the study's samples, as a subquery (the M2M table's ``(study_id, sample_id)`` index)."""
    if isinstance(study_id, OuterRef):
        study_id = OuterRef(study_id)  # one level deeper: inside the count's own subquery
    return Sample.studies.through.objects.filter(study_id=study_id).values("sample_id")


def _count_of(rows: QuerySet) -> Subquery:
    """``(SELECT COUNT(*) FROM …)`` of ``rows``, to read several counts in one query."""
    return Subquery(rows.order_by().values(n=Func(function="COUNT", template="COUNT(*)", output_field=IntegerField())))


# ---------------------------------------------------------------------------------------------- samples


def sample_list(*, user: Any, biome_lineage: str | None = None, study: Study | None = None) -> QuerySet:
    """Samples ``user`` may see, newest first.

    :param user: the requesting user
    :param biome_lineage: only samples whose own biome is this one or below it
    :param study: only samples of this study
    """
    samples = (
        Sample.objects.visible_to(user)
        .only("id", "ena_accessions", "biome_id", "is_private", "webin_submitter", "created_at", "updated_at")
        .prefetch_related(Prefetch("biome", queryset=_accessions_only(Biome, "biome_name", "lineage")))
    )
    if biome_lineage:
        samples = samples.filter(biome_id__in=biome_ids_under(biome_lineage))
    if study is not None:
        samples = samples.filter(InArrayOf("id", _sample_ids_of(study.id)))
    return samples.order_by("-id")


def sample_get(*, user: Any, accession: str) -> Sample:
    """The sample known by this ENA sample accession (SAM*/ERS/SRS/DRS).

    :param user: the requesting user
    :param accession: e.g. ``SAMEA1234567`` or ``ERS1234567``
    :raises InvalidAccessionError: for a malformed or non-sample accession
    :raises NotFound: when no sample the user may see has it
    """
    validate_accession(accession, SAMPLE_KINDS, expected="ENA sample (SAM*/ERS/SRS/DRS)")
    sample = Sample.objects.visible_to(user).select_related("biome", "ena_sample").oldest_by_accession(accession)
    if sample is None:
        raise NotFound(f"No sample {accession}")
    sample.title = sample.ena_sample.title
    sample.scientific_name = sample.ena_sample.scientific_name
    sample.tax_id = sample.ena_sample.tax_id
    sample.metadata = sample.ena_sample.metadata
    sample.studies_accessions = list(
        visible_studies(user).filter(samples=sample).order_by("accession").values_list("accession", flat=True)
    )
    sample.runs_count = run_list(user=user).filter(sample_id=sample.id).count()
    return sample


# ---------------------------------------------------------------------------------------------- runs


def _with_run_relations(runs: QuerySet) -> QuerySet:
    """Runs with ``study_accession`` and ``sample_accession``: a subquery each on the page's rows, where
    prefetching the study and sample would be a query each."""
    return runs.annotate(
        study_accession=_mgnify_accession_of(Study, "study_id"),
        sample_accession=_first_ena_accession_of(Sample, "sample_id"),
    )


def run_list(
    *, user: Any, experiment_type: str | None = None, biome_lineage: str | None = None, study: Study | None = None
) -> QuerySet:
    """Runs ``user`` may see (and whose study they may see), newest first.

    :param user: the requesting user
    :param experiment_type: an :class:`analyses.models.ExperimentType` value
    :param biome_lineage: only runs whose study's biome is this one or below it
    :param study: only runs of this study
    """
    runs = Run.objects.visible_to(user).filter(study_id__in=_study_ids_in_biome(user, biome_lineage)).defer("metadata")
    runs = _with_run_relations(runs)
    if experiment_type:
        runs = runs.filter(experiment_type=experiment_type)
    if study is not None:
        runs = runs.filter(study_id=study.id)
    return runs.order_by("-id")


def run_get(*, user: Any, accession: str) -> Run:
    """The run known by this ENA run accession (ERR/SRR/DRR).

    :param user: the requesting user
    :param accession: e.g. ``ERR1234567``
    :raises InvalidAccessionError: for a malformed or non-run accession
    :raises NotFound: when no run the user may see has it
    """
    validate_accession(accession, RUN_KINDS, expected="ENA run (ERR/SRR/DRR)")
    runs = Run.objects.visible_to(user).filter(study_id__in=_visible_study_ids(user)).select_related("ena_run")
    run = _with_run_relations(runs).oldest_by_accession(accession)
    if run is None:
        raise NotFound(f"No run {accession}")
    for field in (
        "experiment_accession",
        "library_strategy",
        "library_layout",
        "library_source",
        "library_selection",
        "read_count",
        "base_count",
        "first_public",
    ):
        setattr(run, field, getattr(run.ena_run, field))
    return run


# ---------------------------------------------------------------------------------------------- assemblies


def _assembly_prefetches() -> tuple[Prefetch, ...]:
    return (
        Prefetch("study", queryset=_accessions_only(Study, "accession")),
        Prefetch("run", queryset=_accessions_only(Run, "ena_accessions")),
    )


def assembly_list(*, user: Any, status: str | None = None, biome_lineage: str | None = None) -> QuerySet:
    """Assemblies ``user`` may see, newest first.

    :param user: the requesting user
    :param status: an :class:`analyses.models.Assembly.Status` value
    :param biome_lineage: only assemblies whose study's biome is this one or below it
    """
    assemblies = (
        Assembly.objects.visible_to(user)
        .filter(study_id__in=_study_ids_in_biome(user, biome_lineage))
        .defer("metadata")
        .prefetch_related(*_assembly_prefetches())
    )
    if status:
        assemblies = assemblies.filter(status=status)
    return assemblies.order_by("-id")


def assembly_get(*, user: Any, id_or_accession: str) -> Assembly:
    """The assembly with this numeric id, ERZ accession, or GCA accession (one of its ENA accessions).

    :param user: the requesting user
    :param id_or_accession: ``42``, ``ERZ1234567`` or ``GCA_000000001.1``
    :raises InvalidAccessionError: when it is neither a positive integer nor an assembly accession
    :raises NotFound: when no assembly the user may see has it
    """
    assemblies = (
        Assembly.objects.visible_to(user)
        .filter(study_id__in=_visible_study_ids(user))
        .prefetch_related(*_assembly_prefetches())
    )
    if id_or_accession.isascii() and id_or_accession.isdigit() and len(id_or_accession) <= 18:
        assembly = assemblies.filter(id=int(id_or_accession)).first()
    else:
        kind = accession_kind(id_or_accession)
        if kind == AccessionKind.ANALYSIS:
            known = assemblies.filter(Q(accession=id_or_accession) | Q(ena_accessions__contains=[id_or_accession]))
            assembly = min(known, key=lambda row: row.pk, default=None)  # no ORDER BY: see oldest_by_accession
        elif kind == AccessionKind.ASSEMBLY:
            assembly = assemblies.oldest_by_accession(id_or_accession)
        else:
            raise InvalidAccessionError(id_or_accession, "assembly (a numeric id, ERZ/SRZ/DRZ or GCA_)")
    if assembly is None:
        raise NotFound(f"No assembly {id_or_accession}")
    return assembly


# ---------------------------------------------------------------------------------------------- analyses


def _with_analysis_relations(analyses: QuerySet) -> QuerySet:
    """Analyses with the accessions of their study, sample, run and assembly (an assembly not yet submitted
    to ENA shows its id): a subquery each on the page's rows, where prefetching would be a query each."""
    return analyses.annotate(
        study_accession=_mgnify_accession_of(Study, "study_id"),
        sample_accession=_first_ena_accession_of(Sample, "sample_id"),
        run_accession=_first_ena_accession_of(Run, "run_id"),
        assembly_accession=Coalesce(
            _mgnify_accession_of(Assembly, "assembly_id"), Cast("assembly_id", CharField()), output_field=CharField()
        ),
    )


def analysis_list(
    *,
    user: Any,
    study: Study | None = None,
    experiment_type: str | None = None,
    state: str | None = None,
    pipeline_name: str | None = None,
    pipeline_version: str | None = None,
    biome_lineage: str | None = None,
    include_superseded: bool = False,
) -> QuerySet:
    """Analyses ``user`` may see (and whose study they may see), newest first, without their JSON results.

    :param user: the requesting user
    :param study: only analyses of this study
    :param experiment_type: an :class:`analyses.models.ExperimentType` value
    :param state: an :class:`analyses.models.Analysis.State` value
    :param pipeline_name: exact pipeline name
    :param pipeline_version: exact pipeline version
    :param biome_lineage: only analyses whose study's biome is this one or below it
    :param include_superseded: also analyses replaced by a re-run
    """
    analyses = (
        Analysis.objects.visible_to(user)
        .filter(study_id__in=_study_ids_in_biome(user, biome_lineage))
        .only(*ANALYSIS_LIST_COLUMNS)
    )
    analyses = _with_analysis_relations(analyses)
    filters = {
        "study_id": study.id if study is not None else None,
        "experiment_type": experiment_type,
        "state": state,
        "pipeline_name": pipeline_name,
        "pipeline_version": pipeline_version,
    }
    analyses = analyses.filter(**{name: value for name, value in filters.items() if value is not None})
    if not include_superseded:
        analyses = analyses.filter(is_superseded=False)
    return analyses.order_by("-id")


def visible_analyses_by_accession(user: Any, accession: str) -> QuerySet:
    """The analyses ``accession`` names that ``user`` may see, in a study they may see (the one rule for both).

    :raises InvalidAccessionError: for a malformed accession
    """
    validate_accession(accession, {AccessionKind.MGNIFY_ANALYSIS}, expected="MGnify analysis (MGYA)")
    return Analysis.objects.visible_to(user).filter(accession=accession, study_id__in=_visible_study_ids(user))


def analysis_get(*, user: Any, accession: str) -> Analysis:
    """The analysis with this MGYA accession, without its large JSON columns.

    Annotated with ``has_results``, ``has_quality_control``, ``downloads_count`` and ``fastp_reports`` (the
    downloads that are fastp's HTML report) so that callers can point at the action endpoints and the report
    without loading what they return.

    :param user: the requesting user
    :param accession: e.g. ``MGYA00000001``
    :raises InvalidAccessionError: for a malformed accession
    :raises NotFound: when no analysis the user may see has it
    """
    analysis = (
        _with_analysis_relations(visible_analyses_by_accession(user, accession))
        .defer("results", "annotations", "quality_control", "downloads")
        .annotate(
            has_results=ExpressionWrapper(Q(results__isnull=False), output_field=BooleanField()),
            has_quality_control=ExpressionWrapper(Q(quality_control__isnull=False), output_field=BooleanField()),
            downloads_count=Func(F("downloads"), function="jsonb_array_length", output_field=IntegerField()),
            fastp_reports=JsonPathArray("downloads", FASTP_REPORT_PATH),
        )
        .first()
    )
    if analysis is None:
        raise NotFound(f"No analysis {accession}")
    return analysis


def analysis_json(*, user: Any, accession: str, field: str) -> Any:
    """One JSON column (``results``, ``quality_control``, ``downloads``, ...) of an analysis, alone.

    :param user: the requesting user
    :param accession: e.g. ``MGYA00000001``
    :param field: one of :data:`ANALYSIS_JSON_COLUMNS`
    :raises InvalidAccessionError: for a malformed accession
    :raises NotFound: when no analysis the user may see has it
    """
    if field not in ANALYSIS_JSON_COLUMNS:
        raise ValueError(f"{field!r} is not a JSON column of Analysis")
    rows = list(visible_analyses_by_accession(user, accession).values_list(field, flat=True)[:1])
    if not rows:
        raise NotFound(f"No analysis {accession}")
    return rows[0]


# ---------------------------------------------------------------------------------------------- parts of JSON columns
#
# Annotation tables and chart data are read as parts of one JSON column (``annotations -> 'pfam' -> 'counts'``), so
# that Postgres sends only what the endpoint shows; the large parts (every Pfam hit) are paged inside Postgres.


class JsonPathExists(Func):
    """``jsonb_path_exists(column, path)``: whether an SQL/JSON path finds anything in a JSON column."""

    output_field = BooleanField()

    def __init__(self, column: str, path: str):
        super().__init__(F(column))
        self.path = path

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        column_sql, params = compiler.compile(self.get_source_expressions()[0])
        return f"jsonb_path_exists({column_sql}, %s::jsonpath)", [*params, self.path]


class JsonPathArray(Func):
    """``jsonb_path_query_array(json, path, vars)``: what an SQL/JSON path finds, as one JSON array.

    The path is a constant of the caller's; values from a request go in ``variables`` (``$name`` in the path).
    """

    output_field = JSONField()

    def __init__(self, source: Any, path: str, variables: dict[str, Any] | None = None):
        super().__init__(F(source) if isinstance(source, str) else source)
        self.path, self.variables = path, variables or {}

    def as_sql(self, compiler: Any, connection: Any, **extra: Any) -> tuple[str, list]:
        source_sql, params = compiler.compile(self.get_source_expressions()[0])
        sql = f"jsonb_path_query_array({source_sql}, %s::jsonpath, %s::jsonb)"
        return sql, [*params, self.path, json.dumps(self.variables)]


#: A part of an analysis' JSON columns: the column, then the keys down to the part.
JsonPart = tuple[str, ...]


def _json_part(part: JsonPart) -> Any:
    column, *keys = part
    if column not in ANALYSIS_JSON_COLUMNS:
        raise ValueError(f"{column!r} is not a JSON column of Analysis")
    expression: Any = F(column)
    for key in keys:
        expression = KeyTransform(key, expression)
    return expression


def analysis_json_parts(*, user: Any, accession: str, parts: dict[str, JsonPart]) -> dict[str, Any]:
    """Parts of an analysis' JSON columns, in one query that reads nothing else: ``{name: value or None}``.

    :param user: the requesting user
    :param accession: e.g. ``MGYA00000001``
    :param parts: by name, a column of :data:`ANALYSIS_JSON_COLUMNS` then keys, e.g. ``("annotations", "rrna")``
    :raises InvalidAccessionError: for a malformed accession
    :raises NotFound: when no analysis the user may see has it
    """
    expressions = {f"part_{name}": _json_part(part) for name, part in parts.items()}
    rows = list(visible_analyses_by_accession(user, accession).values(**expressions)[:1])
    if not rows:
        raise NotFound(f"No analysis {accession}")
    return {name: rows[0][f"part_{name}"] for name in parts}


def analysis_json_paths_exist(*, user: Any, accession: str, paths: dict[str, tuple[str, str]]) -> dict[str, bool]:
    """Whether each SQL/JSON path finds something in an analysis' JSON columns, in one query.

    :param user: the requesting user
    :param accession: e.g. ``MGYA00000001``
    :param paths: by name, a column of :data:`ANALYSIS_JSON_COLUMNS` and a path, e.g. ``("results", "$.assembly")``
    :raises NotFound: when no analysis the user may see has it
    """
    if any(column not in ANALYSIS_JSON_COLUMNS for column, _path in paths.values()):
        raise ValueError(f"Not JSON columns of Analysis: {paths}")
    expressions = {f"has_{name}": JsonPathExists(column, path) for name, (column, path) in paths.items()}
    rows = list(visible_analyses_by_accession(user, accession).values(**expressions)[:1])
    if not rows:
        raise NotFound(f"No analysis {accession}")
    return {name: bool(rows[0][f"has_{name}"]) for name in paths}


class JsonArrayPage:
    """The items an SQL/JSON path finds in one analysis' JSON column, paged by Postgres.

    Quacks like the querysets :class:`core.pagination.PageNumberPagination` pages: ``all().count()`` (known
    already: counted with the existence check) and a slice, which is one query returning only that page.
    """

    def __init__(self, rows: QuerySet, column: str, path: str, variables: dict[str, Any], count: int):
        self.rows, self.column, self.path, self.variables, self._count = rows, column, path, variables, count

    def all(self) -> JsonArrayPage:
        return self

    def count(self) -> int:
        return self._count

    def __len__(self) -> int:
        return self._count

    def __getitem__(self, window: slice) -> list[Any]:
        start, stop, _step = window.indices(self._count)
        if stop <= start:
            return []
        found = JsonPathArray(self.column, self.path, self.variables)
        page = JsonPathArray(found, "$[$first to $last]", {"first": start, "last": stop - 1})
        return list(self.rows.values_list(page, flat=True)[:1])[0] or []


def analysis_json_array(
    *, user: Any, accession: str, column: str, container: str, path: str, variables: dict[str, Any] | None = None
) -> JsonArrayPage:
    """A pageable array inside an analysis' JSON column, e.g. the Pfam hits of one model.

    :param user: the requesting user
    :param accession: e.g. ``MGYA00000001``
    :param column: one of :data:`ANALYSIS_JSON_COLUMNS`
    :param container: an SQL/JSON path that must exist for the array to (``$.pfam.hits``): else ``None``
    :param path: the SQL/JSON path of the items (``$.pfam.hits[*] ? (@.accession == $accession)``)
    :param variables: the path's variables
    :returns: the pageable items, or ``None`` when ``container`` is missing
    :raises NotFound: when no analysis the user may see has it
    """
    if column not in ANALYSIS_JSON_COLUMNS:
        raise ValueError(f"{column!r} is not a JSON column of Analysis")
    variables = variables or {}
    rows = visible_analyses_by_accession(user, accession)
    found = list(
        rows.values_list(
            JsonPathExists(column, container),
            Func(JsonPathArray(column, path, variables), function="jsonb_array_length", output_field=IntegerField()),
        )[:1]
    )
    if not found:
        raise NotFound(f"No analysis {accession}")
    exists, count = found[0]
    return JsonArrayPage(rows, column, path, variables, count) if exists else None


# ---------------------------------------------------------------------------------------------- study charts

#: Most analyses a study chart shows (the newest), so that a study of thousands still draws in a moment.
STUDY_CHART_ANALYSES = 50


def _study_analyses(user: Any, study: Study) -> QuerySet:
    return Analysis.objects.visible_to(user).filter(study_id=study.id, is_superseded=False)


def study_analysis_states(*, user: Any, study: Study) -> dict[str, int]:
    """How many of the study's active analyses the user may see are in each state (every state, in order).

    :param user: the requesting user
    :param study: a study the user may see
    """
    counted = dict(_study_analyses(user, study).order_by().values_list("state").annotate(n=Count("id")))
    return {state: counted.get(state, 0) for state in Analysis.State.values}


def study_analysis_parts(*, user: Any, study: Study, parts: dict[str, JsonPart]) -> list[dict[str, Any]]:
    """Parts of the JSON columns of the study's newest active analyses (at most :data:`STUDY_CHART_ANALYSES`).

    One query; each row is ``{"accession": ..., name: value or None}``, ordered by accession.

    :param user: the requesting user
    :param study: a study the user may see
    :param parts: by name, a column of :data:`ANALYSIS_JSON_COLUMNS` then keys
    """
    expressions = {f"part_{name}": _json_part(part) for name, part in parts.items()}
    rows = _study_analyses(user, study).order_by("-id").values("accession", **expressions)[:STUDY_CHART_ANALYSES]
    return sorted(
        ({"accession": row["accession"], **{name: row[f"part_{name}"] for name in parts}} for row in rows),
        key=lambda row: row["accession"],
    )


def study_json_paths_exist(*, user: Any, study: Study, paths: dict[str, tuple[str, str]]) -> dict[str, bool]:
    """Whether any of the study's active analyses has something at each SQL/JSON path, in one query.

    :param user: the requesting user
    :param study: a study the user may see
    :param paths: by name, a column of :data:`ANALYSIS_JSON_COLUMNS` and a path
    """
    aggregates = {f"has_{name}": BoolOr(JsonPathExists(column, path)) for name, (column, path) in paths.items()}
    found = _study_analyses(user, study).aggregate(**aggregates)
    return {name: bool(found[f"has_{name}"]) for name in paths}
