"""The dashboard on a phone (issue 28, item 6): the job list and the attempt history as
cards, the filters and the bulk actions folded, nothing wider than the screen, rows that
stay put while the page polls; and the same pages as before at 1440 px."""

from __future__ import annotations

import sqlite3

import pytest

from tests.browser import seed
from tests.support.browser import log_in, screenshot

PHONE = {"width": 390, "height": 844}
WIDE = {"width": 1440, "height": 900}

#: Elements (scroll containers included) that reach past the right edge of the screen,
#: or whose content is wider than their box.
TOO_WIDE = """() => [...document.querySelectorAll('body *')].filter(e => {
  const box = e.getBoundingClientRect();
  if (!box.width || getComputedStyle(e).visibility === 'hidden') return false;
  if (e.closest('thead')) return false;  // read by screen readers, not shown
  return box.right > window.innerWidth + 1 || e.scrollWidth > e.clientWidth + 1
    && ['auto', 'scroll'].includes(getComputedStyle(e).overflowX);
}).map(e => `${e.tagName}.${e.className} ${Math.round(e.getBoundingClientRect().right)}`
       + ` ${e.scrollWidth}/${e.clientWidth}`)"""


@pytest.fixture
def tab_for(browser, server):
    contexts, problems = [], []

    def make(viewport: dict, user: str = seed.OPERATOR):
        context = browser.new_context(viewport=viewport)
        contexts.append(context)
        tab = context.new_page()
        tab.on("pageerror", lambda error: problems.append(str(error)))
        log_in(tab, server.url, user)
        return tab

    yield make
    for context in contexts:
        context.close()
    assert problems == []


def pages(server) -> list[str]:
    jobs = server.jobs
    return ["/", "/jobs", "/jobs?state=failed", f"/jobs?relation={seed.LONG_TOKEN}",
            "/jobs?waiting=blocked", f"/jobs/{jobs['failed']}", f"/jobs/{jobs['long']}",
            f"/jobs/{jobs['big']}", "/audit", "/users", "/digests", "/schedules",
            "/types", "/types?window=24h", "/jobs/999999999"]


def test_nothing_is_wider_than_a_phone_on_any_page(tab_for, server):
    tab = tab_for(PHONE, seed.ADMIN)
    for path in pages(server):
        tab.goto(server.url + path)
        assert tab.evaluate(TOO_WIDE) == [], path


def test_the_job_list_is_cards_on_a_phone_and_a_table_when_wide(tab_for, server):
    tab = tab_for(PHONE)
    tab.goto(f"{server.url}/jobs?state=failed")
    row = tab.locator("tr[data-job]").first
    assert row.evaluate("e => getComputedStyle(e).display") == "block"
    box = row.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    # Each cell on a line of its own, under its column's name.
    state = row.locator("td", has=tab.locator(".state"))
    assert state.get_attribute("data-label") == "State"
    assert state.evaluate("e => getComputedStyle(e, '::before').content") == '"State"'
    reason = row.locator("td.reason")
    assert reason.get_attribute("data-label") == "Failure reason"
    assert reason.bounding_box()["x"] + reason.bounding_box()["width"] <= PHONE["width"]
    screenshot(tab, "phone-jobs.png", full_page=False)
    wide = tab_for(WIDE)
    wide.goto(f"{server.url}/jobs?state=failed")
    assert wide.locator("tr[data-job]").first.evaluate(
        "e => getComputedStyle(e).display") == "table-row"


def test_the_attempt_history_is_cards_on_a_phone(tab_for, server):
    tab = tab_for(PHONE)
    tab.goto(f"{server.url}/jobs/{server.jobs['failed']}")
    attempt = tab.locator("table.attempts tr.attempt.failed").first
    assert attempt.evaluate("e => getComputedStyle(e).display") == "block"
    message = attempt.locator("td").last
    assert message.get_attribute("data-label") == "Message"
    box = message.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    assert message.is_visible()
    tab.locator("table.attempts").first.scroll_into_view_if_needed()
    screenshot(tab, "phone-attempts.png", full_page=False)


def test_the_filters_fold_and_say_how_many_are_set(tab_for, server):
    tab = tab_for(PHONE)
    tab.goto(f"{server.url}/jobs?state=failed&source=default")
    fold = tab.locator("#filter-fold")
    assert fold.get_attribute("open") is None
    assert tab.inner_text("#filter-fold > summary") == "Filters · 2 set"
    assert not tab.locator("select[name=state]").is_visible()
    # The first job is near the top: not below a form and eight buttons (780 px down
    # before), only below the header, its search box and a digest alarm if one stands.
    assert tab.locator("tr[data-job]").first.bounding_box()["y"] < 600
    tab.click("#filter-fold > summary")
    assert tab.locator("select[name=state]").is_visible()
    tab.goto(f"{server.url}/jobs")
    assert tab.inner_text("#filter-fold > summary") == "Filters · none set"
    wide = tab_for(WIDE)
    wide.goto(f"{server.url}/jobs?state=failed")
    assert wide.locator("select[name=state]").is_visible()
    assert not wide.locator("#filter-fold > summary").is_visible()


def test_a_bad_filter_stays_open_on_a_phone(tab_for, server):
    tab = tab_for(PHONE)
    tab.goto(f"{server.url}/jobs?store=abc")
    assert tab.locator("input[name=store]").is_visible()


def test_the_bulk_actions_are_one_menu_on_a_phone(tab_for, server):
    tab = tab_for(PHONE)
    tab.goto(f"{server.url}/jobs?state=failed")
    menu = tab.locator("#bulk-menu")
    assert menu.get_attribute("open") is None
    assert tab.locator("#bulk-menu button:visible").count() == 0
    tab.click("#bulk-menu > summary")
    assert tab.locator(".bulk-filter button:has-text('Retry all')").is_visible()
    assert tab.locator("#bulk-bar button:has-text('Retry')").first.is_visible()
    # The selected-jobs buttons still act on the ticked rows.
    first = tab.locator("tr[data-job]").first.get_attribute("data-job")
    tab.check(f"#pick-{first}")
    tab.click("#bulk-bar button:text-is('Retry')")
    tab.wait_for_selector(".confirm h1")
    assert "1 job" in tab.inner_text(".confirm")


def add_job(server) -> None:
    path = server.env["DATABASE_URL"].removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        connection.execute("INSERT INTO jobs (source_id, state, created_at, updated_at) VALUES "
                           "('phone-arrivals', 'paused', datetime('now'), datetime('now'))")


def test_no_row_moves_while_the_list_polls(tab_for, server):
    """Jobs arrive while the list polls (every second here): the rows stay where they
    were, and the news of the new jobs floats over them instead of pushing them down."""
    tab = tab_for(PHONE)
    tab.goto(f"{server.url}/jobs")
    tab.wait_for_timeout(300)

    def places():
        return tab.evaluate("[...document.querySelectorAll('tr[data-job]')]"
                            ".map(r => [r.dataset.job, Math.round(r.getBoundingClientRect().y)])")

    before = places()
    for _ in range(4):
        add_job(server)
        with tab.expect_response(lambda r: "/jobs" in r.url and r.request.headers.get(
                "hx-request") == "true"):
            pass
        tab.wait_for_timeout(200)  # the merge and the times settle
        assert places() == before
    assert tab.locator("#new-jobs").is_visible()
    box = tab.locator("#new-jobs").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"]
    screenshot(tab, "phone-new-jobs.png", full_page=False)
