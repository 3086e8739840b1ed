"""Typed errors of the ENA Portal API client. Every message names the accession and the URL."""

from __future__ import annotations

from ena.schemas import SkippedRecord


class ENAError(Exception):
    """Base of every error the ENA client raises.

    :param message: what went wrong, in one line
    :param accession: the accession the request was about (may be empty for free queries)
    :param url: the URL that was asked (never contains credentials)
    """

    def __init__(self, message: str, *, accession: str = "", url: str = ""):
        self.accession = accession
        self.url = url
        self.detail = message
        parts = [message]
        if accession:
            parts.append(f"accession {accession}")
        if url:
            parts.append(f"url {url}")
        super().__init__("; ".join(parts))


class ENAAccessionNotFound(ENAError):
    """ENA knows nothing (public, or visible to our Webin account) under this accession."""


class ENAMalformedResponse(ENAError):
    """ENA answered, but not with what the Portal API promises (bad JSON, missing fields, bad values)."""


class ENATooManyRetries(ENAError):
    """ENA kept failing (429, 5xx, timeouts, truncated bodies) after every retry allowed."""

    def __init__(
        self, message: str, *, accession: str = "", url: str = "", attempts: int = 0, last_status: int | None = None
    ):
        self.attempts = attempts
        self.last_status = last_status
        super().__init__(message, accession=accession, url=url)


class ENABadRequest(ENAError):
    """ENA refused the request itself (HTTP 4xx other than 401/403/404/429): a bug in the query, not a fault."""

    def __init__(self, message: str, *, accession: str = "", url: str = "", status: int = 400):
        self.status = status
        super().__init__(message, accession=accession, url=url)


class ENAAuthenticationError(ENAError):
    """ENA refused our Webin credentials (HTTP 401/403). The message names the account, never the password."""


class ENADownloadError(ENAError):
    """A FASTQ file could not be downloaded (after retries)."""


class ENAChecksumMismatch(ENADownloadError):
    """A downloaded FASTQ file's md5 or size differs from what ENA advertises; the file was not kept."""


class ENARecordError(ENAMalformedResponse):
    """One record ENA listed is unusable; the message names the record, the field and the file.

    A listing skips such a record (:meth:`skipped`) and goes on; a single-record lookup raises it.
    """

    def __init__(self, message: str, *, result: str, record: str, field: str = "", file: str = "", url: str = ""):
        self.result = result
        self.record = record
        self.field = field
        self.file = file
        super().__init__(message, accession=record, url=url)

    def skipped(self) -> SkippedRecord:
        return SkippedRecord(
            result=self.result, accession=self.record, field=self.field, file=self.file, reason=self.detail
        )
