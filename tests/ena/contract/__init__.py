"""ENA contract fixtures: exchanges with ENA's Portal API, in ENA's exact format, as JSON files here.

Each ``*.json`` is one request and ENA's answer, written from ENA's documentation and published
examples (not from the mirror's output)::

    {"name": ..., "description": ...,
     "request": {"endpoint": "search" | "filereport", "params": {... "format": "json"}, "authenticated": false},
     "response": {"status": 200, "content_type": "application/json", "body": [...] | {...} | null}}

They describe a fictional public study PRJEB91001 / ERP910001 (runs ERR9100101..07: single-end,
paired, three files with the unpaired one first, a record with ENA's blanks, an empty md5 slot in the
middle of three, a non-numeric read_count, no FASTQ at all) and a private study PRJEB91002 / ERP910002
seen only with the Webin credentials of :data:`CONTRACT_WEBIN_ACCOUNT` (``authenticated: true``:
send HTTP Basic ``CONTRACT_WEBIN_ACCOUNT:CONTRACT_WEBIN_PASSWORD``).

Two consumers keep each other honest: the client's tests feed these answers to ``ENAPortalClient``
(an ``httpx.MockTransport``), and ``tests/ena/test_mirror_contract.py`` checks that the local ENA
mirror, loaded with :func:`study_records_from_fixtures`, gives the same answers. So neither the
client nor the mirror can drift from ENA without a fixture changing.

How to match a request against ``params``:

* ``params`` are exactly the client's (``query`` as ``study_accession="PRJEB91001"``, ``fields`` as
  ``",".join`` of the client's field tuples, ``dataPortal`` for searches, ``format=json``), **except
  paging**: ``limit`` and ``offset`` are left out, so a matcher must ignore them. (The client pages
  with ``limit=page_size`` and ``offset``; every answer here fits one page.)
* The order of rows in a body is not significant: ENA's row order is not stable between identical
  requests. The order of fields within a row is (primary accession first, then as requested).
* ``content_type`` is null, and ``body`` null, for HTTP 204.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from devtools.ena_mirror.generator import StudyRecord

CONTRACT_DIR = Path(__file__).resolve().parent
#: The Webin account that owns the private fixture study (PRJEB91002).
CONTRACT_WEBIN_ACCOUNT = "Webin-91002"
#: Its password, for the mirror and the client in tests (a test constant, not a secret).
CONTRACT_WEBIN_PASSWORD = "contract-fixture-password-91002"
#: The host ENA writes in front of file paths (``fastq_ftp`` has no scheme).
ENA_FILE_HOST = "ftp.sra.ebi.ac.uk"
#: Fields holding ``;``-joined file paths with ENA's host in front.
FILE_PATH_FIELDS = ("fastq_ftp", "submitted_ftp", "sra_ftp", "bam_ftp")
#: What ENA's ``filereport`` of a run answers without ``fields``: the accession, then its FASTQ, submitted
#: and SRA files (ENA's file-location default). The expectation both the client's and the mirror's tests hold.
ENA_FILEREPORT_DEFAULT_FIELDS = (
    "run_accession",
    "fastq_ftp",
    "fastq_bytes",
    "fastq_md5",
    "submitted_ftp",
    "submitted_bytes",
    "submitted_md5",
    "sra_ftp",
    "sra_bytes",
    "sra_md5",
)
#: Query params matchers must ignore (see the module docstring).
PAGING_PARAMS = ("limit", "offset")

_STUDY_QUERY = re.compile(r'^(secondary_)?study_accession="([^"]+)"$')


@dataclass(frozen=True)
class ContractFixture:
    """One exchange with ENA: the request the client sends and ENA's answer.

    :ivar params: the query parameters, ``format=json`` included, ``limit``/``offset`` left out
    :ivar authenticated: sent with HTTP Basic credentials of :data:`CONTRACT_WEBIN_ACCOUNT`
    :ivar content_type: media type of the answer; None for 204
    :ivar body: the decoded JSON answer (a list of records, an error object), None for 204
    """

    name: str
    description: str
    endpoint: str
    params: dict[str, str]
    authenticated: bool
    status: int
    content_type: str | None
    body: Any
    path: Path

    @property
    def result(self) -> str:
        return self.params.get("result", "")


def load_fixtures(directory: Path = CONTRACT_DIR) -> list[ContractFixture]:
    """Every fixture of ``directory``, by file name."""
    fixtures = []
    for path in sorted(directory.glob("*.json")):
        data = json.loads(path.read_text())
        request, response = data["request"], data["response"]
        fixtures.append(
            ContractFixture(
                name=data["name"],
                description=data["description"],
                endpoint=request["endpoint"],
                params={str(k): str(v) for k, v in request["params"].items()},
                authenticated=bool(request.get("authenticated", False)),
                status=int(response["status"]),
                content_type=response.get("content_type"),
                body=response.get("body"),
                path=path,
            )
        )
    return fixtures


def strip_file_host(value: str) -> str:
    """``ftp.sra.ebi.ac.uk/vol1/...;...`` -> ``vol1/...;...``: paths as the mirror stores them."""
    prefix = ENA_FILE_HOST + "/"
    return ";".join(path.removeprefix(prefix) for path in value.split(";")) if value else value


def _merge(into: dict[str, str], row: dict[str, str], what: str) -> None:
    for name, value in row.items():
        if into.setdefault(name, value) != value:
            raise ValueError(f"fixtures disagree about {what} {name}: {into[name]!r} / {value!r}")


def study_records_from_fixtures(fixtures: list[ContractFixture] | None = None) -> list[StudyRecord]:
    """Mirror studies holding every record the fixtures show, so the mirror can answer as ENA did.

    Each record is the union of the fields the fixtures show of it (fixtures that disagree about a
    value raise ValueError); file paths lose ENA's host (the mirror puts its own). A sample gets the
    ``study_accession`` its search asked for. A study that no unauthenticated exchange returned is
    private, owned by :data:`CONTRACT_WEBIN_ACCOUNT`.

    :raises ValueError: fixtures that contradict each other, or a record of no known study
    """
    fixtures = load_fixtures() if fixtures is None else fixtures
    studies: dict[str, dict[str, str]] = {}
    samples: dict[tuple[str, str], dict[str, str]] = {}
    runs: dict[str, dict[str, str]] = {}
    public: set[str] = set()
    for fixture in fixtures:
        if fixture.status != 200 or not isinstance(fixture.body, list):
            continue
        match = _STUDY_QUERY.match(fixture.params.get("query", ""))
        for raw in fixture.body:
            row = {k: strip_file_host(v) if k in FILE_PATH_FIELDS else v for k, v in raw.items()}
            if fixture.result in ("study", "read_study"):
                study = row["study_accession"]
                _merge(studies.setdefault(study, {}), row, f"study {study}")
            elif fixture.result == "sample":
                if not match or match.group(1):
                    raise ValueError(f"{fixture.name}: a sample search must ask for study_accession=")
                study = match.group(2)
                row.setdefault("study_accession", study)
                key = (study, row["sample_accession"] or row["secondary_sample_accession"])
                _merge(samples.setdefault(key, {}), row, f"sample {key[1]}")
            elif fixture.result == "read_run":
                _merge(runs.setdefault(row["run_accession"], {}), row, f"run {row['run_accession']}")
                study = runs[row["run_accession"]].get("study_accession", "")
            else:
                raise ValueError(f"{fixture.name}: no records of result {fixture.result!r} in the mirror")
            if not fixture.authenticated and study:
                public.add(study)
    records = []
    for accession, study in sorted(studies.items()):
        record = StudyRecord(
            study=study,
            samples=[row for (owner, _key), row in sorted(samples.items()) if owner == accession],
            runs=[row for _run, row in sorted(runs.items()) if row.get("study_accession") == accession],
            private=accession not in public,
            webin_submitter="" if accession in public else CONTRACT_WEBIN_ACCOUNT,
        )
        records.append(record)
    orphans = sorted(r for r, row in runs.items() if row.get("study_accession") not in studies)
    orphans += sorted(key for (owner, key) in samples if owner not in studies)
    if orphans:
        raise ValueError(f"fixture records of no fixture study: {', '.join(orphans)}")
    return records
