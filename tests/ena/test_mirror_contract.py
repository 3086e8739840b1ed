"""The local ENA mirror answers every ENA contract exchange (tests/ena/contract) as ENA does.

The client's own tests replay the same fixtures to the client, so client and mirror cannot drift
apart together: a change to either that ENA would not make breaks one side here.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from core.config import WebinConfig
from devtools.ena_mirror.portal_fields import FILEREPORT_DEFAULT_FIELDS, RETURN_FIELDS
from devtools.ena_mirror.server import MirrorHandle, run_mirror_in_thread
from ena.portal import ENAPortalClient
from ena.portal.types import RUN_FIELDS, SAMPLE_FIELDS, STUDY_FIELDS
from tests.ena.contract import (
    CONTRACT_WEBIN_ACCOUNT,
    CONTRACT_WEBIN_PASSWORD,
    ENA_FILE_HOST,
    FILE_PATH_FIELDS,
    PAGING_PARAMS,
    ContractFixture,
    load_fixtures,
    study_records_from_fixtures,
)

FIXTURES = load_fixtures()
CLIENT_FIELDS = {"study": STUDY_FIELDS, "sample": SAMPLE_FIELDS, "read_run": RUN_FIELDS}


@pytest.fixture(scope="module")
def contract_mirror(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MirrorHandle]:
    """A mirror serving only the fixtures' studies (an empty data dir: no generated studies)."""
    with run_mirror_in_thread(
        tmp_path_factory.mktemp("contract-mirror"),
        generate=False,
        studies=study_records_from_fixtures(),
        webin_accounts={CONTRACT_WEBIN_ACCOUNT: CONTRACT_WEBIN_PASSWORD},
    ) as mirror:
        yield mirror


def as_ena(row: dict[str, str], mirror_host: str) -> dict[str, str]:
    """The mirror's row with its file URLs as ENA writes them (ENA's host, no scheme); field order kept."""
    out = {}
    for name, value in row.items():
        if name in FILE_PATH_FIELDS and value:
            paths = [p.split("://", 1)[-1] for p in value.split(";")]
            value = ";".join(
                ENA_FILE_HOST + p.removeprefix(mirror_host) if p.startswith(mirror_host) else p for p in paths
            )
        out[name] = value
    return out


def rows_as_set(rows: list[dict[str, str]]) -> list[str]:
    """Rows compared without their order (ENA's is not stable) but with each row's field order."""
    return sorted(json.dumps(list(row.items())) for row in rows)


@pytest.mark.parametrize("fixture", FIXTURES, ids=[f.name for f in FIXTURES])
def test_the_mirror_answers_each_contract_exchange_as_ena(contract_mirror: MirrorHandle, fixture: ContractFixture):
    auth = (CONTRACT_WEBIN_ACCOUNT, CONTRACT_WEBIN_PASSWORD) if fixture.authenticated else None
    response = httpx.get(contract_mirror.portal_api_url + fixture.endpoint, params=fixture.params, auth=auth)
    assert response.status_code == fixture.status, response.text
    media_type = response.headers.get("Content-Type", "").split(";")[0].strip() or None
    assert media_type == fixture.content_type
    if fixture.body is None:
        assert response.content == b""
        return
    body = response.json()
    if isinstance(fixture.body, list):
        host = f"{contract_mirror.host}:{contract_mirror.port}"
        assert rows_as_set([as_ena(row, host) for row in body]) == rows_as_set(fixture.body)
    else:
        assert body == fixture.body


def test_the_fixtures_ask_for_exactly_the_clients_fields():
    """A change to the client's field tuples fails here until the fixtures (ENA's answers) follow it."""
    asked = [f for f in FIXTURES if "fields" in f.params]
    assert len(asked) >= 10
    for fixture in asked:
        fields = fixture.params["fields"].split(",")
        if fixture.status == 400:  # the exchange about a field ENA refuses
            assert set(fields) - RETURN_FIELDS[fixture.result], fixture.name
            continue
        assert tuple(fields) == CLIENT_FIELDS[fixture.result], fixture.name
        for row in fixture.body or []:
            assert list(row) == fields, fixture.name  # every requested field, in order, blanks as ""
    (default,) = [f for f in FIXTURES if f.endpoint == "filereport" and "fields" not in f.params]
    assert [list(row) for row in default.body] == [list(FILEREPORT_DEFAULT_FIELDS["read_run"])]


