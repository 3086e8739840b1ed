"""The datamover downloading FASTQ files from the mirror over real HTTP."""

from __future__ import annotations

import hashlib
import time

import pytest
from pydantic import SecretStr

from core.config import WebinConfig
from devtools.ena_mirror.faults import FaultRule
from devtools.ena_mirror.generator import PRIVATE_STUDY_RUN, PRIVATE_STUDY_WEBIN_ACCOUNT, mirror_webin_accounts
from ena.datamover import Datamover, download_run_fastqs
from ena.portal import ENAChecksumMismatch, ENADownloadError, ENAPortalClient


def md5(path) -> str:
    return hashlib.md5(path.read_bytes()).hexdigest()


def test_downloads_a_run_and_verifies_it(ena_client, ena_config, tmp_path):
    run = ena_client.get_run("ERR9000001")
    files = download_run_fastqs(run, tmp_path / "ERR9000001", config=ena_config)
    assert [f.path.name for f in files] == ["ERR9000001_1.fastq.gz", "ERR9000001_2.fastq.gz"]
    for downloaded, expected in zip(files, run.fastq_files, strict=True):
        assert md5(downloaded.path) == expected.md5
        assert downloaded.path.stat().st_size == expected.bytes
        assert not downloaded.reused
    assert sorted(p.name for p in (tmp_path / "ERR9000001").glob("*.part")) == []


def test_a_second_download_reuses_verified_files(ena_client, ena_config, ena_mirror, tmp_path):
    run = ena_client.get_run("ERR9000002")
    download_run_fastqs(run, tmp_path, config=ena_config)
    before = len(ena_mirror.requests)
    again = download_run_fastqs(run, tmp_path, config=ena_config)
    assert all(f.reused for f in again)
    assert len(ena_mirror.requests) == before


def test_a_wrong_md5_is_refused_and_nothing_is_kept(ena_client, ena_config, ena_mirror, tmp_path):
    ena_mirror.faults.wrong_md5("ERR9000003")
    run = ena_client.get_run("ERR9000003")
    with pytest.raises(ENAChecksumMismatch) as info:
        download_run_fastqs(run, tmp_path, config=ena_config)
    message = str(info.value)
    assert "ERR9000003" in message and run.fastq_files[0].url in message and "md5" in message
    assert list(tmp_path.glob("*.fastq.gz")) == [] and list(tmp_path.glob("*.part")) == []


def test_wrong_md5_affects_only_the_named_runs(ena_client, ena_mirror):
    ena_mirror.faults.wrong_md5("ERR9000003")
    runs = {r.accession: r for r in ena_client.list_runs("PRJEB90001")}
    good = ena_client.get_run("ERR9000001")
    assert runs["ERR9000001"].fastq_files == good.fastq_files
    assert runs["ERR9000003"].fastq_files[0].md5 == "0" * 32


def test_a_dropped_connection_is_resumed_with_a_range_request(ena_client, ena_config, ena_mirror, tmp_path):
    run = ena_client.get_run("ERR9000004")
    ena_mirror.faults.truncate_download(1, fraction=0.4)
    files = download_run_fastqs(run, tmp_path, config=ena_config)
    assert md5(files[0].path) == run.fastq_files[0].md5
    fastq = [r for r in ena_mirror.requests if r.path.startswith("/vol1/fastq/")]
    assert [r.status for r in fastq] == [200, 206, 200]  # cut, resumed, second file


def test_a_partial_file_left_by_a_dead_worker_is_resumed(ena_client, ena_config, ena_mirror, tmp_path, mirror_data_dir):
    run = ena_client.get_run("ERR9000001")
    first = run.fastq_files[0]
    source = mirror_data_dir / "vol1/fastq/ERR900/001/ERR9000001/ERR9000001_1.fastq.gz"
    (tmp_path / "ERR9000001_1.fastq.gz.part").write_bytes(source.read_bytes()[:1000])
    with Datamover(ena_config) as mover:
        result = mover.download_file(first, tmp_path, accession=run.accession)
    assert md5(result.path) == first.md5
    assert ena_mirror.requests[-1].status == 206


