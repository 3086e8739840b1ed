"""The ENA Portal API client against the local mirror, over real HTTP."""

from __future__ import annotations

import logging
import time
from datetime import date

import httpx
import pytest
from pydantic import SecretStr

from core.config import ENAConfig, WebinConfig
from devtools.ena_mirror.generator import LARGE_STUDY_ACCESSION, SYNTHETIC_STUDY_ACCESSION
from ena.accessions import InvalidAccessionError
from ena.portal import (
    ENAAccessionNotFound,
    ENAAuthenticationError,
    ENABadRequest,
    ENAMalformedResponse,
    ENAPortalClient,
    ENARecordError,
    ENATooManyRetries,
)
from ena.portal.ratelimit import DEFAULT_BURST, TokenBucket, burst_for
from tests.ena.conftest import PAGING_STUDY_RUNS, PRIVATE_STUDY, WEBIN_ACCOUNT, WEBIN_PASSWORD


def portal_requests(mirror):
    return [r for r in mirror.requests if r.path.startswith("/ena/portal/api/")]


def test_happy_path_study_samples_and_runs_are_typed(ena_client, ena_mirror):
    bundle = ena_client.fetch_study_bundle(SYNTHETIC_STUDY_ACCESSION)

    assert bundle.study.accession == "PRJEB90001"
    assert bundle.study.secondary_accessions == ["ERP900001"]
    assert bundle.study.first_public == date(2024, 3, 1)
    assert [s.accession for s in bundle.samples] == [f"SAMEA9000000{i}" for i in range(1, 5)]
    assert bundle.samples[0].secondary_accessions == ["ERS9000001"]
    assert bundle.samples[0].tax_id == "256318" and bundle.samples[0].scientific_name == "metagenome"
    run = bundle.runs[0]
    assert run.accession == "ERR9000001"
    assert (run.library_strategy, run.library_layout, run.library_source, run.library_selection) == (
        "WGS",
        "PAIRED",
        "METAGENOMIC",
        "RANDOM",
    )
    assert run.instrument_platform == "ILLUMINA" and run.instrument_model.startswith("Illumina")
    assert run.read_count == 12_000 and run.base_count == 12_000 * 300
    assert run.sample_accession == "SAMEA90000001" and run.secondary_sample_accession == "ERS9000001"
    assert len(run.fastq_files) == 2
    assert run.fastq_files[0].url == f"{ena_mirror.base_url}/vol1/fastq/ERR900/001/ERR9000001/ERR9000001_1.fastq.gz"
    assert all(len(f.md5) == 32 and f.bytes > 100_000 for f in run.fastq_files)
    # fastq_ftp comes without a scheme, exactly like ENA's
    assert run.raw["fastq_ftp"].startswith(f"127.0.0.1:{ena_mirror.port}/vol1/fastq/")
    # explicit fields= and format=json on every request
    for record in portal_requests(ena_mirror):
        assert record.query["format"] == "json" and record.query["fields"]


def test_study_is_found_by_its_secondary_accession(ena_client):
    assert ena_client.get_study("ERP900001").accession == "PRJEB90001"


def test_get_run_uses_filereport(ena_client, ena_mirror):
    run = ena_client.get_run("ERR9000002")
    assert run.accession == "ERR9000002" and run.study_accession == "PRJEB90001"
    assert ena_mirror.requests[-1].path.endswith("/filereport")


def test_paging_walks_limit_and_offset(ena_client, ena_mirror):
    runs = ena_client.list_runs(LARGE_STUDY_ACCESSION)
    assert len(runs) == PAGING_STUDY_RUNS
    assert len({r.accession for r in runs}) == PAGING_STUDY_RUNS
    pages = [r.query for r in ena_mirror.requests if r.query.get("result") == "read_run"]
    assert [(p["limit"], p["offset"]) for p in pages] == [("1000", "0"), ("1000", "1000"), ("1000", "2000")]


def test_exact_multiple_of_page_size_ends_with_an_empty_page(ena_mirror):
    client = ENAPortalClient(ena_mirror.ena_config(page_size=500), WebinConfig())
    assert len(client.list_runs(LARGE_STUDY_ACCESSION)) == PAGING_STUDY_RUNS
    offsets = [r.query["offset"] for r in ena_mirror.requests if r.query.get("result") == "read_run"]
    assert offsets == ["0", "500", "1000", "1500", "2000", "2500"]