def test_the_fixtures_cover_every_kind_of_record_ena_serves():
    """The cases the client must survive are all in the fixtures, written as ENA writes them."""
    (runs,) = [f for f in FIXTURES if f.name == "read_run_search_by_study"]
    by_accession = {row["run_accession"]: row for row in runs.body}
    files = {
        accession: row["fastq_ftp"].split(";") if row["fastq_ftp"] else [] for accession, row in by_accession.items()
    }
    assert [len(f) for _, f in sorted(files.items())] == [1, 2, 3, 2, 3, 2, 0]
    assert [p.rsplit("/", 1)[1] for p in files["ERR9100103"]] == [
        "ERR9100103.fastq.gz",
        "ERR9100103_1.fastq.gz",
        "ERR9100103_2.fastq.gz",
    ]
    assert files["ERR9100101"] == [f"{ENA_FILE_HOST}/vol1/fastq/ERR910/001/ERR9100101/ERR9100101.fastq.gz"]
    assert all("://" not in path for paths in files.values() for path in paths)
    blank = by_accession["ERR9100104"]
    assert [blank[k] for k in ("library_layout", "read_count", "sample_accession", "first_public")] == [""] * 4
    assert blank["secondary_sample_accession"] == "ERS9100104"
    middle = by_accession["ERR9100105"]["fastq_md5"].split(";")
    assert len(middle) == 3 and middle[1] == "" and all(len(m) == 32 for m in middle[::2])
    assert not by_accession["ERR9100106"]["read_count"].isdigit()
    assert by_accession["ERR9100107"]["fastq_ftp"] == "" and by_accession["ERR9100107"]["submitted_ftp"]
    names = {f.name: f for f in FIXTURES}
    assert names["private_study_search_unauthenticated"].body == []
    assert [r["study_accession"] for r in names["private_study_search_authenticated"].body] == ["PRJEB91002"]
    assert names["filereport_unknown_run"].status == 204 and names["search_no_hits"].body == []
    assert not any(set(f.params) & set(PAGING_PARAMS) for f in FIXTURES)


def test_records_built_from_the_fixtures_are_complete():
    records = {r.accession: r for r in study_records_from_fixtures()}
    assert sorted(records) == ["PRJEB91001", "PRJEB91002"]
    public, private = records["PRJEB91001"], records["PRJEB91002"]
    assert not public.private and public.webin_submitter == ""
    assert private.private and private.webin_submitter == CONTRACT_WEBIN_ACCOUNT
    assert len(public.samples) == len(public.runs) == 7 and len(private.samples) == len(private.runs) == 1
    three = next(r for r in public.runs if r["run_accession"] == "ERR9100103")
    # fields of the run-field search and of the default-field filereport, merged; paths without ENA's host
    assert set(three) == set(RUN_FIELDS) | set(FILEREPORT_DEFAULT_FIELDS["read_run"])
    assert three["fastq_ftp"].startswith("vol1/fastq/ERR910/003/ERR9100103/") and three["submitted_md5"]
    assert all(s["study_accession"] == "PRJEB91001" for s in public.samples)


def test_contradicting_fixtures_are_refused(tmp_path: Path):
    for fixture in FIXTURES:
        if fixture.name == "filereport_run_with_client_fields":
            data = json.loads(fixture.path.read_text())
            data["response"]["body"][0]["read_count"] = "1"
            (tmp_path / fixture.path.name).write_text(json.dumps(data))
        elif fixture.name in ("read_run_search_by_study", "study_search_by_primary_accession"):
            (tmp_path / fixture.path.name).write_text(fixture.path.read_text())
    with pytest.raises(ValueError, match="disagree about run ERR9100102 read_count"):
        study_records_from_fixtures(load_fixtures(tmp_path))


def test_the_client_sends_the_fixtures_requests(contract_mirror: MirrorHandle):
    """What ``ENAPortalClient`` sends for a study and a run is the fixtures' request, paging aside."""
    before = len(contract_mirror.requests)
    webin = WebinConfig(emg_webin_account=CONTRACT_WEBIN_ACCOUNT, emg_webin_password=SecretStr(CONTRACT_WEBIN_PASSWORD))
    with ENAPortalClient(contract_mirror.ena_config(max_retries=0), webin) as client:
        client.find_study("PRJEB91001")
        client.find_study("ERP910001")
        client.get_run("ERR9100102")
    sent = [
        {k: v for k, v in r.query.items() if k not in PAGING_PARAMS}
        for r in contract_mirror.requests[before:]
        if r.path.startswith("/ena/portal/api/")
    ]
    names = {f.name: f for f in FIXTURES}
    for name in (
        "study_search_by_primary_accession",
        "study_search_by_secondary_accession",
        "filereport_run_with_client_fields",
    ):
        assert names[name].params in sent, name
