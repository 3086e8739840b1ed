"""Middleware that refuses hostile input at the edge, before any view or query sees it (see :mod:`core.input_guard`)."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from core.api import error_response_for_path
from core.input_guard import (
    MAX_HEADER_LENGTH,
    MAX_PATH_LENGTH,
    MAX_QUERY_VALUE_LENGTH,
    InputRefused,
    check_json,
    check_name,
    check_string,
    parse_json,
)

#: Headers whose values views parse themselves.
CHECKED_HEADERS = ("Authorization", "Range")
#: The most bytes of a JSON body when ``DATA_UPLOAD_MAX_MEMORY_SIZE`` is unset (Django's default).
DEFAULT_MAX_BODY_BYTES = 2_621_440
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
#: Bodies Django parses into ``request.POST`` (its forms refuse NUL themselves); others may be read as JSON.
FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


def max_body_bytes() -> int:
    return getattr(settings, "DATA_UPLOAD_MAX_MEMORY_SIZE", None) or DEFAULT_MAX_BODY_BYTES


def is_json_type(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def check_path_and_query(request: HttpRequest) -> None:
    """:raises InputRefused: for the path, or a query parameter's name or value"""
    check_string(request.path, where="path", max_length=MAX_PATH_LENGTH)
    for name, values in request.GET.lists():
        check_name(name, where="query")
        for value in values:
            check_string(value, where=f"query.{name}", max_length=MAX_QUERY_VALUE_LENGTH)


def check_headers(request: HttpRequest) -> None:
    """:raises InputRefused: for a control character in a header a view parses, or a bad ``Content-Length``"""
    for name in CHECKED_HEADERS:
        value = request.headers.get(name)
        if value is not None:
            check_string(value, where=f"header.{name}", max_length=MAX_HEADER_LENGTH, controls=True)
    length = request.META.get("CONTENT_LENGTH") or "0"
    if not (length.isascii() and length.isdigit()) or len(length) > 18:
        raise InputRefused("header.Content-Length", "is not a plausible number of bytes")


def check_body(request: HttpRequest) -> None:
    """A JSON body must be UTF-8, parseable, at most :func:`max_body_bytes`, and pass ``check_json``.

    Ninja parses any non-form body as JSON whatever its ``Content-Type``, so such a body is checked
    too when it parses; one that does not is left for the view to refuse.

    :raises InputRefused: naming the body, or the member of it at fault
    """
    if request.method not in WRITE_METHODS or request.content_type in FORM_TYPES:
        return
    declared_json = is_json_type(request.content_type)
    limit = max_body_bytes()
    if int(request.META.get("CONTENT_LENGTH") or 0) > limit:
        if declared_json:
            raise InputRefused("body", f"is larger than {limit} bytes", status=413)
        return
    raw = request.body
    if not raw:
        return
    if declared_json:
        parse_json(raw)
        return
    try:
        value = json.loads(raw)  # as ninja would read it
    except (ValueError, RecursionError):
        return
    check_json(value)


class InputGuardMiddleware:
    """Answer 400 (413 for an oversized JSON body) naming the parameter, before any view runs, when the path,
    a query parameter, the ``Authorization`` or ``Range`` header, or a JSON body holds a NUL byte, a lone
    surrogate, a control character (headers), too much, or JSON nested too deep.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            check_path_and_query(request)
            check_headers(request)
            check_body(request)
        except InputRefused as refused:
            return error_response_for_path(request.path, refused.status, str(refused))
        return self.get_response(request)
