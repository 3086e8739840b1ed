"""Abstract models and querysets for behaviour that several apps share."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models

from core.visibility import may_see, visibility_filter


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class PrivacyQuerySet(models.QuerySet):
    def visible_to(self, user) -> PrivacyQuerySet:
        """The rows ``user`` may see (:mod:`core.visibility`: public, their own, or all with the permission)."""
        condition = visibility_filter(user)
        return self if condition is None else self.filter(condition)


class PrivacyMixin(models.Model):
    """Rows that may be private to one ENA Webin submitter until they are made public."""

    is_private = models.BooleanField(default=False, db_index=True)
    webin_submitter = models.CharField(max_length=32, blank=True, default="", db_index=True)

    class Meta:
        abstract = True

    def is_visible_to(self, user) -> bool:
        return may_see(user, is_private=self.is_private, owner=self.webin_submitter)


class ENAAccessionQuerySet(PrivacyQuerySet):
    def by_accession(self, accession: str) -> ENAAccessionQuerySet:
        """Rows known by ``accession`` (primary or any secondary ENA accession); uses the GIN index."""
        return self.filter(ena_accessions__contains=[accession])

    def oldest_by_accession(self, accession: str) -> models.Model | None:
        """The oldest (lowest id) row of this queryset known by ``accession``, or None.

        Two small queries rather than one clever one: the ids known by the accession (the GIN index), then
        this queryset's rows among them. In one query the planner guesses that an array containment matches
        0.5% of the table (5,000 of a million runs) and walks the primary key or hashes whole tables.
        """
        ids = list(self.model.objects.by_accession(accession).values_list("pk", flat=True))
        return min(self.filter(pk__in=ids), key=lambda row: row.pk, default=None) if ids else None


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
