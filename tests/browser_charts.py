"""Open the charts of an analysis and of a study in a real browser, check it drew them, and keep screenshots.

Shared by the chart endpoint tests (``tests/api/test_charts.py``, on a live server with fixture data) and the
end-to-end test (a real analysis made on Slurm): both call :func:`screenshot_charts`. The charts to open are
those the API lists as available (``GET .../charts``), so an analysis without, say, rRNA genes is not a failure.
An SVG chart must be an SVG document with a visible size (and the labels asked for in its text); a PNG chart
must decode in the browser (``naturalWidth > 0``). fastp's HTML report, when the analysis detail links a public
one, is fetched by that link and shown in the page (DRS serves files as downloads), and screenshotted too.
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from core.config import PROJECT_ROOT

#: Debian's Chromium (scripts/setup.sh installs it); Playwright drives it instead of downloading its own.
CHROMIUM = Path("/usr/bin/chromium")

#: The browser window the screenshots are taken in.
VIEWPORT = {"width": 1100, "height": 800}


def artifacts_dir() -> Path:
    """``$EMG_TEST_ARTIFACTS/charts``, else the git-ignored ``.local/test-artifacts/browser/charts``."""
    root = Path(os.environ.get("EMG_TEST_ARTIFACTS") or PROJECT_ROOT / ".local" / "test-artifacts" / "browser")
    return root / "charts"


@contextmanager
def chromium() -> Iterator[Browser]:
    """Debian's Chromium, headless; Django's async-unsafe guard is off while Playwright's loop runs here
    (the test's own ORM calls and the database flush at teardown would be refused otherwise)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"])
            try:
                yield browser
            finally:
                browser.close()


class ChartNotRendered(AssertionError):
    """The browser did not draw a chart the API says is available."""


def _path(url: str) -> str:
    """The path and query of an absolute URL: links are absolute on the platform's configured root, which need
    not be the server the browser talks to (a test's live server)."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def _open_chart(page: Page, base_url: str, url: str, labels: Sequence[str]) -> None:
    """Load one chart as its own document and check the browser drew it."""
    response = page.goto(base_url.rstrip("/") + _path(url))
    if response is None or response.status != 200:
        raise ChartNotRendered(f"{url}: HTTP {response.status if response else 'no response'}")
    content_type = response.headers.get("content-type", "")
    if content_type.startswith("image/svg+xml"):
        drawn = page.evaluate(
            """() => {
                const svg = document.documentElement;
                const box = svg.getBoundingClientRect();
                return {tag: svg.tagName, width: box.width, height: box.height, text: svg.textContent};
            }"""
        )
        if drawn["tag"].lower() != "svg" or drawn["width"] <= 0 or drawn["height"] <= 0:
            raise ChartNotRendered(f"{url}: not drawn as SVG: {drawn['tag']} {drawn['width']}x{drawn['height']}")
        missing = [label for label in labels if label not in drawn["text"]]
        if missing:
            raise ChartNotRendered(f"{url}: labels missing from the SVG's text: {missing}")
    elif content_type.startswith("image/png"):
        width = page.evaluate("() => document.images.length ? document.images[0].naturalWidth : 0")
        if width <= 0:
            raise ChartNotRendered(f"{url}: the browser could not decode the PNG")
    else:
        raise ChartNotRendered(f"{url}: content type {content_type!r} is not an image")


def _screenshot_listed(
    page: Page, base_url: str, listing: str, prefix: str, out_dir: Path, labels: Mapping[str, Sequence[str]]
) -> list[Path]:
    charts = page.request.get(base_url.rstrip("/") + listing)
    if not charts.ok:
        raise ChartNotRendered(f"{listing}: HTTP {charts.status}")
    shots: list[Path] = []
    for chart in charts.json():
        if not chart["available"]:
            continue
        for chart_format in ("svg", "png"):
            _open_chart(
                page, base_url, chart[chart_format], labels.get(chart["name"], ()) if chart_format == "svg" else ()
            )
            path = out_dir / f"{prefix}-{chart['name']}-{chart_format}.png"
            # A full-page screenshot of a bare SVG document never settles in Chromium: the viewport is enough.
            page.screenshot(path=str(path), full_page=chart_format != "svg")
            shots.append(path)
    return shots


def screenshot_charts(
    page_or_browser: Page | Browser,
    base_url: str,
    analysis_accession: str,
    study_accession: str,
    out_dir: Path,
    *,
    expected_labels: Mapping[str, Sequence[str]] | None = None,
    headers: Mapping[str, str] | None = None,
) -> list[Path]:
    """Open every available chart of the analysis and of the study, as SVG and PNG; return the screenshots.

    :param page_or_browser: a page to use, or a browser to open a fresh context (no cookies) in
    :param base_url: the server's root, e.g. a live server's URL
    :param analysis_accession: ``MGYA…``
    :param study_accession: ``MGYS…`` or an ENA study accession
    :param out_dir: where the screenshots go (created), named ``<accession>-<chart>-<format>.png``
    :param expected_labels: by chart name, text each SVG must contain (e.g. ``{"pfam": ["PF00005.31"]}``)
    :param headers: sent with every request (e.g. ``Authorization`` for a private analysis)
    :raises ChartNotRendered: when a listed chart does not load or the browser does not draw it
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    labels = expected_labels or {}
    context = None
    if isinstance(page_or_browser, Page):
        page = page_or_browser
        if headers:
            page.set_extra_http_headers(dict(headers))
    else:
        context = page_or_browser.new_context(viewport=VIEWPORT, extra_http_headers=dict(headers or {}))
        page = context.new_page()
    try:
        shots = _screenshot_listed(
            page, base_url, f"/api/v2/analyses/{analysis_accession}/charts", analysis_accession, out_dir, labels
        )
        shots += _screenshot_listed(
            page, base_url, f"/api/v2/studies/{study_accession}/charts", study_accession, out_dir, labels
        )
        detail = page.request.get(f"{base_url.rstrip('/')}/api/v2/analyses/{analysis_accession}")
        report = detail.json()["links"]["fastp_report"] if detail.ok else None
        if report and "/access/" not in report["url"]:
            # DRS serves files as downloads (attachment): fetch it, then show the HTML in the page.
            response = page.request.get(base_url.rstrip("/") + _path(report["url"]))
            if not response.ok:
                raise ChartNotRendered(f"fastp report {report['url']}: HTTP {response.status}")
            page.goto("about:blank")  # set_content cannot write into the image document left by the last chart
            page.set_content(response.text())
            path = out_dir / f"{analysis_accession}-fastp-report.png"
            page.screenshot(path=str(path), full_page=True)
            shots.append(path)
        return shots
    finally:
        if context is not None:
            context.close()