def test_429s_are_retried_honouring_retry_after(ena_mirror):
    slept: list[float] = []
    client = ENAPortalClient(ena_mirror.ena_config(max_retries=5), WebinConfig(), sleep=slept.append)
    ena_mirror.faults.too_many_requests(3, retry_after=2, result="read_run")

    runs = client.list_runs(SYNTHETIC_STUDY_ACCESSION)

    assert len(runs) == 4
    statuses = [r.status for r in ena_mirror.requests if r.query.get("result") == "read_run"]
    assert statuses == [429, 429, 429, 200]
    assert slept == [2.0, 2.0, 2.0]  # Retry-After, not the (tiny) exponential backoff


def test_429_without_retry_after_backs_off_exponentially(ena_mirror):
    slept: list[float] = []
    config = ena_mirror.ena_config(max_retries=5, backoff_base_seconds=0.5)
    client = ENAPortalClient(config, WebinConfig(), sleep=slept.append)
    ena_mirror.faults.too_many_requests(3, retry_after=None)
    client.get_study(SYNTHETIC_STUDY_ACCESSION)
    assert slept == [0.5, 1.0, 2.0]


def test_real_sleep_honours_retry_after(ena_mirror):
    client = ENAPortalClient(ena_mirror.ena_config(), WebinConfig())
    ena_mirror.faults.too_many_requests(1, retry_after=1)
    started = time.monotonic()
    client.get_study(SYNTHETIC_STUDY_ACCESSION)
    assert time.monotonic() - started >= 1.0


def test_persistent_500_gives_too_many_retries_naming_accession_and_url(ena_client, ena_mirror):
    ena_mirror.faults.server_error(result="read_run")
    with pytest.raises(ENATooManyRetries) as info:
        ena_client.list_runs(SYNTHETIC_STUDY_ACCESSION)
    error = info.value
    assert error.attempts == 4 and error.last_status == 500
    assert "PRJEB90001" in str(error)
    assert f"{ena_mirror.portal_api_url}search?result=read_run" in str(error)
    assert len([r for r in ena_mirror.requests if r.query.get("result") == "read_run"]) == 4


def test_a_truncated_body_is_retried(ena_client, ena_mirror):
    ena_mirror.faults.truncated_body(1, result="read_run")
    assert len(ena_client.list_runs(SYNTHETIC_STUDY_ACCESSION)) == 4


def test_a_persistently_malformed_body_gives_malformed_response(ena_client, ena_mirror):
    ena_mirror.faults.truncated_body(None, result="sample")
    with pytest.raises(ENAMalformedResponse) as info:
        ena_client.list_samples(SYNTHETIC_STUDY_ACCESSION)
    assert "PRJEB90001" in str(info.value) and "result=sample" in str(info.value)
    assert "unparsable JSON" in str(info.value)


def answering(body: bytes) -> ENAPortalClient:
    """A client whose every request gets ``body`` (HTTP 200, JSON): an ENA answer the mirror never gives."""
    transport = httpx.MockTransport(
        lambda _request: httpx.Response(200, content=body, headers={"Content-Type": "application/json"})
    )
    config = ENAConfig(portal_api_url="http://ena.invalid/ena/portal/api/", max_retries=0)
    return ENAPortalClient(config, WebinConfig(), transport=transport)


def test_values_ena_sends_as_numbers_or_null_become_strings():
    """Pages are parsed as lists of string-valued records in one pass; any other value takes the general path."""
    body = b'[{"run_accession": "ERR1", "read_count": 12, "base_count": null, "nominal_length": 3.5}]'
    with answering(body) as client:
        rows = client.request("filereport", {"accession": "ERR1", "result": "read_run"})
    assert rows == [{"run_accession": "ERR1", "read_count": "12", "base_count": "", "nominal_length": "3.5"}]


def test_json_that_is_not_a_list_of_records_is_malformed_and_says_what_it_was():
    with answering(b'{"message": "not a page"}') as client, pytest.raises(ENAMalformedResponse) as info:
        client.request("filereport", {"accession": "ERR1", "result": "read_run"}, accession="ERR1")
    assert "expected a JSON list of records, got dict" in str(info.value)


