"""Following a bulk action to its end, permanent failures, typed confirmations, delete
and the header's search, in a real Chromium at a desktop's and a phone's width."""

from __future__ import annotations

import re

import pytest

from dashboard.queue import JobState
from tests.browser import seed
from tests.browser.action_jobs import add_jobs, run_jobs, states
from tests.support.browser import click_bulk, log_in, screenshot

WIDTHS = [1440, 390]


@pytest.fixture(params=WIDTHS, ids=[f"{w}px" for w in WIDTHS])
def width(request) -> int:
    return request.param


def tab_of(browser, server, width: int, user: str = seed.OPERATOR):
    context = browser.new_context(viewport={"width": width, "height": 900})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(str(error)))
    tab.on("console", lambda m: problems.append(m.text)
           if m.type == "error" and "Content Security Policy" in m.text else None)
    log_in(tab, server.url, user)
    return context, tab, problems


@pytest.fixture
def operator_tab(browser, server, width):
    context, tab, problems = tab_of(browser, server, width)
    yield tab
    context.close()
    assert problems == []


@pytest.fixture
def admin_tab(browser, server, width):
    context, tab, problems = tab_of(browser, server, width, seed.ADMIN)
    yield tab
    context.close()
    assert problems == []


def counts(tab) -> dict[str, str]:
    return {c.get_attribute("data-state"): c.inner_text()
            for c in tab.locator("#followed .follow-count").all()}


def test_retry_all_is_followed_to_completion(operator_tab, server, width):
    tab = operator_tab
    source = f"follow-{width}"
    ids = add_jobs(server, source, 3, state=JobState.FAILED)
    tab.goto(f"{server.url}/jobs?source={source}&state=failed")
    click_bulk(tab, "Retry all")
    tab.wait_for_selector(".confirm h1:has-text('Retry 3 jobs?')")
    tab.click(".confirm button:has-text('Yes, retry 3 jobs')")
    tab.wait_for_url(re.compile(r"/jobs\?audit=\d+$"))
    assert tab.locator(".flash.success").inner_text() == "3 job(s) retried."
    assert sorted(int(i) for i in tab.locator("tr[data-job]").evaluate_all(
        "rows => rows.map(r => r.dataset.job)")) == ids
    assert "pending" in counts(tab) and "3" in counts(tab)["pending"]
    run_jobs(server, ids)  # the digest at work: the page follows it by itself
    tab.wait_for_selector("#followed :text('The digest is done with them.')", timeout=15_000)
    assert list(counts(tab)) == ["completed"] and "3" in counts(tab)["completed"]
    if width == 1440:
        screenshot(tab, "followed-retry.png", full_page=False)
    # The audit log links to the same list.
    audit_url = tab.url
    tab.goto(f"{server.url}/audit")
    tab.click(f"a[href='{audit_url.removeprefix(server.url)}']")
    tab.wait_for_selector("#followed")


def test_retry_all_over_a_permanent_group_asks_once_more(operator_tab, server, width):
    tab = operator_tab
    source = f"permanent-{width}"
    ids = add_jobs(server, source, 2, type_code="test_not_applicable")
    run_jobs(server, ids)
    tab.goto(f"{server.url}/jobs?source={source}")
    assert tab.locator("tr[data-job] .tag.permanent").count() == 2
    click_bulk(tab, "Retry all")
    tab.wait_for_selector(".confirm .permanent-warning:has-text('All 2 failed permanently')")
    tab.click(".confirm button:has-text('Yes, retry 2 jobs')")
    tab.wait_for_selector(".confirm h1:has-text('Retry 2 permanent failures anyway?')")
    assert set(states(server, ids).values()) == {"failed"}  # asked again, nothing done yet
    if width == 1440:
        screenshot(tab, "permanent-confirmation.png", full_page=False)
    tab.click(".confirm button:has-text('anyway')")
    tab.wait_for_url(re.compile(r"/jobs\?audit=\d+$"))
    assert set(states(server, ids).values()) == {"pending"}


