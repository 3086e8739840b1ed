"""The admin in a real browser: headless Chromium (Playwright) against a live Django server.

A curator logs in through the login form, finds a study with the search box and starts its analysis
with the "Analyse selected studies" action, through its confirmation page; the success message links
the flow run, which must exist in a real Prefect server (started here with the analyse-study deployment;
no worker, so it only waits).
A submitter and an anonymous visitor are kept out of the admin. Each step leaves a screenshot in
``$EMG_TEST_ARTIFACTS`` (default ``.local/test-artifacts/browser/``), to see what the browser saw.

Playwright's sync API keeps an event loop in this thread, so Django's async-unsafe guard would refuse
the test's own ORM calls (and the database flush at teardown): ``DJANGO_ALLOW_ASYNC_UNSAFE`` is set
while the browser runs. The live server answers from its own thread, which has no event loop.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit
from uuid import UUID

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Permission
from django.test import Client
from playwright.sync_api import Browser, Page, expect, sync_playwright
from prefect.client.orchestration import SyncPrefectClient

from analyses.models import Study
from core.config import PROJECT_ROOT
from workflows.prefect_utils.local_server import LocalPrefect, local_prefect

CHROMIUM = Path("/usr/bin/chromium")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(not CHROMIUM.exists(), reason=f"no Chromium at {CHROMIUM} (scripts/setup.sh installs it)"),
]

CURATOR = ("curator", "curator-password")
SUBMITTER = ("Webin-4242", "submitter-password")
STUDY_ENA_ACCESSION = "PRJEB90042"
#: Admin permissions a curator needs to see and act on studies (app_label, codename).
CURATOR_ADMIN_PERMISSIONS = (("analyses", "view_study"), ("analyses", "change_study"))
#: The platform's capabilities a curator holds (the ``accounts`` app's permissions, once it exists).
CURATOR_CAPABILITIES = ("view_private_data", "launch_analyses", "rerun_analyses")
#: Django's refusal of a non-staff login on the admin's form.
STAFF_ONLY_ERROR = "Please enter the correct username and password for a staff account"


def artifacts_dir() -> Path:
    """Where screenshots go: ``$EMG_TEST_ARTIFACTS``, else the git-ignored ``.local/test-artifacts/browser``."""
    directory = Path(os.environ.get("EMG_TEST_ARTIFACTS") or PROJECT_ROOT / ".local" / "test-artifacts" / "browser")
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def screenshot(page: Page, step: str) -> Path:
    """Save a full-page screenshot named after the step, so a failure can be seen, not only read."""
    path = artifacts_dir() / f"{step}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def grant_curator_permissions(user: AbstractBaseUser) -> None:
    """What a curator may do, in one place: view and change studies in the admin, plus the capabilities.

    The capability permissions come with the ``accounts`` app; those that do not exist yet are skipped.
    """
    wanted = [
        Permission.objects.get(content_type__app_label=app, codename=code) for app, code in CURATOR_ADMIN_PERMISSIONS
    ]
    wanted += Permission.objects.filter(content_type__app_label="accounts", codename__in=CURATOR_CAPABILITIES)
    user.user_permissions.add(*wanted)


def make_curator() -> AbstractBaseUser:
    user = get_user_model().objects.create_user(CURATOR[0], password=CURATOR[1], is_staff=True)
    grant_curator_permissions(user)
    return user


@pytest.fixture(scope="module")
def analyse_study_prefect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalPrefect]:
    """A real Prefect server with the analyse-study deployment and no worker: launched runs exist and wait."""
    with local_prefect(tmp_path_factory.mktemp("prefect")) as server:
        server.deploy("analyse_study")
        yield server


@pytest.fixture
def prefect(settings, analyse_study_prefect: LocalPrefect) -> LocalPrefect:
    """Point the platform (and so the live server, which shares these settings) at the test's Prefect."""
    config = settings.EMG_CONFIG
    settings.EMG_CONFIG = config.model_copy(
        update={
            "prefect": config.prefect.model_copy(
                update={"api_url": analyse_study_prefect.api_url, "ui_url": analyse_study_prefect.ui_url}
            )
        }
    )
    return analyse_study_prefect


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless; Django's async-unsafe guard is off while Playwright's loop runs here."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
            yield browser
            browser.close()


