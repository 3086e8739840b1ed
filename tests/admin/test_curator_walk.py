"""A curator's walk through the console in a real browser, on the real platform (issue 17's "Must show").

Headless Chromium (Debian's, through Playwright) against a live Django server; a real Prefect server with
a process worker in the ``slurm`` pool running the ``analyse_study`` deployment on the real Slurm dev
cluster; the local ENA mirror over HTTP; Postgres. What the walk proves, step by step:

1. A real failure: a small study of the mirror is analysed (two runs) while the mirror advertises a wrong
   md5 for one run's reads; that analysis ends FAILED at fetching its reads, the other completes. ENA then
   "fixes" its md5 (the fault is cleared and the study re-imported), so a re-run can succeed.
2. A curator (staff, in the ``curators`` group, not a superuser) logs in through the admin's form, lands
   on the dashboard, sees one failed analysis, clicks the number and opens the failed analysis.
3. The failure box names the failed step and shows the md5 message.
4. *Re-run this analysis* → a confirmation page saying one analysis will be re-run in one flow run →
   apply → a message linking the new flow run.
5. The link opens the flow run in the Prefect UI (the local server serves it); the flow run completes on
   Slurm; the reloaded analysis page reads *completed*, its failure box and re-run button gone, and its
   Slurm jobs table lists the head job, whose id ``sacct`` knows as COMPLETED.
6. The chain header's links open the study, the run and the work item, and each links back.
7. What the pipeline owns cannot be edited: no inputs for it, a forged POST through the browser's session
   changes only curator fields, the work item's ``external_ref`` stays, and deleting either is refused (403).
8. Each page's load time goes into ``page-times.md`` beside the screenshots (an artefact: no timed asserts).

Every step saves a full-page screenshot in ``$EMG_TEST_ARTIFACTS/curator-walk`` (default
``.local/test-artifacts/browser/curator-walk``).
"""

from __future__ import annotations

import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from uuid import UUID

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import connections
from django.urls import reverse
from playwright.sync_api import Locator, Page, expect

from accounts.permissions import CURATORS_GROUP
from analyses.ena_sync import import_ena_study
from analyses.models import Analysis, Run
from devtools.ena_mirror.generator import SYNTHETIC_STUDY_ACCESSION
from tests.browser_charts import CHROMIUM, artifacts_dir, chromium
from tests.flows import conftest as flows
from tests.flows.conftest import prefect_platform
from tests.flows.test_rerun_end_to_end import wait_for_flow_run
from workflows.automation.services import launch_analyse_study
from workflows.ledger.models import WorkItem, WorkState
from workflows.prefect_utils.local_server import LocalPrefect

pytestmark = [
    pytest.mark.browser,
    pytest.mark.e2e,
    pytest.mark.slurm,
    pytest.mark.prefect,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (scripts/setup.sh installs it)"),
]

# The flow tests' fixtures: the ENA mirror over HTTP, temporary storage, and config pointing at both.
mirror = flows.mirror
storage = flows.storage
platform_config = flows.platform_config

#: Runs of the study analysed (the first two by accession): one fails, one completes.
SAMPLE_LIMIT = 2
#: The run whose reads the mirror advertises with a wrong md5.
BAD_MD5_RUN = "ERR9000002"
#: Where it fails: its reads are checked against ENA's md5 as they are fetched (before any Slurm job).
FAILED_STEP = "fetch_reads"
#: Charts of the completed analysis: read quality, contig lengths, Pfam, rRNA (the mirror plants real genes).
EXPECTED_CHARTS = 4
CURATOR = ("curator-walk", "curator-walk-password")
#: Form fields the pipeline owns on an analysis: never inputs on its page.
ANALYSIS_PIPELINE_FIELDS = ("state", "pipeline_name", "pipeline_version", "run", "study", "sample", "assembly")
#: Form fields the services own on a work item.
WORK_ITEM_SERVICE_FIELDS = ("external_ref", "state", "pipeline", "attempts", "lease_holder", "input")


# ------------------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def prefect(tmp_path: Path, platform_config, mirror, storage, settings) -> Iterator[LocalPrefect]:
    """A real Prefect server (UI included) with the analyse-study deployment and a worker in the slurm pool."""
    with prefect_platform(tmp_path / "prefect", settings, mirror, storage, ("analyse_study",)) as server:
        yield server


def make_curator() -> AbstractBaseUser:
    """A staff user in the curators group (what ``accounts`` grants after migrate), not a superuser."""
    user = get_user_model().objects.create_user(CURATOR[0], password=CURATOR[1], is_staff=True)
    user.groups.add(Group.objects.get(name=CURATORS_GROUP))
    return user


