"""The GA4GH DRS 1.5 response bodies as ninja schemas, for the OpenAPI document of ``/ga4gh/drs/v1/``.

The views build their bodies as plain dicts (:mod:`drs.selectors`) and return them as they are; these
schemas only *document* them, so clients and schemathesis can check every body. Each one transcribes the
component of the same name in the vendored spec (``drs/schemas/drs-1.5.0.openapi-components.yaml``):
the same properties, types, formats, enums and required lists. An optional property is absent rather
than ``null`` (``SkipJsonSchema[None]`` keeps ``null`` out of the documented type).
"""

from __future__ import annotations

from typing import Annotated, Literal

from ninja import Field, Schema
from pydantic import ConfigDict
from pydantic.json_schema import SkipJsonSchema

AccessType = Literal["s3", "gs", "ftp", "gsiftp", "globus", "htsget", "https", "file"]
AuthorizationType = Literal["None", "BasicAuth", "BearerAuth", "PassportAuth"]


class DrsSchema(Schema):
    """Properties the spec does not name are allowed (the spec does not forbid them)."""

    model_config = ConfigDict(extra="allow")


class Checksum(DrsSchema):
    checksum: str
    type: str = Field(description="The digest method, e.g. `sha-256` or `md5`")


class AccessURL(DrsSchema):
    url: str
    headers: list[str] | SkipJsonSchema[None] = None


class Authorizations(DrsSchema):
    drs_object_id: str | SkipJsonSchema[None] = None
    supported_types: list[AuthorizationType] | SkipJsonSchema[None] = None
    passport_auth_issuers: list[str] | SkipJsonSchema[None] = None
    bearer_auth_issuers: list[str] | SkipJsonSchema[None] = None


class AccessMethod(DrsSchema):
    type: AccessType
    access_url: AccessURL | SkipJsonSchema[None] = None
    access_id: str | SkipJsonSchema[None] = None
    region: str | SkipJsonSchema[None] = None
    availability: bool | SkipJsonSchema[None] = None
    authorizations: Authorizations | SkipJsonSchema[None] = None


class ContentsObject(DrsSchema):
    name: str
    id: str | SkipJsonSchema[None] = None
    drs_uri: list[str] | SkipJsonSchema[None] = None
    contents: list[ContentsObject] | SkipJsonSchema[None] = None


class DrsObject(DrsSchema):
    id: str
    name: str | SkipJsonSchema[None] = None
    self_uri: str = Field(description="drs://<hostname>/<id>")
    size: int = Field(json_schema_extra={"format": "int64"})
    created_time: str = Field(json_schema_extra={"format": "date-time"})
    updated_time: str | SkipJsonSchema[None] = Field(None, json_schema_extra={"format": "date-time"})
    version: str | SkipJsonSchema[None] = None
    mime_type: str | SkipJsonSchema[None] = None
    checksums: list[Checksum] = Field(min_length=1)
    access_methods: Annotated[list[AccessMethod], Field(min_length=1)] | SkipJsonSchema[None] = None
    contents: list[ContentsObject] | SkipJsonSchema[None] = None
    description: str | SkipJsonSchema[None] = None
    aliases: list[str] | SkipJsonSchema[None] = None


class Error(DrsSchema):
    """The spec's error body; this server always sends both properties."""

    msg: str
    status_code: int


class ServiceType(DrsSchema):
    group: str
    artifact: Literal["drs"]
    version: str


class Organization(DrsSchema):
    name: str
    url: str = Field(json_schema_extra={"format": "uri"})


class DrsStats(DrsSchema):
    maxBulkRequestLength: int
    objectCount: int | SkipJsonSchema[None] = None
    totalObjectSize: int | SkipJsonSchema[None] = None


class ServiceInfo(DrsSchema):
    """GA4GH service-info 1.0 ``Service`` with DRS' ``DrsService`` (the spec's ``200ServiceInfo``: their allOf)."""

    id: str
    name: str
    type: ServiceType
    description: str | SkipJsonSchema[None] = None
    organization: Organization
    contactUrl: str | SkipJsonSchema[None] = Field(None, json_schema_extra={"format": "uri"})
    documentationUrl: str | SkipJsonSchema[None] = Field(None, json_schema_extra={"format": "uri"})
    createdAt: str | SkipJsonSchema[None] = Field(None, json_schema_extra={"format": "date-time"})
    updatedAt: str | SkipJsonSchema[None] = Field(None, json_schema_extra={"format": "date-time"})
    environment: str | SkipJsonSchema[None] = None
    version: str
    maxBulkRequestLength: int
    drs: DrsStats | SkipJsonSchema[None] = None


class BulkSummary(DrsSchema):
    requested: int
    resolved: int
    unresolved: int


class Unresolved(DrsSchema):
    error_code: int
    object_ids: list[str]


class BulkObjects(DrsSchema):
    """The spec's ``200OkDrsObjects``, with the unresolved ids as ``unresolved_drs_objects`` (see the README)."""

    summary: BulkSummary
    unresolved_drs_objects: list[Unresolved]
    resolved_drs_object: list[DrsObject]


#: The error statuses of an operation on one object: authentication (401), permission (403), existence (404).
OBJECT_ERRORS = {401: Error, 403: Error, 404: Error}
