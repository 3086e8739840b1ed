"""The ENA client against ENA's own answers: the contract fixtures in tests/ena/contract, replayed.

ENA's real servers cannot be reached here, so they are the one thing mocked: an httpx transport
answers each request the client sends with the fixture that describes that exact request (params,
credentials). A request no fixture describes fails the test, so the client cannot ask ENA anything
the fixtures (written from ENA's documentation) do not cover. The same fixtures are served by the
local mirror in test_mirror_contract.py.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator

import httpx
import pytest
from pydantic import SecretStr

from core.config import ENAConfig, WebinConfig
from ena.portal import ENAAccessionNotFound, ENABadRequest, ENAPortalClient, ENARecordError
from ena.read_files import ReadLayout, UnusableReadFiles, file_name, select_read_files
from tests.ena.contract import (
    CONTRACT_WEBIN_ACCOUNT,
    CONTRACT_WEBIN_PASSWORD,
    ENA_FILEREPORT_DEFAULT_FIELDS,
    PAGING_PARAMS,
    ContractFixture,
    load_fixtures,
)

PUBLIC_STUDY = "PRJEB91001"
PRIVATE_STUDY = "PRJEB91002"
ENA_PORTAL_API = "https://www.ebi.ac.uk/ena/portal/api/"


class ReplayedENA:
    """An httpx transport answering with the fixture whose request matches exactly; it notes what it served."""

    def __init__(self, fixtures: list[ContractFixture]):
        self.fixtures = fixtures
        self.served: list[str] = []
        self.transport = httpx.MockTransport(self.answer)

    @staticmethod
    def _credentials(request: httpx.Request) -> str | None:
        header = request.headers.get("Authorization")
        if header is None:
            return None
        return base64.b64decode(header.removeprefix("Basic ")).decode()

    def answer(self, request: httpx.Request) -> httpx.Response:
        endpoint = request.url.path.rsplit("/", 1)[-1]
        params = {k: v for k, v in request.url.params.items() if k not in PAGING_PARAMS}
        credentials = self._credentials(request)
        if credentials is not None and credentials != f"{CONTRACT_WEBIN_ACCOUNT}:{CONTRACT_WEBIN_PASSWORD}":
            return httpx.Response(401, json={"message": "Invalid credentials"})
        for fixture in self.fixtures:
            if (fixture.endpoint, fixture.params, fixture.authenticated) == (endpoint, params, credentials is not None):
                self.served.append(fixture.name)
                if fixture.status == 204:
                    return httpx.Response(204)
                return httpx.Response(
                    fixture.status,
                    content=json.dumps(fixture.body).encode(),
                    headers={"Content-Type": fixture.content_type},
                )
        raise AssertionError(f"no contract fixture describes {endpoint} {params} (credentials: {bool(credentials)})")


@pytest.fixture
def ena() -> ReplayedENA:
    return ReplayedENA(load_fixtures())


def contract_client(ena: ReplayedENA, *, webin: bool = False) -> ENAPortalClient:
    config = ENAConfig(
        portal_api_url=ENA_PORTAL_API,
        metagenomic_data_portals=["metagenome"],
        requests_per_second=1000.0,
        backoff_base_seconds=0.01,
        max_retries=0,
    )
    credentials = (
        WebinConfig(emg_webin_account=CONTRACT_WEBIN_ACCOUNT, emg_webin_password=SecretStr(CONTRACT_WEBIN_PASSWORD))
        if webin
        else WebinConfig()
    )
    return ENAPortalClient(config, credentials, transport=ena.transport)


@pytest.fixture
def client(ena: ReplayedENA) -> Iterator[ENAPortalClient]:
    with contract_client(ena) as client:
        yield client


def test_a_study_with_every_run_layout_is_read_from_enas_own_answers(client, ena):
    bundle = client.fetch_study_bundle(PUBLIC_STUDY)

    assert ena.served == ["study_search_by_primary_accession", "sample_search_by_study", "read_run_search_by_study"]
    assert (bundle.study.accession, bundle.study.secondary_accessions) == (PUBLIC_STUDY, ["ERP910001"])
    assert not bundle.is_private and bundle.data_portal == "metagenome"
    runs = {run.accession: run for run in bundle.runs}
    assert sorted(runs) == ["ERR9100101", "ERR9100102", "ERR9100103", "ERR9100104", "ERR9100107"]
    assert {(s.accession, s.field, s.file) for s in bundle.skipped} == {
        ("ERR9100105", "fastq_md5", "ERR9100105_1.fastq.gz"),  # the empty slot in the middle of three
        ("ERR9100106", "read_count", ""),
    }
    scheme = client.config.fastq_url_scheme  # ENA writes no scheme; the client adds the configured one
    assert all(
        run.fastq_files[0].url.startswith(f"{scheme}://ftp.sra.ebi.ac.uk/vol1/fastq/") for run in bundle.runs[:4]
    )

    def roles(accession: str):
        run = runs[accession]
        return select_read_files(run.fastq_files, library_layout=run.library_layout, accession=accession)

    assert [file_name(f.url) for f in roles("ERR9100101").reads] == ["ERR9100101.fastq.gz"]
    assert roles("ERR9100101").layout == ReadLayout.SINGLE
    three = roles("ERR9100103")
    assert [file_name(f.url) for f in three.reads] == ["ERR9100103_1.fastq.gz", "ERR9100103_2.fastq.gz"]
    assert file_name(three.unpaired.url) == "ERR9100103.fastq.gz"
    blanks = runs["ERR9100104"]
    assert (blanks.library_layout, blanks.read_count, blanks.first_public) == ("", None, None)
    assert blanks.sample_accession in {s.accession for s in bundle.samples}
    assert roles("ERR9100104").paired  # the names decide when library_layout is blank
    assert runs["ERR9100107"].fastq_files == []
    with pytest.raises(UnusableReadFiles, match="no FASTQ files"):
        roles("ERR9100107")


def test_the_skipped_record_messages_name_record_field_and_file(client):
    skipped = {s.accession: s.reason for s in client.list_runs(PUBLIC_STUDY, data_portal="metagenome").skipped}
    assert skipped["ERR9100105"] == (
        "read_run ERR9100105: fastq_md5 has no value for file 2 of 3 (ERR9100105_1.fastq.gz)"
    )
    assert skipped["ERR9100106"].startswith("read_run ERR9100106: read_count is ")


def test_a_study_is_found_by_its_secondary_accession(client, ena):
    assert client.get_study("ERP910001").accession == PUBLIC_STUDY
    assert ena.served == ["study_search_by_secondary_accession"]


def test_one_run_by_filereport(client, ena):
    run = client.get_run("ERR9100102")
    assert ena.served == ["filereport_run_with_client_fields"]
    assert [file_name(f.url) for f in run.fastq_files] == ["ERR9100102_1.fastq.gz", "ERR9100102_2.fastq.gz"]
    assert run.read_count is not None and run.fastq_files[0].bytes > 0


def test_filereport_default_fields_are_enas_file_columns(client, ena):
    [row] = client.request("filereport", {"accession": "ERR9100103", "result": "read_run"})
    assert list(row) == list(ENA_FILEREPORT_DEFAULT_FIELDS)
    files = client.fastq_files(row, accession="ERR9100103", url="")
    assert [file_name(f.url) for f in files] == [
        "ERR9100103.fastq.gz",
        "ERR9100103_1.fastq.gz",
        "ERR9100103_2.fastq.gz",
    ]


def test_unknown_run_204_is_not_found(client):
    with pytest.raises(ENAAccessionNotFound, match="ERR9100199"):
        client.get_run("ERR9100199")


def test_no_hits_is_not_found(client):
    with pytest.raises(ENAAccessionNotFound, match="PRJEB91999"):
        client.get_study("PRJEB91999")


def test_enas_400_becomes_a_bad_request_with_enas_message(client, ena):
    fixture = next(f for f in ena.fixtures if f.name == "search_invalid_field")
    with pytest.raises(ENABadRequest) as info:
        client.search(
            result="study",
            query=fixture.params["query"],
            fields=fixture.params["fields"].split(","),
            data_portal="metagenome",
        )
    assert info.value.status == 400 and fixture.body["message"][:100] in str(info.value)


def test_a_private_study_is_seen_only_with_webin_credentials(ena):
    with contract_client(ena) as anonymous, pytest.raises(ENAAccessionNotFound, match="publicly"):
        anonymous.get_study(PRIVATE_STUDY)
    with pytest.raises(ENAAccessionNotFound):
        contract_client(ena).get_run("ERR9100201")
    with contract_client(ena, webin=True) as client:
        bundle = client.fetch_study_bundle(PRIVATE_STUDY)
    assert bundle.is_private and bundle.webin_submitter == CONTRACT_WEBIN_ACCOUNT
    assert [run.accession for run in bundle.runs] == ["ERR9100201"] and bundle.skipped == []
    assert "private_study_search_authenticated" in ena.served


def test_every_fixture_is_replayed_by_some_client_test():
    """A fixture no client test asks for would check nothing on this side."""
    replayed = ReplayedENA(load_fixtures())
    client, webin_client = contract_client(replayed), contract_client(replayed, webin=True)
    client.fetch_study_bundle(PUBLIC_STUDY)
    client.get_study("ERP910001")
    client.get_run("ERR9100102")
    client.request("filereport", {"accession": "ERR9100103", "result": "read_run"})
    for ask in (lambda: client.get_run("ERR9100199"), lambda: client.get_study("PRJEB91999")):
        with pytest.raises(ENAAccessionNotFound):
            ask()
    fixture = next(f for f in replayed.fixtures if f.name == "search_invalid_field")
    with pytest.raises(ENABadRequest):
        client.search(
            result="study",
            query=fixture.params["query"],
            fields=fixture.params["fields"].split(","),
            data_portal="metagenome",
        )
    with pytest.raises(ENAAccessionNotFound):
        client.get_run("ERR9100201")
    webin_client.fetch_study_bundle(PRIVATE_STUDY)
    with pytest.raises(ENARecordError):
        client.run_from_row(
            next(
                row
                for row in next(f for f in replayed.fixtures if f.name == "read_run_search_by_study").body
                if row["run_accession"] == "ERR9100106"
            ),
            accession="ERR9100106",
            url="",
        )
    assert set(replayed.served) == {fixture.name for fixture in replayed.fixtures}
