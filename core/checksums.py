"""Streaming checksums of files: the one place the platform hashes file contents.

Reads are chunked (constant memory) and each file is read once whatever the number of digests.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class FileChecksums:
    size_bytes: int
    md5: str
    sha256: str


def _digests(path: Path, algorithms: tuple[str, ...], chunk_bytes: int) -> tuple[int, list[str]]:
    hashers = [hashlib.new(name, usedforsecurity=False) for name in algorithms]
    size = 0
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            for hasher in hashers:
                hasher.update(chunk)
            size += len(chunk)
    return size, [hasher.hexdigest() for hasher in hashers]


def file_checksums(path: Path, *, chunk_bytes: int = CHUNK_BYTES) -> FileChecksums:
    """Size, md5 and sha256 of a file, read once in chunks.

    :param path: the file
    :param chunk_bytes: read size
    """
    size, (md5, sha256) = _digests(path, ("md5", "sha256"), chunk_bytes)
    return FileChecksums(size_bytes=size, md5=md5, sha256=sha256)


def file_md5(path: Path, *, chunk_bytes: int = CHUNK_BYTES) -> str:
    """The md5 hex digest of a file (what ENA publishes for FASTQ files)."""
    return _digests(path, ("md5",), chunk_bytes)[1][0]


def file_sha256(path: Path, *, chunk_bytes: int = CHUNK_BYTES) -> str:
    """The sha256 hex digest of a file (what identifies a DRS blob)."""
    return _digests(path, ("sha256",), chunk_bytes)[1][0]
