"""The platform's file view for DRS blobs: plain URLs for public blobs, signed expiring URLs for private ones.

Serves ``GET``/``HEAD`` with single HTTP byte ranges (RFC 9110): ``206 Partial Content`` with
``Content-Range``, ``416 Range Not Satisfiable`` with ``Content-Range: bytes */<size>``; a
multi-range or malformed ``Range`` header is ignored and the whole file is sent.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from django.http import FileResponse, HttpRequest, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_http_methods

from core.api import http_status_for
from core.errors import DomainError, NotFound, PermissionDenied
from drs import selectors
from drs.api import error_response
from drs.models import DrsObject
from drs.permissions import check_readable, request_user
from drs.signing import ExpiredSignature, SignatureError, verify

#: At most 19 digits a side (beyond any file size): a longer number is no range we serve, and ``int()`` of
#: thousands of digits would raise; such a header is ignored like any other malformed one.
RANGE_PATTERN = re.compile(r"^bytes=([0-9]{0,19})-([0-9]{0,19})$")
CHUNK_BYTES = 256 * 1024


class RangeNotSatisfiable(Exception):
    pass


@dataclass(frozen=True)
class ByteRange:
    start: int
    end: int  # inclusive

    @property
    def length(self) -> int:
        return self.end - self.start + 1


def parse_range(header: str | None, size: int) -> ByteRange | None:
    """The one byte range ``header`` asks for within ``size`` bytes, or ``None`` for the whole file.

    :raises RangeNotSatisfiable: when the range starts past the end or asks for an empty suffix
    """
    if not header:
        return None
    match = RANGE_PATTERN.match(header.strip().replace(" ", ""))
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            raise RangeNotSatisfiable
        return ByteRange(max(0, size - suffix), size - 1)
    start = int(first)
    end = int(last) if last else size - 1
    if last and end < start:
        return None
    if start >= size:
        raise RangeNotSatisfiable
    return ByteRange(start, min(end, size - 1))


def read_range(path: Path, byte_range: ByteRange) -> Iterator[bytes]:
    with path.open("rb") as handle:
        handle.seek(byte_range.start)
        remaining = byte_range.length
        while remaining > 0:
            chunk = handle.read(min(CHUNK_BYTES, remaining))
            if not chunk:
                break
            remaining -= len(chunk)
            yield chunk


def authorise(request: HttpRequest, obj: DrsObject) -> None:
    """Public blobs: anyone. Private: a valid signed URL, or an identity that may see it (:mod:`core.visibility`).

    :raises NotFound: no valid signature and an identity that may not see it, or a forged signature
        (so that nobody learns which ids exist)
    :raises PermissionDenied: a genuine signed URL past its expiry (its holder may ask for a new one)
    """
    if not obj.is_private:
        return
    expires, signature = request.GET.get("expires"), request.GET.get("signature")
    if expires or signature:
        try:
            verify(obj.id, expires=expires, signature=signature)
        except ExpiredSignature as error:
            raise PermissionDenied(error.reason) from None
        except SignatureError:
            raise NotFound(f"No DRS blob with id {obj.id}") from None
        return
    check_readable(obj, request_user(request))


def file_headers(response: HttpResponse, obj: DrsObject) -> HttpResponse:
    response["Accept-Ranges"] = "bytes"
    response["ETag"] = f'"{obj.sha256}"'
    response["Content-Type"] = obj.mime_type or "application/octet-stream"
    response["Content-Disposition"] = f'attachment; filename="{obj.name}"'
    response["Cache-Control"] = "private, no-store" if obj.is_private else "public, max-age=3600"
    return response


@require_http_methods(["GET", "HEAD"])
def serve_file(request: HttpRequest, object_id: str) -> HttpResponse:
    """The bytes of blob ``object_id`` (the target of DRS ``access_url``s)."""
    obj = selectors.get_object(object_id)
    if obj is None or obj.is_bundle:
        return error_response(404, f"No DRS blob with id {object_id}")
    try:
        authorise(request, obj)
    except DomainError as error:
        return error_response(http_status_for(error), str(error))
    path = obj.location
    if path is None or not path.is_file():
        return error_response(404, f"The bytes of DRS object {object_id} are not in storage")
    size = path.stat().st_size
    if_range = request.headers.get("If-Range")
    range_header = request.headers.get("Range") if if_range in (None, f'"{obj.sha256}"') else None
    try:
        byte_range = parse_range(range_header, size)
    except RangeNotSatisfiable:
        response = error_response(416, f"Range {range_header!r} is not satisfiable for {size} bytes")
        response["Content-Range"] = f"bytes */{size}"
        return response
    if request.method == "HEAD":
        response = HttpResponse(status=206 if byte_range else 200)
        response["Content-Length"] = str(byte_range.length if byte_range else size)
    elif byte_range is None:
        response = FileResponse(path.open("rb"))
        response["Content-Length"] = str(size)
    else:
        response = StreamingHttpResponse(read_range(path, byte_range), status=206)
        response["Content-Length"] = str(byte_range.length)
    if byte_range is not None:
        response["Content-Range"] = f"bytes {byte_range.start}-{byte_range.end}/{size}"
    return file_headers(response, obj)
