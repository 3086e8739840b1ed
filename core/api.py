"""What every ninja API of the platform shares: the error body, and domain errors mapped to HTTP statuses.

The mapping lives here and nowhere else: domain code raises :mod:`core.errors`, and each NinjaAPI
(``/api/v2/`` and GA4GH DRS) installs :func:`add_error_handlers` with the body its spec wants.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI, Schema
from ninja.errors import ValidationError as NinjaValidationError

from core.errors import (
    AuthenticationRequired,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooLarge,
    Unavailable,
)

#: Domain error -> HTTP status, most specific first (the first ``isinstance`` match wins).
STATUS_FOR_ERROR: tuple[tuple[type[DomainError], int], ...] = (
    (NotFound, 404),
    (TooLarge, 413),
    (InvalidInput, 400),
    (Conflict, 409),
    (AuthenticationRequired, 401),
    (PermissionDenied, 403),
    (Unavailable, 503),
)

#: Builds an error response body from (status, message).
ErrorBody = Callable[[int, str], dict[str, Any]]


class ErrorOut(Schema):
    """The body of every 4xx/5xx answer of ``/api/v2/``."""

    detail: str


def detail_body(status: int, message: str) -> dict[str, Any]:
    return {"detail": message}


def http_status_for(error: DomainError) -> int:
    """The status a domain error is answered with (400 for a bare :class:`DomainError`)."""
    for error_type, status in STATUS_FOR_ERROR:
        if isinstance(error, error_type):
            return status
    return 400


def challenge(response: HttpResponse, status: int, realm: str) -> HttpResponse:
    """A 401 says how to authenticate (``WWW-Authenticate: Basic realm=...``); other statuses pass as they are."""
    if status == 401:
        response["WWW-Authenticate"] = f'Basic realm="{realm}"'
    return response


def validation_lines(errors: list[dict[str, Any]]) -> str:
    """Ninja's structured validation errors as one readable line: ``query.page: Input should be ...``."""
    return "; ".join(
        f"{'.'.join(str(part) for part in error.get('loc', ()))}: {error.get('msg', 'invalid')}" for error in errors
    )


def add_error_handlers(
    api: NinjaAPI, *, body: ErrorBody = detail_body, validation_status: int = 422, realm: str = "emg"
) -> None:
    """Answer domain errors, Django's ``ValidationError`` and ``Http404``, and bad requests, with ``body``.

    :param api: the NinjaAPI to install the handlers on
    :param body: builds the JSON body from (status, message)
    :param validation_status: the status of a request that fails ninja's validation
    :param realm: the HTTP Basic realm named in a 401's ``WWW-Authenticate``
    """

    def respond(request: HttpRequest, status: int, message: str, **extra: Any) -> HttpResponse:
        return challenge(api.create_response(request, {**body(status, message), **extra}, status=status), status, realm)

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return respond(request, http_status_for(exc), str(exc))

    @api.exception_handler(DjangoValidationError)
    def invalid_value(request: HttpRequest, exc: DjangoValidationError) -> HttpResponse:
        return respond(request, 400, "; ".join(exc.messages))

    @api.exception_handler(Http404)
    def not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
        return respond(request, 404, str(exc) or "Not found")

    @api.exception_handler(NinjaValidationError)
    def invalid_request(request: HttpRequest, exc: NinjaValidationError) -> HttpResponse:
        extra = {"errors": exc.errors} if validation_status == 422 else {}
        message = validation_lines(exc.errors)
        if validation_status != 422:
            message = f"Malformed request: {message}"
        return respond(request, validation_status, message, **extra)
