"""What every ninja API of the platform shares: the error body, and domain errors mapped to HTTP statuses.

The mapping lives here and nowhere else: domain code raises :mod:`core.errors`, and each NinjaAPI
(``/api/v2/`` and GA4GH DRS) installs :func:`add_error_handlers` with the body its spec wants.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Schema
from ninja.errors import AuthenticationError
from ninja.errors import ValidationError as NinjaValidationError

from core.errors import (
    AuthenticationRequired,
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TooLarge,
    TooManyRequests,
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
    (TooManyRequests, 429),
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


def challenge(response: HttpResponse, status: int, realm: str, error: Exception | None = None) -> HttpResponse:
    """A 401 says how to authenticate (a user token or HTTP Basic), a 429 when to come back."""
    if status == 401:
        response["WWW-Authenticate"] = f'Basic realm="{realm}", Bearer realm="{realm}"'
    if isinstance(error, TooManyRequests):
        response["Retry-After"] = str(error.retry_after)
    return response


#: Paths whose error bodies follow the GA4GH DRS ``Error`` schema instead of ``{"detail": ...}``.
DRS_PATH_PREFIX = "/ga4gh/drs/"


def error_response_for_path(path: str, status: int, message: str, error: Exception | None = None) -> JsonResponse:
    """An error answered before any view runs (middleware), in the body shape of the API ``path`` belongs to.

    :param error: the refusal, if any; a :class:`TooManyRequests` adds ``Retry-After`` (see :func:`challenge`)
    """
    if path.startswith(DRS_PATH_PREFIX):
        body: dict[str, Any] = {"msg": message, "status_code": status}
        realm = "drs"
    else:
        body = {"detail": message}
        realm = "emg"
    return challenge(JsonResponse(body, status=status), status, realm, error)


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

    def respond(
        request: HttpRequest, status: int, message: str, error: Exception | None = None, **extra: Any
    ) -> HttpResponse:
        response = api.create_response(request, {**body(status, message), **extra}, status=status)
        return challenge(response, status, realm, error)

    @api.exception_handler(DomainError)
    def domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
        return respond(request, http_status_for(exc), str(exc), exc)

    @api.exception_handler(AuthenticationError)
    def unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
        return respond(request, 401, "Authentication required: a user token (Bearer emgu_...) or HTTP Basic")

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

    install_error_documentation(api, body=body, validation_status=validation_status)


# ---------------------------------------------------------------------------------------------- OpenAPI


class ValidationErrorOut(ErrorOut):
    """A request that fails validation: ``detail`` names each parameter at fault, ``errors`` are pydantic's."""

    errors: list[dict[str, Any]]


#: Statuses any operation may be answered with whatever its view does: the input guard (``core.middleware``) and
#: the credentials middleware run before every view.
EDGE_ERRORS: dict[int, str] = {
    400: "Malformed request: a NUL byte, lone surrogate or control character, or too long a value, in the path, "
    "a query parameter or a header the platform reads",
    401: "The credentials in `Authorization` are malformed, unknown, expired or revoked, or the operation needs some",
    429: "Too many failed logins from this address or for this account; retry after `Retry-After` seconds",
}
#: Statuses of an operation that takes a JSON body.
BODY_ERRORS: dict[int, str] = {
    400: "the JSON body is not UTF-8, not JSON, nested too deep, or holds a NUL byte, a lone surrogate or an integer "
    "out of range",
    413: "The JSON body is larger than the platform accepts",
}
#: Headers an error response carries, by status.
ERROR_HEADERS: dict[int, dict[str, dict[str, Any]]] = {
    401: {
        "WWW-Authenticate": {
            "description": "How to authenticate: HTTP Basic or a bearer token",
            "required": True,
            "schema": {"type": "string"},
        }
    },
    429: {
        "Retry-After": {
            "description": "Seconds until the limit lifts",
            "required": True,
            "schema": {"type": "string", "pattern": "^[0-9]+$"},
        }
    },
}
HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def error_body_schema(body: ErrorBody) -> dict[str, Any]:
    """The JSON schema of the bodies ``body`` builds, read off one it builds: each key required, typed by its value."""
    types = {bool: "boolean", int: "integer", float: "number", str: "string", list: "array", dict: "object"}
    sample = body(400, "message")
    return {
        "type": "object",
        "properties": {key: {"type": types[type(value)]} for key, value in sample.items()},
        "required": list(sample),
    }


def document_errors(schema: dict[str, Any], *, body: ErrorBody = detail_body, validation_status: int = 422) -> None:
    """Add to every operation of ``schema`` (an OpenAPI document) the error statuses it may really be answered with.

    :data:`EDGE_ERRORS` for every operation; :data:`BODY_ERRORS` for one that takes a body;
    ``validation_status`` for one that takes parameters or a body. A status the operation already documents
    is kept; a 401 or 429 gets its :data:`ERROR_HEADERS` either way.

    :param schema: the OpenAPI document, changed in place
    :param body: builds the error bodies of this API (``{detail}`` is documented as ``ErrorOut``)
    :param validation_status: the status of a request that fails ninja's validation
    """
    schemas = schema.setdefault("components", {}).setdefault("schemas", {})
    if body is detail_body:
        for model in (ErrorOut, ValidationErrorOut):
            schemas.setdefault(model.__name__, model.model_json_schema(ref_template="#/components/schemas/{model}"))
        error_schema: dict[str, Any] = {"$ref": "#/components/schemas/ErrorOut"}
        validation_schema = {"$ref": "#/components/schemas/ValidationErrorOut"}
    else:
        error_schema = validation_schema = error_body_schema(body)
    for path_item in schema.get("paths", {}).values():
        for method, operation in path_item.items():
            if method not in HTTP_METHODS:
                continue
            statuses = dict(EDGE_ERRORS)
            if "requestBody" in operation:
                statuses = {**statuses, **BODY_ERRORS, 400: f"{EDGE_ERRORS[400]}; or {BODY_ERRORS[400]}"}
            if operation.get("parameters") or "requestBody" in operation:
                statuses.setdefault(validation_status, "The parameters or the body do not validate")
            responses = {str(status): response for status, response in operation.get("responses", {}).items()}
            operation["responses"] = responses
            for status, description in statuses.items():
                documented = validation_schema if status == validation_status else error_schema
                responses.setdefault(
                    str(status), {"description": description, "content": {"application/json": {"schema": documented}}}
                )
            for status, headers in ERROR_HEADERS.items():
                if str(status) in responses:
                    responses[str(status)].setdefault("headers", {}).update(headers)


def install_error_documentation(api: NinjaAPI, *, body: ErrorBody = detail_body, validation_status: int = 422) -> None:
    """Make ``api``'s OpenAPI document list the error statuses of :func:`document_errors`."""
    build = api.get_openapi_schema

    def get_openapi_schema(*args: Any, **kwargs: Any) -> Any:
        schema = build(*args, **kwargs)
        document_errors(schema, body=body, validation_status=validation_status)
        return schema

    api.get_openapi_schema = get_openapi_schema  # type: ignore[method-assign]