def test_a_typed_confirmation_then_a_bulk_delete(operator_tab, browser, server, width):
    tab = operator_tab
    source = f"typed-{width}"
    ids = add_jobs(server, source, 101)
    tab.goto(f"{server.url}/jobs?source={source}")
    cancel = tab.locator(".bulk-filter button:has-text('Cancel all')")
    assert "danger" in cancel.get_attribute("class")
    click_bulk(tab, "Cancel all")
    tab.wait_for_selector(".confirm h1:has-text('Cancel 101 jobs?')")
    tab.fill("#typed-count", "100")
    tab.click(".confirm button:has-text('Yes, cancel 101 jobs')")
    tab.wait_for_selector("#typed-problem:has-text('You typed 100, not 101: nothing changed.')")
    assert set(states(server, ids).values()) == {"pending"}
    if width == 1440:
        screenshot(tab, "typed-confirmation.png", full_page=False)
    tab.fill("#typed-count", "101")
    tab.click(".confirm button:has-text('Yes, cancel 101 jobs')")
    tab.wait_for_url(re.compile(r"/jobs\?audit=\d+$"))
    assert set(states(server, ids).values()) == {"cancelled"}
    # An administrator deletes them, typing their number too.
    context, admin, problems = tab_of(browser, server, width, seed.ADMIN)
    try:
        admin.goto(f"{server.url}/jobs?source={source}")
        click_bulk(admin, "Delete all")
        admin.wait_for_selector(".confirm h1:has-text('Delete 101 jobs?')")
        admin.fill("#typed-count", "101")
        admin.click(".confirm button:has-text('Yes, delete 101 jobs')")
        admin.wait_for_url(re.compile(r"/jobs\?audit=\d+$"))
        assert "101 deleted" in admin.inner_text("#followed")
        assert states(server, ids) == {}
    finally:
        context.close()
    assert problems == []


def test_an_administrator_deletes_one_job_from_its_page(admin_tab, server, width):
    tab = admin_tab
    [job_id] = add_jobs(server, f"delete-{width}", 1)
    run_jobs(server, [job_id])
    tab.goto(f"{server.url}/jobs/{job_id}")
    tab.click("#job-actions button:has-text('Delete')")
    tab.wait_for_selector(f"#job .confirm :text('Delete job #{job_id} for good?')")
    assert states(server, [job_id]) == {job_id: "completed"}
    tab.click(f"#job .confirm button:has-text('Yes, delete job #{job_id}')")
    tab.wait_for_url(f"{server.url}/jobs")
    assert tab.locator(".flash.success").inner_text() == f"Job #{job_id} is deleted."
    assert states(server, [job_id]) == {}


def test_the_header_search_goes_straight_to_a_job_or_list(operator_tab, server, width):
    tab = operator_tab
    [keyed] = add_jobs(server, f"search-{width}", 1, unique_key=f"order-{width}")
    [related] = add_jobs(server, f"search-{width}", 1, relation_id=f"cust-search-{width}")
    tab.goto(f"{server.url}/audit")
    box = tab.locator(".global-search input[name=q]")
    assert box.is_visible()
    box.fill(f"#{related}")
    box.press("Enter")
    tab.wait_for_url(f"{server.url}/jobs/{related}")
    tab.fill(".global-search input[name=q]", f"order-{width}")
    tab.click(".global-search button")
    tab.wait_for_url(f"{server.url}/jobs/{keyed}")
    tab.fill(".global-search input[name=q]", f"cust-search-{width}")
    tab.press(".global-search input[name=q]", "Enter")
    tab.wait_for_url(f"{server.url}/jobs?relation=cust-search-{width}")
    assert tab.locator("tr[data-job]").count() == 1
    # Nothing of the header is wider than the screen with the box in it.
    assert tab.evaluate("document.querySelector('header.top').scrollWidth") <= width
