"""Ninja schemas for the read API's responses and query filters.

The JSONField contents (results, quality control, downloads, provenance) are described by the plain
pydantic schemas in :mod:`analyses.schemas`; this module describes the envelope around them.
List schemas read only columns and prefetched relations (see :mod:`analyses.selectors`), so
serialising a page never issues a query per row.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated

from ninja import Field, Path, Schema
from pydantic import AfterValidator, WithJsonSchema

from analyses.charts import AnalysisChart, ChartFormat, StudyChart
from analyses.models import Analysis, Assembly, ExperimentType
from analyses.schemas import AnalysisStatusFlag, Provenance, StatusFlagValue
from core.model_schema import ModelOut
from ena.accessions import ACCESSION_PATTERNS, AccessionKind
from ena.read_files import UnusableReadFiles, select_stored_run_files
from ena.schemas import ImportReport

#: A GOLD-style lineage: ``root`` then ``:``-separated labels; no empty, padded or ``/``-containing labels.
LINEAGE_PATTERN = re.compile(r"root(?::[^:/\s\x00-\x1f](?:[^:/\x00-\x1f]{0,253}[^:/\s\x00-\x1f])?)*")
MAX_LINEAGE_LENGTH = 1024


def validate_lineage(lineage: str) -> str:
    """Return ``lineage`` if it looks like ``root:Environmental:Aquatic``; raise ValueError otherwise.

    :param lineage: the lineage to check
    :raises ValueError: naming the lineage and the expected form
    """
    if len(lineage) > MAX_LINEAGE_LENGTH or not LINEAGE_PATTERN.fullmatch(lineage):
        raise ValueError(
            f"{lineage[:80]!r} is not a valid biome lineage: expected 'root' followed by ':'-separated labels, "
            "e.g. 'root:Environmental:Aquatic'"
        )
    return lineage


#: The JSON schema of a lineage: :data:`LINEAGE_PATTERN`, anchored, and at most :data:`MAX_LINEAGE_LENGTH` long.
LINEAGE_JSON_SCHEMA = {"type": "string", "pattern": f"^(?:{LINEAGE_PATTERN.pattern})$", "maxLength": MAX_LINEAGE_LENGTH}

Lineage = Annotated[str, AfterValidator(validate_lineage), WithJsonSchema(LINEAGE_JSON_SCHEMA)]


# ---------------------------------------------------------------------------------------------- path parameters
#
# Path parameters document the accession rules of :mod:`ena.accessions` as patterns. The selectors check them (the
# same regular expressions), so a value outside its pattern is the documented 400 that names it, not a 422.


def accession_pattern(*alternatives: AccessionKind | str) -> str:
    """An anchored pattern matching exactly the accessions of ``alternatives`` (kinds, or plain regexes).

    :param alternatives: accession kinds of :data:`ena.accessions.ACCESSION_PATTERNS`, or regular expressions
    """
    parts = [ACCESSION_PATTERNS[item].pattern if isinstance(item, AccessionKind) else item for item in alternatives]
    return "^(?:" + "|".join(parts) + ")$"


STUDY_ACCESSION_PATTERN = accession_pattern(AccessionKind.MGNIFY_STUDY, AccessionKind.PROJECT, AccessionKind.STUDY)
SAMPLE_ACCESSION_PATTERN = accession_pattern(AccessionKind.BIOSAMPLE, AccessionKind.SAMPLE)
RUN_ACCESSION_PATTERN = accession_pattern(AccessionKind.RUN)
ANALYSIS_ACCESSION_PATTERN = accession_pattern(AccessionKind.MGNIFY_ANALYSIS)
#: A numeric id (as :func:`analyses.selectors.assembly_get` reads one: up to 18 digits), ERZ/SRZ/DRZ or GCA_.
ASSEMBLY_KEY_PATTERN = accession_pattern("[0-9]{1,18}", AccessionKind.ANALYSIS, AccessionKind.ASSEMBLY)

StudyAccession = Annotated[
    str,
    WithJsonSchema({"type": "string", "pattern": STUDY_ACCESSION_PATTERN}),
    Path(description="An MGYS accession or an ENA study accession (PRJ*, ERP/SRP/DRP)", example="MGYS00000001"),
]
SampleAccession = Annotated[
    str,
    WithJsonSchema({"type": "string", "pattern": SAMPLE_ACCESSION_PATTERN}),
    Path(description="An ENA sample accession (SAMEA/SAMN/SAMD, ERS/SRS/DRS)", example="SAMEA1234567"),
]
RunAccession = Annotated[
    str,
    WithJsonSchema({"type": "string", "pattern": RUN_ACCESSION_PATTERN}),
    Path(description="An ENA run accession (ERR/SRR/DRR)", example="ERR1234567"),
]
AnalysisAccession = Annotated[
    str,
    WithJsonSchema({"type": "string", "pattern": ANALYSIS_ACCESSION_PATTERN}),
    Path(description="An MGYA accession", example="MGYA00000001"),
]
AssemblyKey = Annotated[
    str,
    WithJsonSchema({"type": "string", "pattern": ASSEMBLY_KEY_PATTERN}),
    Path(description="The assembly's numeric id, its ERZ accession or a GCA accession", example="ERZ1234567"),
]
LineagePath = Annotated[
    str,
    WithJsonSchema(LINEAGE_JSON_SCHEMA),
    Path(description="A full biome lineage (URL-encode spaces)", example="root:Environmental:Aquatic:Marine"),
]
AnalysisChartName = Annotated[
    AnalysisChart,
    Path(description="Which chart of the analysis (``GET /analyses/{accession}/charts`` lists them)", example="pfam"),
]
StudyChartName = Annotated[
    StudyChart,
    Path(
        description="Which chart of the study (``GET /studies/{accession}/charts`` lists them)",
        example="analysis-states",
    ),
]
ChartFormatPath = Annotated[
    ChartFormat, Path(description="svg (``image/svg+xml``, text kept as text) or png (``image/png``)", example="svg")
]


# ---------------------------------------------------------------------------------------------- filters


class BiomeFilters(Schema):
    biome_lineage: Lineage | None = Field(
        None, description="Only this biome and those below it, e.g. root:Environmental:Aquatic"
    )


class StudyFilters(BiomeFilters):
    search: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description='Free text over titles, web-search syntax: words, "a phrase", -excluded, or',
    )


class SampleFilters(BiomeFilters):
    pass


class RunFilters(BiomeFilters):
    """``biome_lineage`` matches the biome of the run's study."""

    experiment_type: ExperimentType | None = None