def test_fastq_slots_are_trimmed_and_each_kind_of_fault_is_named():
    client = ENAPortalClient(ENAConfig(fastq_url_scheme="https"), WebinConfig())
    row = {
        "run_accession": "ERR1",
        "sample_accession": "SAMEA1",
        "library_name": "not an ENARun field, kept in raw only",
        "fastq_ftp": " ftp.sra.ebi.ac.uk/ERR1_1.fastq.gz ; http://mirror.invalid/ERR1_2.fastq.gz",
        "fastq_md5": f"{'A' * 32};{'b' * 32}",
        "fastq_bytes": "10; 20",
    }
    run = client.run_from_row(row, accession="ERR1", url="")
    assert [(f.url, f.md5, f.bytes) for f in run.fastq_files] == [
        ("https://ftp.sra.ebi.ac.uk/ERR1_1.fastq.gz", "a" * 32, 10),
        ("http://mirror.invalid/ERR1_2.fastq.gz", "b" * 32, 20),
    ]
    assert run.raw == row
    faults = {
        "fastq_ftp": ({"fastq_ftp": ";ftp.sra.ebi.ac.uk/ERR1_2.fastq.gz"}, "fastq_ftp has an empty slot (file 1 of 2)"),
        "fastq_bytes": ({"fastq_bytes": "10"}, "fastq_ftp lists 2 files but fastq_bytes has 1 values"),
        "fastq_md5": ({"fastq_md5": f" ;{'b' * 32}"}, "fastq_md5 has no value for file 1 of 2 (ERR1_1.fastq.gz)"),
    }
    for field, (change, message) in faults.items():
        with pytest.raises(ENARecordError) as info:
            client.run_from_row({**row, **change}, accession="ERR1", url="")
        assert info.value.field == field and message in str(info.value)


def test_a_run_with_inconsistent_file_lists_is_skipped_naming_its_field(ena_client, ena_mirror):
    ena_mirror.store.patch_run("ERR9000003", fastq_md5="0123456789abcdef0123456789abcdef")  # one md5, two files
    runs = ena_client.list_runs(SYNTHETIC_STUDY_ACCESSION)
    assert [run.accession for run in runs] == ["ERR9000001", "ERR9000002", "ERR9000004"]
    [skipped] = runs.skipped
    assert (skipped.result, skipped.accession, skipped.field) == ("read_run", "ERR9000003", "fastq_md5")
    assert skipped.reason == "read_run ERR9000003: fastq_ftp lists 2 files but fastq_md5 has 1 values"


def test_an_empty_md5_slot_names_the_file_it_belongs_to(ena_client, ena_mirror):
    run = ena_client.get_run("ERR9000001")
    first, second = (file.md5 for file in run.fastq_files)
    ena_mirror.store.patch_run("ERR9000001", fastq_md5=f"{first};")  # two slots, the second empty
    with pytest.raises(ENARecordError) as info:
        ena_client.get_run("ERR9000001")
    error = info.value
    assert (error.field, error.file) == ("fastq_md5", "ERR9000001_2.fastq.gz")
    assert "fastq_md5 has no value for file 2 of 2 (ERR9000001_2.fastq.gz)" in str(error)
    ena_mirror.store.patch_run("ERR9000001", fastq_md5=f";{second}")
    assert ena_client.list_runs(SYNTHETIC_STUDY_ACCESSION).skipped[0].file == "ERR9000001_1.fastq.gz"


def test_a_malformed_md5_names_its_file(ena_client, ena_mirror):
    second = ena_client.get_run("ERR9000004").fastq_files[1].md5
    ena_mirror.store.patch_run("ERR9000004", fastq_md5=f"not-an-md5;{second}")
    [skipped] = ena_client.list_runs(SYNTHETIC_STUDY_ACCESSION).skipped
    assert (skipped.field, skipped.file) == ("fastq_md5", "ERR9000004_1.fastq.gz")
    assert skipped.reason.startswith("read_run ERR9000004: fastq_md5 of ERR9000004_1.fastq.gz is 'not-an-md5'")


def test_a_non_numeric_count_skips_that_run_only(ena_client, ena_mirror):
    ena_mirror.store.patch_run("ERR9000002", read_count="lots")
    runs = ena_client.list_runs(SYNTHETIC_STUDY_ACCESSION)
    assert len(runs) == 3 and "ERR9000002" not in {run.accession for run in runs}
    [skipped] = runs.skipped
    assert skipped.field == "read_count" and "'lots'" in skipped.reason
    with pytest.raises(ENAMalformedResponse, match="read_count"):
        ena_client.get_run("ERR9000002")


