"""Functions that read DRS objects and shape them as the GA4GH DRS 1.5 schemas say."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from django.conf import settings
from django.db.models import Count, Sum
from django.urls import reverse

from drs.models import BundleMember, DrsObject
from drs.signing import SignedParams

HTTPS_ACCESS_ID = "https"


def rfc3339(moment: datetime) -> str:
    """``2026-01-02T03:04:05.123456Z`` (UTC, RFC 3339)."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def self_uri(object_id: str) -> str:
    return f"drs://{settings.EMG_CONFIG.service_urls.drs_hostname}/{object_id}"


def _absolute(path: str) -> str:
    """``path`` on the platform's configured root (``EMG_SERVICE_URLS__APP_ROOT``)."""
    return str(settings.EMG_CONFIG.service_urls.app_root).rstrip("/") + path


def file_url(object_id: str, signed: SignedParams | None = None) -> str:
    """The absolute URL of the platform's file view for a blob, signed if ``signed`` is given."""
    url = _absolute(reverse("drs-file", kwargs={"object_id": object_id}))
    return f"{url}?{signed.query()}" if signed else url


def access_endpoint_url(object_id: str) -> str:
    """The absolute URL of a private blob's DRS access endpoint, where its owner gets a signed URL."""
    return _absolute(reverse("drs:access_url", kwargs={"object_id": object_id, "access_id": HTTPS_ACCESS_ID}))


def get_object(object_id: str) -> DrsObject | None:
    return DrsObject.objects.filter(pk=object_id).first()


def get_objects(object_ids: Iterable[str]) -> dict[str, DrsObject]:
    return {obj.id: obj for obj in DrsObject.objects.filter(pk__in=list(object_ids))}


def access_methods(obj: DrsObject) -> list[dict[str, Any]]:
    """Public blob: a plain https URL. Private blob: an ``access_id`` for the ``/access`` endpoint."""
    if obj.is_private:
        return [{"type": "https", "access_id": HTTPS_ACCESS_ID}]
    return [{"type": "https", "access_url": {"url": file_url(obj.id)}}]


def _members_by_bundle(bundle_ids: list[str], viewer: Any) -> dict[str, list[BundleMember]]:
    """Members of the bundles, only those whose child ``viewer`` may see."""
    grouped: dict[str, list[BundleMember]] = {}
    members = BundleMember.objects.filter(bundle_id__in=bundle_ids, child__in=DrsObject.objects.visible_to(viewer))
    for member in members.select_related("child").order_by("name"):
        grouped.setdefault(member.bundle_id, []).append(member)
    return grouped


def contents(bundle: DrsObject, *, expand: bool, viewer: Any = None) -> list[dict[str, Any]]:
    """The bundle's ``ContentsObject`` list; with ``expand`` nested bundles are listed recursively.

    Members ``viewer`` may not see are left out, at every level. One query per nesting level (not per member).
    """
    members = _members_by_bundle([bundle.id], viewer)
    tree: list[dict[str, Any]] = []
    frontier: list[tuple[BundleMember, list[dict[str, Any]]]] = [
        (member, tree) for member in members.get(bundle.id, [])
    ]
    seen = {bundle.id}
    while frontier:
        nested: list[tuple[DrsObject, list[dict[str, Any]]]] = []
        for member, into in frontier:
            entry: dict[str, Any] = {"name": member.name, "id": member.child_id, "drs_uri": [self_uri(member.child_id)]}
            if expand and member.child.is_bundle and member.child_id not in seen:
                entry["contents"] = []
                nested.append((member.child, entry["contents"]))
                seen.add(member.child_id)
            into.append(entry)
        if not nested:
            break
        members = _members_by_bundle([child.id for child, _ in nested], viewer)
        frontier = [(member, into) for child, into in nested for member in members.get(child.id, [])]
    return tree


def drs_object(obj: DrsObject, *, expand: bool = False, viewer: Any = None) -> dict[str, Any]:
    """``obj`` as a DRS ``DrsObject``, a bundle's contents limited to what ``viewer`` may see."""
    checksums = [{"type": "sha-256", "checksum": obj.sha256}]
    if obj.md5:
        checksums.append({"type": "md5", "checksum": obj.md5})
    body: dict[str, Any] = {
        "id": obj.id,
        "name": obj.name,
        "self_uri": self_uri(obj.id),
        "size": obj.size,
        "created_time": rfc3339(obj.created_time),
        "updated_time": rfc3339(obj.updated_time),
        "checksums": checksums,
    }
    if obj.description:
        body["description"] = obj.description
    if obj.aliases:
        body["aliases"] = list(obj.aliases)
    if obj.is_bundle:
        body["contents"] = contents(obj, expand=expand, viewer=viewer)
    else:
        body["mime_type"] = obj.mime_type
        body["access_methods"] = access_methods(obj)
    return body


def service_stats(viewer: Any = None) -> dict[str, int]:
    """Object count and total bytes of the unique stored blobs ``viewer`` may see (bundles add no bytes)."""
    visible = DrsObject.objects.visible_to(viewer)
    counts = visible.aggregate(objects=Count("id"))
    blob_bytes = visible.blobs().aggregate(total=Sum("size"))
    return {"objectCount": counts["objects"] or 0, "totalObjectSize": blob_bytes["total"] or 0}
