"""The accession rules in ena.accessions (property-based tests live elsewhere)."""

from __future__ import annotations

import pytest

from ena.accessions import (
    AccessionKind,
    InvalidAccessionError,
    accession_kind,
    validate_accession,
    validate_run_accession,
    validate_sample_accession,
    validate_study_accession,
)


@pytest.mark.parametrize(
    ("accession", "kind"),
    [
        ("PRJEB1234", AccessionKind.PROJECT),
        ("PRJNA123456", AccessionKind.PROJECT),
        ("ERP123456", AccessionKind.STUDY),
        ("SRP0123456789", AccessionKind.STUDY),
        ("SAMEA1234567", AccessionKind.BIOSAMPLE),
        ("SAMN00000001", AccessionKind.BIOSAMPLE),
        ("ERS1234567", AccessionKind.SAMPLE),
        ("ERX1234567", AccessionKind.EXPERIMENT),
        ("ERR1234567", AccessionKind.RUN),
        ("DRR123456", AccessionKind.RUN),
        ("ERZ1234567", AccessionKind.ANALYSIS),
        ("GCA_000001405.15", AccessionKind.ASSEMBLY),
        ("MGYS00000001", AccessionKind.MGNIFY_STUDY),
        ("MGYS123456789", AccessionKind.MGNIFY_STUDY),
        ("MGYA00000001", AccessionKind.MGNIFY_ANALYSIS),
    ],
)
def test_known_kinds(accession, kind):
    assert accession_kind(accession) == kind


@pytest.mark.parametrize(
    "accession",
    ["", "ERR12345", "err1234567", " ERR1234567", "ERR1234567\n", "MGYS1234567", "PRJEB", "GCA_1.1", "XRR1234567"],
)
def test_malformed_accessions_have_no_kind(accession):
    assert accession_kind(accession) is None


def test_validators_accept_their_kinds_and_name_the_accession_otherwise():
    assert validate_study_accession("PRJEB1234") == AccessionKind.PROJECT
    assert validate_sample_accession("ERS1234567") == AccessionKind.SAMPLE
    assert validate_run_accession("SRR1234567") == AccessionKind.RUN
    with pytest.raises(InvalidAccessionError, match="'ERR1234567' is not a valid ENA study"):
        validate_study_accession("ERR1234567")
    with pytest.raises(InvalidAccessionError, match="ENA run"):
        validate_run_accession("ERS1234567")


def test_validate_accession_defaults_to_ena_kinds_and_rejects_non_strings():
    assert validate_accession("ERZ1234567") == AccessionKind.ANALYSIS
    with pytest.raises(InvalidAccessionError):
        validate_accession("MGYA00000001")
    with pytest.raises(InvalidAccessionError):
        validate_accession(1234)  # type: ignore[arg-type]
    error = InvalidAccessionError("X", "run")
    assert isinstance(error, ValueError) and error.accession == "X" and error.expected == "run"