def test_blank_values_are_accepted_where_ena_leaves_them_blank(ena_client, ena_mirror):
    ena_mirror.store.patch_run(
        "ERR9000002",
        read_count="",
        base_count="",
        first_public="",
        library_layout="",
        instrument_model="",
        study_accession="",
        sample_accession="",
    )
    run = ena_client.get_run("ERR9000002")
    assert run.read_count is None and run.base_count is None and run.first_public is None
    assert run.sample_accession == "ERS9000002"  # the secondary accession stands in for a blank primary
    assert run.study_accession == ""
    ena_mirror.store.patch_run("ERR9000002", study_accession=SYNTHETIC_STUDY_ACCESSION)
    bundle = ena_client.fetch_study_bundle(SYNTHETIC_STUDY_ACCESSION)
    assert bundle.skipped == [] and len(bundle.runs) == 4
    run = next(run for run in bundle.runs if run.accession == "ERR9000002")
    assert run.sample_accession == "SAMEA90000002" and run.library_layout == ""  # joined to its sample
    assert len(bundle.samples) == 4


def test_a_run_without_any_sample_accession_is_skipped(ena_client, ena_mirror):
    ena_mirror.store.patch_run("ERR9000004", sample_accession="", secondary_sample_accession="")
    bundle = ena_client.fetch_study_bundle(SYNTHETIC_STUDY_ACCESSION)
    assert len(bundle.runs) == 3
    [skipped] = bundle.skipped
    assert (skipped.accession, skipped.field) == ("ERR9000004", "sample_accession")
    assert "neither sample_accession nor secondary_sample_accession" in skipped.reason


def test_204_is_an_empty_result(ena_client, ena_mirror):
    ena_mirror.faults.empty_response(1, result="read_run")
    assert ena_client.list_runs(SYNTHETIC_STUDY_ACCESSION) == []


def test_unknown_study_is_not_found(ena_client, ena_mirror):
    with pytest.raises(ENAAccessionNotFound) as info:
        ena_client.get_study("PRJEB99999")
    assert "PRJEB99999" in str(info.value) and ena_mirror.portal_api_url in str(info.value)
    portals = [r.query.get("dataPortal") for r in ena_mirror.requests]
    assert portals == ["metagenome", "ena"]


def test_unknown_run_is_not_found_via_filereport_204(ena_client, ena_mirror):
    with pytest.raises(ENAAccessionNotFound, match="ERR0000001"):
        ena_client.get_run("ERR0000001")
    assert ena_mirror.requests[-1].status == 204


def test_malformed_accession_is_refused_before_any_request(ena_client, ena_mirror):
    with pytest.raises(InvalidAccessionError, match="PRJ-nope"):
        ena_client.get_study("PRJ-nope")
    assert ena_mirror.requests == []


def test_a_bad_request_is_not_retried(ena_client, ena_mirror):
    with pytest.raises(ENABadRequest) as info:
        ena_client.search(result="read_run", query='study_accession="PRJEB90001"', fields=["no_such_field"])
    assert "no_such_field" in str(info.value)
    assert len(ena_mirror.requests) == 1


def test_timeouts_are_retried_then_reported(ena_mirror):
    client = ENAPortalClient(ena_mirror.ena_config(timeout_seconds=0.3, max_retries=1), WebinConfig())
    ena_mirror.faults.slow(1.0, times=None)
    with pytest.raises(ENATooManyRetries, match="timed out"):
        client.get_study(SYNTHETIC_STUDY_ACCESSION)


def test_rate_limit_is_kept_after_a_short_burst(ena_mirror):
    client = ENAPortalClient(ena_mirror.ena_config(requests_per_second=10), WebinConfig())
    params = {"result": "study", "query": 'study_accession="PRJEB90001"', "fields": "study_title"}
    sent: list[float] = []
    started = time.monotonic()
    for _ in range(12):
        client.request("search", params)
        sent.append(time.monotonic() - started)
    assert sent[DEFAULT_BURST - 1] < 0.3  # the burst goes out without waiting for the rate
    assert sent[-1] >= (12 - DEFAULT_BURST) * 0.1 - 0.05  # then one per 0.1 s
    assert len(ena_mirror.requests) == 12


