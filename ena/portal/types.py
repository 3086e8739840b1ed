"""Typed objects the client maps ENA's records into, and the fields it asks ENA for.

ENA returns every value as a string, absent values as empty strings, and multi-file fields as
``;``-joined strings in the same order. These models turn that into Python values; ``raw`` keeps
the record exactly as ENA sent it.
"""

from __future__ import annotations

from datetime import date
from typing import TypeVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from ena.schemas import FastqFile, SkippedRecord

T = TypeVar("T")

STUDY_FIELDS: tuple[str, ...] = (
    "study_accession",
    "secondary_study_accession",
    "study_title",
    "study_description",
    "tax_id",
    "scientific_name",
    "first_public",
    "center_name",
    "last_updated",
)

SAMPLE_FIELDS: tuple[str, ...] = (
    "sample_accession",
    "secondary_sample_accession",
    "sample_title",
    "tax_id",
    "scientific_name",
    "first_public",
    "collection_date",
    "country",
    "location",
    "lat",
    "lon",
    "environment_biome",
    "host_tax_id",
    "host_scientific_name",
    "last_updated",
)

RUN_FIELDS: tuple[str, ...] = (
    "run_accession",
    "experiment_accession",
    "sample_accession",
    "secondary_sample_accession",
    "study_accession",
    "secondary_study_accession",
    "library_strategy",
    "library_layout",
    "library_source",
    "library_selection",
    "instrument_platform",
    "instrument_model",
    "read_count",
    "base_count",
    "fastq_ftp",
    "fastq_md5",
    "fastq_bytes",
    "tax_id",
    "scientific_name",
    "first_public",
    "library_name",
    "nominal_length",
    "submitted_ftp",
    "sample_title",
    "host_tax_id",
    "host_scientific_name",
    "location",
    "lat",
    "lon",
    "last_updated",
)

ANALYSIS_FIELDS: tuple[str, ...] = (
    "analysis_accession",
    "study_accession",
    "sample_accession",
    "analysis_type",
    "first_public",
)


def _blank_to_none(value: object) -> object:
    return None if value == "" else value


class ENARecord(BaseModel):
    model_config = ConfigDict(frozen=True)

    raw: dict[str, str] = Field(default_factory=dict, description="The record as ENA returned it")


class ENAStudy(ENARecord):
    accession: str
    secondary_accessions: list[str] = []
    title: str = ""
    description: str = ""
    first_public: date | None = None

    @property
    def all_accessions(self) -> list[str]:
        return [self.accession, *[a for a in self.secondary_accessions if a != self.accession]]

    _none = field_validator("first_public", mode="before")(_blank_to_none)


class ENASample(ENARecord):
    accession: str
    secondary_accessions: list[str] = []
    title: str = ""
    tax_id: str = ""
    scientific_name: str = ""
    first_public: date | None = None

    @property
    def all_accessions(self) -> list[str]:
        return [self.accession, *[a for a in self.secondary_accessions if a != self.accession]]

    _none = field_validator("first_public", mode="before")(_blank_to_none)


class ENARun(ENARecord):
    accession: str
    experiment_accession: str = ""
    sample_accession: str = Field(
        description="The sample's BioSample accession, or its ERS/SRS/DRS one if ENA left it blank"
    )
    secondary_sample_accession: str = ""
    study_accession: str = ""
    secondary_study_accession: str = ""
    library_strategy: str = ""
    library_layout: str = ""
    library_source: str = ""
    library_selection: str = ""
    instrument_platform: str = ""
    instrument_model: str = ""
    read_count: int | None = None
    base_count: int | None = None
    fastq_files: list[FastqFile] = []
    tax_id: str = ""
    scientific_name: str = ""
    first_public: date | None = None

    @property
    def all_accessions(self) -> list[str]:
        return [self.accession]

    _none = field_validator("read_count", "base_count", "first_public", mode="before")(_blank_to_none)


class Listed(list[T]):
    """The records of a listing that could be used, plus those skipped (``skipped``), each with its reason."""

    def __init__(self, records: list[T] = (), skipped: list[SkippedRecord] = ()):
        super().__init__(records)
        self.skipped: list[SkippedRecord] = list(skipped)


class ENAStudyBundle(BaseModel):
    """A study with all its samples and runs, fetched before anything is written.

    ``skipped``: records ENA listed that could not be used, each with the field and file at fault.
    """

    study: ENAStudy
    samples: list[ENASample]
    runs: list[ENARun]
    skipped: list[SkippedRecord] = []
    data_portal: str = ""
    is_private: bool = False
    webin_submitter: str = ""
