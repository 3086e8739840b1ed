"""Which of a run's FASTQ files is read 1, read 2 or unpaired: one recorded rule, decided before any download.

ENA lists a run's files in ``fastq_ftp`` and its ``library_layout`` separately, and the two do not
always agree. Real runs come as:

* one file (``ERR1.fastq.gz``): single-end;
* two files (``ERR1_1.fastq.gz``, ``ERR1_2.fastq.gz``): a pair;
* three files (``ERR1.fastq.gz``, ``ERR1_1.fastq.gz``, ``ERR1_2.fastq.gz``): a pair plus the reads
  whose mates were lost, listed first;
* files a submitter named (``S6_L001_R1_001.fastq.gz``), or names that say nothing about mates.

The rule (:func:`select_read_files`), in order:

1. A file is read 1 when its name, without ``.gz``/``.bz2`` and ``.fastq``/``.fq``, ends in ``_1``,
   ``_R1`` or ``_R1_001``; read 2 likewise with ``2``; any other file is "other".
2. Exactly one read 1 and one read 2: the run is **paired** from them, whatever ``library_layout``
   says. At most one other file is the **unpaired** file: recorded, not analysed (see below).
3. Otherwise exactly one file in all: **single-end**, whatever its name (a lone read 2 excepted:
   its read 1 is missing).
4. Anything else cannot be taken, with the reason: no files; a PAIRED run whose names do not say
   which file is which mate; more files than one pair and one unpaired file.

Why the unpaired file is recorded and not analysed: in ENA's three-file runs it holds the reads
whose mate did not survive submission or ENA's processing, usually a small share of the run. The
pipeline's steps take a pair (``fastp`` in paired mode, the assembler's ``-1``/``-2``), and adding
orphans would make a three-file run's QC and assembly incomparable with every other paired run.
So the analysis names the file (and its size and md5) in its provenance and does not download it.
"""

from __future__ import annotations

import re
from enum import StrEnum
from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from core.errors import InvalidInput
from ena.schemas import FastqFile

if TYPE_CHECKING:
    from ena.models import Run

_COMPRESSION = (".gz", ".bz2")
_FASTQ = (".fastq", ".fq")
_MATE = re.compile(r"_R?(?P<mate>[12])(?:_001)?$")


class ReadLayout(StrEnum):
    SINGLE = "single"
    PAIRED = "paired"


class Mate(StrEnum):
    R1 = "1"
    R2 = "2"


class UnusableReadFiles(InvalidInput):
    """A run whose files no pipeline can take as single-end or paired reads; the message says why."""


class ReadFileSelection(BaseModel):
    """The files an analysis takes from a run, and what it leaves, with the reason in words."""

    model_config = ConfigDict(frozen=True)

    layout: ReadLayout
    reads: list[FastqFile]
    unpaired: FastqFile | None = None
    library_layout: str = ""
    rule: str

    @property
    def paired(self) -> bool:
        return self.layout == ReadLayout.PAIRED

    @property
    def read_names(self) -> list[str]:
        """The analysed files' names, read 1 first."""
        return [file_name(file.url) for file in self.reads]

    @property
    def unpaired_name(self) -> str | None:
        return file_name(self.unpaired.url) if self.unpaired is not None else None


def file_name(url: str) -> str:
    """The last path component of a FASTQ URL (``host/vol1/.../ERR1_1.fastq.gz`` -> ``ERR1_1.fastq.gz``)."""
    return PurePosixPath(urlsplit(url if "://" in url else f"//{url}").path).name


def mate_of(name: str) -> Mate | None:
    """Which mate a file's name says it holds, or None when it says nothing."""
    stem = name
    for suffix in _COMPRESSION:
        stem = stem.removesuffix(suffix)
    for suffix in _FASTQ:
        stem = stem.removesuffix(suffix)
    match = _MATE.search(stem)
    return Mate(match["mate"]) if match else None


def select_read_files(files: list[FastqFile], *, library_layout: str = "", accession: str = "") -> ReadFileSelection:
    """Apply the module's rule to a run's files.

    :param files: the run's files in ENA's order
    :param library_layout: ENA's ``library_layout`` (``SINGLE``, ``PAIRED`` or blank)
    :param accession: the run, for messages
    :raises UnusableReadFiles: the files cannot be taken as single-end or paired reads
    """
    layout_said = library_layout.strip().upper()
    names = [file_name(file.url) for file in files]
    listed = ", ".join(names)
    who = f"{accession}: " if accession else ""
    if not files:
        raise UnusableReadFiles(f"{who}ENA lists no FASTQ files for this run (library_layout {layout_said or 'blank'})")
    by_mate: dict[Mate | None, list[FastqFile]] = {Mate.R1: [], Mate.R2: [], None: []}
    for file, name in zip(files, names, strict=True):
        by_mate[mate_of(name)].append(file)
    ones, twos, others = by_mate[Mate.R1], by_mate[Mate.R2], by_mate[None]
    if len(ones) == 1 and len(twos) == 1 and len(others) <= 1:
        unpaired = others[0] if others else None
        rule = f"paired: {file_name(ones[0].url)} is read 1 and {file_name(twos[0].url)} read 2 by their names"
        if unpaired is not None:
            rule += f"; {file_name(unpaired.url)} holds unpaired reads, recorded and not analysed"
        if layout_said and layout_said != "PAIRED":
            rule += f" (ENA's library_layout says {layout_said})"
        return ReadFileSelection(
            layout=ReadLayout.PAIRED, reads=[ones[0], twos[0]], unpaired=unpaired, library_layout=layout_said, rule=rule
        )
    if len(files) == 1:
        if twos:
            raise UnusableReadFiles(f"{who}the only file, {names[0]}, is read 2 of a pair whose read 1 is missing")
        rule = f"single-end: the run's one file, {names[0]}"
        if layout_said == "PAIRED":
            rule += " (ENA's library_layout says PAIRED, but only one file is listed)"
        return ReadFileSelection(layout=ReadLayout.SINGLE, reads=list(files), library_layout=layout_said, rule=rule)
    if len(files) == 2 and not (ones or twos):
        raise UnusableReadFiles(
            f"{who}{len(files)} files ({listed}) with library_layout {layout_said or 'blank'}, and their names do not "
            "say which is read 1 and which is read 2 (expected _1/_2 or _R1/_R2 before .fastq)"
        )
    raise UnusableReadFiles(
        f"{who}{len(files)} files ({listed}) with library_layout {layout_said or 'blank'}: expected one file, "
        "a pair named _1/_2 (or _R1/_R2), or a pair plus one unpaired file"
    )


def select_stored_run_files(run: Run) -> ReadFileSelection:
    """:func:`select_read_files` of a stored ENA run (its ``fastq_files``, ``library_layout`` and accession)."""
    files = [FastqFile.model_validate(file) for file in run.fastq_files]
    return select_read_files(files, library_layout=run.library_layout, accession=run.accession)
