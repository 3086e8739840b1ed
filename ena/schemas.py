"""Pydantic schemas for the JSON that ENA models store."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FastqFile(BaseModel):
    """One FASTQ file of a run, as ENA's filereport lists it (``fastq_ftp``/``fastq_md5``/``fastq_bytes``)."""

    url: str = Field(description="Download URL, with scheme")
    md5: str = Field(pattern=r"^[0-9a-f]{32}$")
    bytes: int = Field(ge=0)


FASTQ_FILES_SCHEMA = list[FastqFile]


class SkippedRecord(BaseModel):
    """A record ENA listed that the import left out, and exactly why (the record, the field, the file)."""

    result: str = Field(description="ENA's result type of the record: read_run or sample")
    accession: str = Field(description="The record's accession, blank if ENA gave none")
    field: str = Field(default="", description="The ENA field at fault, e.g. fastq_md5")
    file: str = Field(default="", description="The FASTQ file at fault, if the fault is about one")
    reason: str


class ImportReport(BaseModel):
    """What the last import of a study from ENA found: counts, what it skipped, what ENA no longer lists.

    No timestamp: an unchanged study's re-import writes nothing; the study's ``fetched_at`` says
    when the report (or any other ENA value) last changed.
    """

    data_portal: str = ""
    private: bool = False
    samples_listed: int = 0
    runs_listed: int = 0
    samples_imported: int = 0
    runs_imported: int = 0
    skipped: list[SkippedRecord] = []
    no_longer_listed: list[str] = Field(
        default=[], description="Runs imported before that ENA no longer lists (suppressed, withdrawn or made private)"
    )


IMPORT_REPORT_SCHEMA = ImportReport | None
