"""Property tests of the accession rules (ena.accessions)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from devtools.ena_mirror.layout import fastq_dir
from ena.accessions import (
    ACCESSION_PATTERNS,
    ENA_KINDS,
    AccessionKind,
    InvalidAccessionError,
    accession_kind,
    validate_accession,
    validate_run_accession,
    validate_sample_accession,
    validate_study_accession,
)

# ASCII-only generators for each kind (the patterns' own language, digits open-ended).
DIGITS = st.text(alphabet="0123456789", min_size=6, max_size=14)
KIND_STRATEGIES: dict[AccessionKind, st.SearchStrategy[str]] = {
    AccessionKind.PROJECT: st.builds(
        lambda c, letter, d: f"PRJ{c}{letter}{d}",
        st.sampled_from("EDN"),
        st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ"),
        DIGITS,
    ),
    AccessionKind.STUDY: st.builds(lambda c, d: f"{c}RP{d}", st.sampled_from("EDS"), DIGITS),
    AccessionKind.BIOSAMPLE: st.builds(
        lambda c, letter, d: f"SAM{c}{letter}{d}", st.sampled_from("EDN"), st.sampled_from(["", "A", "E", "G"]), DIGITS
    ),
    AccessionKind.SAMPLE: st.builds(lambda c, d: f"{c}RS{d}", st.sampled_from("EDS"), DIGITS),
    AccessionKind.EXPERIMENT: st.builds(lambda c, d: f"{c}RX{d}", st.sampled_from("EDS"), DIGITS),
    AccessionKind.RUN: st.builds(lambda c, d: f"{c}RR{d}", st.sampled_from("EDS"), DIGITS),
    AccessionKind.ANALYSIS: st.builds(lambda c, d: f"{c}RZ{d}", st.sampled_from("EDS"), DIGITS),
    AccessionKind.ASSEMBLY: st.builds(
        lambda d, v: f"GCA_{d}.{v}",
        st.text(alphabet="0123456789", min_size=9, max_size=9),
        st.integers(min_value=1, max_value=99),
    ),
    AccessionKind.MGNIFY_STUDY: st.builds(
        lambda d: f"MGYS{d}", st.text(alphabet="0123456789", min_size=8, max_size=12)
    ),
    AccessionKind.MGNIFY_ANALYSIS: st.builds(
        lambda d: f"MGYA{d}", st.text(alphabet="0123456789", min_size=8, max_size=12)
    ),
}
KIND_AND_ACCESSION = st.sampled_from(sorted(KIND_STRATEGIES)).flatmap(
    lambda kind: st.tuples(st.just(kind), KIND_STRATEGIES[kind])
)


def test_every_kind_has_a_generator():
    assert set(KIND_STRATEGIES) == set(ACCESSION_PATTERNS)


@given(KIND_AND_ACCESSION)
def test_valid_accessions_are_recognised_as_their_kind(kind_and_accession):
    kind, accession = kind_and_accession
    assert accession_kind(accession) == kind
    assert validate_accession(accession, {kind}) == kind


@given(KIND_AND_ACCESSION, st.sampled_from([" ", "\n", "\t"]), st.booleans())
def test_surrounding_whitespace_is_rejected_and_named(kind_and_accession, space, before):
    kind, accession = kind_and_accession
    mutated = space + accession if before else accession + space
    assert accession_kind(mutated) is None
    with pytest.raises(InvalidAccessionError) as info:
        validate_accession(mutated, {kind})
    assert repr(mutated) in str(info.value)
    assert info.value.accession == mutated


@given(KIND_AND_ACCESSION)
def test_lowercase_is_rejected(kind_and_accession):
    kind, accession = kind_and_accession
    with pytest.raises(InvalidAccessionError, match="not a valid"):
        validate_accession(accession.lower(), {kind})


@given(KIND_AND_ACCESSION, st.sampled_from("XQ_-!é"))
def test_a_trailing_foreign_character_is_rejected(kind_and_accession, extra):
    kind, accession = kind_and_accession
    assert accession_kind(accession + extra) is None
    with pytest.raises(InvalidAccessionError) as info:
        validate_accession(accession + extra, {kind})
    assert accession + extra in str(info.value)


@given(
    st.sampled_from(
        [AccessionKind.STUDY, AccessionKind.SAMPLE, AccessionKind.EXPERIMENT, AccessionKind.RUN, AccessionKind.ANALYSIS]
    ).flatmap(lambda kind: st.tuples(st.just(kind), KIND_STRATEGIES[kind])),
    st.integers(min_value=1, max_value=5),
)
def test_too_few_digits_are_rejected(kind_and_accession, keep):
    kind, accession = kind_and_accession
    short = accession[:3] + accession[3 : 3 + keep]
    assert accession_kind(short) is None
    with pytest.raises(InvalidAccessionError):
        validate_accession(short, {kind})


@given(KIND_AND_ACCESSION, st.sampled_from(sorted(AccessionKind)))
def test_an_accession_of_another_kind_is_rejected_naming_it(kind_and_accession, other):
    kind, accession = kind_and_accession
    if other == kind:
        return
    with pytest.raises(InvalidAccessionError) as info:
        validate_accession(accession, {other}, expected=f"{other.value} accession")
    assert accession in str(info.value)


@given(st.text(max_size=20))
def test_arbitrary_text_never_crashes_and_kind_is_consistent(text):
    kind = accession_kind(text)
    if kind is None:
        with pytest.raises(InvalidAccessionError):
            validate_accession(text, ENA_KINDS | {AccessionKind.MGNIFY_STUDY, AccessionKind.MGNIFY_ANALYSIS})
    else:
        assert ACCESSION_PATTERNS[kind].fullmatch(text)


@given(KIND_STRATEGIES[AccessionKind.RUN])
def test_typed_validators_accept_only_their_kinds(run):
    assert validate_run_accession(run) == AccessionKind.RUN
    with pytest.raises(InvalidAccessionError, match=run):
        validate_study_accession(run)
    with pytest.raises(InvalidAccessionError, match=run):
        validate_sample_accession(run)


@given(KIND_STRATEGIES[AccessionKind.RUN])
def test_fastq_directory_follows_enas_layout(run):
    path = fastq_dir(run)
    assert path.startswith(f"vol1/fastq/{run[:6]}/")
    assert path.endswith(f"/{run}")
    digits = len(run) - 3
    if digits > 6:
        subdir = path.split("/")[3]
        assert len(subdir) == max(3, digits - 6)
        assert int(subdir) == int(run[-(digits - 6) :])
