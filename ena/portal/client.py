"""The ENA Portal API client: httpx, explicit fields, paging, retries with backoff, a rate limit.

Plain Python (no Prefect, no Django needed): pass an ``ENAConfig`` (and a ``WebinConfig`` for private
data), or call :meth:`ENAPortalClient.from_settings` to use ``EMG_CONFIG``.
"""

from __future__ import annotations

import email.utils
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

import httpx
from pydantic import TypeAdapter, ValidationError

from core.config import ENAConfig, WebinConfig, current_config
from core.gc_pause import gc_paused
from ena.accessions import AccessionKind, validate_run_accession, validate_study_accession
from ena.portal.errors import (
    ENAAccessionNotFound,
    ENAAuthenticationError,
    ENABadRequest,
    ENAError,
    ENAMalformedResponse,
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
)
from ena.schemas import FastqFile

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


def _quote(value: str) -> str:
    return '"' + value.replace('"', "") + '"'


class ENAPortalClient:
    """A client of the ENA Portal API (``search`` and ``filereport``, ``format=json``).

    :param ena: endpoint, rate, timeout, retry and paging settings (``EMG_CONFIG.ena``)
    :param webin: Webin credentials (``EMG_CONFIG.webin``), used only when ``authenticated``
    :param authenticated: send the Webin credentials (HTTP Basic) to see private data
    :param sleep: how to wait between retries (tests may pass a recorder)
    """

    def __init__(
        self,
        ena: ENAConfig | None = None,
        webin: WebinConfig | None = None,
        *,
        authenticated: bool = False,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if ena is None or webin is None:
            default_ena, default_webin = default_configs()
            ena = ena or default_ena
            webin = webin or default_webin
        self.config = ena
        self.base_url = str(ena.portal_api_url).rstrip("/") + "/"
        self.authenticated = authenticated
        self.webin_account = webin.emg_webin_account or ""
        self._sleep = sleep
        # ``requests_per_second`` on average, a short burst allowed (see ena.portal.ratelimit)
        self._bucket = TokenBucket(ena.requests_per_second, capacity=burst_for(ena.requests_per_second))
        auth: httpx.Auth | None = None
        if authenticated:
            if not webin.emg_webin_account or webin.emg_webin_password is None:
                raise ENAAuthenticationError(
                    "private ENA data needs EMG_WEBIN__EMG_WEBIN_ACCOUNT and EMG_WEBIN__EMG_WEBIN_PASSWORD"
                )
            auth = httpx.BasicAuth(webin.emg_webin_account, webin.emg_webin_password.get_secret_value())
        self._http = httpx.Client(
            timeout=httpx.Timeout(ena.timeout_seconds),
            auth=auth,
            headers={"Accept": "application/json", "User-Agent": "emgapiv2-ena-client"},
            follow_redirects=True,
        )

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

    def request(self, endpoint: str, params: dict[str, Any], *, accession: str = "") -> list[dict[str, str]]:
        """GET one Portal API page and return its records; retry 429, 5xx, timeouts and unparsable JSON.

        :param endpoint: ``search`` or ``filereport`` (relative to ``portal_api_url``)
        :param params: query parameters; ``format=json`` is added
        :param accession: what the request is about, for error messages
        :raises ENAError: a typed subclass naming the accession and the URL
        """
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
                response = self._http.get(self.base_url + endpoint, params=params)
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
                            body = response.json()
                        except (json.JSONDecodeError, UnicodeDecodeError):
                            last_problem, malformed = f"unparsable JSON body ({len(response.content)} bytes)", True
                        else:
                            return self._records(body, accession=accession, url=url)
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

    @staticmethod
    def _records(body: Any, *, accession: str, url: str) -> list[dict[str, str]]:
        if not isinstance(body, list) or not all(isinstance(row, dict) for row in body):
            raise ENAMalformedResponse(
                f"expected a JSON list of records, got {type(body).__name__}", accession=accession, url=url
            )
        return [{str(k): "" if v is None else str(v) for k, v in row.items()} for row in body]

    def paged(self, endpoint: str, params: dict[str, Any], *, accession: str = "") -> Iterator[list[dict[str, str]]]:
        """Yield pages of records, asking ``limit=page_size`` and advancing ``offset`` until a short page."""
        page_size = self.config.page_size
        offset = 0
        while True:
            page = self.request(endpoint, {**params, "limit": page_size, "offset": offset}, accession=accession)
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
    ) -> list[dict[str, str]]:
        """All records of ``search?result=...&query=...&fields=...`` (paged)."""
        params: dict[str, Any] = {"result": result, "query": query, "fields": ",".join(fields)}
        if data_portal:
            params["dataPortal"] = data_portal
        rows: list[dict[str, str]] = []
        for page in self.paged("search", params, accession=accession):
            rows.extend(page)
            if progress:
                progress(result, len(rows))
        return rows

    def filereport(
        self, *, accession: str, result: str, fields: Iterable[str], progress: PageProgress | None = None
    ) -> list[dict[str, str]]:
        """All records of ``filereport?accession=...&result=...&fields=...`` (paged)."""
        params = {"accession": accession, "result": result, "fields": ",".join(fields)}
        rows: list[dict[str, str]] = []
        for page in self.paged("filereport", params, accession=accession):
            rows.extend(page)
            if progress:
                progress(result, len(rows))
        return rows

    # ----------------------------------------------------------------- mapping into typed objects

    def _parse(self, model: type, values: dict[str, Any], *, accession: str, url: str) -> Any:
        try:
            return model.model_validate(values)
        except ValidationError as error:
            first = error.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise ENAMalformedResponse(
                f"ENA record has a bad {where}: {first['msg']}", accession=accession, url=url
            ) from None

    @staticmethod
    def _require(row: dict[str, str], key: str, *, accession: str, url: str) -> str:
        value = row.get(key, "")
        if not value:
            raise ENAMalformedResponse(f"ENA record lacks {key}", accession=accession, url=url)
        return value

    @staticmethod
    def _split(value: str) -> list[str]:
        return [part for part in value.split(";") if part] if value else []

    def fastq_files(self, row: dict[str, str], *, accession: str, url: str) -> list[FastqFile]:
        """``fastq_ftp``/``fastq_md5``/``fastq_bytes`` (``;``-joined, same order) as FastqFile objects."""
        return [
            self._parse(FastqFile, values, accession=accession, url=url)
            for values in self._fastq_values(row, accession=accession, url=url)
        ]

    def _fastq_values(self, row: dict[str, str], *, accession: str, url: str) -> list[dict[str, str]]:
        """The values of :meth:`fastq_files`, not yet validated."""
        paths = self._split(row.get("fastq_ftp", ""))
        md5s = self._split(row.get("fastq_md5", ""))
        sizes = self._split(row.get("fastq_bytes", ""))
        if not (len(paths) == len(md5s) == len(sizes)):
            raise ENAMalformedResponse(
                f"fastq_ftp, fastq_md5 and fastq_bytes list {len(paths)}, {len(md5s)} and {len(sizes)} files",
                accession=accession,
                url=url,
            )
        scheme = self.config.fastq_url_scheme
        return [
            {"url": path if "://" in path else f"{scheme}://{path}", "md5": md5.lower(), "bytes": size}
            for path, md5, size in zip(paths, md5s, sizes, strict=True)
        ]

    def study_from_row(self, row: dict[str, str], *, accession: str, url: str) -> ENAStudy:
        primary = self._require(row, "study_accession", accession=accession, url=url)
        values = {
            "accession": primary,
            "secondary_accessions": self._split(row.get("secondary_study_accession", "")),
            "title": row.get("study_title", ""),
            "description": row.get("study_description", ""),
            "first_public": row.get("first_public", ""),
            "raw": row,
        }
        return self._parse(ENAStudy, values, accession=accession, url=url)

    def sample_from_row(self, row: dict[str, str], *, accession: str, url: str) -> ENASample:
        return self._parse(
            ENASample, self._sample_values(row, accession=accession, url=url), accession=accession, url=url
        )

    def _sample_values(self, row: dict[str, str], *, accession: str, url: str) -> dict[str, Any]:
        primary = self._require(row, "sample_accession", accession=accession, url=url)
        return {
            "accession": primary,
            "secondary_accessions": self._split(row.get("secondary_sample_accession", "")),
            "title": row.get("sample_title", ""),
            "tax_id": row.get("tax_id", ""),
            "scientific_name": row.get("scientific_name", ""),
            "first_public": row.get("first_public", ""),
            "raw": row,
        }

    def run_from_row(self, row: dict[str, str], *, accession: str, url: str) -> ENARun:
        run_accession = self._require(row, "run_accession", accession=accession, url=url)
        values = self._run_values(row, accession=accession, url=url)
        values["fastq_files"] = self.fastq_files(row, accession=run_accession, url=url)
        return self._parse(ENARun, values, accession=run_accession, url=url)

    def _run_values(self, row: dict[str, str], *, accession: str, url: str) -> dict[str, Any]:
        """The values of :meth:`run_from_row`, not yet validated (FASTQ files as plain dicts)."""
        run_accession = self._require(row, "run_accession", accession=accession, url=url)
        values: dict[str, Any] = {name: row.get(name, "") for name in _RUN_PLAIN_FIELDS}
        values.update(
            accession=run_accession,
            sample_accession=self._require(row, "sample_accession", accession=run_accession, url=url),
            study_accession=self._require(row, "study_accession", accession=run_accession, url=url),
            fastq_files=self._fastq_values(row, accession=run_accession, url=url),
            raw=row,
        )
        return values

    def samples_from_rows(self, rows: list[dict[str, str]], *, accession: str, url: str) -> list[ENASample]:
        """:meth:`sample_from_row` of every row, validated in one pydantic call (same errors as row by row)."""
        with gc_paused():
            values = [self._sample_values(row, accession=accession, url=url) for row in rows]
            try:
                return _SAMPLES.validate_python(values)
            except ValidationError:  # name the offending record as the row-by-row mapping does
                return [self.sample_from_row(row, accession=accession, url=url) for row in rows]

    def runs_from_rows(self, rows: list[dict[str, str]], *, accession: str, url: str) -> list[ENARun]:
        """:meth:`run_from_row` of every row, validated in one pydantic call (same errors as row by row).

        Validating the whole list at once (a ``TypeAdapter``) costs about a quarter less than one
        ``model_validate`` per run and per FASTQ file; a bad record is then looked for row by row.
        """
        with gc_paused():
            values = [self._run_values(row, accession=accession, url=url) for row in rows]
            try:
                return _RUNS.validate_python(values)
            except ValidationError:
                return [self.run_from_row(row, accession=accession, url=url) for row in rows]

    # ----------------------------------------------------------------- what the platform asks

    def _study_query(self, accession: str) -> str:
        kind = validate_study_accession(accession)
        field = "study_accession" if kind == AccessionKind.PROJECT else "secondary_study_accession"
        return f"{field}={_quote(accession)}"

    def find_study(self, accession: str) -> tuple[ENAStudy, str]:
        """The study and the data portal it was found in (``metagenome`` first, then ``ena``).

        :raises ENAAccessionNotFound: when no portal knows the study
        """
        query = self._study_query(accession)
        portals = self.config.metagenomic_data_portals or ["ena"]
        for portal in portals:
            params = {"result": "study", "query": query, "fields": ",".join(STUDY_FIELDS), "dataPortal": portal}
            url = self._url_for_message("search", {**params, "format": "json"})
            rows = self.search(
                result="study", query=query, fields=STUDY_FIELDS, accession=accession, data_portal=portal
            )
            if rows:
                return self.study_from_row(rows[0], accession=accession, url=url), portal
        url = self._url_for_message(
            "search", {"result": "study", "query": query, "fields": ",".join(STUDY_FIELDS), "format": "json"}
        )
        where = " or ".join(f"dataPortal={p}" for p in portals)
        raise ENAAccessionNotFound(f"ENA has no study {accession} ({where})", accession=accession, url=url)

    def get_study(self, accession: str) -> ENAStudy:
        return self.find_study(accession)[0]

    def list_samples(
        self, study_accession: str, *, data_portal: str | None = None, progress: PageProgress | None = None
    ) -> list[ENASample]:
        """Every sample of a study (by its primary PRJ accession), mapped into ENASample."""
        return self._list_study_records(
            study_accession, "sample", SAMPLE_FIELDS, self.samples_from_rows, data_portal, progress
        )

    def list_runs(
        self, study_accession: str, *, data_portal: str | None = None, progress: PageProgress | None = None
    ) -> list[ENARun]:
        """Every read run of a study (by its primary PRJ accession), mapped into ENARun."""
        return self._list_study_records(
            study_accession, "read_run", RUN_FIELDS, self.runs_from_rows, data_portal, progress
        )

    def _list_study_records(
        self,
        study_accession: str,
        result: str,
        fields: Sequence[str],
        map_rows: Callable[..., list],
        data_portal: str | None,
        progress: PageProgress | None,
    ) -> list:
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
        )
        return map_rows(rows, accession=study_accession, url=url)

    def get_run(self, run_accession: str) -> ENARun:
        """One run by accession, via ``filereport`` (what ENA offers for file listings)."""
        validate_run_accession(run_accession)
        params = {"accession": run_accession, "result": "read_run", "fields": ",".join(RUN_FIELDS)}
        url = self._url_for_message("filereport", {**params, "format": "json"})
        rows = self.filereport(accession=run_accession, result="read_run", fields=RUN_FIELDS)
        if not rows:
            raise ENAAccessionNotFound(f"ENA has no run {run_accession}", accession=run_accession, url=url)
        return self.run_from_row(rows[0], accession=run_accession, url=url)

    def fetch_study_bundle(self, accession: str, *, progress: PageProgress | None = None) -> ENAStudyBundle:
        """The study, all its samples and all its runs, fetched completely before anything is written.

        Samples that runs name but the sample search did not return (ENA is not always consistent)
        are added from the runs' own sample fields.

        :raises ENAError: typed, naming the accession and URL, if anything could not be fetched
        """
        study, portal = self.find_study(accession)
        samples = self.list_samples(study.accession, data_portal=portal, progress=progress)
        runs = self.list_runs(study.accession, data_portal=portal, progress=progress)
        known = {s.accession for s in samples}
        for run in runs:
            if run.sample_accession not in known:
                known.add(run.sample_accession)
                samples.append(
                    ENASample(
                        accession=run.sample_accession,
                        secondary_accessions=[run.secondary_sample_accession] if run.secondary_sample_accession else [],
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
            samples=samples,
            runs=runs,
            is_private=self.authenticated,
            webin_submitter=self.webin_account if self.authenticated else "",
        )


_RUN_SPECIAL = frozenset({"run_accession", "fastq_ftp", "fastq_md5", "fastq_bytes"})
_RUN_PLAIN_FIELDS = tuple(name for name in RUN_FIELDS if name not in _RUN_SPECIAL)
_SAMPLES = TypeAdapter(list[ENASample])
_RUNS = TypeAdapter(list[ENARun])

__all__ = ["ENAError", "ENAPortalClient", "default_configs"]
