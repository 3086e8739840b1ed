"""The read-file roles rule (ena.read_files): every run layout ENA has, decided from names and library_layout."""

from __future__ import annotations

import pytest

from ena.read_files import Mate, ReadLayout, UnusableReadFiles, file_name, mate_of, select_read_files
from ena.schemas import FastqFile

HOST = "ftp.sra.ebi.ac.uk/vol1/fastq/ERR900/001/ERR9000001"


def files(*names: str) -> list[FastqFile]:
    return [
        FastqFile(url=f"http://{HOST}/{name}", md5="0" * 31 + str(i), bytes=100 + i) for i, name in enumerate(names)
    ]


def names(selected: list[FastqFile]) -> list[str]:
    return [file_name(file.url) for file in selected]


@pytest.mark.parametrize(
    ("name", "mate"),
    [
        ("ERR1_1.fastq.gz", Mate.R1),
        ("ERR1_2.fastq.gz", Mate.R2),
        ("ERR1.fastq.gz", None),
        ("S6_L001_R1_001.fastq.gz", Mate.R1),
        ("S6_L001_R2_001.fq.bz2", Mate.R2),
        ("sample_R2.fastq", Mate.R2),
        ("ERR1_lane1.fastq.gz", None),
        ("ERR11.fastq.gz", None),  # a run accession ending in 1 is not a mate
        ("ERR1_12.fastq.gz", None),
    ],
)
def test_mates_are_read_from_names(name, mate):
    assert mate_of(name) == mate


def test_file_names_come_from_urls_with_or_without_scheme():
    assert file_name("ftp.sra.ebi.ac.uk/vol1/fastq/ERR1/ERR1_1.fastq.gz") == "ERR1_1.fastq.gz"
    assert file_name("http://127.0.0.1:8765/vol1/fastq/ERR1/ERR1.fastq.gz") == "ERR1.fastq.gz"


def test_single_end():
    selection = select_read_files(files("ERR1.fastq.gz"), library_layout="SINGLE")
    assert selection.layout == ReadLayout.SINGLE and names(selection.reads) == ["ERR1.fastq.gz"]
    assert selection.unpaired is None and not selection.paired


def test_a_pair_in_either_order_is_read_1_then_read_2():
    selection = select_read_files(files("ERR1_2.fastq.gz", "ERR1_1.fastq.gz"), library_layout="PAIRED")
    assert selection.paired and names(selection.reads) == ["ERR1_1.fastq.gz", "ERR1_2.fastq.gz"]
    assert "ERR1_1.fastq.gz is read 1 and ERR1_2.fastq.gz read 2" in selection.rule


def test_three_files_take_the_pair_and_record_the_unpaired_file():
    selection = select_read_files(files("ERR1.fastq.gz", "ERR1_1.fastq.gz", "ERR1_2.fastq.gz"), library_layout="PAIRED")
    assert selection.paired and names(selection.reads) == ["ERR1_1.fastq.gz", "ERR1_2.fastq.gz"]
    assert file_name(selection.unpaired.url) == "ERR1.fastq.gz"
    assert "ERR1.fastq.gz holds unpaired reads, recorded and not analysed" in selection.rule


def test_submitter_style_names_are_understood():
    selection = select_read_files(files("S6_L001_R1_001.fastq.gz", "S6_L001_R2_001.fastq.gz"), library_layout="PAIRED")
    assert names(selection.reads) == ["S6_L001_R1_001.fastq.gz", "S6_L001_R2_001.fastq.gz"]


def test_the_names_win_over_a_blank_or_contradicting_library_layout():
    blank = select_read_files(files("ERR1_1.fastq.gz", "ERR1_2.fastq.gz"), library_layout="")
    assert blank.paired
    single = select_read_files(files("ERR1_1.fastq.gz", "ERR1_2.fastq.gz"), library_layout="SINGLE")
    assert single.paired and "library_layout says SINGLE" in single.rule
    one = select_read_files(files("ERR1.fastq.gz"), library_layout="PAIRED")
    assert one.layout == ReadLayout.SINGLE and "says PAIRED, but only one file" in one.rule


@pytest.mark.parametrize(
    ("listed", "layout", "reason"),
    [
        ((), "PAIRED", "ENA lists no FASTQ files"),
        (("ERR1_lane1.fastq.gz", "ERR1_lane2.fastq.gz"), "PAIRED", "do not say which is read 1"),
        (("ERR1_2.fastq.gz",), "PAIRED", "read 1 is missing"),
        (("ERR1_1.fastq.gz", "ERR1_2.fastq.gz", "a.fastq.gz", "b.fastq.gz"), "PAIRED", "4 files"),
        (("ERR1_1.fastq.gz", "ERR1_1.fq.gz"), "PAIRED", "2 files"),
    ],
)
def test_layouts_no_pipeline_can_take_are_refused_with_the_reason(listed, layout, reason):
    with pytest.raises(UnusableReadFiles, match=reason) as info:
        select_read_files(files(*listed), library_layout=layout, accession="ERR1")
    assert str(info.value).startswith("ERR1: ")
