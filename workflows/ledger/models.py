"""Work-tracking models (the work ledger).

A :class:`Pipeline` (name + version) owns :class:`WorkItem` rows, one per distinct canonical input
(``UniqueConstraint(pipeline, input_hash)``). Every change of an item's state, and every message a
wrapper posts, is a :class:`WorkEvent`. :class:`APIToken` rows let wrappers and operators act
through the API; only a hash of each secret is stored.

The write paths live in :mod:`workflows.ledger.services`; the reads in :mod:`workflows.ledger.selectors`.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

from core.model_mixins import PrivacyMixin, PrivacyQuerySet, TimeStampedModel

DEFAULT_MAX_ATTEMPTS = 3
DEFAULT_LEASE_SECONDS = 300
DEFAULT_EXPECTED_DURATION = timedelta(hours=1)


class Pipeline(TimeStampedModel):
    """A pipeline at one version, e.g. ``raw-reads`` ``6.0.1`` from its repository."""

    name = models.CharField(max_length=128)
    version = models.CharField(max_length=64)
    repository_uri = models.CharField(max_length=1024, blank=True, default="")
    description = models.TextField(blank=True, default="")
    input_schema = models.JSONField(
        null=True,
        blank=True,
        help_text="JSON Schema (subset) of a work item's input; it decides how inputs are canonicalised.",
    )
    expected_duration = models.DurationField(
        default=DEFAULT_EXPECTED_DURATION,
        help_text="Usual time from start to finish; used until enough items have finished to measure it.",
    )
    long_running_factor = models.FloatField(
        default=3.0, help_text="An item running longer than this many times the usual duration is long-running."
    )
    max_attempts = models.PositiveIntegerField(default=DEFAULT_MAX_ATTEMPTS)
    lease_seconds = models.PositiveIntegerField(default=DEFAULT_LEASE_SECONDS)

    class Meta:
        ordering = ["name", "version"]
        constraints = [
            models.UniqueConstraint(fields=["name", "version"], name="workflows_pipeline_name_version_unique"),
            models.CheckConstraint(condition=Q(max_attempts__gte=1), name="workflows_pipeline_max_attempts_positive"),
            models.CheckConstraint(condition=Q(lease_seconds__gte=1), name="workflows_pipeline_lease_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.version}"


class WorkState(models.TextChoices):
    PENDING = "pending"
    CLAIMED = "claimed"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


#: States in which a worker holds a lease on the item.
LEASED_STATES = (WorkState.CLAIMED, WorkState.RUNNING)
#: States an item never leaves by itself.
FINAL_STATES = (WorkState.DONE, WorkState.FAILED, WorkState.CANCELLED)


class WorkItemQuerySet(PrivacyQuerySet):
    """Work items; :meth:`visible_to` is the platform's one privacy rule (an item's input names its run)."""


class WorkItem(PrivacyMixin, models.Model):
    """One unit of work: a pipeline applied to one canonical input, run once unless a re-run is asked for.

    Private (``is_private``, owned by the Webin account ``webin_submitter``) when its input is data
    of a private study: its input and failure messages name private runs, so the ledger's public
    reads leave it out (see :mod:`workflows.ledger.selectors`).
    """

    pipeline = models.ForeignKey(Pipeline, on_delete=models.PROTECT, related_name="work_items")
    input = models.JSONField(help_text="The canonical form of the input (see workflows.ledger.canonical)")
    input_hash = models.CharField(max_length=64, help_text="sha256 of pipeline name, version and canonical input")
    external_ref = models.CharField(
        max_length=64, blank=True, default="", db_index=True, help_text="e.g. the MGYA accession this item produces"
    )
    state = models.CharField(max_length=16, choices=WorkState.choices, default=WorkState.PENDING)
    attempts = models.PositiveIntegerField(default=0, help_text="How many times the item has been claimed")
    max_attempts = models.PositiveIntegerField(default=DEFAULT_MAX_ATTEMPTS)
    lease_holder = models.CharField(max_length=255, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    updated_at = models.DateTimeField(db_default=Now())

    objects = WorkItemQuerySet.as_manager()

    class Meta:
        ordering = ["created_at", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["pipeline", "input_hash"],
                name="workflows_workitem_one_per_input",
                violation_error_message="This pipeline already has a work item for this input.",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=[WorkState.CLAIMED, WorkState.RUNNING]) | Q(lease_expires_at__isnull=False),
                name="workflows_workitem_leased_has_expiry",
            ),
        ]
        indexes = [
            models.Index(
                fields=["pipeline", "created_at", "id"],
                condition=Q(state=WorkState.PENDING),
                name="workflows_workitem_claimable",
            ),
            models.Index(
                fields=["lease_expires_at"],
                condition=Q(state__in=[WorkState.CLAIMED, WorkState.RUNNING]),
                name="workflows_workitem_leases",
            ),
            # Claims reap their own pipeline's expired leases first: a range scan of this index,
            # whatever the number of items leased (the (pipeline, state) index would scan them all).
            models.Index(
                fields=["pipeline", "lease_expires_at"],
                condition=Q(state__in=[WorkState.CLAIMED, WorkState.RUNNING]),
                name="workflows_workitem_pipe_leases",
            ),
            models.Index(fields=["pipeline", "state", "id"], name="workflows_workitem_pipe_state"),
            models.Index(
                fields=["-finished_at"], condition=Q(state=WorkState.FAILED), name="workflows_workitem_failures"
            ),
            models.Index(
                fields=["pipeline", "-finished_at"], condition=Q(state=WorkState.DONE), name="workflows_workitem_done"
            ),
            models.Index(fields=["input_hash"], name="workflows_workitem_hash"),
        ]

    def __str__(self) -> str:
        return f"work item {self.pk} ({self.state})"

    @property
    def attempts_left(self) -> int:
        return max(self.max_attempts - self.attempts, 0)


class EventKind(models.TextChoices):
    TRANSITION = "transition"
    MESSAGE = "message"
    PROGRESS = "progress"
    ERROR = "error"


class WorkEvent(models.Model):
    """Something that happened to a work item: a change of state, or a message from whoever works on it."""

    item = models.ForeignKey(WorkItem, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(db_default=Now())
    actor = models.CharField(max_length=255, help_text="Token name and/or lease holder, 'system' or 'admin:<user>'")
    kind = models.CharField(max_length=16, choices=EventKind.choices, default=EventKind.TRANSITION)
    from_state = models.CharField(max_length=16, choices=WorkState.choices, blank=True, default="")
    to_state = models.CharField(max_length=16, choices=WorkState.choices, blank=True, default="")
    message = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["item", "at", "id"], name="workflows_workevent_item_at")]

    def __str__(self) -> str:
        if self.kind == EventKind.TRANSITION:
            return f"{self.from_state or '-'} -> {self.to_state} by {self.actor}"
        return f"{self.kind} by {self.actor}: {self.message[:60]}"


class TokenRole(models.TextChoices):
    ADMIN = "admin"
    PIPELINE = "pipeline"


class APIToken(models.Model):
    """A bearer token: ``emgl_<prefix>_<secret>``; only ``sha256(secret)`` is kept."""

    name = models.CharField(max_length=128)
    prefix = models.CharField(max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    role = models.CharField(max_length=16, choices=TokenRole.choices)
    pipeline = models.ForeignKey(Pipeline, null=True, blank=True, on_delete=models.CASCADE, related_name="tokens")
    created_by = models.CharField(max_length=255, blank=True, default="")
    created_at = models.DateTimeField(db_default=Now(), editable=False)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "API token"
        ordering = ["-created_at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=(Q(role=TokenRole.ADMIN) & Q(pipeline__isnull=True))
                | (Q(role=TokenRole.PIPELINE) & Q(pipeline__isnull=False)),
                name="workflows_apitoken_pipeline_iff_pipeline_role",
            )
        ]

    def __str__(self) -> str:
        scope = f" for {self.pipeline}" if self.pipeline_id else ""
        return f"{self.name} ({self.role}{scope})"
