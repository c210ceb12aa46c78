"""What an operator does in a real browser, against the app served by gunicorn."""

from __future__ import annotations

import re
import sqlite3

from tests.browser import seed
from tests.support.browser import click_bulk, log_in, screenshot


def state_badge(tab) -> str:
    return tab.inner_text("#job h1 .state")


def test_log_in_and_see_the_overview(page, server):
    assert page.locator(".state-counts li").count() == 7
    assert page.locator("svg rect.succeeded").count() > 10
    assert page.locator("svg rect.failed").count() > 0
    assert "test_short_schedule" in page.inner_text(".failing")
    assert "jobs run" in page.inner_text(".run")
    screenshot(page, "overview.png")


def test_a_wrong_password_is_refused(browser, server):
    tab = browser.new_page()
    tab.goto(f"{server.url}/login")
    tab.fill("input[name=name]", seed.OPERATOR)
    tab.fill("input[name=password]", "not the password")
    tab.click("button:has-text('Log in')")
    assert "Wrong name or password." in tab.inner_text(".flash.error")
    tab.close()


def test_filter_the_list(page, server):
    page.goto(f"{server.url}/jobs")
    page.select_option("select[name=state]", "failed")
    page.fill("input[name=source]", "bulk-src")
    page.click("button:has-text('Filter')")
    page.wait_for_url(re.compile(r"/jobs\?state=failed.*source=bulk-src"))
    rows = page.locator("tr[data-job]")
    rows.first.wait_for()
    assert rows.count() == 4
    assert all(s == "failed" for s in page.locator("tr[data-job] .state").all_inner_texts())
    page.goto(f"{server.url}/jobs?state=failed")
    screenshot(page, "failed-list.png")


def test_open_a_failed_job_and_read_its_payload_and_history(page, server):
    page.goto(f"{server.url}/jobs?state=failed&relation=cust-1001")
    page.click(f"a[href='/jobs/{server.jobs['failed']}']")
    page.wait_for_url(f"{server.url}/jobs/{server.jobs['failed']}")
    assert state_badge(page) == "failed"
    payloads = page.locator("pre.payload").all_inner_texts()
    assert '"customer_id": 1001' in payloads[0]
    # A masked value reads "masked" to a screen reader (text the eye doesn't see).
    assert '"password": "••••••' in payloads[0] and "hunter2" not in page.content()
    assert '"api_key": "••••••' in payloads[1]
    history = page.locator("#job .request").nth(1).locator("tr.attempt")
    assert history.count() == 3
    assert "RuntimeError: always" in history.nth(2).inner_text()
    traceback = page.locator("#job .request").nth(1).locator("details").first
    traceback.locator("summary").click()
    assert "Traceback (most recent call last)" in traceback.locator("pre").inner_text()
    screenshot(page, "failed-job.png")


def test_retry_changes_the_state_without_a_full_reload(page, server):
    page.goto(f"{server.url}/jobs/{server.jobs['retry']}")
    page.evaluate("window.__sameDocument = 'yes'")
    page.click("#job-actions button:has-text('Retry')")
    page.wait_for_selector("#job h1 .state.pending")
    assert "is due again" in page.inner_text("#job .flash.success")
    assert page.evaluate("window.__sameDocument") == "yes"
    # The history is kept; the request starts a new round of attempts.
    assert page.locator("#job .request").nth(1).locator("tr.attempt").count() == 3


def test_pause_and_resume(page, server):
    page.goto(f"{server.url}/jobs/{server.jobs['pause']}")
    page.click("#job-actions button:has-text('Pause')")
    page.wait_for_selector("#job h1 .state.paused")
    page.click("#job-actions button:has-text('Resume')")
    page.wait_for_selector("#job h1 .state.pending")
    assert "is resumed" in page.inner_text("#job .flash")


def test_run_now(page, server):
    page.goto(f"{server.url}/jobs/{server.jobs['run']}")
    page.click("#job-actions button:has-text('Run now')")
    page.wait_for_selector("#job h1 .state.completed")
    assert "ran: now completed" in page.inner_text("#job .flash")
    assert '"step": "run"' in page.inner_text("pre.result")