class AnalysisFilters(BiomeFilters):
    """``biome_lineage`` matches the biome of the analysis' study; ``status`` is an alias of ``state``."""

    experiment_type: ExperimentType | None = None
    state: Analysis.State | None = None
    status: Analysis.State | None = Field(None, description="Same as state (for symmetry with assemblies)")
    pipeline_name: str | None = Field(None, min_length=1, max_length=64)
    pipeline_version: str | None = Field(None, min_length=1, max_length=32)
    include_superseded: bool = Field(False, description="Also list analyses replaced by a re-run")

    def selector_kwargs(self) -> dict:
        """The filters as keyword arguments of :func:`analyses.selectors.analysis_list`."""
        values = self.model_dump()
        status = values.pop("status")
        values["state"] = values["state"] or status
        return values


#: A Pfam accession, with or without its version (PF00069, PF00069.17).
PFAM_ACCESSION_PATTERN = r"^PF[0-9]{5}(?:\.[0-9]{1,4})?$"


class PfamHitFilters(Schema):
    accession: str | None = Field(
        None,
        pattern=PFAM_ACCESSION_PATTERN,
        description="Only hits of this Pfam model; without a version (PF00069) it matches every version",
        examples=["PF00005", "PF00005.31"],
    )


class AssemblyFilters(BiomeFilters):
    """``biome_lineage`` matches the biome of the assembly's study."""

    status: Assembly.Status | None = None


# ---------------------------------------------------------------------------------------------- biomes


class BiomeOut(ModelOut):
    biome_name: str
    lineage: str


class BiomeDetailOut(BiomeOut):
    depth: int
    children: list[BiomeOut] = Field(description="Biomes directly below this one")


# ---------------------------------------------------------------------------------------------- studies


class StudyOut(ModelOut):
    accession: str = Field(examples=["MGYS00000001"])
    ena_accessions: list[str] = Field(examples=[["PRJEB1234", "ERP001234"]])
    title: str
    biome: BiomeOut | None
    is_private: bool
    created_at: datetime
    updated_at: datetime


class ENAStudyOut(ModelOut):
    accession: str
    title: str
    fetched_at: datetime | None
    import_report: ImportReport | None = Field(
        description="What the last import found: records skipped with the field and file at fault, "
        "runs ENA no longer lists"
    )


class StudyDetailOut(StudyOut):
    ena_study: ENAStudyOut | None
    samples_count: int
    runs_count: int
    analyses_count: int


# ---------------------------------------------------------------------------------------------- samples


class SampleOut(ModelOut):
    accession: str | None = Field(
        validation_alias="first_ena_accession",
        examples=["SAMEA1234567"],
        description="The sample's first ENA accession",
    )
    ena_accessions: list[str]
    biome: BiomeOut | None
    is_private: bool
    created_at: datetime
    updated_at: datetime


class SampleDetailOut(SampleOut):
    title: str
    scientific_name: str
    tax_id: str
    studies: list[str] = Field(
        validation_alias="studies_accessions", description="Accessions (MGYS) of the studies the sample belongs to"
    )
    runs_count: int
    metadata: dict = Field(description="The sample record as ENA returned it")


