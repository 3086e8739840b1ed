"""ENA / INSDC accession rules: the one place that knows what an accession looks like.

Digit counts are open-ended (``{6,}``) because ENA's numbering grows; clients that capped
them broke when it did.
"""

from __future__ import annotations

import re
from enum import StrEnum

from core.errors import InvalidInput


class AccessionKind(StrEnum):
    PROJECT = "project"  # BioProject: PRJEB123
    STUDY = "study"  # ERP/SRP/DRP
    BIOSAMPLE = "biosample"  # SAMEA/SAMN/SAMD
    SAMPLE = "sample"  # ERS/SRS/DRS
    EXPERIMENT = "experiment"  # ERX/SRX/DRX
    RUN = "run"  # ERR/SRR/DRR
    ANALYSIS = "analysis"  # ERZ/SRZ/DRZ
    ASSEMBLY = "assembly"  # GCA_000000000.1
    MGNIFY_STUDY = "mgnify_study"  # MGYS00000001
    MGNIFY_ANALYSIS = "mgnify_analysis"  # MGYA00000001


ACCESSION_PATTERNS: dict[AccessionKind, re.Pattern[str]] = {
    AccessionKind.PROJECT: re.compile(r"PRJ[EDN][A-Z][0-9]+"),
    AccessionKind.STUDY: re.compile(r"[EDS]RP[0-9]{6,}"),
    AccessionKind.BIOSAMPLE: re.compile(r"SAM[EDN][A-Z]?[0-9]+"),
    AccessionKind.SAMPLE: re.compile(r"[EDS]RS[0-9]{6,}"),
    AccessionKind.EXPERIMENT: re.compile(r"[EDS]RX[0-9]{6,}"),
    AccessionKind.RUN: re.compile(r"[EDS]RR[0-9]{6,}"),
    AccessionKind.ANALYSIS: re.compile(r"[EDS]RZ[0-9]{6,}"),
    AccessionKind.ASSEMBLY: re.compile(r"GCA_[0-9]{9}\.[0-9]+"),
    AccessionKind.MGNIFY_STUDY: re.compile(r"MGYS[0-9]{8,}"),
    AccessionKind.MGNIFY_ANALYSIS: re.compile(r"MGYA[0-9]{8,}"),
}

STUDY_KINDS = frozenset({AccessionKind.PROJECT, AccessionKind.STUDY})
SAMPLE_KINDS = frozenset({AccessionKind.BIOSAMPLE, AccessionKind.SAMPLE})
RUN_KINDS = frozenset({AccessionKind.RUN})
ENA_KINDS = frozenset(ACCESSION_PATTERNS) - {AccessionKind.MGNIFY_STUDY, AccessionKind.MGNIFY_ANALYSIS}


class InvalidAccessionError(InvalidInput):
    """An accession that is not of the expected kind. The message names the accession."""

    def __init__(self, accession: str, expected: str):
        self.accession = accession
        self.expected = expected
        super().__init__(f"{accession!r} is not a valid {expected} accession")


def accession_kind(accession: str) -> AccessionKind | None:
    """Return the kind of ``accession``, or None when it matches no known pattern (case-sensitive)."""
    for kind, pattern in ACCESSION_PATTERNS.items():
        if pattern.fullmatch(accession):
            return kind
    return None


def is_accession(accession: str, kinds: frozenset[AccessionKind] | set[AccessionKind]) -> bool:
    return accession_kind(accession) in kinds


def validate_accession(
    accession: str, kinds: frozenset[AccessionKind] | set[AccessionKind] = ENA_KINDS, *, expected: str | None = None
) -> AccessionKind:
    """Return the accession's kind if it is one of ``kinds``; raise InvalidAccessionError otherwise.

    Surrounding whitespace is not tolerated: accessions come from URLs and files and must be exact.

    :param accession: the accession to check, e.g. ``PRJEB1234``
    :param kinds: the kinds accepted here
    :param expected: how to name the accepted kinds in the error message
    """
    kind = accession_kind(accession) if isinstance(accession, str) else None
    if kind not in kinds:
        raise InvalidAccessionError(str(accession), expected or " or ".join(sorted(k.value for k in kinds)))
    return kind


def validate_study_accession(accession: str) -> AccessionKind:
    return validate_accession(accession, STUDY_KINDS, expected="ENA study (PRJ*/ERP/SRP/DRP)")


def validate_sample_accession(accession: str) -> AccessionKind:
    return validate_accession(accession, SAMPLE_KINDS, expected="ENA sample (SAM*/ERS/SRS/DRS)")


def validate_run_accession(accession: str) -> AccessionKind:
    return validate_accession(accession, RUN_KINDS, expected="ENA run (ERR/SRR/DRR)")
