"""Streaming checksums of files (md5 and sha256 in one read)."""

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


def file_checksums(path: Path, *, chunk_bytes: int = CHUNK_BYTES) -> FileChecksums:
    """Size, md5 and sha256 of a file, read once in chunks (constant memory).

    :param path: the file
    :param chunk_bytes: read size
    """
    md5 = hashlib.md5(usedforsecurity=False)
    sha256 = hashlib.sha256()
    size = 0
    with Path(path).open("rb") as handle:
        while chunk := handle.read(chunk_bytes):
            md5.update(chunk)
            sha256.update(chunk)
            size += len(chunk)
    return FileChecksums(size_bytes=size, md5=md5.hexdigest(), sha256=sha256.hexdigest())
