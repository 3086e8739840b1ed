"""The work ledger's reads, shaped for the API and the admin (no N+1: pipelines are joined).

Privacy: the reads of items take the caller, ``viewer`` (a Django user, anonymous or ``None``), and
show what ``WorkItem.objects.visible_to(viewer)`` shows, the platform's one rule; ``sees_all`` is for
machines holding a ledger token. A hidden item is reported exactly like a missing one.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.models import AnonymousUser
from django.db.models import Aggregate, Count, DurationField, F, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from core.errors import NotFound
from workflows.ledger.errors import UnknownPipeline, UnknownWorkItem
from workflows.ledger.models import LEASED_STATES, APIToken, Pipeline, WorkEvent, WorkItem, WorkState

#: How far back finished items are looked at to measure a pipeline's usual duration.
USUAL_DURATION_WINDOW = timedelta(days=30)
#: Fewer finished items than this and the pipeline's declared ``expected_duration`` is used.
USUAL_DURATION_MIN_SAMPLES = 10
DEFAULT_EVENT_LIMIT = 200
RECENT_FAILURES_WINDOW = timedelta(hours=24)


class Median(Aggregate):
    function = "percentile_cont"
    template = "%(function)s(0.5) WITHIN GROUP (ORDER BY %(expressions)s)"


def pipelines() -> QuerySet[Pipeline]:
    return Pipeline.objects.annotate(work_item_count=Count("work_items")).order_by("name", "version")


def pipeline_by_name(*, name: str, version: str) -> Pipeline:
    """:raises UnknownPipeline:"""
    pipeline = Pipeline.objects.filter(name=name, version=version).first()
    if pipeline is None:
        raise UnknownPipeline(f"No pipeline {name} {version}")
    return pipeline


#: Who reads: a logged-in user, an anonymous one, or ``None`` (anonymous).
Viewer = AbstractBaseUser | AnonymousUser | None


def visible_work_items(*, viewer: Viewer = None, sees_all: bool = False) -> QuerySet[WorkItem]:
    """The items the caller may see: all with ``sees_all`` (a ledger token), else ``visible_to(viewer)``.

    :param viewer: the requesting user; ``None`` sees what an anonymous user sees (public items)
    :param sees_all: the caller holds a ledger token (pipelines' machines see every item)
    """
    if sees_all:
        return WorkItem.objects.all()
    return WorkItem.objects.visible_to(viewer)


def work_item(*, item_id: int) -> WorkItem:
    """The item with its pipeline, whoever may see it (for the token-only write paths). :raises UnknownWorkItem:"""
    item = WorkItem.objects.select_related("pipeline").filter(pk=item_id).first()
    if item is None:
        raise UnknownWorkItem(f"No work item {item_id}")
    return item


def tokens() -> QuerySet[APIToken]:
    """Every token (its hash, never a secret), newest first."""
    return APIToken.objects.select_related("pipeline")


def token_by_prefix(*, prefix: str) -> APIToken:
    """:raises NotFound:"""
    token = APIToken.objects.select_related("pipeline").filter(prefix=prefix).first()
    if token is None:
        raise NotFound(f"No token with prefix {prefix}")
    return token


def work_items(
    *,
    pipeline_name: str | None = None,
    pipeline_version: str | None = None,
    state: str | None = None,
    external_ref: str | None = None,
    input_hash: str | None = None,
    lease_holder: str | None = None,
    viewer: Viewer = None,
    sees_all: bool = False,
) -> QuerySet[WorkItem]:
    """Items the caller may see, filtered by pipeline and state (the operator's main view), oldest first."""
    items = visible_work_items(viewer=viewer, sees_all=sees_all).select_related("pipeline")
    if pipeline_name:
        items = items.filter(pipeline__name=pipeline_name)
    if pipeline_version:
        items = items.filter(pipeline__version=pipeline_version)
    if state:
        items = items.filter(state=state)
    if external_ref:
        items = items.filter(external_ref=external_ref)
    if input_hash:
        items = items.filter(input_hash=input_hash)
    if lease_holder:
        items = items.filter(lease_holder=lease_holder)
    return items.order_by("created_at", "id")


def work_item_with_events(
    *, item_id: int, event_limit: int = DEFAULT_EVENT_LIMIT, viewer: Viewer = None, sees_all: bool = False
) -> tuple[WorkItem, list[WorkEvent]]:
    """The item and its latest ``event_limit`` events, oldest first, if the caller may see it.

    :raises UnknownWorkItem: the item is missing or hidden from the caller (the same message for both)
    """
    item = visible_work_items(viewer=viewer, sees_all=sees_all).select_related("pipeline").filter(pk=item_id).first()
    if item is None:
        raise UnknownWorkItem(f"No work item {item_id}")
    events = list(WorkEvent.objects.filter(item_id=item_id).order_by("-at", "-id")[:event_limit])
    events.reverse()
    return item, events


def usual_durations(*, now: datetime | None = None) -> dict[int, timedelta]:
    """Per pipeline id, the median start-to-finish time of its recently done items (one query).

    Pipelines with fewer than :data:`USUAL_DURATION_MIN_SAMPLES` recent done items get their
    declared ``expected_duration``.
    """
    now = now or timezone.now()
    measured = {
        row["pipeline_id"]: row["median"]
        for row in WorkItem.objects.filter(
            state=WorkState.DONE, started_at__isnull=False, finished_at__gte=now - USUAL_DURATION_WINDOW
        )
        .values("pipeline_id")
        .annotate(
            samples=Count("id"),
            median=Median(F("finished_at") - F("started_at"), output_field=DurationField()),
        )
        .filter(samples__gte=USUAL_DURATION_MIN_SAMPLES)
    }
    return {
        pipeline_id: measured.get(pipeline_id, expected)
        for pipeline_id, expected in Pipeline.objects.values_list("id", "expected_duration")
    }


def scaled_duration(usual: timedelta, factor: float) -> timedelta | None:
    """``usual`` x ``factor``, or ``None`` when that is no duration at all (too long, infinite or NaN).

    The API bounds the factor, but a row stored before it did (or written by other means) must not
    make every caller of the long-running view fail.
    """
    try:
        return usual * factor
    except (OverflowError, ValueError):
        return None


def long_running_thresholds(*, now: datetime | None = None) -> dict[int, timedelta]:
    """Per pipeline id: an item working longer than this is long-running (usual duration x factor).

    A pipeline whose threshold is beyond any representable duration has none: none of its items is long-running.
    """
    factors = dict(Pipeline.objects.values_list("id", "long_running_factor"))
    thresholds = {pid: scaled_duration(usual, factors[pid]) for pid, usual in usual_durations(now=now).items()}
    return {pid: threshold for pid, threshold in thresholds.items() if threshold is not None}


def long_running_q(*, now: datetime | None = None) -> Q:
    """A filter for items claimed or running far beyond their pipeline's usual duration."""
    now = now or timezone.now()
    condition = Q(pk__in=[])
    for pipeline_id, threshold in long_running_thresholds(now=now).items():
        try:
            since = now - threshold
        except OverflowError:  # before year 1: nothing can have started that long ago
            continue
        condition |= Q(pipeline_id=pipeline_id) & (
            Q(state=WorkState.RUNNING, started_at__lt=since) | Q(state=WorkState.CLAIMED, claimed_at__lt=since)
        )
    return Q(state__in=LEASED_STATES) & condition


def long_running_items(
    *, pipeline_name: str | None = None, now: datetime | None = None, viewer: Viewer = None, sees_all: bool = False
) -> QuerySet[WorkItem]:
    """Items the caller may see working far beyond the usual duration, longest first."""
    items = work_items(pipeline_name=pipeline_name, viewer=viewer, sees_all=sees_all).filter(long_running_q(now=now))
    return items.order_by(F("started_at").asc(nulls_last=True), "claimed_at", "id")


def last_message_subquery() -> Subquery:
    latest = WorkEvent.objects.filter(item_id=OuterRef("pk")).exclude(message="").order_by("-at", "-id")
    return Subquery(latest.values("message")[:1])


def recent_failures(
    *,
    since: datetime | None = None,
    pipeline_name: str | None = None,
    now: datetime | None = None,
    viewer: Viewer = None,
    sees_all: bool = False,
) -> QuerySet[WorkItem]:
    """Visible items that failed since ``since`` (default: the last 24 hours), newest first, with their last message."""
    since = since or (now or timezone.now()) - RECENT_FAILURES_WINDOW
    items = work_items(pipeline_name=pipeline_name, state=WorkState.FAILED, viewer=viewer, sees_all=sees_all)
    items = items.filter(finished_at__gte=since)
    return items.annotate(last_message=last_message_subquery()).order_by("-finished_at", "-id")


def state_counts(*, pipeline_name: str | None = None, viewer: Viewer = None, sees_all: bool = False) -> list[dict]:
    """``[{pipeline, version, state, count}]``: how much work the caller may see is in each state, per pipeline."""
    rows = visible_work_items(viewer=viewer, sees_all=sees_all)
    if pipeline_name:
        rows = rows.filter(pipeline__name=pipeline_name)
    counted = (
        rows.values("pipeline__name", "pipeline__version", "state")
        .annotate(count=Count("id"))
        .order_by("pipeline__name", "pipeline__version", "state")
    )
    return [
        {
            "pipeline": row["pipeline__name"],
            "version": row["pipeline__version"],
            "state": row["state"],
            "count": row["count"],
        }
        for row in counted
    ]
