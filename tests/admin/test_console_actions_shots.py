"""Screenshots of the console actions' pages in headless Chromium (artefacts for a curator to look at)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from tests.admin.test_console_actions import build_console
from tests.browser_charts import artifacts_dir, chromium

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_confirmation_pages_render(live_server, superuser) -> None:
    console = build_console(9)
    out = artifacts_dir().parent / "console-actions"
    out.mkdir(parents=True, exist_ok=True)
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{live_server.url}/admin/login/")
        page.fill("#id_username", "admin")
        page.fill("#id_password", "admin-password")
        page.click("input[type=submit]")
        page.goto(f"{live_server.url}{reverse('admin:analyses_study_changelist')}")
        page.check(f"input[name=_selected_action][value='{console.study.pk}']")
        page.select_option("select[name=action]", "analyse_selected_studies")
        page.click("button[name=index]")
        assert "2 analyses will start" in page.inner_text("#automation-summary")
        page.screenshot(path=str(out / "analyse-studies.png"), full_page=True)
        page.check("#id_rerun_failed")
        page.click("input[name=preview]")
        assert "3 analyses will start" in page.inner_text("#automation-summary")
        page.screenshot(path=str(out / "analyse-studies-rerun.png"), full_page=True)

        failed = console.analyses["failed"]
        page.goto(f"{live_server.url}{reverse('admin:analyses_analysis_change', args=[failed.pk])}")
        page.screenshot(path=str(out / "failed-analysis.png"), full_page=True)
        page.click("#automation-rerun")
        assert "will be re-run" in page.inner_text("#automation-summary")
        page.screenshot(path=str(out / "rerun-confirm.png"), full_page=True)
