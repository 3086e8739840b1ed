"""The admin index's dashboard: its numbers are the database's, its links filter to exactly those rows,
private rows stay uncounted for a curator without the capability, and it costs a fixed number of queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from html.parser import HTMLParser
from itertools import count

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from analyses.models import Analysis, Run
from analyses.services import biome_ensure
from core import pagination
from tests.api.conftest import make_chain
from workflows.automation import dashboard
from workflows.automation.apps import SITE_HEADER, SITE_URL
from workflows.ledger.models import Pipeline, WorkItem, WorkState

pytestmark = pytest.mark.django_db

INDEX = "/admin/"
_versions = count(1)
_inputs = count(1)


# ---------------------------------------------------------------------------------------------- page reading


@dataclass
class Link:
    href: str
    attrs: dict[str, str]


class Links(HTMLParser):
    """Every ``<a>`` of a page, by id (and the chart's bars, by day)."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, Link] = {}
        self.bars: dict[str, Link] = {}
        self.all: list[Link] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        values = {key: value or "" for key, value in attrs}
        link = Link(values.get("href", ""), values)
        self.all.append(link)
        if "id" in values:
            self.by_id[values["id"]] = link
        if "data-day" in values:
            self.bars[values["data-day"]] = link


def read_index(client: Client) -> Links:
    response = client.get(INDEX)
    assert response.status_code == 200
    links = Links()
    links.feed(response.content.decode())
    return links


def listed(client: Client, url: str) -> int:
    """How many rows the admin changelist at ``url`` lists (its filtered count)."""
    response = client.get(url)
    assert response.status_code == 200, url
    assert "e" not in response.wsgi_request.GET, f"the changelist refused a lookup of {url}"
    return response.context["cl"].result_count


# ---------------------------------------------------------------------------------------------- data


@pytest.fixture
def runs() -> dict[str, Run]:
    """A public and a private (Webin-777) run to hang analyses on."""
    biome = biome_ensure(lineage="root:Environmental:Aquatic")
    _, _, public = make_chain(1, biome=biome, title="public", experiment_type="METAG")
    _, _, private = make_chain(
        2, biome=biome, title="private", experiment_type="METAG", private=True, owner="Webin-777"
    )
    return {"public": public, "private": private}


def add_analyses(run: Run, state: str, n: int, *, created: datetime | None = None, updated: datetime | None = None):
    """``n`` analyses of ``run`` in ``state`` (each its own pipeline version), with the given timestamps."""
    made = Analysis.objects.bulk_create(
        Analysis(
            study_id=run.study_id,
            run=run,
            pipeline_name="raw-reads",
            pipeline_version=f"1.{next(_versions)}",
            state=state,
            is_private=run.is_private,
            webin_submitter=run.webin_submitter,
        )
        for _ in range(n)
    )
    stamps = {"created_at": created, "updated_at": updated}
    if any(stamps.values()):
        Analysis.objects.filter(pk__in=[a.pk for a in made]).update(**{k: v for k, v in stamps.items() if v})
    return made


def add_items(pipeline: Pipeline, state: str, n: int, *, private: bool = False, **times) -> list[WorkItem]:
    leased = state in (WorkState.CLAIMED, WorkState.RUNNING)
    return [
        WorkItem.objects.create(
            pipeline=pipeline,
            input={"run": f"ERR{next(_inputs)}"},
            input_hash=f"hash-{next(_inputs)}",
            external_ref=f"MGYA{next(_inputs):08d}",
            state=state,
            lease_holder="flow:test" if leased else "",
            lease_expires_at=timezone.now() + timedelta(minutes=5) if leased else None,
            is_private=private,
            webin_submitter="Webin-777" if private else "",
            **times,
        )
        for _ in range(n)
    ]


@pytest.fixture
def pipeline() -> Pipeline:
    return Pipeline.objects.create(name="raw-reads", version="6.0", expected_duration=timedelta(hours=1))


def make_staff(username: str, *perms: str) -> AbstractBaseUser:
    user = get_user_model().objects.create_user(username, password="pw", is_staff=True)
    for name in perms:
        app_label, _, codename = name.partition(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    return get_user_model().objects.get(pk=user.pk)  # fresh: no cached permissions


def logged_in(user: AbstractBaseUser) -> Client:
    client = Client()
    client.force_login(user)
    return client


VIEW_BOTH = ("analyses.view_analysis", "workflows.view_workitem")


# ---------------------------------------------------------------------------------------------- tests


def test_counts_by_state_are_the_databases_and_link_to_exactly_those_analyses(admin_client, runs):
    add_analyses(runs["public"], Analysis.State.COMPLETED, 4)
    add_analyses(runs["public"], Analysis.State.FAILED, 2)
    add_analyses(runs["private"], Analysis.State.FAILED, 1)
    add_analyses(runs["private"], Analysis.State.RUNNING, 3)
    links = read_index(admin_client)
    expected = {"completed": 4, "failed": 3, "running": 3, "pending": 0}
    for state, number in expected.items():
        link = links.by_id[f"cd-state-{state}"]
        assert int(link.attrs["data-count"]) == number == Analysis.objects.filter(state=state).count()
        assert f"state__exact={state}" in link.href
        assert listed(admin_client, link.href) == number
    assert int(links.by_id["cd-state-all"].attrs["data-count"]) == 10
    assert {links.by_id[f"cd-state-{state}"].attrs["data-exact"] for state in [*expected, "all"]} == {"true"}


def test_a_state_above_the_exact_bound_is_the_planners_estimate_said_so(admin_client, runs, monkeypatch):
    """Half a million completed analyses are not counted on every visit: above the bound, Postgres' estimate,
    never below what was counted, marked "≈"; the small states a curator acts on stay exact."""
    monkeypatch.setattr(dashboard, "EXACT_STATE_COUNT", 3)
    monkeypatch.setattr(pagination, "planner_estimate", lambda cursor, sql, params: 2)  # below the truth
    add_analyses(runs["public"], Analysis.State.COMPLETED, 6)
    add_analyses(runs["public"], Analysis.State.FAILED, 2)
    links = read_index(admin_client)
    completed, failed = links.by_id["cd-state-completed"], links.by_id["cd-state-failed"]
    assert (completed.attrs["data-count"], completed.attrs["data-exact"]) == ("4", "false")  # the 4 rows counted
    assert (failed.attrs["data-count"], failed.attrs["data-exact"]) == ("2", "true")
    assert links.by_id["cd-state-all"].attrs["data-exact"] == "false"
    assert "≈4" in admin_client.get(INDEX).content.decode()


def test_a_curator_without_the_capability_learns_nothing_of_private_analyses(runs, pipeline):
    add_analyses(runs["public"], Analysis.State.FAILED, 2, created=timezone.now())
    add_analyses(runs["private"], Analysis.State.FAILED, 5, created=timezone.now())
    add_items(pipeline, WorkState.FAILED, 1, finished_at=timezone.now())
    add_items(pipeline, WorkState.FAILED, 4, private=True, finished_at=timezone.now())
    restricted = make_staff("curator", *VIEW_BOTH)
    privileged = make_staff("senior", *VIEW_BOTH, "accounts.view_private_data")

    links = read_index(logged_in(restricted))
    assert links.by_id["cd-state-failed"].attrs["data-count"] == "2"
    assert links.by_id["cd-failed-analyses"].attrs["data-count"] == "2"
    assert links.by_id["cd-failed-work-items"].attrs["data-count"] == "1"
    today = timezone.localdate().isoformat()
    assert links.bars[today].attrs["data-total"] == "2"
    assert listed(logged_in(restricted), links.by_id["cd-state-failed"].href) == 2

    links = read_index(logged_in(privileged))
    assert links.by_id["cd-state-failed"].attrs["data-count"] == "7"
    assert links.by_id["cd-failed-work-items"].attrs["data-count"] == "5"
    assert links.bars[today].attrs["data-total"] == "7"


def test_staff_without_the_view_permissions_get_no_sections_of_those_models(runs, pipeline):
    add_analyses(runs["public"], Analysis.State.FAILED, 1)
    links = read_index(logged_in(make_staff("ledger-only", "workflows.view_workitem")))
    assert "cd-state-failed" not in links.by_id and "cd-failed-analyses" not in links.by_id and not links.bars
    assert "cd-failed-work-items" in links.by_id and "cd-long-running-count" in links.by_id
    links = read_index(logged_in(make_staff("analyses-only", "analyses.view_analysis")))
    assert "cd-state-failed" in links.by_id
    assert "cd-failed-work-items" not in links.by_id and "cd-long-running-count" not in links.by_id


def test_failures_of_the_last_day_count_and_link_only_recent_ones(admin_client, runs, pipeline):
    now = timezone.now()
    add_analyses(runs["public"], Analysis.State.FAILED, 3, updated=now - timedelta(hours=2))
    add_analyses(runs["public"], Analysis.State.FAILED, 2, updated=now - timedelta(days=3))
    add_analyses(runs["public"], Analysis.State.COMPLETED, 4, updated=now - timedelta(hours=1))
    add_items(pipeline, WorkState.FAILED, 2, finished_at=now - timedelta(hours=3))
    add_items(pipeline, WorkState.FAILED, 1, finished_at=now - timedelta(days=2))
    add_items(pipeline, WorkState.DONE, 2, finished_at=now - timedelta(hours=1))
    links = read_index(admin_client)

    analyses = links.by_id["cd-failed-analyses"]
    assert analyses.attrs["data-count"] == "3"
    assert listed(admin_client, analyses.href) == 3
    items = links.by_id["cd-failed-work-items"]
    assert items.attrs["data-count"] == "2"
    assert "failed_within=24h" in items.href
    assert listed(admin_client, items.href) == 2


def test_long_running_work_counts_lists_and_links_its_items(admin_client, pipeline):
    now = timezone.now()
    slow = add_items(pipeline, WorkState.RUNNING, 7, started_at=now - timedelta(hours=10), claimed_at=now)
    add_items(pipeline, WorkState.RUNNING, 2, started_at=now - timedelta(minutes=10), claimed_at=now)
    add_items(pipeline, WorkState.DONE, 3, started_at=now - timedelta(hours=10), finished_at=now)
    links = read_index(admin_client)

    counted = links.by_id["cd-long-running-count"]
    assert counted.attrs["data-count"] == "7"
    assert "long_running=yes" in counted.href
    assert listed(admin_client, counted.href) == 7
    change_pages = {reverse("admin:workflows_workitem_change", args=[item.pk]) for item in slow}
    shown = {link.href for link in links.all if link.href in change_pages}
    assert len(shown) == dashboard.LISTED_ITEMS
    for href in shown:
        assert admin_client.get(href).status_code == 200


def test_the_chart_draws_each_day_and_each_bar_opens_that_days_analyses(admin_client, runs):
    today = timezone.localdate()
    noon = timezone.make_aware(datetime.combine(today, datetime.min.time())) + timedelta(hours=12)
    add_analyses(runs["public"], Analysis.State.COMPLETED, 3, created=noon - timedelta(days=1))
    add_analyses(runs["public"], Analysis.State.FAILED, 2, created=noon - timedelta(days=1))
    add_analyses(runs["private"], Analysis.State.COMPLETED, 4, created=noon - timedelta(days=5))
    add_analyses(runs["public"], Analysis.State.COMPLETED, 6, created=noon - timedelta(days=40))  # before the chart
    links = read_index(admin_client)

    assert len(links.bars) == dashboard.CHART_DAYS
    expected = {today - timedelta(days=1): 5, today - timedelta(days=5): 4, today - timedelta(days=2): 0}
    for day, number in expected.items():
        bar = links.bars[day.isoformat()]
        assert int(bar.attrs["data-total"]) == number
        assert listed(admin_client, bar.href) == number
    assert sum(int(bar.attrs["data-total"]) for bar in links.bars.values()) == 9


def test_chart_geometry_stacks_states_and_scales_to_the_busiest_day():
    today = date(2025, 3, 31)
    per_day = {today: {"completed": 6, "failed": 2}, today - timedelta(days=3): {"running": 4}}
    chart = dashboard.day_chart(per_day, today=today)
    assert chart.peak == 8 and len(chart.bars) == dashboard.CHART_DAYS
    last = chart.bars[-1]
    assert last.day == today and last.total == 8
    assert [s.state for s in last.segments] == ["completed", "failed"]  # completed at the bottom
    assert sum(s.height for s in last.segments) == pytest.approx(dashboard.CHART_HEIGHT)
    assert last.segments[0].y + last.segments[0].height == pytest.approx(dashboard.CHART_HEIGHT)
    assert last.segments[1].y + last.segments[1].height == pytest.approx(last.segments[0].y)
    assert chart.bars[-4].segments[0].height == pytest.approx(dashboard.CHART_HEIGHT / 2)
    assert chart.bars[0].total == 0 and chart.bars[0].segments == ()
    assert chart.bars[1].x - chart.bars[0].x == dashboard.BAR_WIDTH + dashboard.BAR_GAP


def test_the_dashboard_costs_a_fixed_number_of_queries_whatever_the_rows(admin_client, superuser, runs, pipeline):
    def measured() -> tuple[int, int]:
        user = get_user_model().objects.get(pk=superuser.pk)
        with CaptureQueriesContext(connection) as built:
            dashboard.build_dashboard(user=user)
        with CaptureQueriesContext(connection) as page:
            assert admin_client.get(INDEX).status_code == 200
        return len(built), len(page)

    now = timezone.now()
    add_analyses(runs["public"], Analysis.State.FAILED, 2, created=now)
    add_items(pipeline, WorkState.RUNNING, 1, started_at=now - timedelta(hours=10), claimed_at=now)
    add_items(pipeline, WorkState.FAILED, 1, finished_at=now)
    small = measured()
    for offset in range(0, 30, 3):
        add_analyses(runs["private"], Analysis.State.COMPLETED, 5, created=now - timedelta(days=offset))
        add_analyses(runs["public"], Analysis.State.FAILED, 3, created=now - timedelta(days=offset))
    add_items(pipeline, WorkState.RUNNING, 12, started_at=now - timedelta(hours=10), claimed_at=now)
    add_items(pipeline, WorkState.FAILED, 12, finished_at=now)
    large = measured()
    assert small == large
    assert large[0] <= dashboard.MAX_QUERIES


def test_the_admin_is_named_and_view_site_opens_the_api_docs(admin_client):
    response = admin_client.get(INDEX)
    html = response.content.decode()
    assert f'href="{SITE_URL}"' in html
    assert SITE_HEADER.replace("'", "&#x27;") in html
    assert 'id="curator-dashboard"' in html
    assert html.index('id="curator-dashboard"') < html.index('class="app-analyses module')  # the app list stays, below
    assert Client().get(SITE_URL).status_code == 200


def test_the_total_counts_superseded_analyses_as_the_changelist_does(admin_client, runs):
    made = add_analyses(runs["public"], Analysis.State.COMPLETED, 3)
    Analysis.objects.filter(pk=made[0].pk).update(is_superseded=True)
    total = read_index(admin_client).by_id["cd-state-all"]
    assert int(total.attrs["data-count"]) == 3 == listed(admin_client, total.href)
