"""Download a run's FASTQ files over HTTP(S) into the work area, checked against ENA's md5 and size.

Files stream to ``<dest>/<name>.part`` and are renamed to ``<dest>/<name>`` only after their size
and md5 match what ENA advertises, so the final path never holds a partial or corrupt file. A
partial download is resumed with ``Range: bytes=N-`` (or restarted if the server ignores ranges);
429, 5xx and dropped connections are retried with backoff; a file already present and correct is
not downloaded again. A flock on ``<name>.lock`` keeps two workers from writing the same file.

Plain Python (httpx), no Prefect or Django needed::

    files = download_run_fastqs(run, work_dir / run.accession, config=settings.EMG_CONFIG.ena)
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from core.checksums import file_md5
from core.config import ENAConfig, WebinConfig
from ena import read_files
from ena.portal.credentials import WEBIN_SETTINGS, webin_basic_auth
from ena.portal.errors import ENAChecksumMismatch, ENADownloadError
from ena.portal.types import ENARun
from ena.schemas import FastqFile

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 60.0


@dataclass(frozen=True)
class DownloadedFile:
    """A verified file at its final path. ``reused``: it was already there and correct."""

    path: Path
    url: str
    md5: str
    bytes: int
    reused: bool = False


def file_name(url: str) -> str:
    name = read_files.file_name(url)
    if not name or name in (".", ".."):
        raise ValueError(f"cannot name a file after {url!r}")
    return name


@contextmanager
def _locked(lock_path: Path) -> Iterator[None]:
    with lock_path.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class _Retry(Exception):
    """A transient problem: try again (resuming what is on disk)."""


class Datamover:
    """Downloads FASTQ files with verification, resume and retries.

    :param config: timeouts, retries and backoff (``EMG_CONFIG.ena``); defaults from settings
    :param webin: Webin credentials (``EMG_CONFIG.webin``) for private runs' files; defaults from settings
    :param sleep: how to wait between retries
    """

    def __init__(
        self,
        config: ENAConfig | None = None,
        *,
        webin: WebinConfig | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        if config is None or webin is None:
            from ena.portal.client import default_configs

            default_ena, default_webin = default_configs()
            config = config or default_ena
            webin = webin or default_webin
        self.config = config
        self.webin_account = webin.emg_webin_account or ""
        self._webin_auth = webin_basic_auth(webin)
        self._sleep = sleep
        self._http = httpx.Client(timeout=httpx.Timeout(config.timeout_seconds), follow_redirects=True)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Datamover:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def download_run(
        self, run: ENARun | Sequence[FastqFile], dest_dir: Path, *, accession: str = "", private: bool = False
    ) -> list[DownloadedFile]:
        """Download every FASTQ file of ``run`` into ``dest_dir`` (created if needed), verified.

        :param run: an ENARun, or its list of FastqFile
        :param dest_dir: where the files go (final names as in the URLs)
        :param accession: the run accession for messages (taken from an ENARun if given)
        :param private: the run is private: send the Webin credentials (ENA serves its files only then)
        :raises ENAChecksumMismatch: a file's md5/size differs from ENA's (the file is not kept)
        :raises ENADownloadError: a file could not be fetched after retries
        """
        if isinstance(run, ENARun):
            accession, files = run.accession, run.fastq_files
        else:
            files = list(run)
        if not files:
            raise ENADownloadError("ENA lists no FASTQ files for this run", accession=accession)
        if private and self._webin_auth is None:
            raise ENADownloadError(
                f"the run is private: its files need {WEBIN_SETTINGS}",
                accession=accession,
            )
        dest_dir.mkdir(parents=True, exist_ok=True)
        return [self.download_file(f, dest_dir, accession=accession, private=private) for f in files]

    def download_file(
        self, file: FastqFile, dest_dir: Path, *, accession: str = "", private: bool = False
    ) -> DownloadedFile:
        """Download one file to ``dest_dir/<name>``; see :meth:`download_run`."""
        final = dest_dir / file_name(file.url)
        part = final.with_name(final.name + ".part")
        dest_dir.mkdir(parents=True, exist_ok=True)
        with _locked(final.with_name(final.name + ".lock")):
            if final.exists():
                if final.stat().st_size == file.bytes and file_md5(final) == file.md5:
                    return DownloadedFile(final, file.url, file.md5, file.bytes, reused=True)
                logger.warning("%s: %s does not match ENA's md5/size; downloading again", accession, final)
                final.unlink()
            attempts = self.config.max_retries + 1
            problem = ""
            for attempt in range(attempts):
                try:
                    self._fetch(file, part, accession=accession, private=private)
                    break
                except _Retry as retry:
                    problem = str(retry)
                    if attempt + 1 < attempts:
                        delay = min(self.config.backoff_base_seconds * 2**attempt, MAX_BACKOFF_SECONDS)
                        logger.warning(
                            "%s: download of %s failed (%s); retry %d/%d in %.2fs",
                            accession,
                            file.url,
                            problem,
                            attempt + 1,
                            attempts - 1,
                            delay,
                        )
                        self._sleep(delay)
            else:
                raise ENADownloadError(
                    f"download failed {attempts} times, last: {problem}", accession=accession, url=file.url
                )
            self._verify(file, part, accession=accession)
            os.replace(part, final)
            return DownloadedFile(final, file.url, file.md5, file.bytes)

    def _fetch(self, file: FastqFile, part: Path, *, accession: str, private: bool = False) -> None:
        """Bring ``part`` to ``file.bytes`` bytes, resuming what is there. Raises _Retry on transient faults."""
        have = part.stat().st_size if part.exists() else 0
        if have > file.bytes:
            part.unlink()
            have = 0
        if have == file.bytes:
            return
        headers = {"Range": f"bytes={have}-"} if have else {}
        try:
            auth = self._webin_auth if private else None
            with self._http.stream("GET", file.url, headers=headers, auth=auth) as response:
                status = response.status_code
                if status == 416:
                    part.unlink(missing_ok=True)
                    raise _Retry("HTTP 416 on resume; restarting")
                if status == 429 or status >= 500:
                    raise _Retry(f"HTTP {status}")
                if status in (401, 403):
                    raise ENADownloadError(
                        f"HTTP {status}: refused to Webin account {self.webin_account or '(none)'}",
                        accession=accession,
                        url=file.url,
                    )
                if status not in (200, 206):
                    raise ENADownloadError(f"HTTP {status}", accession=accession, url=file.url)
                mode = "ab" if status == 206 and have else "wb"
                with part.open(mode) as handle:
                    for chunk in response.iter_raw():  # bytes as sent (no decoding), as they arrive
                        handle.write(chunk)
        except (httpx.TransportError, httpx.StreamError) as error:
            raise _Retry(f"{type(error).__name__}: {error}") from None
        size = part.stat().st_size
        if size < file.bytes:
            raise _Retry(f"got {size} of {file.bytes} bytes")

    def _verify(self, file: FastqFile, part: Path, *, accession: str) -> None:
        size = part.stat().st_size
        md5 = file_md5(part) if size == file.bytes else ""
        if size != file.bytes or md5 != file.md5:
            part.unlink(missing_ok=True)
            got = f"md5 {md5}" if md5 else f"{size} bytes"
            want = f"md5 {file.md5}" if md5 else f"{file.bytes} bytes"
            raise ENAChecksumMismatch(
                f"{file_name(file.url)} failed its check: ENA says {want}, got {got}; file not kept",
                accession=accession,
                url=file.url,
            )


def download_run_fastqs(
    run: ENARun | Sequence[FastqFile], dest_dir: Path, *, accession: str = "", config: ENAConfig | None = None
) -> list[DownloadedFile]:
    """Download and verify a run's FASTQ files into ``dest_dir``; see :meth:`Datamover.download_run`."""
    with Datamover(config) as mover:
        return mover.download_run(run, dest_dir, accession=accession)
