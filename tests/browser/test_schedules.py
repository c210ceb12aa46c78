"""The Schedules page in a browser, wide and narrow: an operator enqueues an entry now and
disables it; the page says the cron in words and its next runs in the reader's zone."""

from __future__ import annotations

import sqlite3

import pytest

from tests.browser import axe, seed
from tests.support.browser import log_in, screenshot


def scheduled_jobs(server, name: str) -> int:
    path = server.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT count(*) FROM jobs WHERE schedule_name = ?",
                                  (name,)).fetchone()[0]


@pytest.mark.parametrize("width", [1440, 390])
def test_enqueue_now_and_disable(browser, scheduled_server, width):
    context = browser.new_context(viewport={"width": width, "height": 900},
                                  timezone_id="Asia/Kolkata")
    tab = context.new_page()
    try:
        log_in(tab, scheduled_server.url, seed.OPERATOR)
        tab.goto(f"{scheduled_server.url}/schedules")
        row = tab.locator("tr[data-schedule='every-two-minutes']")
        assert "every 2 minutes" in row.inner_text()
        # Three next runs, in the reader's zone (UTC+05:30), not in UTC.
        times = row.locator(".next-runs time")
        assert times.count() == 3
        assert "UTC" not in times.first.inner_text()
        before = scheduled_jobs(scheduled_server, "every-two-minutes")
        row.locator("button:has-text('Enqueue now')").click()
        tab.wait_for_selector(".flash.success")
        assert "enqueued now for schedule every-two-minutes" in tab.locator(
            ".flash.success").inner_text()
        assert scheduled_jobs(scheduled_server, "every-two-minutes") == before + 1

        row.locator("button:has-text('Disable')").click()
        tab.wait_for_selector("tr.schedule-disabled[data-schedule='every-two-minutes']")
        assert tab.locator("tr[data-schedule='every-two-minutes'] .badge").inner_text() == \
            "disabled"
        # Everything on screen, nothing wider than the viewport.
        assert tab.evaluate("document.documentElement.scrollWidth") <= width
        assert axe.count(axe.violations(tab)) == 0, axe.describe(axe.violations(tab))
        screenshot(tab, f"schedules-{width}.png")
        tab.locator("tr[data-schedule='every-two-minutes'] button:has-text('Enable')").click()
        tab.wait_for_selector("tr[data-schedule='every-two-minutes']:not(.schedule-disabled)")
    finally:
        context.close()
