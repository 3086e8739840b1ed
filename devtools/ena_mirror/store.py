"""The mirror's data in memory, and the Portal API's search/filereport semantics over it.

Behaviour copied from ENA (as documented and as clients observe it):

* every value is a string; the result's primary accession field is always returned first;
* ``search`` with no hits answers ``[]``; ``filereport`` for a well-formed accession ENA does not
  know (or that is private to someone else) answers **HTTP 204, no body**;
* a malformed accession, an unknown ``result`` or an unknown field is **HTTP 400** with a JSON
  ``{"message": ...}``;
* ``query`` takes ``field="value"`` clauses joined by ``AND`` / ``OR`` (no parentheses here);
* ``limit=0`` means everything; ``limit``/``offset`` page in a stable (accession) order.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from devtools.ena_mirror.generator import StudyRecord
from ena.accessions import AccessionKind, accession_kind
from ena.portal.types import ANALYSIS_FIELDS, RUN_FIELDS, SAMPLE_FIELDS, STUDY_FIELDS

# The mirror serves exactly the fields the platform's client asks ENA for (one list, in ena.portal.types),
# and a sample's study, which ENA's sample search also has.
STUDY_RESULT_FIELDS = STUDY_FIELDS
SAMPLE_RESULT_FIELDS = (*SAMPLE_FIELDS, "study_accession", "secondary_study_accession")
RUN_RESULT_FIELDS = RUN_FIELDS
ANALYSIS_RESULT_FIELDS = ANALYSIS_FIELDS

RESULTS: dict[str, tuple[str, ...]] = {
    "study": STUDY_RESULT_FIELDS,
    "read_study": STUDY_RESULT_FIELDS,
    "sample": SAMPLE_RESULT_FIELDS,
    "read_run": RUN_RESULT_FIELDS,
    "analysis": ANALYSIS_RESULT_FIELDS,
}
DEFAULT_FIELDS: dict[str, tuple[str, ...]] = {
    "study": ("study_accession", "study_title"),
    "read_study": ("study_accession", "study_title"),
    "sample": ("sample_accession", "sample_title"),
    "read_run": ("run_accession", "fastq_ftp", "fastq_md5", "fastq_bytes"),
    "analysis": ("analysis_accession",),
}
PRIMARY_FIELD = {r: fields[0] for r, fields in RESULTS.items()}
FILEREPORT_RESULTS = ("read_run", "analysis")

_CLAUSE = re.compile(r'^\s*([a-z_]+)\s*=\s*"?([^"]*)"?\s*$')


class PortalError(Exception):
    """A request the Portal API refuses (HTTP 400)."""


@dataclass(frozen=True)
class Clause:
    field: str
    value: str


def parse_query(query: str, allowed: Iterable[str]) -> list[list[Clause]]:
    """``a="1" AND b="2" OR c="3"`` -> OR-groups of AND-clauses ([[a, b], [c]])."""
    allowed = set(allowed)
    groups: list[list[Clause]] = []
    for group in re.split(r"\s+OR\s+", query.strip(), flags=re.IGNORECASE):
        clauses = []
        for part in re.split(r"\s+AND\s+", group, flags=re.IGNORECASE):
            match = _CLAUSE.match(part)
            if not match:
                raise PortalError(f"Invalid query: {query}")
            name, value = match.groups()
            if name not in allowed:
                raise PortalError(f"Invalid search field: {name}")
            clauses.append(Clause(name, value))
        groups.append(clauses)
    return groups


def _matches(row: dict[str, str], groups: list[list[Clause]]) -> bool:
    return any(all(row.get(c.field, "") == c.value for c in group) for group in groups)


class MirrorStore:
    """Studies by accession, with ENA's search and filereport over them. Thread-safe.

    :param records: the studies to serve
    :param webin_accounts: Webin account -> password accepted for private data
    """

    def __init__(self, records: Iterable[StudyRecord] = (), webin_accounts: dict[str, str] | None = None):
        self._lock = threading.RLock()
        self._studies: dict[str, StudyRecord] = {}
        self.webin_accounts = dict(webin_accounts or {})
        for record in records:
            self.put_study(record)

    # Mutation (tests change "upstream" through these) ----------------------------------------

    def put_study(self, record: StudyRecord) -> None:
        with self._lock:
            self._studies[record.accession] = record

    def remove_study(self, accession: str) -> None:
        with self._lock:
            self._studies.pop(accession, None)

    def replace(self, records: Iterable[StudyRecord]) -> None:
        with self._lock:
            self._studies = {r.accession: r for r in records}

    def study(self, accession: str) -> StudyRecord:
        with self._lock:
            return self._studies[accession]

    def accessions(self) -> list[str]:
        with self._lock:
            return sorted(self._studies)

    def _patch(self, rows: Iterable[dict[str, str]], key: str, accession: str, values: dict[str, str]) -> None:
        for row in rows:
            if row.get(key) == accession:
                row.update({k: str(v) for k, v in values.items()})
                return
        raise KeyError(accession)

    def patch_study(self, accession: str, **values: str) -> None:
        with self._lock:
            self._studies[accession].study.update({k: str(v) for k, v in values.items()})

    def patch_sample(self, accession: str, **values: str) -> None:
        with self._lock:
            self._patch((s for r in self._studies.values() for s in r.samples), "sample_accession", accession, values)

    def patch_run(self, accession: str, **values: str) -> None:
        with self._lock:
            self._patch((x for r in self._studies.values() for x in r.runs), "run_accession", accession, values)

    # Queries --------------------------------------------------------------------------------

    def _visible(self, account: str | None, data_portal: str | None) -> list[StudyRecord]:
        with self._lock:
            records = list(self._studies.values())
        return [
            r
            for r in records
            if (not r.private or (account is not None and account == r.webin_submitter))
            and (data_portal is None or data_portal in r.data_portals)
        ]

    @staticmethod
    def _rows(record: StudyRecord, result: str) -> list[dict[str, str]]:
        if result in ("study", "read_study"):
            return [] if (result == "read_study" and not record.runs) else [record.study]
        if result == "sample":
            return record.samples
        if result == "read_run":
            return record.runs
        return []

    @staticmethod
    def check_fields(result: str, fields: list[str]) -> list[str]:
        if result not in RESULTS:
            raise PortalError(f"Invalid result: {result}")
        fields = [f for f in fields if f] or list(DEFAULT_FIELDS[result])
        unknown = [f for f in fields if f not in RESULTS[result]]
        if unknown:
            raise PortalError(f"Invalid fieldName(s) supplied: {','.join(unknown)}")
        primary = PRIMARY_FIELD[result]
        return [primary, *[f for f in fields if f != primary]]

    def search(
        self, *, result: str, query: str, account: str | None = None, data_portal: str | None = None
    ) -> list[dict[str, str]]:
        if result not in RESULTS:
            raise PortalError(f"Invalid result: {result}")
        groups = parse_query(query, RESULTS[result]) if query.strip() else [[]]
        hits: dict[str, dict[str, str]] = {}
        primary = PRIMARY_FIELD[result]
        for record in self._visible(account, data_portal):
            for row in self._rows(record, result):
                if _matches(row, groups):
                    hits.setdefault(row[primary], row)
        return [hits[key] for key in sorted(hits)]

    def filereport(self, *, accession: str, result: str, account: str | None = None) -> list[dict[str, str]]:
        """Runs (or analyses) of a study, sample, experiment or run accession; [] when unknown."""
        if result not in FILEREPORT_RESULTS:
            raise PortalError(f"Invalid result: {result}. Valid values: {', '.join(FILEREPORT_RESULTS)}")
        kind = accession_kind(accession)
        field_for_kind = {
            AccessionKind.PROJECT: "study_accession",
            AccessionKind.STUDY: "secondary_study_accession",
            AccessionKind.BIOSAMPLE: "sample_accession",
            AccessionKind.SAMPLE: "secondary_sample_accession",
            AccessionKind.EXPERIMENT: "experiment_accession",
            AccessionKind.RUN: "run_accession",
        }
        if kind not in field_for_kind:
            raise PortalError(f"Invalid accession: {accession}")
        if result == "analysis":
            return []
        return self.search(result=result, query=f'{field_for_kind[kind]}="{accession}"', account=account)