@pytest.fixture
def page(browser: Browser, live_server) -> Iterator[Page]:
    """A fresh browser context (no cookies) per test, with the live server as base URL."""
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(30_000)
    try:
        yield context.new_page()
    finally:
        context.close()


def log_in(page: Page, username: str, password: str) -> None:
    """Fill in and submit the admin's login form, waiting for the answer page."""
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(password)
    with page.expect_navigation():
        page.locator("#login-form input[type=submit]").click()


@pytest.mark.prefect
def test_curator_finds_a_study_and_starts_its_analysis(page: Page, live_server, prefect: LocalPrefect) -> None:
    make_curator()
    study = Study.objects.create(title="Browser-tested soil study", ena_accessions=[STUDY_ENA_ACCESSION])
    Study.objects.create(title="Another study the search must leave out", ena_accessions=["PRJEB90043"])

    page.goto("/admin/login/?next=/admin/analyses/study/")
    expect(page.locator("#login-form")).to_be_visible()
    screenshot(page, "curator-1-login-page")
    log_in(page, *CURATOR)
    expect(page).to_have_url(re.compile(r"/admin/analyses/study/$"))

    page.locator("#searchbar").fill(STUDY_ENA_ACCESSION)
    with page.expect_navigation():
        page.locator("#changelist-search input[type=submit]").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(study.accession)
    screenshot(page, "curator-2-changelist-search-result")

    rows.first.locator("input.action-select").check()
    page.locator("select[name=action]").select_option(label="Analyse selected studies")
    with page.expect_navigation():
        page.locator("button[name=index]").click()
    # The confirmation page says how many analyses will start (the study has no runs imported yet: none),
    # then the flow run starts, which imports the study from ENA first.
    expect(page.locator("#automation-summary")).to_contain_text("in 1 flow run(s)")
    screenshot(page, "curator-3-confirmation")
    with page.expect_navigation():
        page.locator("input[name=apply]").click()
    success = page.locator("ul.messagelist li.success")
    expect(success).to_contain_text(f"{study.accession}: flow run")
    expect(success).to_contain_text("started")
    screenshot(page, "curator-4-action-result-message")

    href = success.locator("a").get_attribute("href")
    assert href is not None
    assert href.startswith(f"{prefect.ui_url}/runs/flow-run/"), href
    flow_run_id = UUID(urlsplit(href).path.rsplit("/", 1)[-1])
    assert str(flow_run_id) in href
    with SyncPrefectClient(api=prefect.api_url) as client:
        flow_run = client.read_flow_run(flow_run_id)
        deployment = client.read_deployment_by_name("analyse-study/analyse-study")
    assert flow_run.deployment_id == deployment.id
    assert flow_run.parameters["study_accession"] == STUDY_ENA_ACCESSION
    assert f"requested-by:{CURATOR[0]}" in flow_run.tags
    expect(success.locator("a")).to_have_text(f"flow run {flow_run.name}")


def test_submitter_cannot_reach_the_admin(page: Page, live_server) -> None:
    submitter = get_user_model().objects.create_user(SUBMITTER[0], password=SUBMITTER[1])

    page.goto("/admin/login/")
    log_in(page, *SUBMITTER)
    expect(page.locator("p.errornote")).to_contain_text(STAFF_ONLY_ERROR)
    screenshot(page, "submitter-1-login-refused")

    page.goto("/admin/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/$"))
    expect(page.locator("#login-form")).to_be_visible()

    # Even with a valid session (say, from another part of the site) the admin sends them to log in.
    session = Client()
    session.force_login(submitter)
    page.context.add_cookies(
        [{"name": "sessionid", "value": session.cookies["sessionid"].value, "url": live_server.url}]
    )
    page.goto("/admin/analyses/study/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/analyses/study/$"))
    expect(page.locator("p.errornote")).to_contain_text(f"You are authenticated as {SUBMITTER[0]}")
    screenshot(page, "submitter-2-session-sent-to-login")


def test_anonymous_visitor_is_sent_to_log_in(page: Page) -> None:
    page.goto("/admin/analyses/study/")
    expect(page).to_have_url(re.compile(r"/admin/login/\?next=/admin/analyses/study/$"))
    expect(page.locator("#login-form")).to_be_visible()
    expect(page.locator("#result_list")).to_have_count(0)
    screenshot(page, "anonymous-1-sent-to-login")
