"""Abstract models and querysets for behaviour that several apps share."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class PrivacyQuerySet(models.QuerySet):
    def visible_to(self, user) -> PrivacyQuerySet:
        """Public rows, plus private rows the user owns (Webin account = username); staff see all."""
        if user is not None and getattr(user, "is_staff", False):
            return self
        if user is not None and getattr(user, "is_authenticated", False):
            return self.filter(Q(is_private=False) | Q(webin_submitter=user.get_username()))
        return self.filter(is_private=False)


class PrivacyMixin(models.Model):
    """Rows that may be private to one ENA Webin submitter until they are made public."""

    is_private = models.BooleanField(default=False, db_index=True)
    webin_submitter = models.CharField(max_length=32, blank=True, default="", db_index=True)

    class Meta:
        abstract = True

    def is_visible_to(self, user) -> bool:
        if not self.is_private or getattr(user, "is_staff", False):
            return True
        return bool(getattr(user, "is_authenticated", False) and user.get_username() == self.webin_submitter)


class ENAAccessionQuerySet(PrivacyQuerySet):
    def by_accession(self, accession: str) -> ENAAccessionQuerySet:
        """Rows known by ``accession`` (primary or any secondary ENA accession); uses the GIN index."""
        return self.filter(ena_accessions__contains=[accession])


class ENAAccessionsMixin(models.Model):
    """All ENA accessions a row is known by (primary and secondary), searchable with a GIN index."""

    ena_accessions = ArrayField(models.CharField(max_length=32), default=list, blank=True)

    objects = ENAAccessionQuerySet.as_manager()

    class Meta:
        abstract = True
        indexes = [GinIndex(fields=["ena_accessions"], name="%(app_label)s_%(class)s_acc_gin")]

    @property
    def first_ena_accession(self) -> str | None:
        return self.ena_accessions[0] if self.ena_accessions else None
