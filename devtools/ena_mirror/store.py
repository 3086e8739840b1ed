"""The mirror's data in memory, and the Portal API's search/filereport semantics over it.

Behaviour copied from ENA (as documented and as clients observe it):

* every value is a string; a requested field a record lacks is ENA's blank, ``""``; the result's
  primary accession field is always returned first, then the requested fields in their order;
* fields are checked against ENA's real field sets (:mod:`devtools.ena_mirror.portal_fields`): any
  field ENA can return is accepted, a name ENA does not know is **HTTP 400**
  (``Invalid fieldName(s) supplied: ...``), and so is a ``query`` on a field ENA cannot search;
* without ``fields``, ``filereport`` of ``read_run`` answers the run accession and its FASTQ,
  submitted and SRA files, and ``search`` answers the accession and ``description``;
* ``search`` with no hits answers ``[]``; ``filereport`` for a well-formed accession ENA does not
  know (or that is private to someone else, or suppressed) answers **HTTP 204, no body**;
* a malformed accession or an unknown ``result`` is **HTTP 400** too (:class:`PortalError`; the server
  answers ``{"message": ...}`` with ``format=json``, the bare message as text otherwise);
* a record whose primary accession is blank (a sample without BioSample accession) is still served:
  records are told apart by primary accession, else secondary, else position;
* suppressed runs and samples (:meth:`MirrorStore.suppress`, or ``suppressed`` in a study's record)
  are not returned by anything; a run of a suppressed sample neither;
* private studies are seen only by their Webin submitter; :meth:`MirrorStore.file_visible` applies
  the same rule to their FASTQ files;
* ``query`` takes ``field="value"`` clauses joined by ``AND`` / ``OR`` (no parentheses here);
* ``limit=0`` means everything; ``limit``/``offset`` page in a stable (accession) order.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass

from devtools.ena_mirror.generator import StudyRecord
from devtools.ena_mirror.layout import run_of_file
from devtools.ena_mirror.portal_fields import (
    PRIMARY_FIELD,
    RETURN_FIELDS,
    SEARCH_FIELDS,
    SECONDARY_FIELD,
    default_fields,
)
from ena.accessions import AccessionKind, accession_kind

RESULTS = RETURN_FIELDS
FILEREPORT_RESULTS = ("read_run", "analysis")
#: What a filereport accession is matched against, by the accession's kind.
FILEREPORT_FIELD_FOR_KIND = {
    AccessionKind.PROJECT: "study_accession",
    AccessionKind.STUDY: "secondary_study_accession",
    AccessionKind.BIOSAMPLE: "sample_accession",
    AccessionKind.SAMPLE: "secondary_sample_accession",
    AccessionKind.EXPERIMENT: "experiment_accession",
    AccessionKind.RUN: "run_accession",
}

_CLAUSE = re.compile(r'^\s*([a-z_0-9]+)\s*=\s*"?([^"]*)"?\s*$')


class PortalError(Exception):
    """A request the Portal API refuses (HTTP 400)."""


@dataclass(frozen=True)
class Clause:
    field: str
    value: str


def parse_query(query: str, searchable: Iterable[str]) -> list[list[Clause]]:
    """``a="1" AND b="2" OR c="3"`` -> OR-groups of AND-clauses ([[a, b], [c]]).

    :param searchable: the fields a query may test (ENA's ``searchFields`` of the result)
    :raises PortalError: a clause that does not parse, or tests a field ENA cannot search
    """
    searchable = set(searchable)
    groups: list[list[Clause]] = []
    for group in re.split(r"\s+OR\s+", query.strip(), flags=re.IGNORECASE):
        clauses = []
        for part in re.split(r"\s+AND\s+", group, flags=re.IGNORECASE):
            match = _CLAUSE.match(part)
            if not match:
                raise PortalError(f"Invalid query: {query}")
            name, value = match.groups()
            if name not in searchable:
                raise PortalError(f"Invalid column ({name}) has been provided in query")
            clauses.append(Clause(name, value))
        groups.append(clauses)
    return groups


def _matches(row: dict[str, str], groups: list[list[Clause]]) -> bool:
    """Whether ``row`` satisfies every clause of some group (plain loops: called once per stored row)."""
    for group in groups:
        for clause in group:
            if row.get(clause.field, "") != clause.value:
                break
        else:
            return True
    return False


def _own_accessions(row: dict[str, str], result: str) -> set[str]:
    """The accessions naming this record itself (primary and secondary), blanks left out."""
    names = [row.get(PRIMARY_FIELD[result], "")]
    if result in SECONDARY_FIELD:
        names += row.get(SECONDARY_FIELD[result], "").split(";")
    return {name for name in names if name}


class MirrorStore:
    """Studies by accession, with ENA's search and filereport over them. Thread-safe.

    :param records: the studies to serve
    :param webin_accounts: Webin account -> password accepted for private data
    """

    def __init__(self, records: Iterable[StudyRecord] = (), webin_accounts: dict[str, str] | None = None):
        self._lock = threading.RLock()
        self._studies: dict[str, StudyRecord] = {}
        self._run_index: dict[str, StudyRecord] | None = None
        self.webin_accounts = dict(webin_accounts or {})
        for record in records:
            self.put_study(record)

    # Mutation (tests change "upstream" through these) ----------------------------------------

    def put_study(self, record: StudyRecord) -> None:
        with self._lock:
            self._studies[record.accession] = record
            self._run_index = None

    def remove_study(self, accession: str) -> None:
        with self._lock:
            self._studies.pop(accession, None)
            self._run_index = None

    def replace(self, records: Iterable[StudyRecord]) -> None:
        with self._lock:
            self._studies = {r.accession: r for r in records}
            self._run_index = None

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
            self._run_index = None

    def _owner(self, accession: str) -> StudyRecord:
        """The study holding a run or sample of this (primary or secondary) accession."""
        for record in self._studies.values():
            rows = [(row, "read_run") for row in record.runs] + [(row, "sample") for row in record.samples]
            if any(accession in _own_accessions(row, result) for row, result in rows):
                return record
        raise KeyError(accession)

    def suppress(self, accession: str) -> None:
        """Suppress a run or sample upstream: search and filereport no longer return it.

        :param accession: a run accession, or a sample's BioSample or ERS accession
        :raises KeyError: no study has a run or sample of that accession
        """
        with self._lock:
            record = self._owner(accession)
            if accession not in record.suppressed:
                record.suppressed.append(accession)

    def unsuppress(self, accession: str) -> None:
        """Make a suppressed run or sample public again (no-op if it was not suppressed)."""
        with self._lock:
            record = self._owner(accession)
            if accession in record.suppressed:
                record.suppressed.remove(accession)

    # Queries --------------------------------------------------------------------------------

    def _visible(self, account: str | None, data_portal: str | None) -> list[StudyRecord]:
        with self._lock:
            records = list(self._studies.values())
        return [
            r for r in records if self.can_see(r, account) and (data_portal is None or data_portal in r.data_portals)
        ]

    @staticmethod
    def can_see(record: StudyRecord, account: str | None) -> bool:
        """Public, or private and ``account`` (already authenticated) is its Webin submitter."""
        return not record.private or (account is not None and account == record.webin_submitter)

    @staticmethod
    def _rows(record: StudyRecord, result: str) -> list[dict[str, str]]:
        """The record's rows of ``result`` that are not suppressed (nor are their samples, for runs)."""
        hidden = set(record.suppressed)
        if not hidden and result in ("sample", "read_run"):  # nothing suppressed: no per-row checks
            return list(record.samples if result == "sample" else record.runs)
        if result in ("study", "read_study"):
            rows = [] if (result == "read_study" and not MirrorStore._rows(record, "read_run")) else [record.study]
            return [] if record.accession in hidden else rows
        if result == "sample":
            return [s for s in record.samples if not _own_accessions(s, "sample") & hidden]
        if result == "read_run":
            return [
                r
                for r in record.runs
                if not _own_accessions(r, "read_run") & hidden
                and not {r.get("sample_accession", ""), r.get("secondary_sample_accession", "")} & hidden
            ]
        return []

    @staticmethod
    def check_fields(result: str, fields: list[str], *, endpoint: str = "search") -> list[str]:
        """The fields to answer, primary accession first; ENA's defaults when none are named.

        :raises PortalError: an unknown result, or a field ENA cannot return for it
        """
        if result not in RESULTS:
            raise PortalError(f"Invalid result: {result}")
        fields = [f.strip() for f in fields if f.strip()] or list(default_fields(endpoint, result))
        unknown = [f for f in fields if f not in RESULTS[result]]
        if unknown:
            raise PortalError(f"Invalid fieldName(s) supplied: {','.join(unknown)}")
        primary = PRIMARY_FIELD[result]
        ordered = [primary]
        for name in fields:
            if name not in ordered:
                ordered.append(name)
        return ordered

    def _select(
        self, result: str, groups: list[list[Clause]], account: str | None, data_portal: str | None
    ) -> list[dict[str, str]]:
        """Matching rows of visible studies, each once, in accession order (primary, else secondary)."""
        primary = PRIMARY_FIELD[result]
        secondary = SECONDARY_FIELD.get(result, "")
        hits: dict[tuple[str, str], dict[str, str]] = {}
        position = 0
        for record in self._visible(account, data_portal):
            for row in self._rows(record, result):
                position += 1
                if not _matches(row, groups):
                    continue
                key = row.get(primary, "") or (row.get(secondary, "") if secondary else "")
                hits.setdefault((key, "" if key else f"{record.accession}#{position:09d}"), row)
        return [hits[key] for key in sorted(hits)]

    def search(
        self, *, result: str, query: str, account: str | None = None, data_portal: str | None = None
    ) -> list[dict[str, str]]:
        if result not in RESULTS:
            raise PortalError(f"Invalid result: {result}")
        groups = parse_query(query, SEARCH_FIELDS[result]) if query.strip() else [[]]
        return self._select(result, groups, account, data_portal)

    def filereport(self, *, accession: str, result: str, account: str | None = None) -> list[dict[str, str]]:
        """Runs (or analyses) of a study, sample, experiment or run accession; [] when unknown."""
        if result not in FILEREPORT_RESULTS:
            raise PortalError(f"Invalid result: {result}. Valid values: {', '.join(FILEREPORT_RESULTS)}")
        kind = accession_kind(accession)
        if kind not in FILEREPORT_FIELD_FOR_KIND:
            raise PortalError(f"Invalid accession: {accession}")
        if result == "analysis":
            return []
        return self._select(result, [[Clause(FILEREPORT_FIELD_FOR_KIND[kind], accession)]], account, None)

    # Files ----------------------------------------------------------------------------------

    def file_visible(self, path: str, account: str | None) -> bool:
        """Whether a served file (``vol1/...``) may be sent to ``account`` (already authenticated, or None).

        A file of a run of a private study only to that study's Webin submitter; every other file
        (public studies, files no record lists) to anyone. The run is the file's directory name.
        """
        with self._lock:
            if self._run_index is None:
                self._run_index = {run["run_accession"]: r for r in self._studies.values() for run in r.runs}
            record = self._run_index.get(run_of_file(path))
        return record is None or self.can_see(record, account)
