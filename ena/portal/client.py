"""The ENA Portal API client: httpx, explicit fields, paging, retries with backoff, a rate limit.

Plain Python (no Prefect, no Django needed): pass an ``ENAConfig`` (and a ``WebinConfig`` for private
data), or call :meth:`ENAPortalClient.from_settings` to use ``EMG_CONFIG``.
"""

from __future__ import annotations

import email.utils
import functools
import json
import logging
import ssl
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, NamedTuple

import httpx
from pydantic import TypeAdapter, ValidationError

from core.config import ENAConfig, WebinConfig, current_config
from core.gc_pause import gc_paused
from ena.accessions import AccessionKind, validate_run_accession, validate_study_accession
from ena.portal.credentials import WEBIN_SETTINGS, webin_basic_auth
from ena.portal.errors import (
    ENAAccessionNotFound,
    ENAAuthenticationError,
    ENABadRequest,
    ENAError,
    ENAMalformedResponse,
    ENARecordError,
    ENATooManyRetries,
)
from ena.portal.ratelimit import TokenBucket, burst_for
from ena.portal.types import (
    RUN_FIELDS,
    SAMPLE_FIELDS,
    STUDY_FIELDS,
    ENARun,
    ENASample,
    ENAStudy,
    ENAStudyBundle,
    Listed,
)
from ena.read_files import file_name
from ena.schemas import FastqFile, SkippedRecord

logger = logging.getLogger(__name__)

MAX_RETRY_AFTER_SECONDS = 120.0
MAX_BACKOFF_SECONDS = 60.0

#: Called after each page: (what, rows so far). ``what`` is "samples" or "runs".
PageProgress = Callable[[str, int], None]


def default_configs() -> tuple[ENAConfig, WebinConfig]:
    """``EMG_CONFIG.ena`` and ``.webin``: Django's when configured, else read from the environment."""
    config = current_config()
    return config.ena, config.webin


def _retry_after_seconds(value: str | None) -> float | None:
    """Parse a Retry-After header: delta-seconds or an HTTP date. None if absent or unparsable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


@functools.cache
def _default_ssl_context() -> ssl.SSLContext:
    """httpx's default TLS context, made once per process: loading the CA bundle cost each new client ~20 ms."""
    return httpx.create_ssl_context()


def _quote(value: str) -> str:
    return '"' + value.replace('"', "") + '"'