# ------------------------------------------------------------------------------------------------ the walk


@dataclass
class PageTime:
    step: str
    path: str
    status: int | None
    wall_ms: float
    server_ms: float | None
    load_ms: float | None


@dataclass
class Walk:
    """The browser page, where screenshots go, and each page's load time."""

    page: Page
    out: Path
    times: list[PageTime] = field(default_factory=list)
    shots: list[Path] = field(default_factory=list)

    def shot(self, name: str) -> Path:
        path = self.out / f"{len(self.shots) + 1:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)
        self.shots.append(path)
        return path

    def record(self, step: str, started: float, status: int | None) -> None:
        """The navigation's wall time here and the browser's own timing (server: request to first byte)."""
        wall_ms = (time.perf_counter() - started) * 1000
        timing = self.page.evaluate(
            """() => {
                const nav = performance.getEntriesByType('navigation')[0];
                return nav ? {server: nav.responseStart - nav.requestStart, load: nav.loadEventEnd - nav.startTime}
                           : null;
            }"""
        )
        path = re.sub(r"^https?://[^/]+", "", self.page.url)
        self.times.append(
            PageTime(
                step,
                path,
                status,
                wall_ms,
                timing["server"] if timing else None,
                timing["load"] if timing and timing["load"] > 0 else None,
            )
        )

    def goto(self, step: str, url: str, *, expect_status: int = 200) -> None:
        started = time.perf_counter()
        response = self.page.goto(url)
        status = response.status if response else None
        self.record(step, started, status)
        assert status == expect_status, f"{url}: HTTP {status}"

    def click_to(self, step: str, target: Locator) -> None:
        """Click a link or button that loads a new page, and time that page."""
        started = time.perf_counter()
        with self.page.expect_navigation() as navigation:
            target.click()
        response = navigation.value
        self.record(step, started, response.status if response else None)

    def write_times(self) -> Path:
        def ms(value: float | None) -> str:
            return f"{value:.0f}" if value is not None else "-"

        lines = [
            "# Curator walk: page load times",
            "",
            "wall: `page.goto`/click to load event, measured by the test; server: request to first byte;",
            "load: navigation start to load event (both from the browser's Navigation Timing). An artefact, not",
            "an assertion; the data is a two-run study, not the 10,000 analyses of bench/admin_pages.py.",
            "",
            "| step | path | HTTP | wall ms | server ms | load ms |",
            "|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {t.step} | `{t.path}` | {t.status} | {ms(t.wall_ms)} | {ms(t.server_ms)} | {ms(t.load_ms)} |"
            for t in self.times
        ]
        path = self.out / "page-times.md"
        path.write_text("\n".join(lines) + "\n")
        return path


def chain_step(page: Page, label: str) -> Locator:
    """The value of one step of the chain header (``study``, ``run``, ``work item``, ``flow run``…)."""
    label_span = page.locator(".console-chain-label", has_text=re.compile(rf"^{re.escape(label)}$"))
    return page.locator(".console-chain-step", has=label_span).locator(".console-chain-value")


def at(url: str) -> re.Pattern[str]:
    """A page URL of ``url``'s path, with or without a query string (the admin keeps a list's filters)."""
    return re.compile(re.escape(url) + r"(\?.*)?$")


def change_url(obj: object) -> str:
    opts = obj._meta  # type: ignore[attr-defined]
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk])  # type: ignore[attr-defined]


def assert_fits_the_window(page: Page) -> None:
    """No horizontal scrolling: the page is no wider than the 1,280 px window."""
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    assert widths[0] <= widths[1], f"page {widths[0]} px wide in a {widths[1]} px window"


def assert_charts_drawn(page: Page) -> None:
    """The analysis' charts (lazy images from the read API) load and decode once scrolled to."""
    charts = page.locator("#console-charts img")
    expect(charts).to_have_count(EXPECTED_CHARTS)
    for index in range(EXPECTED_CHARTS):
        charts.nth(index).scroll_into_view_if_needed()
    page.wait_for_function(
        "() => [...document.querySelectorAll('#console-charts img')].every(i => i.complete && i.naturalWidth > 0)"
    )
    page.evaluate("() => window.scrollTo(0, 0)")


def csrf_token(page: Page) -> str:
    token = page.locator("input[name=csrfmiddlewaretoken]").first.get_attribute("value")
    assert token, "no CSRF token on the page"
    return token