# ---------------------------------------------------------------------------------------------- runs


class RunOut(ModelOut):
    accession: str | None = Field(
        validation_alias="first_ena_accession", examples=["ERR1234567"], description="The run's first ENA accession"
    )
    ena_accessions: list[str]
    study_accession: str
    sample_accession: str | None
    experiment_type: ExperimentType
    instrument_platform: str
    instrument_model: str
    is_private: bool
    created_at: datetime


class ReadFilesOut(Schema):
    """Which of the run's FASTQ files an analysis takes, by the rule of ``ena.read_files``."""

    layout: str | None = Field(description="single or paired; null when no pipeline can take the files")
    analysed: list[str] = Field(description="The files analysed, read 1 first")
    unpaired_not_analysed: str | None
    rule: str = Field(description="How the roles were decided, or why the files cannot be taken")


def read_files_of(ena_run) -> ReadFilesOut:
    try:
        selection = select_stored_run_files(ena_run)
    except UnusableReadFiles as unusable:
        return ReadFilesOut(layout=None, analysed=[], unpaired_not_analysed=None, rule=str(unusable))
    return ReadFilesOut(
        layout=selection.layout.value,
        analysed=selection.read_names,
        unpaired_not_analysed=selection.unpaired_name,
        rule=selection.rule,
    )


class RunDetailOut(RunOut):
    experiment_accession: str
    library_strategy: str
    library_layout: str
    library_source: str
    library_selection: str
    read_count: int | None
    base_count: int | None
    first_public: date | None
    metadata: dict = Field(description="Curator-editable platform metadata")
    read_files: ReadFilesOut

    @staticmethod
    def resolve_read_files(obj) -> ReadFilesOut:
        return read_files_of(obj.ena_run)


# ---------------------------------------------------------------------------------------------- assemblies


class AssemblyOut(ModelOut):
    id: int
    accession: str | None = Field(description="ERZ accession, once submitted to ENA")
    ena_accessions: list[str]
    study_accession: str
    run_accession: str | None
    assembler_name: str
    assembler_version: str
    status: Assembly.Status
    is_private: bool
    created_at: datetime

    @staticmethod
    def resolve_study_accession(obj) -> str:
        return obj.study.accession

    @staticmethod
    def resolve_run_accession(obj) -> str | None:
        return obj.run.first_ena_accession if obj.run_id else None


class AssemblyDetailOut(AssemblyOut):
    metadata: dict


# ---------------------------------------------------------------------------------------------- analyses


class AnalysisOut(ModelOut):
    accession: str = Field(examples=["MGYA00000001"])
    study_accession: str
    sample_accession: str | None
    run_accession: str | None
    assembly_accession: str | None = Field(description="ERZ accession, or the assembly's id if not yet submitted")
    experiment_type: ExperimentType
    pipeline_name: str
    pipeline_version: str
    state: Analysis.State
    is_superseded: bool
    is_private: bool
    created_at: datetime
    updated_at: datetime


class ReportLinkOut(Schema):
    """A file of the analysis published as a DRS blob, and where to fetch it."""

    drs_object_id: str
    drs_uri: str = Field(description="drs://host/id, for DRS clients")
    url: str = Field(
        description="Public: the file itself. Private: the DRS access endpoint, which answers the owner (or a "
        "curator) with a signed, expiring URL of the file"
    )


class AnalysisLinksOut(Schema):
    """Where the parts of an analysis kept off its detail are (absolute URLs)."""

    results: str
    quality_control: str
    downloads: str
    pfam: str = Field(description="Pfam domain counts (404 until the analysis has a Pfam annotation)")
    pfam_hits: str = Field(description="Pfam domain hits per protein, paginated")
    rrna: str = Field(description="rRNA genes per kingdom and gene type")
    charts: str = Field(description="The analysis' charts, with their SVG and PNG URLs")
    fastp_report: ReportLinkOut | None = Field(
        description="fastp's HTML report of the reads' quality control; null until it is published"
    )


class AnalysisDetailOut(AnalysisOut):
    status: dict[AnalysisStatusFlag, StatusFlagValue] = Field(description="Milestones, each with when it was set")
    provenance: Provenance | None
    has_results: bool
    has_quality_control: bool
    downloads_count: int
    links: AnalysisLinksOut


class ChartOut(Schema):
    """One chart, and whether its data exists yet (a chart whose data is missing is a 404)."""

    name: str = Field(examples=["pfam"])
    title: str
    available: bool = Field(description="Whether the data the chart draws exists (else its URLs answer 404)")
    svg: str = Field(description="The chart as SVG (absolute URL)")
    png: str = Field(description="The chart as PNG (absolute URL)")
