"""A small HTTP server that speaks the ENA Portal API and serves FASTQ files, with injectable faults.

Endpoints (defaults: 127.0.0.1:8765):

* ``GET /ena/portal/api/search?result=&query=&fields=&format=json|tsv&limit=&offset=&dataPortal=``
* ``GET /ena/portal/api/filereport?accession=&result=read_run|analysis&fields=&format=&limit=&offset=``
* ``GET|HEAD /vol1/fastq/...``, ``/vol1/run/...`` -- the files ``fastq_ftp`` and ``submitted_ftp`` name
  (``Range: bytes=N-`` supported)
* ``POST /ena/submit/webin/auth/token`` -- ENA's Webin password check
* ``GET|POST|DELETE /_mirror/faults`` -- see :mod:`devtools.ena_mirror.faults`
* ``GET /_mirror/health``, ``GET /_mirror/requests``, ``POST /_mirror/reload``

Answers as ENA's (see :mod:`devtools.ena_mirror.store` for search and filereport): JSON lists of
string-valued records; ``filereport`` of nothing visible is 204 with ``format=json`` and a header line
alone with TSV; a refused request is 400 with a JSON body (``status``, ``error``, ``message``, ``path``)
with ``format=json`` and the bare message as text otherwise.

Private data: private studies need HTTP Basic credentials of their Webin submitter (wrong credentials:
401). Their FASTQ (and submitted) files are sent only with valid credentials of that account; to
anyone else the answer is the 404 of a file that does not exist, so existence is never revealed.
Accounts: ``webin_accounts`` plus ``<data_dir>/webin_accounts.json`` (made by ``ensure_mirror_data``).
In tests, start it in-process with :func:`run_mirror_in_thread`.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import logging
import sys
import threading
import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pydantic_core

from devtools.ena_mirror.faults import FaultRule, Faults
from devtools.ena_mirror.generator import StudyRecord, ensure_mirror_data, mirror_webin_accounts, read_studies
from devtools.ena_mirror.layout import (
    DEFAULT_DATA_DIR,
    DEFAULT_HOST,
    DEFAULT_PORT,
    FILES_PREFIX,
    PORTAL_API_PREFIX,
    WEBIN_AUTH_TOKEN_PATH,
)
from devtools.ena_mirror.store import MirrorStore, PortalError

logger = logging.getLogger(__name__)

DEFAULT_SEARCH_LIMIT = 100_000
CHUNK = 1 << 16
#: Fields whose ``;``-joined paths the mirror stores without host and answers with its own ``host:port``.
FILE_PATH_FIELDS = ("fastq_ftp", "submitted_ftp", "sra_ftp", "bam_ftp")


@dataclass
class RequestRecord:
    method: str
    path: str
    query: dict[str, str]
    status: int = 0
    at: float = field(default_factory=time.time)


class MirrorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        data_dir: Path,
        store: MirrorStore,
        faults: Faults,
        extra_webin_accounts: dict[str, str] | None = None,
    ):
        self.data_dir = data_dir
        self.store = store
        self.faults = faults
        #: Accounts given in code or on the command line: kept over those of the data dir on reload.
        self.extra_webin_accounts = dict(extra_webin_accounts or {})
        self.request_log: deque[RequestRecord] = deque(maxlen=5000)
        super().__init__(address, MirrorRequestHandler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client closing its kept-alive connection is normal (httpx does on close); anything else is logged."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def reload(self) -> None:
        """Read the studies and Webin accounts of the data dir again."""
        self.store.replace(read_studies(self.data_dir))
        self.store.webin_accounts = {**mirror_webin_accounts(self.data_dir), **self.extra_webin_accounts}


def _wrong_md5(md5: str) -> str:
    return "0" * 32 if md5 != "0" * 32 else "f" * 32


class MirrorRequestHandler(BaseHTTPRequestHandler):
    server: MirrorHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "ENAMirror/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s - %s", self.address_string(), format % args)

    # Helpers -------------------------------------------------------------------------------------

    def _send(self, status: int, body: bytes = b"", content_type: str = "application/json", headers=None) -> None:
        self._record.status = status  # before answering, so a client reading the log sees it
        self.send_response(status)
        if status != HTTPStatus.NO_CONTENT:
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if body and self.command != "HEAD" and status != HTTPStatus.NO_CONTENT:
            self.wfile.write(body)

    def _send_json(self, status: int, payload: Any, headers=None) -> None:
        self._send(status, json.dumps(payload).encode(), headers=headers)

    def _error(self, status: int, message: str, headers=None) -> None:
        self._send_json(
            status,
            {"status": status, "error": HTTPStatus(status).phrase, "message": message, "path": self._path},
            headers=headers,
        )

    def _portal_error(self, message: str) -> None:
        """A refused Portal API request (400): JSON with ``format=json``, else the bare message as text."""
        if self._query.get("format", "tsv") == "json":
            self._error(400, message)
        else:
            self._send(400, message.encode(), content_type="text/plain")

    def _account(self) -> tuple[bool, str | None]:
        """(credentials acceptable, account). No Authorization header: (True, None)."""
        header = self.headers.get("Authorization")
        if not header:
            return True, None
        scheme, _, encoded = header.partition(" ")
        if scheme.lower() != "basic":
            return False, None
        try:
            account, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False, None
        accounts = self.server.store.webin_accounts
        return (account in accounts and hmac.compare_digest(accounts[account], password)), account

    def _host(self) -> str:
        host = self.headers.get("Host")
        if host:
            return host
        address, port = self.server.server_address[:2]
        return f"{address}:{port}"

    # Dispatch ------------------------------------------------------------------------------------

    def _begin(self) -> None:
        parts = urlsplit(self.path)
        self._path = unquote(parts.path)
        self._query = {k: v[-1] for k, v in parse_qs(parts.query, keep_blank_values=True).items()}
        self._record = RequestRecord(self.command, self._path, self._query)
        self.server.request_log.append(self._record)

    def do_HEAD(self) -> None:
        self.do_GET()

    def do_GET(self) -> None:
        self._begin()
        try:
            if self._path.startswith(PORTAL_API_PREFIX):
                self._portal(self._path[len(PORTAL_API_PREFIX) :].strip("/"))
            elif self._path.startswith(FILES_PREFIX):
                self._fastq()
            elif self._path == "/_mirror/faults":
                self._send_json(200, self.server.faults.to_json())
            elif self._path == "/_mirror/health":
                self._send_json(200, {"ok": True, "studies": self.server.store.accessions()})
            elif self._path == "/_mirror/requests":
                log = [r.__dict__ for r in list(self.server.request_log)]
                self._send_json(200, log)
            else:
                self._error(404, f"No such resource: {self._path}")
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def do_POST(self) -> None:
        self._begin()
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        if self._path == "/_mirror/faults":
            try:
                payload = json.loads(raw or b"{}")
                if not isinstance(payload, dict):
                    raise ValueError("expected a JSON object")
                self.server.faults.add_from_json(payload)
            except (ValueError, TypeError) as error:
                self._error(400, str(error))
                return
            self._send_json(200, self.server.faults.to_json())
        elif self._path == WEBIN_AUTH_TOKEN_PATH:
            self._webin_token(raw)
        elif self._path == "/_mirror/reload":
            self.server.reload()
            self._send_json(200, {"ok": True, "studies": self.server.store.accessions()})
        else:
            self._error(404, f"No such resource: {self._path}")

    def do_DELETE(self) -> None:
        self._begin()
        if self._path == "/_mirror/faults":
            self.server.faults.clear()
            self._send_json(200, self.server.faults.to_json())
        else:
            self._error(404, f"No such resource: {self._path}")

    # Webin authentication ------------------------------------------------------------------------

    def _webin_token(self, raw: bytes) -> None:
        """ENA's ``POST /ena/submit/webin/auth/token``: 200 with a (fake) JWT for known credentials, else 401."""
        try:
            payload = json.loads(raw or b"{}")
            account, password = str(payload["username"]), str(payload["password"])
        except (ValueError, TypeError, KeyError):
            self._error(400, "Expected JSON with authRealms, username and password")
            return
        accounts = self.server.store.webin_accounts
        if account not in accounts or not hmac.compare_digest(accounts[account], password):
            self._error(401, "Invalid username or password")
            return
        claims = base64.urlsafe_b64encode(json.dumps({"sub": account}).encode()).decode().rstrip("=")
        self._send(200, f"mirror.{claims}.unsigned".encode(), content_type="text/plain")

    # Portal API ----------------------------------------------------------------------------------

    def _portal_fault(self, rule: FaultRule) -> None:
        """Answer with an injected status (JSON error, optional Retry-After) or an empty 204."""
        if rule.kind == "empty":
            self._send(204)
            return
        headers = {"Retry-After": f"{rule.retry_after:g}"} if rule.retry_after is not None else None
        self._error(rule.status, f"Injected fault: HTTP {rule.status}", headers=headers)

    def _render(self, rows: list[dict[str, str]], fields: list[str]) -> list[dict[str, str]]:
        prefix = f"{self._host()}/"
        wrong = self.server.faults.wrong_md5_runs
        paths = [name for name in fields if name in FILE_PATH_FIELDS]
        out = []
        blanks = [""] * len(fields)
        for row in rows:
            item = dict(zip(fields, map(row.get, fields, blanks), strict=True))
            for name in paths:
                if item[name]:
                    item[name] = ";".join([prefix + path if path else "" for path in item[name].split(";")])
            if "fastq_md5" in item and row.get("run_accession") in wrong:
                item["fastq_md5"] = ";".join(_wrong_md5(m) for m in item["fastq_md5"].split(";"))
            out.append(item)
        return out

    def _portal(self, endpoint: str) -> None:
        q = self._query
        result = q.get("result", "")
        rule = self.server.faults.take("portal", result)
        if rule is not None and rule.kind == "delay":
            time.sleep(rule.delay_seconds)
            rule = None
        if rule is not None and rule.kind in ("status", "empty"):
            self._portal_fault(rule)
            return
        ok, account = self._account()
        if not ok:
            self._error(401, "Invalid Webin credentials")
            return
        try:
            if endpoint == "search":
                rows = self.server.store.search(
                    result=result, query=q.get("query", ""), account=account, data_portal=q.get("dataPortal") or None
                )
            elif endpoint == "filereport":
                accession = q.get("accession", "")
                if not accession:
                    raise PortalError("accession is required")
                rows = self.server.store.filereport(accession=accession, result=result, account=account)
            else:
                self._error(404, f"No such endpoint: {endpoint}")
                return
            fields = self.server.store.check_fields(result, q.get("fields", "").split(","), endpoint=endpoint)
            limit = int(q.get("limit", DEFAULT_SEARCH_LIMIT) or 0)
            offset = int(q.get("offset", 0) or 0)
            if limit < 0 or offset < 0:
                raise PortalError("limit and offset must not be negative")
        except PortalError as error:
            self._portal_error(str(error))
            return
        except ValueError:
            self._portal_error("limit and offset must be integers")
            return
        page = rows[offset : offset + limit] if limit else rows[offset:]
        as_json = q.get("format", "tsv") == "json"
        if endpoint == "filereport" and not rows and as_json:
            self._send(204)  # an accession ENA does not know (or cannot show) -> 204 No Content
            return
        rendered = self._render(page, fields)
        if as_json:
            # Encoded in Rust (UTF-8, compact; the same JSON values): json.dumps took ~3x as long, time
            # that the in-process mirror took from the client it serves in tests and benchmarks.
            body, content_type = pydantic_core.to_json(rendered), "application/json"
        else:
            lines = ["\t".join(fields)] + ["\t".join(r[f] for f in fields) for r in rendered]
            body, content_type = ("\n".join(lines) + "\n").encode(), "text/plain"
        if rule is not None and rule.kind == "truncate":
            body = body[: max(1, len(body) // 2)]
        self._send(200, body, content_type)

    # FASTQ files ---------------------------------------------------------------------------------

    def _fastq(self) -> None:
        """A file under ``vol1/``; a private study's only to its submitter's valid credentials, else 404."""
        root = self.server.data_dir.resolve()
        path = (root / self._path.lstrip("/")).resolve()
        ok, account = self._account()
        if (
            not path.is_relative_to(root)
            or not path.is_file()
            or not self.server.store.file_visible(self._path, account if ok else None)
        ):
            self._error(404, f"No such file: {self._path}")
            return
        rule = self.server.faults.take("fastq")
        if rule is not None and rule.kind == "delay":
            time.sleep(rule.delay_seconds)
            rule = None
        if rule is not None and rule.kind == "status":
            self._error(rule.status, f"Injected fault: HTTP {rule.status}")
            return
        size = path.stat().st_size
        start = 0
        status = 200
        headers = {"Accept-Ranges": "bytes"}
        range_header = self.headers.get("Range", "")
        if range_header.startswith("bytes="):
            first, _, last = range_header[6:].partition("-")
            try:
                start = int(first)
            except ValueError:
                start = 0
            if last.strip():
                self._error(416, "Only open-ended ranges (bytes=N-) are supported")
                return
            if start >= size:
                self._send(416, b"", headers={"Content-Range": f"bytes */{size}"})
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{size - 1}/{size}"
        length = size - start
        self._record.status = status
        self.send_response(status)
        self.send_header("Content-Type", "application/gzip")
        self.send_header("Content-Length", str(length))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command == "HEAD":
            return
        cut_short = rule is not None and rule.kind in ("truncate_download", "stall_download")
        limit = int(length * rule.fraction) if cut_short else length
        with path.open("rb") as handle:
            handle.seek(start)
            sent = 0
            while sent < limit:
                chunk = handle.read(min(CHUNK, limit - sent))
                if not chunk:
                    break
                self.wfile.write(chunk)
                sent += len(chunk)
        if sent < length:
            self.wfile.flush()
            if rule is not None and rule.kind == "stall_download":
                time.sleep(rule.delay_seconds)
            self.close_connection = True


# In-process use -----------------------------------------------------------------------------------


@dataclass
class MirrorHandle:
    """A running mirror: its URLs, its store (change "upstream"), its faults, and ``stop()``."""

    server: MirrorHTTPServer
    thread: threading.Thread

    @property
    def host(self) -> str:
        return self.server.server_address[0]

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def portal_api_url(self) -> str:
        return self.base_url + PORTAL_API_PREFIX

    @property
    def store(self) -> MirrorStore:
        return self.server.store

    @property
    def faults(self) -> Faults:
        return self.server.faults

    @property
    def data_dir(self) -> Path:
        return self.server.data_dir

    @property
    def requests(self) -> list[RequestRecord]:
        return list(self.server.request_log)

    def ena_config(self, **overrides: Any):
        """An ``ENAConfig`` pointing at this mirror (http FASTQ URLs, fast retries unless overridden)."""
        from core.config import ENAConfig

        values: dict[str, Any] = {
            "portal_api_url": self.portal_api_url,
            "fastq_url_scheme": "http",
            "requests_per_second": 1000.0,
            "backoff_base_seconds": 0.01,
            "timeout_seconds": 10.0,
        }
        values.update(overrides)
        return ENAConfig(**values)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)

    def __enter__(self) -> MirrorHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def make_server(
    data_dir: Path = DEFAULT_DATA_DIR,
    *,
    host: str = DEFAULT_HOST,
    port: int = DEFAULT_PORT,
    generate: bool = True,
    large_runs: int | None = None,
    studies: Iterable[StudyRecord] = (),
    webin_accounts: dict[str, str] | None = None,
) -> MirrorHTTPServer:
    """A mirror server over ``data_dir`` (standard studies generated if missing) plus ``studies``.

    :param webin_accounts: Webin account -> password, besides (and over) ``<data_dir>/webin_accounts.json``
    """
    if generate:
        ensure_mirror_data(data_dir, large_runs=large_runs)
    accounts = {**mirror_webin_accounts(data_dir), **(webin_accounts or {})}
    store = MirrorStore([*read_studies(data_dir), *studies], webin_accounts=accounts)
    return MirrorHTTPServer(
        (host, port), data_dir=data_dir, store=store, faults=Faults(), extra_webin_accounts=webin_accounts
    )


def run_mirror_in_thread(
    data_dir: Path | None = None,
    *,
    host: str = DEFAULT_HOST,
    port: int = 0,
    generate: bool = True,
    large_runs: int | None = None,
    studies: Iterable[StudyRecord] = (),
    webin_accounts: dict[str, str] | None = None,
) -> MirrorHandle:
    """Start a mirror in a background thread (ephemeral port by default) and return its handle.

    :param data_dir: the mirror's data (default ``.local/ena-mirror``; standard studies generated if missing)
    :param studies: extra in-memory studies to serve
    :param webin_accounts: Webin account -> password accepted for private studies (besides those of
        ``<data_dir>/webin_accounts.json``)

    Example::

        with run_mirror_in_thread() as mirror:
            mirror.faults.too_many_requests(2)
            client = ENAPortalClient(mirror.ena_config(), WebinConfig())
    """
    server = make_server(
        data_dir or DEFAULT_DATA_DIR,
        host=host,
        port=port,
        generate=generate,
        large_runs=large_runs,
        studies=studies,
        webin_accounts=webin_accounts,
    )
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True, name="ena-mirror"
    )
    thread.start()
    return MirrorHandle(server=server, thread=thread)