def test_cancel_asks_for_confirmation(page, server):
    page.goto(f"{server.url}/jobs/{server.jobs['cancel']}")
    page.click("#job-actions button:has-text('Cancel')")
    page.wait_for_selector("#job .confirm")
    page.click("#job .confirm a:has-text('Keep it')")
    page.wait_for_selector("#job-actions button:has-text('Pause')")
    assert state_badge(page) == "pending"
    page.click("#job-actions button:has-text('Cancel')")
    page.click("#job .confirm button:has-text('Yes, cancel job')")
    page.wait_for_selector("#job h1 .state.cancelled")
    assert "is cancelled" in page.inner_text("#job .flash")


def test_bulk_retry_over_a_filter(page, server):
    page.goto(f"{server.url}/jobs?state=failed&source=bulk-src")
    click_bulk(page, "Retry all")
    assert page.inner_text("h1") == "Retry 4 jobs?"
    assert "<code>state=failed</code>" in page.inner_html(".confirm")
    page.click("button:has-text('Yes, retry 4 jobs')")
    page.wait_for_url(re.compile(r"/jobs\?audit=\d+$"))  # the jobs it changed
    assert "4 job(s) retried." in page.inner_text(".flash.success")
    assert page.locator("tr[data-job]").count() == 4
    page.click("#followed a:has-text('state=failed')")  # back to the filter
    assert "No failed jobs" in page.inner_text(".empty")
    page.goto(f"{server.url}/audit")
    assert "bulk-retry" in page.inner_text("table.audit")


def test_a_payload_holding_html_never_runs(page, server):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    job = server.jobs["xss"]
    for url in (f"/jobs/{job}", "/jobs", f"/jobs?relation={seed.XSS_IMG}"):
        page.goto(f"{server.url}{url}")
        page.wait_for_timeout(300)
        assert page.evaluate("typeof window.__xss") == "undefined"
    page.goto(f"{server.url}/jobs/{job}")
    text = page.inner_text("pre.payload")
    assert seed.XSS_SCRIPT in text and "onerror=\\\"window.__xss = 2" in text
    assert page.locator("#job img").count() == 0
    assert dialogs == []


def test_live_updates_and_the_switch_that_stops_them(page, server):
    database = server.env["DATABASE_URL"].removeprefix("sqlite:///")

    def paused() -> int:
        return int(page.inner_text("strong[data-state=paused]").replace(",", ""))

    def pause_a_new_job() -> None:
        with sqlite3.connect(database) as connection:
            connection.execute(
                "INSERT INTO jobs (source_id, state, created_at, updated_at) VALUES "
                "('live-test', 'paused', datetime('now'), datetime('now'))")

    def wait_until(condition, seconds: float = 8) -> None:
        # (not wait_for_function: the page's CSP rightly refuses the eval it needs)
        for _ in range(int(seconds * 10)):
            if condition():
                return
            page.wait_for_timeout(100)
        raise AssertionError("the overview did not refresh by itself")

    before = paused()
    page.evaluate("window.__sameDocument = 'yes'")
    pause_a_new_job()
    wait_until(lambda: paused() == before + 1)
    assert page.evaluate("window.__sameDocument") == "yes"
    page.uncheck("#live-switch input")
    pause_a_new_job()
    page.wait_for_timeout(2500)
    assert paused() == before + 1
    page.check("#live-switch input")
    wait_until(lambda: paused() == before + 2)


def test_viewers_see_no_action_buttons(browser, server):
    context = browser.new_context()
    tab = context.new_page()
    log_in(tab, server.url, seed.VIEWER)
    tab.goto(f"{server.url}/jobs/{server.jobs['failed']}")
    assert tab.locator("#job-actions").count() == 0
    tab.goto(f"{server.url}/jobs?state=failed")
    assert tab.locator("input[name=job]").count() == 0
    context.close()


def test_the_pages_work_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    log_in(tab, server.url, seed.OPERATOR)
    tab.goto(f"{server.url}/jobs?state=failed&relation=cust-1001")
    tab.click(f"a[href='/jobs/{server.jobs['failed']}']")
    tab.click("#job-actions button:has-text('Cancel')")
    assert "for good?" in tab.inner_text(".confirm")
    tab.click(".confirm a:has-text('Keep it')")
    assert tab.inner_text("#job h1 .state") == "failed"
    context.close()