def test_burst_is_at_most_one_seconds_worth():
    assert burst_for(5.0) == DEFAULT_BURST == 5
    assert burst_for(2.0) == 2.0 and burst_for(0.5) == 1.0 and burst_for(100.0) == DEFAULT_BURST


def test_token_bucket_with_a_fake_clock():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(4.0, clock=lambda: now[0], sleep=sleep)
    for _ in range(5):
        bucket.acquire()
    assert now[0] == pytest.approx(1.0)  # 4 waits of 0.25 s after the first free token


def test_token_bucket_burst_then_average_rate_with_a_fake_clock():
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    bucket = TokenBucket(5.0, capacity=5, clock=lambda: now[0], sleep=sleep)
    times = []
    for _ in range(25):
        bucket.acquire()
        times.append(now[0])
    assert times[:5] == [0.0] * 5  # a burst of 5
    assert times[5] == pytest.approx(0.2) and times[-1] == pytest.approx(4.0)  # then 5 per second
    # over any window of T seconds, at most capacity + rate * T requests
    for i, start in enumerate(times):
        for j in range(i, len(times)):
            assert j - i + 1 <= 5 + 5.0 * (times[j] - start) + 1e-9
    # after an idle second the bucket is full again, but never holds more than its capacity
    now[0] += 10.0
    assert [bucket.acquire() for _ in range(6)][:5] == [0.0] * 5 and now[0] == pytest.approx(14.2)


def webin(password: str = WEBIN_PASSWORD) -> WebinConfig:
    return WebinConfig(emg_webin_account=WEBIN_ACCOUNT, emg_webin_password=SecretStr(password))


def test_private_study_needs_webin_credentials(ena_mirror):
    anonymous = ENAPortalClient(ena_mirror.ena_config(), WebinConfig())
    with pytest.raises(ENAAccessionNotFound, match="publicly"):
        anonymous.get_study(PRIVATE_STUDY)
    with_webin = ENAPortalClient(ena_mirror.ena_config(), webin())
    bundle = with_webin.fetch_study_bundle(PRIVATE_STUDY)
    assert len(bundle.runs) == 3
    assert bundle.is_private and bundle.webin_submitter == WEBIN_ACCOUNT
    assert with_webin.get_run(bundle.runs[0].accession).accession == bundle.runs[0].accession


def test_public_studies_are_asked_for_without_credentials_even_when_they_are_configured(ena_mirror):
    # the mirror answers 401 to wrong credentials: a public import that sent them would fail
    client = ENAPortalClient(ena_mirror.ena_config(), webin("wrong-password"), authenticated=True)
    bundle = client.fetch_study_bundle(SYNTHETIC_STUDY_ACCESSION)
    assert not bundle.is_private and bundle.webin_submitter == "" and len(bundle.runs) == 4
    with pytest.raises(ENAAuthenticationError):  # ... and a study not public is asked for with them
        client.get_study(PRIVATE_STUDY)


def test_webin_password_never_appears_in_errors_or_logs(ena_mirror, caplog):
    wrong = "wrong-" + WEBIN_PASSWORD
    caplog.set_level(logging.DEBUG)
    client = ENAPortalClient(ena_mirror.ena_config(), webin(wrong), authenticated=True)
    with pytest.raises(ENAAuthenticationError) as info:
        client.get_study(PRIVATE_STUDY)
    assert WEBIN_ACCOUNT in str(info.value)
    assert wrong not in str(info.value) and wrong not in repr(info.value)
    # and while retrying faults with good credentials
    good = ENAPortalClient(ena_mirror.ena_config(max_retries=1), webin(), authenticated=True)
    ena_mirror.faults.server_error()
    with pytest.raises(ENATooManyRetries) as info:
        good.get_study(PRIVATE_STUDY)
    assert WEBIN_PASSWORD not in str(info.value)
    assert WEBIN_PASSWORD not in caplog.text and wrong not in caplog.text
    assert WEBIN_PASSWORD not in repr(webin())


def test_authenticated_without_credentials_is_refused(ena_mirror):
    with pytest.raises(ENAAuthenticationError, match="EMG_WEBIN__EMG_WEBIN_ACCOUNT"):
        ENAPortalClient(ena_mirror.ena_config(), WebinConfig(), authenticated=True)
