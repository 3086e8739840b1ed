"""The curator's dashboard on the admin index: what state the work is in, and where to look first.

It lives here, in ``workflows.automation``, because it reads both the platform's analyses and the work
ledger, and this is the layer allowed to import both (see the import contracts in ``pyproject.toml``).
The functions are plain: they take the viewer and the time, return frozen dataclasses of numbers and
URLs, and know nothing of templates, so they are tested without the admin.

Cost: every number is one grouped aggregate (or one bounded list) over indexed columns, whatever the
size of the tables; :func:`build_dashboard` runs at most :data:`MAX_QUERIES` queries and does no
per-row work. Privacy: every count goes through ``visible_to(viewer)`` (:mod:`core.visibility`), the
same rule the admin's lists apply, so a curator without ``accounts.view_private_data`` neither sees
private analyses nor learns how many there are. A section whose model the user may not view in the
admin is left out (``None``), so no link leads to a page that refuses them.

Every number links to the admin list it counts. Those lists filter with plain field lookups in the
query string (``state__exact``, ``updated_at__gte``, ``created_at__date``), which Django's changelist
accepts on a model's own fields without a ``list_filter`` for them, and with the ledger admin's
``failed_within`` and ``long_running`` filters.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django.contrib.auth import get_permission_codename
from django.db.models import Count, Model
from django.db.models.functions import TruncDate
from django.utils import timezone

from analyses.admin.html import admin_change_url, admin_changelist_url
from analyses.models import Analysis
from core.pagination import bounded_count
from workflows.ledger import selectors as ledger
from workflows.ledger.models import WorkItem

#: Days of history in the "analyses per day" chart, today included.
CHART_DAYS = 30
#: How many long-running items and recent failures are listed by name (the counts cover them all).
LISTED_ITEMS = 5
#: The window of "recent" failures; the ledger's own, so the dashboard and the ledger API agree.
FAILURE_WINDOW = ledger.RECENT_FAILURES_WINDOW
#: The ledger admin's ``RecentFailureFilter`` value for :data:`FAILURE_WINDOW`.
WORK_ITEM_FAILURE_FILTER = {"failed_within": "24h"}
#: The ledger admin's ``LongRunningFilter`` value.
WORK_ITEM_LONG_RUNNING_FILTER = {"long_running": "yes"}
#: Analysis states in the order a curator reads them: what needs attention first.
STATE_ORDER: tuple[str, ...] = (
    Analysis.State.FAILED.value,
    Analysis.State.RUNNING.value,
    Analysis.State.PENDING.value,
    Analysis.State.COMPLETED.value,
)
#: States with at most this many analyses are counted exactly; above it, the planner's estimate ("about").
EXACT_STATE_COUNT = 10_000
#: The upper bound on queries :func:`build_dashboard` runs (asserted by the tests): one count per state, and
#: an ``EXPLAIN`` for each state above :data:`EXACT_STATE_COUNT` (remembered for a minute).
MAX_QUERIES = 13

# Chart geometry (SVG user units): one bar per day.
BAR_WIDTH = 16
BAR_GAP = 4
CHART_HEIGHT = 120
AXIS_WIDTH = 36
LABEL_HEIGHT = 18
#: Room right of the last bar for its centred date label.
RIGHT_MARGIN = 20


@dataclass(frozen=True)
class Counted:
    """A number and the admin list that shows exactly those rows."""

    label: str
    count: int
    url: str
    key: str = ""
    #: False when ``count`` is Postgres' estimate (a state above :data:`EXACT_STATE_COUNT`)
    exact: bool = True


@dataclass(frozen=True)
class ListedItem:
    """One work item named on the dashboard, with a link to its change page."""

    pk: int
    url: str
    pipeline: str
    external_ref: str
    state: str
    since: datetime | None
    message: str = ""


@dataclass(frozen=True)
class Segment:
    """One state's share of a day's bar."""

    state: str
    count: int
    y: float
    height: float


@dataclass(frozen=True)
class DayBar:
    """One day of the chart: its analyses by state, stacked, and the list of that day's analyses."""

    day: date
    total: int
    url: str
    x: float
    segments: tuple[Segment, ...]
    label: str = ""

    @property
    def centre(self) -> float:
        return self.x + BAR_WIDTH / 2

    @property
    def tooltip(self) -> str:
        parts = ", ".join(f"{segment.count} {segment.state}" for segment in self.segments)
        return f"{self.day.isoformat()}: {self.total} analyses" + (f" ({parts})" if parts else "")