def sacct_state(job_id: str) -> str:
    """The job's state in Slurm's accounting (the allocation line only)."""
    out = subprocess.run(
        ["sacct", "-j", job_id, "-X", "-n", "-P", "-o", "State"], capture_output=True, text=True, check=True
    ).stdout
    return out.strip().splitlines()[0] if out.strip() else ""


def fail_one_analysis_for_real(prefect: LocalPrefect, mirror) -> tuple[Analysis, UUID]:
    """Analyse the study's first runs with one run's md5 wrong at ENA; return the analysis that failed, and the
    flow run that failed it.

    Then ENA is right again: the fault cleared and the study re-imported, so the stored md5 is the true one
    (a re-run of an analysis does not import, it runs with what is stored).
    """
    mirror.faults.wrong_md5(BAD_MD5_RUN)
    launched = launch_analyse_study(
        ena_study_accession=SYNTHETIC_STUDY_ACCESSION, requested_by="setup", sample_limit=SAMPLE_LIMIT
    )
    final = wait_for_flow_run(prefect, launched.id)
    assert final.state_type == "COMPLETED", final
    analyses = list(Analysis.objects.select_related("run").order_by("accession"))
    assert len(analyses) == SAMPLE_LIMIT, analyses
    states = {analysis.run.ena_accessions[0]: analysis.state for analysis in analyses}
    assert states[BAD_MD5_RUN] == Analysis.State.FAILED, states
    assert all(state == Analysis.State.COMPLETED for run, state in states.items() if run != BAD_MD5_RUN), states
    mirror.faults.clear()
    import_ena_study(SYNTHETIC_STUDY_ACCESSION)
    return next(analysis for analysis in analyses if analysis.state == Analysis.State.FAILED), launched.id


def pipeline_owned(analysis: Analysis) -> tuple:
    analysis.refresh_from_db()
    return (
        analysis.state,
        analysis.pipeline_name,
        analysis.pipeline_version,
        analysis.run_id,
        analysis.study_id,
        analysis.sample_id,
    )


def assert_pipeline_fields_read_only(walk: Walk, analysis: Analysis, analysis_url: str) -> None:
    """No inputs for what the pipeline owns; a forged POST saves the curator's fields and nothing else;
    deleting is refused."""
    page = walk.page
    form = page.locator("#analysis_form")
    expect(form).to_be_visible()
    for name in ANALYSIS_PIPELINE_FIELDS:
        expect(form.locator(f"[name='{name}']")).to_have_count(0)
    expect(form.locator("[name=webin_submitter]")).to_be_editable()  # curator metadata stays editable
    before = pipeline_owned(analysis)
    other_run = Run.objects.exclude(pk=analysis.run_id).order_by("pk").first()
    assert other_run is not None
    forged = page.request.post(
        analysis_url,
        form={
            "csrfmiddlewaretoken": csrf_token(page),
            "experiment_type": analysis.experiment_type,
            "webin_submitter": "Webin-curator-note",
            "state": Analysis.State.FAILED,
            "pipeline_name": "forged-pipeline",
            "pipeline_version": "9.9.9",
            "run": str(other_run.pk),
            "study": str(other_run.study_id),
            "sample": str(other_run.sample_id),
            "_save": "Save",
        },
        max_redirects=0,
    )
    assert forged.status == 302, (forged.status, forged.text()[:2000])  # the form was valid and saved...
    assert Analysis.objects.get(pk=analysis.pk).webin_submitter == "Webin-curator-note"  # ...its own field
    assert pipeline_owned(analysis) == before  # ...and nothing the pipeline owns
    walk.goto("analysis (after a forged POST)", analysis_url)
    expect(chain_step(page, "analysis").locator(".console-badge")).to_have_text("completed")
    walk.shot("analysis-read-only-fields")

    walk.goto("analysis delete (refused)", f"{analysis_url}delete/", expect_status=403)
    walk.shot("analysis-delete-refused")
    refused = page.request.post(
        f"{analysis_url}delete/",
        form={"csrfmiddlewaretoken": csrf_token_of(walk, analysis_url), "post": "yes"},
        max_redirects=0,
    )
    assert refused.status == 403, refused.status
    assert Analysis.objects.filter(pk=analysis.pk).exists()


