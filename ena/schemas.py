"""Pydantic schemas for the JSON that ENA models store."""

from __future__ import annotations

from pydantic import BaseModel, Field


class FastqFile(BaseModel):
    """One FASTQ file of a run, as ENA's filereport lists it (``fastq_ftp``/``fastq_md5``/``fastq_bytes``)."""

    url: str = Field(description="Download URL, with scheme")
    md5: str = Field(pattern=r"^[0-9a-f]{32}$")
    bytes: int = Field(ge=0)


FASTQ_FILES_SCHEMA = list[FastqFile]
