"""GA4GH DRS objects: blobs (one stored file each) and bundles (named sets of other objects).

A blob's id is derived from its SHA-256, so the same bytes registered twice are one object. The
storage location (a root plus a path under it) is data, not identity: moving a file changes
``relative_path`` and nothing a user holds (the id, the ``drs://`` URI) changes.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.model_mixins import PrivacyMixin, PrivacyQuerySet

BLOB_ID_PREFIX = "sha256-"


def blob_id_for(sha256: str) -> str:
    """The DRS id of the blob with these bytes: ``sha256-<hex digest>``."""
    return f"{BLOB_ID_PREFIX}{sha256}"


class StorageRoot(models.TextChoices):
    """Which configured directory a blob's ``relative_path`` is under (``EMG_CONFIG.storage``)."""

    RESULTS = "results", "EMG_CONFIG.storage.results_root"
    EXPORTS = "exports", "EMG_CONFIG.storage.exports_root"

    def path(self) -> Path:
        storage = settings.EMG_CONFIG.storage
        return Path(storage.results_root if self is StorageRoot.RESULTS else storage.exports_root)


class DrsObjectQuerySet(PrivacyQuerySet):
    def blobs(self) -> DrsObjectQuerySet:
        return self.filter(is_bundle=False)

    def bundles(self) -> DrsObjectQuerySet:
        return self.filter(is_bundle=True)


class DrsObject(PrivacyMixin, models.Model):
    """One DRS object. ``webin_submitter`` (from ``PrivacyMixin``) is the owner of a private object."""

    id = models.CharField(primary_key=True, max_length=128, help_text="Stable opaque DRS id")
    name = models.CharField(max_length=255, blank=True, default="")
    description = models.TextField(blank=True, default="")
    is_bundle = models.BooleanField(default=False, db_index=True)
    size = models.BigIntegerField(help_text="Bytes; for a bundle the sum of its contents' sizes")
    created_time = models.DateTimeField(default=timezone.now)
    updated_time = models.DateTimeField(default=timezone.now)
    mime_type = models.CharField(max_length=127, blank=True, default="")
    sha256 = models.CharField(max_length=64, help_text="Hex SHA-256 (for a bundle: over its contents' SHA-256s)")
    md5 = models.CharField(max_length=32, blank=True, default="")
    storage_root = models.CharField(max_length=16, choices=StorageRoot.choices, blank=True, default="")
    relative_path = models.CharField(max_length=1024, blank=True, default="")
    aliases = ArrayField(models.CharField(max_length=255), default=list, blank=True)
    contents = models.ManyToManyField(
        "self", through="BundleMember", through_fields=("bundle", "child"), symmetrical=False, related_name="+"
    )

    objects = DrsObjectQuerySet.as_manager()

    class Meta:
        verbose_name = "DRS object"
        indexes = [GinIndex(fields=["aliases"], name="drs_object_aliases_gin")]
        constraints = [
            models.UniqueConstraint(fields=["sha256"], condition=Q(is_bundle=False), name="drs_one_blob_per_sha256"),
            models.CheckConstraint(condition=Q(sha256__regex=r"^[0-9a-f]{64}$"), name="drs_sha256_is_hex"),
            models.CheckConstraint(condition=Q(md5="") | Q(md5__regex=r"^[0-9a-f]{32}$"), name="drs_md5_is_hex"),
            models.CheckConstraint(condition=Q(size__gte=0), name="drs_size_not_negative"),
            models.CheckConstraint(
                condition=Q(is_bundle=True) | (~Q(storage_root="") & ~Q(relative_path="")),
                name="drs_blob_has_location",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.id} {self.name}"

    @property
    def location(self) -> Path | None:
        """The absolute path of a blob's bytes, or ``None`` for a bundle."""
        if self.is_bundle:
            return None
        return StorageRoot(self.storage_root).path() / self.relative_path


class BundleMember(models.Model):
    """``child`` is in ``bundle`` under ``name`` (unique within the bundle)."""

    bundle = models.ForeignKey(DrsObject, on_delete=models.CASCADE, related_name="members")
    child = models.ForeignKey(DrsObject, on_delete=models.PROTECT, related_name="memberships")
    name = models.CharField(max_length=255)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["bundle", "name"], name="drs_bundle_member_name_unique"),
            models.CheckConstraint(condition=~Q(bundle=models.F("child")), name="drs_bundle_not_self"),
        ]

    def __str__(self) -> str:
        return f"{self.bundle_id}/{self.name}"