def assert_work_item_read_only(walk: Walk, item: WorkItem) -> None:
    """The work item's page has no input for what the services own; a forged POST changes none of it;
    deleting is refused."""
    page = walk.page
    item_url = change_url(item)
    walk.goto("work item (read-only check)", item_url)
    form = page.locator("#workitem_form")
    expect(form).to_be_visible()
    for name in WORK_ITEM_SERVICE_FIELDS:
        expect(form.locator(f"[name='{name}']")).to_have_count(0)
    expect(form).to_contain_text(item.external_ref)
    before = WorkItem.objects.values("external_ref", "state", "attempts", "lease_holder").get(pk=item.pk)
    forged = page.request.post(
        item_url,
        form={
            "csrfmiddlewaretoken": csrf_token(page),
            "max_attempts": str(item.max_attempts),
            "external_ref": "MGYA99999999",
            "state": WorkState.PENDING,
            "attempts": "0",
            "lease_holder": "forged",
            "_save": "Save",
        },
        max_redirects=0,
    )
    # curators may only view work items (403); were they allowed to change them, the form would take max_attempts
    # alone (302): either way nothing the services own moves
    assert forged.status in (302, 403), (forged.status, forged.text()[:2000])
    assert WorkItem.objects.values("external_ref", "state", "attempts", "lease_holder").get(pk=item.pk) == before
    walk.goto("work item delete (refused)", f"{item_url}delete/", expect_status=403)
    walk.shot("work-item-delete-refused")
    refused = page.request.post(
        f"{item_url}delete/",
        form={"csrfmiddlewaretoken": csrf_token_of(walk, item_url), "post": "yes"},
        max_redirects=0,
    )
    assert refused.status == 403, refused.status
    assert WorkItem.objects.filter(pk=item.pk).exists()


def csrf_token_of(walk: Walk, url: str) -> str:
    """A CSRF token from ``url``'s form (the 403 page has none), read without leaving the current page."""
    html = walk.page.request.get(url).text()
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, f"no CSRF token on {url}"
    return match[1]


