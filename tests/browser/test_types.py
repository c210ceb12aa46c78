"""The Types page in a browser (issue 28, item 12): its figures are those of the attempts
in the database, computed here by hand, at 1440 and 390 px."""

from __future__ import annotations

import math
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from dashboard.web.templating import span
from tests.browser import seed
from tests.support.browser import log_in, screenshot

PROBE = "types_probe"


def database(server) -> str:
    return server.env["DATABASE_URL"].removeprefix("sqlite:///")


def stored(moment: datetime) -> str:
    return moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ")


@pytest.fixture(scope="module")
def probe(server) -> None:
    """Twenty attempts of a type of their own in the last hour, run 1 to 20 s, the five
    longest failed (a completed job of a source no other test reads)."""
    now = datetime.now(UTC)
    with sqlite3.connect(database(server)) as connection:
        job = connection.execute(
            "INSERT INTO jobs (source_id, state, created_at, updated_at, finished_at) "
            "VALUES ('types-probe', 'completed', ?, ?, ?)", [stored(now)] * 3).lastrowid
        request = connection.execute(
            "INSERT INTO requests (job_id, position, type_code, payload, payload_search, state, "
            "attempts, created_at, updated_at) VALUES (?, 0, ?, '{}', '{}', 'succeeded', 20, ?, ?)",
            [job, PROBE, stored(now), stored(now)]).lastrowid
        for n in range(1, 21):
            finished = now - timedelta(minutes=n)
            connection.execute(
                "INSERT INTO attempts (request_id, number, started_at, finished_at, outcome) "
                "VALUES (?, ?, ?, ?, ?)", [request, n, stored(finished - timedelta(seconds=n)),
                                          stored(finished), "failed" if n > 15 else "succeeded"])


def by_hand(server, since: datetime) -> dict[str, dict[str, str]]:
    """Each type's figures from the attempts that finished since ``since``."""
    runs: dict[str, list[tuple[float, bool]]] = {}
    with sqlite3.connect(database(server)) as connection:
        for code, outcome, began, ended in connection.execute(
                "SELECT r.type_code, a.outcome, a.started_at, a.finished_at FROM attempts a "
                "JOIN requests r ON r.id = a.request_id WHERE a.finished_at >= ?",
                [stored(since)]):
            seconds = (datetime.fromisoformat(ended) - datetime.fromisoformat(began))
            runs.setdefault(code, []).append((seconds.total_seconds(), outcome == "failed"))
    found = {}
    for code, values in runs.items():
        ordered = sorted(seconds for seconds, _ in values)
        failed = sum(bad for _, bad in values)
        found[code] = {
            "attempts": str(len(values)), "failed": str(failed),
            "failure-rate": f"{failed / len(values) * 100:.1f}%",
            "run-p50": span(ordered[math.ceil(len(ordered) * 0.5) - 1]),
            "run-p95": span(ordered[math.ceil(len(ordered) * 0.95) - 1])}
    return found


@pytest.mark.parametrize("width", [1440, 390])
def test_the_types_page_shows_the_figures_of_the_attempts(browser, server, probe, width):
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = context.new_page()
    try:
        log_in(tab, server.url, seed.VIEWER)
        tab.click("header nav a:text-is('Types')")
        tab.click(".windows a:has-text('Last 24 hours')")
        tab.wait_for_url("**/types?window=24h")
        since = datetime.fromisoformat(tab.get_attribute("p[data-since]", "data-since"))
        shown = {}
        for row in tab.locator("tr[data-type]").all():
            cells = {name: row.locator(f"td[data-{name}]").inner_text().strip()
                     for name in ("attempts", "failed", "failure-rate", "run-p50", "run-p95")}
            shown[row.get_attribute("data-type")] = cells
        expected = by_hand(server, since)
        assert {code: shown[code] for code in expected} == expected
        assert shown[PROBE] == {"attempts": "20", "failed": "5", "failure-rate": "25.0%",
                                "run-p50": "10.0 s", "run-p95": "19.0 s"}
        assert tab.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
        if width == 1440:
            screenshot(tab, "types.png")
        tab.click(f"tr[data-type='{PROBE}'] td:first-child a")
        tab.wait_for_url(f"**/jobs?type={PROBE}")
    finally:
        context.close()