class ENAPortalClient:
    """A client of the ENA Portal API (``search`` and ``filereport``, ``format=json``).

    Public first, private when needed: every study is looked for without credentials; only a study
    ENA does not show publicly is asked for again with the Webin credentials (HTTP Basic), and then
    it, its samples and runs are private to that Webin account. This is how a public study is never
    mistaken for a private one, and a private one is still found.

    :param ena: endpoint, rate, timeout, retry and paging settings (``EMG_CONFIG.ena``)
    :param webin: Webin credentials (``EMG_CONFIG.webin``); without them private data is not seen
    :param authenticated: require the Webin credentials (refuse to start without them)
    :param sleep: how to wait between retries (tests may pass a recorder)
    :param transport: an httpx transport instead of the network (contract tests replay ENA's answers)
    """

    def __init__(
        self,
        ena: ENAConfig | None = None,
        webin: WebinConfig | None = None,
        *,
        authenticated: bool = False,
        sleep: Callable[[float], None] = time.sleep,
        transport: httpx.BaseTransport | None = None,
    ):
        if ena is None or webin is None:
            default_ena, default_webin = default_configs()
            ena = ena or default_ena
            webin = webin or default_webin
        self.config = ena
        self.base_url = str(ena.portal_api_url).rstrip("/") + "/"
        self.webin_account = webin.emg_webin_account or ""
        self._sleep = sleep
        # ``requests_per_second`` on average, a short burst allowed (see ena.portal.ratelimit)
        self._bucket = TokenBucket(ena.requests_per_second, capacity=burst_for(ena.requests_per_second))
        self._webin_auth = webin_basic_auth(webin)
        if authenticated and self._webin_auth is None:
            raise ENAAuthenticationError(f"private ENA data needs {WEBIN_SETTINGS}")
        self._http = httpx.Client(
            timeout=httpx.Timeout(ena.timeout_seconds),
            headers={"Accept": "application/json", "User-Agent": "emgapiv2-ena-client"},
            follow_redirects=True,
            transport=transport,
            verify=_default_ssl_context(),
        )

    @property
    def can_see_private(self) -> bool:
        """Whether Webin credentials are configured (private studies of that account can be found)."""
        return self._webin_auth is not None

    @property
    def _visibilities(self) -> list[bool]:
        """How to ask for a record, in order: publicly, then (with credentials configured) privately."""
        return [False, True] if self.can_see_private else [False]

    @classmethod
    def from_settings(cls, *, authenticated: bool = False) -> ENAPortalClient:
        """A client configured from ``EMG_CONFIG`` (see :func:`default_configs`)."""
        return cls(*default_configs(), authenticated=authenticated)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ENAPortalClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- transport, retries, paging

    def _url_for_message(self, endpoint: str, params: dict[str, Any]) -> str:
        return str(httpx.URL(self.base_url + endpoint, params=params))

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, MAX_RETRY_AFTER_SECONDS)
        return min(self.config.backoff_base_seconds * (2**attempt), MAX_BACKOFF_SECONDS)

    def request(
        self, endpoint: str, params: dict[str, Any], *, accession: str = "", private: bool = False
    ) -> list[dict[str, str]]:
        """GET one Portal API page and return its records; retry 429, 5xx, timeouts and unparsable JSON.

        :param endpoint: ``search`` or ``filereport`` (relative to ``portal_api_url``)
        :param params: query parameters; ``format=json`` is added
        :param accession: what the request is about, for error messages
        :param private: send the Webin credentials (asking for private data)
        :raises ENAError: a typed subclass naming the accession and the URL
        """
        if private and self._webin_auth is None:
            raise ENAAuthenticationError(f"private ENA data needs {WEBIN_SETTINGS}", accession=accession)
        auth = self._webin_auth if private else None
        params = {**params, "format": "json"}
        url = self._url_for_message(endpoint, params)
        attempts = self.config.max_retries + 1
        last_problem = ""
        last_status: int | None = None
        malformed = False
        for attempt in range(attempts):
            self._bucket.acquire()
            retry_after: float | None = None
            try:
                response = self._http.get(self.base_url + endpoint, params=params, auth=auth)
            except httpx.TimeoutException as error:
                last_problem, last_status, malformed = f"timed out ({type(error).__name__})", None, False
            except httpx.TransportError as error:
                last_problem, last_status, malformed = f"transport error ({type(error).__name__})", None, False
            else:
                status = response.status_code
                last_status = status
                if status == 204:
                    return []
                if status == 200:
                    with gc_paused():
                        try:
                            return self._page_records(response, accession=accession, url=url)
                        except (json.JSONDecodeError, UnicodeDecodeError):
                            last_problem, malformed = f"unparsable JSON body ({len(response.content)} bytes)", True
                elif status == 429 or status >= 500:
                    retry_after = _retry_after_seconds(response.headers.get("Retry-After"))
                    last_problem, malformed = f"HTTP {status}", False
                elif status in (401, 403):
                    raise ENAAuthenticationError(
                        f"ENA refused the request (HTTP {status}) for Webin account {self.webin_account or '(none)'}",
                        accession=accession,
                        url=url,
                    )
                elif status == 404:
                    raise ENAAccessionNotFound("ENA answered HTTP 404", accession=accession, url=url)
                else:
                    raise ENABadRequest(
                        f"ENA refused the request (HTTP {status}): {self._error_message(response)}",
                        accession=accession,
                        url=url,
                        status=status,
                    )
            if attempt + 1 < attempts:
                delay = self._backoff(attempt, retry_after)
                logger.warning(
                    "ENA request failed (%s), retry %d/%d in %.2fs: %s",
                    last_problem,
                    attempt + 1,
                    attempts - 1,
                    delay,
                    url,
                )
                self._sleep(delay)
        if malformed:
            raise ENAMalformedResponse(
                f"ENA kept sending an {last_problem} ({attempts} attempts)", accession=accession, url=url
            )
        raise ENATooManyRetries(
            f"ENA request failed {attempts} times, last: {last_problem}",
            accession=accession,
            url=url,
            attempts=attempts,
            last_status=last_status,
        )

    @staticmethod
    def _error_message(response: httpx.Response) -> str:
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return response.text[:200]
        if isinstance(body, dict) and body.get("message"):
            return str(body["message"])[:200]
        return response.text[:200]

    @classmethod
    def _page_records(cls, response: httpx.Response, *, accession: str, url: str) -> list[dict[str, str]]:
        """A 200 answer's records: ENA's usual page (a list of string-valued records) parsed in one pass.

        Parsing and checking the body in pydantic's JSON parser costs about half of ``json.loads`` plus
        a Python pass turning every value into a string; only a page that is not already that shape
        (``null`` or numeric values, not a list, not JSON at all) takes the slower general path, which
        also names what was wrong.

        :raises json.JSONDecodeError: the body is not JSON (a truncated answer: retried by :meth:`request`)
        :raises ENAMalformedResponse: JSON, but not a list of records
        """
        try:
            return _PAGE.validate_json(response.content)
        except ValidationError:
            return cls._records(response.json(), accession=accession, url=url)

    @staticmethod
    def _records(body: Any, *, accession: str, url: str) -> list[dict[str, str]]:
        if not isinstance(body, list) or not all(isinstance(row, dict) for row in body):
            raise ENAMalformedResponse(
                f"expected a JSON list of records, got {type(body).__name__}", accession=accession, url=url
            )
        return [{str(k): "" if v is None else str(v) for k, v in row.items()} for row in body]

    def paged(
        self, endpoint: str, params: dict[str, Any], *, accession: str = "", private: bool = False
    ) -> Iterator[list[dict[str, str]]]:
        """Yield pages of records, asking ``limit=page_size`` and advancing ``offset`` until a short page."""
        page_size = self.config.page_size
        offset = 0
        while True:
            page = self.request(
                endpoint, {**params, "limit": page_size, "offset": offset}, accession=accession, private=private
            )
            yield page
            if len(page) < page_size:
                return
            offset += page_size

    def search(
        self,
        *,
        result: str,
        query: str,
        fields: Iterable[str],
        accession: str = "",
        data_portal: str | None = None,
        progress: PageProgress | None = None,
        private: bool = False,
    ) -> list[dict[str, str]]:
        """All records of ``search?result=...&query=...&fields=...`` (paged)."""
        params: dict[str, Any] = {"result": result, "query": query, "fields": ",".join(fields)}
        if data_portal:
            params["dataPortal"] = data_portal
        rows: list[dict[str, str]] = []
        for page in self.paged("search", params, accession=accession, private=private):
            rows.extend(page)
            if progress:
                progress(result, len(rows))
        return rows

    def filereport(
        self,
        *,
        accession: str,
        result: str,
        fields: Iterable[str],
        progress: PageProgress | None = None,
        private: bool = False,
    ) -> list[dict[str, str]]:
        """All records of ``filereport?accession=...&result=...&fields=...`` (paged)."""
        params = {"accession": accession, "result": result, "fields": ",".join(fields)}
        rows: list[dict[str, str]] = []
        for page in self.paged("filereport", params, accession=accession, private=private):
            rows.extend(page)
            if progress:
                progress(result, len(rows))
        return rows

    # ----------------------------------------------------------------- mapping into typed objects

    @staticmethod
    def _slots(value: str) -> list[str]:
        """A ``;``-joined multi-value field, keeping empty slots in place (``a;;c`` is 3 slots)."""
        return list(map(str.strip, value.split(";"))) if value.strip() else []

    @staticmethod
    def _split(value: str) -> list[str]:
        """A ``;``-joined list of accessions, blanks dropped."""
        return [part.strip() for part in value.split(";") if part.strip()]

    def _parse(self, model: type, values: dict[str, Any], *, result: str, record: str, url: str) -> Any:
        """Validate one record; a bad value becomes an :class:`ENARecordError` naming ENA's field (and file)."""
        try:
            return model.model_validate(values)
        except ValidationError as error:
            raise self._record_error(error, values, result=result, record=record, url=url) from None

    @staticmethod
    def _record_error(
        error: ValidationError, values: dict[str, Any], *, result: str, record: str, url: str
    ) -> ENARecordError:
        first = error.errors()[0]
        loc = [str(part) for part in first["loc"]]
        field, file = _ENA_FIELD.get(result, {}).get(loc[0], loc[0]), ""
        if loc[0] == "fastq_files" and len(loc) >= 3:
            index = int(loc[1])
            field = _FASTQ_FIELD[loc[2]]
            file = file_name(values["fastq_files"][index].get("url", ""))
        bad = first.get("input")
        where = f" of {file}" if file else ""
        return ENARecordError(
            f"{result} {record or '(no accession)'}: {field}{where} is {bad!r}: {first['msg']}",
            result=result,
            record=record,
            field=field,
            file=file,
            url=url,
        )

    @staticmethod
    def _primary_or_secondary(row: dict[str, str], primary: str, secondary: str, *, result: str, url: str) -> str:
        """The record's primary accession, else its first secondary one (ENA leaves some primaries blank)."""
        value = row.get(primary, "").strip() or next(iter(ENAPortalClient._split(row.get(secondary, ""))), "")
        if not value:
            raise ENARecordError(
                f"{result} record has neither {primary} nor {secondary}",
                result=result,
                record=row.get("run_accession", "") if result == "read_run" else "",
                field=primary,
                url=url,
            )
        return value

    def fastq_files(self, row: dict[str, str], *, accession: str, url: str) -> list[FastqFile]:
        """``fastq_ftp``/``fastq_md5``/``fastq_bytes`` (``;``-joined, same order) as FastqFile objects."""
        values = self._fastq_values(row, accession=accession, url=url)
        return [self._parse(FastqFile, v, result="read_run", record=accession, url=url) for v in values]

    def _fastq_values(self, row: dict[str, str], *, accession: str, url: str) -> list[dict[str, str]]:
        """The values of :meth:`fastq_files`, not yet validated; a missing slot names its field and file.

        A usable record (every slot filled, the three fields the same length) is recognised with a few
        C-level checks per run; only an unusable one is walked slot by slot, to say what is wrong.
        """
        paths = self._slots(row.get("fastq_ftp", ""))
        md5s = self._slots(row.get("fastq_md5", ""))
        sizes = self._slots(row.get("fastq_bytes", ""))
        count = len(paths)
        if len(md5s) != count or len(sizes) != count or "" in paths or "" in md5s or "" in sizes:
            raise self._fastq_fault(paths, {"fastq_md5": md5s, "fastq_bytes": sizes}, accession=accession, url=url)
        prefix = f"{self.config.fastq_url_scheme}://"
        return [
            {"url": path if "://" in path else prefix + path, "md5": md5.lower(), "bytes": size}
            for path, md5, size in zip(paths, md5s, sizes, strict=True)
        ]

    @staticmethod
    def _fastq_fault(paths: list[str], columns: dict[str, list[str]], *, accession: str, url: str) -> ENARecordError:
        """What is wrong with a run's FASTQ fields, as the error to raise: the first fault, naming field and file."""
        for index, path in enumerate(paths):
            if not path:
                return ENARecordError(
                    f"read_run {accession}: fastq_ftp has an empty slot (file {index + 1} of {len(paths)})",
                    result="read_run",
                    record=accession,
                    field="fastq_ftp",
                    url=url,
                )
        for column, slots in columns.items():
            if len(slots) != len(paths):
                return ENARecordError(
                    f"read_run {accession}: fastq_ftp lists {len(paths)} files but {column} has {len(slots)} values",
                    result="read_run",
                    record=accession,
                    field=column,
                    url=url,
                )
            for index, value in enumerate(slots):
                if not value:
                    return ENARecordError(
                        f"read_run {accession}: {column} has no value for file {index + 1} of {len(paths)} "
                        f"({file_name(paths[index])})",
                        result="read_run",
                        record=accession,
                        field=column,
                        file=file_name(paths[index]),
                        url=url,
                    )
        raise AssertionError("_fastq_fault called on usable FASTQ fields")  # pragma: no cover

    def study_from_row(self, row: dict[str, str], *, accession: str, url: str) -> ENAStudy:
        try:
            primary = self._primary_or_secondary(
                row, "study_accession", "secondary_study_accession", result="study", url=url
            )
            secondaries = self._split(row.get("secondary_study_accession", ""))
            values = {
                "accession": primary,
                "secondary_accessions": [a for a in secondaries if a != primary],
                "title": row.get("study_title", ""),
                "description": row.get("study_description", ""),
                "first_public": row.get("first_public", ""),
                "raw": row,
            }
            return self._parse(ENAStudy, values, result="study", record=primary, url=url)
        except ENARecordError as error:  # without its study there is nothing to import: the whole study fails
            raise ENAMalformedResponse(error.detail, accession=accession, url=url) from None

    def sample_from_row(self, row: dict[str, str], *, accession: str, url: str) -> ENASample:
        values = self._sample_values(row, url=url)
        return self._parse(ENASample, values, result="sample", record=values["accession"], url=url)

    def _sample_values(self, row: dict[str, str], *, url: str) -> dict[str, Any]:
        primary = self._primary_or_secondary(
            row, "sample_accession", "secondary_sample_accession", result="sample", url=url
        )
        return {
            "accession": primary,
            "secondary_accessions": [a for a in self._split(row.get("secondary_sample_accession", "")) if a != primary],
            "title": row.get("sample_title", ""),
            "tax_id": row.get("tax_id", ""),
            "scientific_name": row.get("scientific_name", ""),
            "first_public": row.get("first_public", ""),
            "raw": row,
        }

    def run_from_row(self, row: dict[str, str], *, accession: str, url: str, study_accession: str = "") -> ENARun:
        """One run; an unusable record raises :class:`ENARecordError` naming the field and file."""
        values = self._run_values(row, url=url, study_accession=study_accession)
        values["fastq_files"] = self.fastq_files(row, accession=values["accession"], url=url)
        return self._parse(ENARun, values, result="read_run", record=values["accession"], url=url)

    def _run_values(self, row: dict[str, str], *, url: str, study_accession: str = "") -> dict[str, Any]:
        """The values of :meth:`run_from_row`, not yet validated (FASTQ files as plain dicts)."""
        run_accession = row.get("run_accession", "").strip()
        if not run_accession:
            raise ENARecordError(
                "read_run record has no run_accession", result="read_run", record="", field="run_accession", url=url
            )
        # The record itself (a C-level copy) carries the plain fields under ENARun's own names; the
        # fields ENARun does not have are ignored by its validation.
        return {
            **row,
            "accession": run_accession,
            "sample_accession": self._primary_or_secondary(
                row, "sample_accession", "secondary_sample_accession", result="read_run", url=url
            ),
            "study_accession": row.get("study_accession", "").strip() or study_accession,
            "fastq_files": self._fastq_values(row, accession=run_accession, url=url),
            "raw": row,
        }

    def samples_from_rows(self, rows: list[dict[str, str]], *, accession: str, url: str) -> Listed[ENASample]:
        """:meth:`sample_from_row` of every row; unusable records are skipped (``.skipped``), never the listing."""
        return self._map_rows(rows, lambda row: self._sample_values(row, url=url), _SAMPLES, ENASample, "sample", url)

    def runs_from_rows(self, rows: list[dict[str, str]], *, accession: str, url: str) -> Listed[ENARun]:
        """:meth:`run_from_row` of every row; unusable records are skipped (``.skipped``), never the listing.

        Validating the whole list at once (a ``TypeAdapter``) costs about a quarter less than one
        ``model_validate`` per run and per FASTQ file; only when it fails are records looked at one by one.
        """
        return self._map_rows(
            rows, lambda row: self._run_values(row, url=url, study_accession=accession), _RUNS, ENARun, "read_run", url
        )

    def _map_rows(
        self,
        rows: list[dict[str, str]],
        values_of: Callable[[dict[str, str]], dict[str, Any]],
        adapter: TypeAdapter,
        model: type,
        result: str,
        url: str,
    ) -> Listed:
        skipped: list[SkippedRecord] = []
        seen: set[str] = set()
        values: list[dict[str, Any]] = []
        with gc_paused():
            for row in rows:
                try:
                    value = values_of(row)
                except ENARecordError as error:
                    skipped.append(error.skipped())
                    continue
                if value["accession"] in seen:  # ENA listed it twice (pages shifted under us): once is enough
                    continue
                seen.add(value["accession"])
                values.append(value)
            try:
                records = adapter.validate_python(values)
            except ValidationError:
                records = []
                for value in values:
                    try:
                        records.append(self._parse(model, value, result=result, record=value["accession"], url=url))
                    except ENARecordError as error:
                        skipped.append(error.skipped())
        for record in skipped:
            logger.warning("ENA %s record skipped: %s", result, record.reason)
        return Listed(records, skipped)

    # ----------------------------------------------------------------- what the platform asks

    def _study_query(self, accession: str) -> str:
        kind = validate_study_accession(accession)
        field = "study_accession" if kind == AccessionKind.PROJECT else "secondary_study_accession"
        return f"{field}={_quote(accession)}"

    def find_study(self, accession: str) -> FoundStudy:
        """The study, the data portal it was found in (``metagenome`` first, then ``ena``), and whether it is private.

        Asked without credentials first; if no portal shows it publicly and Webin credentials are
        configured, asked again with them (then it is private to that account).

        :raises ENAAccessionNotFound: when no portal knows the study (publicly, or to our Webin account)
        """
        query = self._study_query(accession)
        portals = self.config.metagenomic_data_portals or ["ena"]
        for private in self._visibilities:
            for portal in portals:
                params = {"result": "study", "query": query, "fields": ",".join(STUDY_FIELDS), "dataPortal": portal}
                url = self._url_for_message("search", {**params, "format": "json"})
                rows = self.search(
                    result="study",
                    query=query,
                    fields=STUDY_FIELDS,
                    accession=accession,
                    data_portal=portal,
                    private=private,
                )
                if rows:
                    return FoundStudy(self.study_from_row(rows[0], accession=accession, url=url), portal, private)
        url = self._url_for_message(
            "search", {"result": "study", "query": query, "fields": ",".join(STUDY_FIELDS), "format": "json"}
        )
        where = " or ".join(f"dataPortal={p}" for p in portals)
        seen_as = f"publicly or to Webin account {self.webin_account}" if self.can_see_private else "publicly"
        raise ENAAccessionNotFound(f"ENA has no study {accession} ({where}, {seen_as})", accession=accession, url=url)

    def get_study(self, accession: str) -> ENAStudy:
        return self.find_study(accession).study

    def list_samples(
        self,
        study_accession: str,
        *,
        data_portal: str | None = None,
        progress: PageProgress | None = None,
        private: bool = False,
    ) -> Listed[ENASample]:
        """Every usable sample of a study (by its primary PRJ accession); unusable ones in ``.skipped``."""
        return self._list_study_records(
            study_accession, "sample", SAMPLE_FIELDS, self.samples_from_rows, data_portal, progress, private
        )

    def list_runs(
        self,
        study_accession: str,
        *,
        data_portal: str | None = None,
        progress: PageProgress | None = None,
        private: bool = False,
    ) -> Listed[ENARun]:
        """Every usable read run of a study (by its primary PRJ accession); unusable ones in ``.skipped``."""
        return self._list_study_records(
            study_accession, "read_run", RUN_FIELDS, self.runs_from_rows, data_portal, progress, private
        )

    def _list_study_records(
        self,
        study_accession: str,
        result: str,
        fields: Sequence[str],
        map_rows: Callable[..., Listed],
        data_portal: str | None,
        progress: PageProgress | None,
        private: bool,
    ) -> Listed:
        """Search ``result`` records of a study (all pages) and map them with ``map_rows``."""
        query = f"study_accession={_quote(study_accession)}"
        params = {"result": result, "query": query, "fields": ",".join(fields)}
        url = self._url_for_message("search", {**params, "format": "json"})
        rows = self.search(
            result=result,
            query=query,
            fields=fields,
            accession=study_accession,
            data_portal=data_portal,
            progress=progress,
            private=private,
        )
        return map_rows(rows, accession=study_accession, url=url)

    def get_run(self, run_accession: str) -> ENARun:
        """One run by accession, via ``filereport`` (public first, then with the Webin credentials).

        :raises ENARecordError: ENA's record of the run is unusable (naming the field and file)
        """
        validate_run_accession(run_accession)
        params = {"accession": run_accession, "result": "read_run", "fields": ",".join(RUN_FIELDS)}
        url = self._url_for_message("filereport", {**params, "format": "json"})
        for private in self._visibilities:
            rows = self.filereport(accession=run_accession, result="read_run", fields=RUN_FIELDS, private=private)
            if rows:
                return self.run_from_row(rows[0], accession=run_accession, url=url)
        raise ENAAccessionNotFound(f"ENA has no run {run_accession}", accession=run_accession, url=url)

    def fetch_study_bundle(self, accession: str, *, progress: PageProgress | None = None) -> ENAStudyBundle:
        """The study, all its samples and all its runs, fetched completely before anything is written.

        Unusable sample or run records are left out and listed in ``skipped`` with their reason. Samples
        that runs name but the sample search did not return (ENA is not always consistent) are added
        from the runs' own sample fields.

        :raises ENAError: typed, naming the accession and URL, if anything could not be fetched
        """
        found = self.find_study(accession)
        study = found.study
        listing = {"data_portal": found.data_portal, "progress": progress, "private": found.private}
        samples = self.list_samples(study.accession, **listing)
        listed_runs = self.list_runs(study.accession, **listing)
        known = {alias: sample.accession for sample in samples for alias in sample.all_accessions}
        runs = [  # a run naming its sample by the ERS accession (its BioSample left blank) joins that sample
            run.model_copy(update={"sample_accession": known[run.sample_accession]})
            if known.get(run.sample_accession, run.sample_accession) != run.sample_accession
            else run
            for run in listed_runs
        ]
        skipped = [*samples.skipped, *listed_runs.skipped]
        for run in runs:
            if run.sample_accession not in known:
                known[run.sample_accession] = run.sample_accession
                samples.append(
                    ENASample(
                        accession=run.sample_accession,
                        secondary_accessions=[
                            a for a in [run.secondary_sample_accession] if a and a != run.sample_accession
                        ],
                        tax_id=run.tax_id,
                        scientific_name=run.scientific_name,
                        raw={
                            "sample_accession": run.sample_accession,
                            "secondary_sample_accession": run.secondary_sample_accession,
                            "tax_id": run.tax_id,
                            "scientific_name": run.scientific_name,
                        },
                    )
                )
        return ENAStudyBundle(
            study=study,
            samples=list(samples),
            runs=runs,
            skipped=skipped,
            data_portal=found.data_portal,
            is_private=found.private,
            webin_submitter=self.webin_account if found.private else "",
        )


class FoundStudy(NamedTuple):
    study: ENAStudy
    data_portal: str
    private: bool


#: Where a typed field's value came from in ENA's record (per result), for error messages.
_ENA_FIELD = {
    "read_run": {"accession": "run_accession"},
    "sample": {"accession": "sample_accession", "title": "sample_title"},
    "study": {"accession": "study_accession", "title": "study_title", "description": "study_description"},
}
_FASTQ_FIELD = {"url": "fastq_ftp", "md5": "fastq_md5", "bytes": "fastq_bytes"}
#: A page as ENA sends it: a list of records whose every value is a string.
_PAGE = TypeAdapter(list[dict[str, str]])
_SAMPLES = TypeAdapter(list[ENASample])
_RUNS = TypeAdapter(list[ENARun])

__all__ = ["ENAError", "ENAPortalClient", "default_configs"]