def log_in(walk: Walk) -> None:
    page = walk.page
    walk.goto("login", "/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    page.locator("#id_username").fill(CURATOR[0])
    page.locator("#id_password").fill(CURATOR[1])
    walk.shot("login")
    walk.click_to("dashboard (after login)", page.locator("#login-form input[type=submit]"))
    expect(page).to_have_url(re.compile(r"/admin/$"))


def assert_links_back(walk: Walk, label: str, target_url: str, back_url: str, shot: str) -> None:
    """Follow the chain step ``label`` to ``target_url``; that page must link ``back_url``; follow it back."""
    page = walk.page
    walk.click_to(label, chain_step(page, label).locator("a").first)
    expect(page).to_have_url(at(target_url))
    walk.shot(shot)
    back = page.locator(f"#content a[href='{back_url}']").first
    expect(back).to_be_visible()
    walk.click_to(f"back from {label}", back)
    expect(page).to_have_url(at(back_url))


# ------------------------------------------------------------------------------------------------ the test


def test_curator_finds_reads_reruns_and_follows_a_failed_analysis(
    live_server, prefect: LocalPrefect, mirror, platform_config
) -> None:
    failed, failing_flow_run = fail_one_analysis_for_real(prefect, mirror)
    make_curator()
    analysis_url = change_url(failed)
    out = artifacts_dir().parent / "curator-walk"
    out.mkdir(parents=True, exist_ok=True)

    with chromium() as browser:
        context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
        context.set_default_timeout(30_000)
        walk = Walk(page=context.new_page(), out=out)
        page = walk.page
        try:
            # 2. Log in as a curator; the dashboard counts the failure and links the failed list.
            log_in(walk)
            failed_count = page.locator("#cd-state-failed")
            expect(failed_count).to_have_attribute("data-count", "1")
            expect(failed_count).to_contain_text("failed")
            walk.shot("dashboard")
            walk.click_to("failed analyses list", failed_count)
            expect(page).to_have_url(re.compile(r"/admin/analyses/analysis/\?state__exact=failed$"))
            rows = page.locator("#result_list tbody tr")
            expect(rows).to_have_count(1)
            expect(rows.first).to_contain_text(BAD_MD5_RUN)
            walk.shot("failed-list")
            walk.click_to("failed analysis", rows.first.get_by_role("link", name=failed.accession))
            expect(page).to_have_url(at(analysis_url))  # with the list's filters kept, as the admin does

            # 3. Why it failed: the step and ENA's md5 in the failure box.
            box = page.locator(".console-failure")
            expect(box).to_be_visible()
            expect(box.locator("h2 code")).to_have_text(FAILED_STEP)
            expect(box.locator(".console-failure-message")).to_contain_text("md5")
            expect(box.locator(".console-failure-message")).to_contain_text(BAD_MD5_RUN)
            expect(box.locator(".console-failure-flag")).to_have_count(0)  # the message once, not twice
            expect(chain_step(page, "analysis")).to_contain_text("failed")
            # it failed before any Slurm job: the chain still leads to the flow run that failed it
            expect(chain_step(page, "flow run").locator("a")).to_have_attribute(
                "href", f"{prefect.ui_url}/runs/flow-run/{failing_flow_run}"
            )
            walk.shot("failed-analysis")

            # 4. Re-run it: the confirmation says what starts; applying links the flow run.
            walk.click_to("re-run confirmation", page.locator("#automation-rerun"))
            expect(page.locator("#automation-summary")).to_contain_text(
                "1 analysis/analyses will be re-run in 1 flow run(s)"
            )
            expect(page.locator("#automation-plan tbody tr")).to_have_count(1)
            expect(page.locator("#automation-plan tbody")).to_contain_text("queued again, then run by a new flow run")
            walk.shot("rerun-confirmation")
            walk.click_to("re-run applied", page.locator("input[name=apply]"))
            expect(page).to_have_url(re.compile(re.escape(analysis_url) + "$"))
            started = page.locator("ul.messagelist li.success").filter(has=page.locator("a.flow-run-link"))
            expect(started).to_have_count(1)
            expect(started).to_contain_text(f"started for {failed.accession}")
            link = started.locator("a.flow-run-link")
            walk.shot("rerun-started")
            href = link.get_attribute("href") or ""
            flow_run_id = UUID(href.rsplit("/", 1)[-1])
            assert href == f"{prefect.ui_url}/runs/flow-run/{flow_run_id}", href

            # 5. The flow run in Prefect's UI, then to completion on Slurm.
            flow_run_name = (link.text_content() or "").removeprefix("flow run ").strip()
            walk.click_to("Prefect UI: flow run (just started)", link)
            expect(page).to_have_url(href)
            expect(page.get_by_text(flow_run_name).first).to_be_visible()
            expect(page.get_by_text(failed.accession, exact=True).first).to_be_visible()  # the run's tag
            walk.shot("prefect-flow-run-started")
            final = wait_for_flow_run(prefect, flow_run_id)
            assert final.state_type == "COMPLETED", final
            assert final.parameters["analysis_accessions"] == [failed.accession]
            walk.goto("Prefect UI: flow run (completed)", href)
            assert final.name == flow_run_name
            expect(page.get_by_text(flow_run_name).first).to_be_visible()
            expect(page.get_by_text("Completed", exact=True).first).to_be_visible()  # the state badge
            walk.shot("prefect-flow-run-completed")

            walk.goto("analysis (completed)", analysis_url)
            expect(chain_step(page, "analysis").locator(".console-badge")).to_have_text("completed")
            expect(page.locator(".console-failure")).to_have_count(0)
            expect(page.locator("#automation-rerun")).to_have_count(0)
            expect(chain_step(page, "flow run").locator("a")).to_have_attribute("href", href)
            failed.refresh_from_db()
            assert failed.state == Analysis.State.COMPLETED
            [head] = [job["job_id"] for job in failed.provenance["slurm_jobs"] if job["step"] == "head"]
            head_row = page.locator("#console-slurm tbody tr").filter(
                has=page.locator("td:first-child", has_text=re.compile(r"^head$"))
            )
            expect(head_row).to_have_count(1)
            expect(head_row.locator("td").nth(1)).to_have_text(head)
            expect(head_row.locator("td").nth(3)).to_have_text("COMPLETED")
            assert sacct_state(head) == "COMPLETED", head
            assert_fits_the_window(page)
            assert_charts_drawn(page)
            walk.shot("analysis-completed")

            # 6. The chain: study, run and work item each open and link back to the analysis.
            item = WorkItem.objects.get(external_ref=failed.accession)
            assert item.state == WorkState.DONE
            assert_links_back(walk, "study", change_url(failed.study), analysis_url, "study")
            assert_links_back(walk, "run", change_url(failed.run), analysis_url, "run")
            assert_links_back(walk, "work item", change_url(item), analysis_url, "work-item")

            # 7. Pipeline-owned fields cannot be edited.
            assert_pipeline_fields_read_only(walk, failed, analysis_url)
            assert_work_item_read_only(walk, item)
        finally:
            times = walk.write_times()
            context.close()
            # The ORM calls made while Playwright's loop runs here opened a connection of their own: close it,
            # or the test database cannot be dropped at the end of the session.
            connections.close_all()
    assert times.exists() and len(walk.shots) >= 12, walk.shots