def test_a_corrupt_final_file_is_replaced(ena_client, ena_config, tmp_path):
    run = ena_client.get_run("ERR9000001")
    (tmp_path / "ERR9000001_1.fastq.gz").write_bytes(b"not the file")
    files = download_run_fastqs(run, tmp_path, config=ena_config)
    assert md5(files[0].path) == run.fastq_files[0].md5 and not files[0].reused


def test_server_errors_are_retried_then_reported(ena_client, ena_mirror, tmp_path):
    run = ena_client.get_run("ERR9000001")
    ena_mirror.faults.add(FaultRule(kind="status", status=503, times=2, target="fastq"))
    files = download_run_fastqs(run, tmp_path / "ok", config=ena_mirror.ena_config(max_retries=3))
    assert len(files) == 2
    ena_mirror.faults.add(FaultRule(kind="status", status=500, times=None, target="fastq"))
    with pytest.raises(ENADownloadError) as info:
        download_run_fastqs(run, tmp_path / "bad", config=ena_mirror.ena_config(max_retries=2))
    assert "ERR9000001" in str(info.value) and "HTTP 500" in str(info.value) and "3 times" in str(info.value)
    assert list((tmp_path / "bad").glob("*.fastq.gz")) == []


def test_a_missing_file_is_an_error_without_retries(ena_client, ena_config, ena_mirror, tmp_path):
    run = ena_client.list_runs("PRJEB90002")[0]  # metadata-only study: files not materialised
    with pytest.raises(ENADownloadError, match="HTTP 404"):
        download_run_fastqs(run, tmp_path, config=ena_config)
    assert len([r for r in ena_mirror.requests if r.path.startswith("/vol1/")]) == 1


def test_a_stalled_download_times_out_and_is_resumed(ena_client, ena_mirror, tmp_path):
    """A transfer that stops sending with the connection open: the read timeout ends it, a Range request resumes it."""
    run = ena_client.get_run("ERR9000003")
    ena_mirror.faults.stall_download(30, fraction=0.3)
    config = ena_mirror.ena_config(max_retries=3, timeout_seconds=1.0)
    started = time.monotonic()
    files = download_run_fastqs(run, tmp_path, config=config)
    assert time.monotonic() - started < 15, "the stall was waited out instead of timed out"
    assert md5(files[0].path) == run.fastq_files[0].md5
    fastq = [r for r in ena_mirror.requests if r.path.startswith("/vol1/fastq/")]
    assert [r.status for r in fastq] == [200, 206, 200]  # stalled, resumed, second file


def test_a_private_runs_files_need_the_webin_credentials(ena_config, ena_mirror, mirror_data_dir, tmp_path):
    webin = WebinConfig(
        emg_webin_account=PRIVATE_STUDY_WEBIN_ACCOUNT,
        emg_webin_password=SecretStr(mirror_webin_accounts(mirror_data_dir)[PRIVATE_STUDY_WEBIN_ACCOUNT]),
    )
    with ENAPortalClient(ena_config, webin) as client:
        run = client.get_run(PRIVATE_STUDY_RUN)
    with Datamover(ena_config, webin=WebinConfig()) as anonymous:
        with pytest.raises(ENADownloadError, match="need EMG_WEBIN__EMG_WEBIN_ACCOUNT"):
            anonymous.download_run(run, tmp_path / "refused", private=True)
        with pytest.raises(ENADownloadError, match="HTTP 404"):  # the mirror, like ENA, does not say it exists
            anonymous.download_run(run, tmp_path / "refused")
    with Datamover(ena_config, webin=webin) as mover:
        files = mover.download_run(run, tmp_path / "ok", private=True)
    assert [md5(f.path) for f in files] == [f.md5 for f in run.fastq_files]