@dataclass(frozen=True)
class DayChart:
    bars: tuple[DayBar, ...]
    peak: int
    width: int
    height: int
    plot_height: int
    axis_width: int
    bar_width: int = BAR_WIDTH

    @property
    def total(self) -> int:
        return sum(bar.total for bar in self.bars)


@dataclass(frozen=True)
class Dashboard:
    """Everything the index shows; a section is ``None`` when the user may not view its model."""

    analyses_by_state: tuple[Counted, ...] | None
    analyses_total: Counted | None
    failed_analyses: Counted | None
    failed_work_items: Counted | None
    long_running: Counted | None
    long_running_items: tuple[ListedItem, ...]
    recent_failures: tuple[ListedItem, ...]
    per_day: DayChart | None
    since: datetime


# ---------------------------------------------------------------------------------------------- links


def may_view(user: Any, model: type[Model]) -> bool:
    """Whether the admin would show ``model``'s list to ``user`` (the view or the change permission)."""
    opts = model._meta
    return any(
        user.has_perm(f"{opts.app_label}.{get_permission_codename(action, opts)}") for action in ("view", "change")
    )


# ---------------------------------------------------------------------------------------------- analyses


def analyses_by_state(*, viewer: Any) -> tuple[Counted, ...]:
    """Visible analyses per state, every state listed (zero too), in :data:`STATE_ORDER`.

    Each state is counted exactly up to :data:`EXACT_STATE_COUNT` (an index-only scan of ``analysis_state_id``
    that stops there) and estimated by the planner above it, as the API's lists are: grouping half a million
    analyses by state read them all (144 ms), while the states a curator acts on (failed, running) are small.
    Superseded analyses are counted, as the changelist the numbers link to lists them.
    """
    visible = Analysis.objects.visible_to(viewer)
    counted = []
    for state in STATE_ORDER:
        count, exact = bounded_count(visible.filter(state=state), limit=EXACT_STATE_COUNT)
        url = admin_changelist_url(Analysis, {"state__exact": state})
        counted.append(Counted(label=state, count=count, url=url, key=state, exact=exact))
    return tuple(counted)


def failed_analyses(*, viewer: Any, since: datetime) -> Counted:
    """Visible analyses in state failed whose row changed since ``since`` (their failure, or anything after it).

    An analysis records no failure time of its own outside its status JSON; ``updated_at`` is set by every
    write of the recording services, the failure's included.
    """
    filters = {"state__exact": Analysis.State.FAILED, "updated_at__gte": since.isoformat()}
    count = Analysis.objects.visible_to(viewer).filter(state=Analysis.State.FAILED, updated_at__gte=since).count()
    return Counted(label="analyses failed", count=count, url=admin_changelist_url(Analysis, filters), key="analyses")


def analyses_per_day(*, viewer: Any, today: date, days: int = CHART_DAYS) -> dict[date, dict[str, int]]:
    """Visible analyses created on each of the last ``days`` days (the current time zone's days), per state.

    One query grouped by (day, state): at most ``days`` x 4 rows come back, whatever the table's size.
    """
    start = day_start(today - timedelta(days=days - 1))
    rows = (
        Analysis.objects.visible_to(viewer)
        .filter(created_at__gte=start)
        .annotate(day=TruncDate("created_at"))
        .order_by()
        .values_list("day", "state")
        .annotate(count=Count("*"))  # not COUNT(id): the ``analysis_created`` index does not carry the id
    )
    per_day: dict[date, dict[str, int]] = {}
    for day, state, count in rows:
        per_day.setdefault(day, {})[state] = count
    return per_day


def day_start(day: date) -> datetime:
    """Midnight at the start of ``day`` in the current time zone (where ``created_at__date`` draws its days)."""
    return timezone.make_aware(datetime.combine(day, time.min))


# ---------------------------------------------------------------------------------------------- the ledger


def listed_item(item: WorkItem, *, since: datetime | None, message: str = "") -> ListedItem:
    return ListedItem(
        pk=item.pk,
        url=admin_change_url(item),
        pipeline=str(item.pipeline),
        external_ref=item.external_ref,
        state=item.state,
        since=since,
        message=message,
    )


