"""The GA4GH DRS 1.5 API at ``/ga4gh/drs/v1/``: a NinjaAPI of its own (namespace ``drs``).

Bodies are built by ``drs.selectors`` in exactly the shapes of the spec's schemas (vendored in
``drs/schemas/``) and returned as JSON as they are; errors are the spec's ``Error`` ``{msg, status_code}``.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from ninja import NinjaAPI, Query, Schema

from core.api import add_error_handlers, challenge, http_status_for
from core.errors import DomainError, NotFound, TooLarge
from drs import selectors
from drs.api_schemas import OBJECT_ERRORS, AccessURL, BulkObjects, DrsObject, Error, ServiceInfo
from drs.permissions import check_readable, request_user
from drs.signing import sign

DRS_SPEC_VERSION = "1.5.0"
MAX_BULK_REQUEST_LENGTH = 1000
REALM = "drs"

drs_api = NinjaAPI(
    title="GA4GH Data Repository Service",
    version=DRS_SPEC_VERSION,
    description="Result files and metadata exports of the platform as GA4GH DRS objects.",
    urls_namespace="drs",
    docs_url="/docs",
)


def spec_error_body(status_code: int, msg: str) -> dict[str, Any]:
    """The spec's ``Error`` body."""
    return {"msg": msg, "status_code": status_code}


def error_response(status_code: int, msg: str) -> JsonResponse:
    """The spec's ``Error`` response, for the file view (a plain Django view); a 401 says how to authenticate."""
    return challenge(JsonResponse(spec_error_body(status_code, msg), status=status_code), status_code, REALM)


add_error_handlers(drs_api, body=spec_error_body, validation_status=400, realm=REALM)


class ExpandQuery(Schema):
    expand: bool = False


class PostObjectBody(Schema):
    expand: bool = False
    passports: list[str] = []


class BulkObjectBody(Schema):
    bulk_object_ids: list[str]
    passports: list[str] = []


def readable_object(request: HttpRequest, object_id: str):
    obj = selectors.get_object(object_id)
    if obj is None:
        raise NotFound(f"No DRS object with id {object_id}")
    check_readable(obj, request_user(request))
    return obj


@drs_api.get(
    "/service-info",
    response={200: ServiceInfo},
    summary="Retrieve information about this service",
    operation_id="GetServiceInfo",
)
def service_info(request: HttpRequest) -> HttpResponse:
    app_root = str(settings.EMG_CONFIG.service_urls.app_root).rstrip("/")
    body: dict[str, Any] = {
        "id": "org.mgnify.platform.drs",
        "name": "Metagenomics platform DRS",
        "type": {"group": "org.ga4gh", "artifact": "drs", "version": DRS_SPEC_VERSION},
        "description": "Analysis result files and metadata exports as GA4GH DRS objects.",
        "organization": {"name": "Metagenomics automation platform", "url": app_root},
        "documentationUrl": f"{app_root}/ga4gh/drs/v1/docs",
        "environment": "dev" if settings.DEBUG else "prod",
        "version": "1.0.0",
        "maxBulkRequestLength": MAX_BULK_REQUEST_LENGTH,
        "drs": {"maxBulkRequestLength": MAX_BULK_REQUEST_LENGTH, **selectors.service_stats(request_user(request))},
    }
    return JsonResponse(body)


@drs_api.get(
    "/objects/{object_id}",
    response={200: DrsObject, **OBJECT_ERRORS},
    summary="Get info about a DrsObject",
    operation_id="GetObject",
)
def get_object(request: HttpRequest, object_id: str, query: Query[ExpandQuery]) -> HttpResponse:
    obj = readable_object(request, object_id)
    return JsonResponse(selectors.drs_object(obj, expand=query.expand, viewer=request_user(request)))


@drs_api.post(
    "/objects/{object_id}",
    response={200: DrsObject, **OBJECT_ERRORS},
    summary="Get info about a DrsObject (POST)",
    operation_id="PostObject",
)
def post_object(request: HttpRequest, object_id: str, body: PostObjectBody) -> HttpResponse:
    """Passports are accepted but not evaluated (this server issues no visas); the session or HTTP Basic
    identity decides, as for GET."""
    obj = readable_object(request, object_id)
    return JsonResponse(selectors.drs_object(obj, expand=body.expand, viewer=request_user(request)))


@drs_api.post(
    "/objects",
    response={200: BulkObjects, 413: Error},
    summary="Get info about multiple DrsObjects",
    operation_id="GetBulkObjects",
)
def bulk_objects(request: HttpRequest, body: BulkObjectBody, query: Query[ExpandQuery]) -> HttpResponse:
    requested = list(dict.fromkeys(body.bulk_object_ids))
    if len(requested) > MAX_BULK_REQUEST_LENGTH:
        raise TooLarge(f"At most {MAX_BULK_REQUEST_LENGTH} object ids per request; got {len(requested)}")
    user = request_user(request)
    found = selectors.get_objects(requested)
    resolved: list[dict[str, Any]] = []
    unresolved: dict[int, list[str]] = {}
    for object_id in requested:
        obj = found.get(object_id)
        try:
            if obj is None:
                raise NotFound("not found")
            check_readable(obj, user)
        except DomainError as error:
            unresolved.setdefault(http_status_for(error), []).append(object_id)
            continue
        resolved.append(selectors.drs_object(obj, expand=query.expand, viewer=user))
    return JsonResponse(
        {
            "summary": {
                "requested": len(requested),
                "resolved": len(resolved),
                "unresolved": len(requested) - len(resolved),
            },
            "unresolved_drs_objects": [
                {"error_code": code, "object_ids": ids} for code, ids in sorted(unresolved.items())
            ],
            "resolved_drs_object": resolved,
        }
    )


@drs_api.get(
    "/objects/{object_id}/access/{access_id}",
    response={200: AccessURL, **OBJECT_ERRORS},
    summary="Get a URL for fetching bytes",
    operation_id="GetAccessURL",
)
def access_url(request: HttpRequest, object_id: str, access_id: str) -> HttpResponse:
    obj = readable_object(request, object_id)
    if obj.is_bundle or access_id != selectors.HTTPS_ACCESS_ID:
        raise NotFound(f"DRS object {object_id} has no access method with access_id {access_id!r}")
    signed = sign(obj.id) if obj.is_private else None
    return JsonResponse({"url": selectors.file_url(obj.id, signed)})