def failed_work(*, viewer: Any, now: datetime, limit: int = LISTED_ITEMS) -> tuple[Counted, tuple[ListedItem, ...]]:
    """Visible work items failed in the last :data:`FAILURE_WINDOW`: their number, and the newest ``limit``
    with the last message each left (the ledger's :func:`~workflows.ledger.selectors.recent_failures`).
    """
    failures = ledger.recent_failures(now=now, viewer=viewer)
    count = failures.order_by().count()
    newest = tuple(
        listed_item(item, since=item.finished_at, message=item.last_message or "") for item in failures[:limit]
    )
    url = admin_changelist_url(WorkItem, WORK_ITEM_FAILURE_FILTER)
    return Counted(label="work items failed", count=count, url=url, key="work-items"), newest


def long_running_work(
    *, viewer: Any, now: datetime, limit: int = LISTED_ITEMS
) -> tuple[Counted, tuple[ListedItem, ...]]:
    """Visible work items claimed or running far beyond their pipeline's usual duration (the ledger's rule):
    their number, and the ``limit`` that have been at it longest.
    """
    items = ledger.long_running_items(now=now, viewer=viewer)  # the thresholds are read once, here
    count = items.order_by().count()
    longest = tuple(listed_item(item, since=item.started_at or item.claimed_at) for item in items[:limit])
    url = admin_changelist_url(WorkItem, WORK_ITEM_LONG_RUNNING_FILTER)
    return Counted(label="long-running work items", count=count, url=url, key="long-running"), longest


# ---------------------------------------------------------------------------------------------- the chart


def day_chart(per_day: Mapping[date, Mapping[str, int]], *, today: date, days: int = CHART_DAYS) -> DayChart:
    """The bar chart's geometry: one stacked bar per day (oldest left), scaled to the busiest day.

    Pure arithmetic, so the template only draws; a day without analyses is a bar of height 0 (still a link).
    """
    first = today - timedelta(days=days - 1)
    all_days = [first + timedelta(days=offset) for offset in range(days)]
    peak = max((sum(per_day.get(day, {}).values()) for day in all_days), default=0)
    scale = CHART_HEIGHT / peak if peak else 0.0
    bars = []
    for index, day in enumerate(all_days):
        counts = per_day.get(day, {})
        bottom = float(CHART_HEIGHT)
        segments = []
        for state in reversed(STATE_ORDER):  # completed at the bottom, failed on top where the eye falls
            count = counts.get(state, 0)
            if not count:
                continue
            height = count * scale
            bottom -= height
            segments.append(Segment(state=state, count=count, y=round(bottom, 2), height=round(height, 2)))
        bars.append(
            DayBar(
                day=day,
                total=sum(counts.values()),
                url=admin_changelist_url(Analysis, {"created_at__date": day.isoformat()}),
                x=AXIS_WIDTH + index * (BAR_WIDTH + BAR_GAP),
                segments=tuple(segments),
                label=day.strftime("%d %b") if (days - 1 - index) % 7 == 0 else "",  # today, and weekly back
            )
        )
    return DayChart(
        bars=tuple(bars),
        peak=peak,
        width=AXIS_WIDTH + days * (BAR_WIDTH + BAR_GAP) + RIGHT_MARGIN,
        height=CHART_HEIGHT + LABEL_HEIGHT,
        plot_height=CHART_HEIGHT,
        axis_width=AXIS_WIDTH,
    )


# ---------------------------------------------------------------------------------------------- together


def build_dashboard(*, user: Any, now: datetime | None = None) -> Dashboard:
    """Everything the index shows to ``user`` at ``now`` (default: now), in at most :data:`MAX_QUERIES` queries."""
    now = now or timezone.now()
    since = now - FAILURE_WINDOW
    sees_analyses, sees_work = may_view(user, Analysis), may_view(user, WorkItem)
    by_state = analyses_by_state(viewer=user) if sees_analyses else None
    failed_items, recent = failed_work(viewer=user, now=now) if sees_work else (None, ())
    long_running, longest = long_running_work(viewer=user, now=now) if sees_work else (None, ())
    today = timezone.localdate(now)
    return Dashboard(
        analyses_by_state=by_state,
        analyses_total=total(by_state, url=admin_changelist_url(Analysis)) if by_state is not None else None,
        failed_analyses=failed_analyses(viewer=user, since=since) if sees_analyses else None,
        failed_work_items=failed_items,
        long_running=long_running,
        long_running_items=longest,
        recent_failures=recent,
        per_day=day_chart(analyses_per_day(viewer=user, today=today), today=today) if sees_analyses else None,
        since=since,
    )


def total(counted: Iterable[Counted], *, url: str) -> Counted:
    counted = tuple(counted)
    exact = all(c.exact for c in counted)
    return Counted(label="all analyses", count=sum(c.count for c in counted), url=url, key="all", exact=exact)
