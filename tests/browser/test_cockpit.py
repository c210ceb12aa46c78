"""The list and the job page never fight the operator: polls merge into the page, new
jobs are announced, the job page follows the digest, mistakes stay at their field, times
read in the operator's zone, and a big job stays light."""

from __future__ import annotations

import re
import sqlite3
from datetime import datetime
from zoneinfo import ZoneInfo

from dashboard import create_app
from dashboard.app.extensions import db
from dashboard.queue import JobDigest, JobRepository
from tests.browser import seed
from tests.support.browser import focused, log_in, screenshot

#: Every node of the document: elements, text, comments.
COUNT_NODES = """() => {
  const walker = document.createTreeWalker(document, NodeFilter.SHOW_ALL);
  let n = 0; while (walker.nextNode()) { n++; } return n;
}"""


def database(server) -> str:
    return server.env["DATABASE_URL"].removeprefix("sqlite:///")


def sql(server, statement: str, *args) -> list[tuple]:
    with sqlite3.connect(database(server)) as connection:
        return connection.execute(statement, args).fetchall()


def wait_until(page, condition, seconds: float = 10, what: str = "the page") -> None:
    # (not wait_for_function: the page's CSP rightly refuses the eval it needs)
    for _ in range(int(seconds * 10)):
        if condition():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{what} did not change by itself")


def run_one_job(server, job_id: int) -> None:
    """The digest runs this job, as a digest run that takes it would (and no other job:
    the other tests' jobs stay as they are)."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": server.env["DATABASE_URL"],
                      "SECRET_KEY": "browser-tests-" + "k" * 32})
    with app.app_context():
        JobDigest(db.session).set_job(JobRepository(db.session).get(job_id)).execute()
        db.session.remove()


def add_job(server, source: str) -> int:
    sql(server, "INSERT INTO jobs (source_id, state, created_at, updated_at) VALUES "
                "(?, 'paused', datetime('now'), datetime('now'))", source)
    return sql(server, "SELECT max(id) FROM jobs")[0][0]


def test_a_poll_keeps_ticks_selection_focus_and_sideways_scroll(browser, server):
    context = browser.new_context(viewport={"width": 700, "height": 800})
    page = context.new_page()
    log_in(page, server.url, seed.OPERATOR)
    page.goto(f"{server.url}/jobs?state=failed")
    first = page.locator("tr[data-job]").first
    job = int(first.get_attribute("data-job"))
    page.check(f"#pick-{job}")
    page.evaluate("""() => {
      document.querySelector('tr[data-job]').__mark = 'same node';  // the operator's row
      const scroller = document.querySelector('#job-list .scroll');
      scroller.scrollLeft = 120;
      const cell = document.querySelector('tr[data-job] td.reason');
      const range = document.createRange(); range.selectNodeContents(cell);
      getSelection().removeAllRanges(); getSelection().addRange(range);
    }""")
    selected = page.evaluate("getSelection().toString()")
    assert selected and page.evaluate("document.querySelector('#job-list .scroll').scrollLeft") > 0
    count = page.inner_text("#job-count")
    # The digest fails one more job: the next poll changes the count above the rows.
    sql(server, "UPDATE jobs SET state = 'failed', finished_at = datetime('now') "
                "WHERE id = ?", server.jobs["pause"])
    wait_until(page, lambda: page.inner_text("#job-count") != count, what="the list")
    # The row is the same node (merged, not replaced), wherever the new row went.
    assert page.evaluate(f"document.getElementById('row-{job}').__mark") == "same node"
    assert page.is_checked(f"#pick-{job}")
    assert page.evaluate("getSelection().toString()") == selected
    assert page.evaluate("document.querySelector('#job-list .scroll').scrollLeft") == 120
    # Focus on a box takes the selection away; the next poll keeps the focus where it is.
    page.focus(f"#pick-{job}")
    count = page.inner_text("#job-count")
    sql(server, "UPDATE jobs SET state = 'pending', finished_at = NULL WHERE id = ?",
        server.jobs["pause"])
    wait_until(page, lambda: page.inner_text("#job-count") != count, what="the list")
    assert page.evaluate("document.activeElement.id") == f"pick-{job}"
    assert page.is_checked(f"#pick-{job}")
    context.close()


def test_new_jobs_are_announced_not_pushed_in(page, server):
    page.goto(f"{server.url}/jobs?source=arrivals")
    assert page.locator("tr[data-job]").count() == 0
    page.goto(f"{server.url}/jobs")
    top = page.locator("tr[data-job]").first.get_attribute("data-job")
    new = [add_job(server, "arrivals") for _ in range(2)]
    page.wait_for_selector("#new-jobs", timeout=10_000)
    assert page.inner_text("#new-jobs") == "2 new jobs, show them"
    assert page.locator("tr[data-job]").first.get_attribute("data-job") == top
    screenshot(page, "new-jobs.png")
    page.click("#new-jobs")
    first_row = page.locator("tr[data-job]").first
    wait_until(page, lambda: first_row.get_attribute("data-job") == str(new[-1]),
               what="the list after 'show them'")
    assert page.locator("#new-jobs").count() == 0


def test_the_job_page_follows_the_digest_after_a_retry(page, server):
    job = server.jobs["refail"]
    page.goto(f"{server.url}/jobs/{job}")
    assert page.inner_text("#job h1 .state") == "failed"
    page.click("#job-actions button:has-text('Retry')")
    page.wait_for_selector("#job h1 .state.pending")
    page.evaluate("window.__sameDocument = 'yes'")
    run_one_job(server, job)
    page.wait_for_selector("#job h1 .state.failed", timeout=10_000)
    assert page.evaluate("window.__sameDocument") == "yes"
    assert page.locator("#job tr.attempt").count() == 2


def test_a_bad_filter_stays_with_its_field(page, server):
    page.goto(f"{server.url}/jobs")
    page.fill("input[name=relation]", "cust-1001")
    page.fill("input[name=store]", "twelve")
    page.click("button:has-text('Filter')")
    page.wait_for_selector("#problem-store")
    assert "is not a store id" in page.inner_text("#problem-store")
    assert page.get_attribute("input[name=store]", "aria-invalid") == "true"
    assert page.input_value("input[name=store]") == "twelve"
    assert page.input_value("input[name=relation]") == "cust-1001"
    assert page.locator("table.jobs").count() == 0
    assert page.inner_text("#notice") == ""        # no "server answered 400" line
    page.fill("input[name=store]", "")
    page.click("button:has-text('Filter')")
    page.wait_for_selector("tr[data-job]")
    assert page.locator("#problem-store").count() == 0


def test_a_bad_filter_stays_with_its_field_without_javascript(browser, server):
    context = browser.new_context(java_script_enabled=False)
    tab = context.new_page()
    log_in(tab, server.url, seed.OPERATOR)
    tab.goto(f"{server.url}/jobs")
    tab.fill("input[name=store]", "twelve")
    with tab.expect_navigation() as navigation:
        tab.click("button:has-text('Filter')")
    assert navigation.value.status == 400
    assert "is not a store id" in tab.inner_text("#problem-store")
    assert tab.input_value("input[name=store]") == "twelve"
    assert tab.locator("table.jobs").count() == 0
    context.close()


def test_count_sort_and_the_marked_navigation_link(page, server):
    failed = sql(server, "SELECT id FROM jobs WHERE state = 'failed' "
                         "ORDER BY finished_at DESC, id DESC")
    page.goto(f"{server.url}/jobs")
    assert page.get_attribute("nav a:has-text('Jobs')", "aria-current") == "page"
    page.select_option("select[name=state]", "failed")
    page.select_option("select[name=sort]", "failed")
    page.click("button:has-text('Filter')")
    page.wait_for_url(re.compile(r"state=failed.*sort=failed"))
    page.wait_for_selector("#job-count:has-text('matching')")
    assert page.inner_text("#job-count").startswith(f"{len(failed)} matching")
    shown = [int(i) for i in page.locator("tr[data-job]").evaluate_all(
        "rows => rows.map(r => r.dataset.job)")]
    assert shown == [row[0] for row in failed[:50]]
    assert page.get_attribute("nav a:has-text('Failed')", "aria-current") == "page"
    assert page.get_attribute("nav a:has-text('Jobs')", "aria-current") is None
    screenshot(page, "jobs-sorted-by-failure.png")


def test_times_read_in_the_operators_zone(browser, server):
    context = browser.new_context(timezone_id="America/New_York")
    tab = context.new_page()
    log_in(tab, server.url, seed.OPERATOR)
    tab.goto(f"{server.url}/jobs/{server.jobs['failed']}")
    created = tab.locator("dd time").first
    moment = datetime.fromisoformat(created.get_attribute("datetime"))
    local = moment.astimezone(ZoneInfo("America/New_York"))
    offset = f"GMT{local.utcoffset().total_seconds() / 3600:+.0f}"      # GMT-5, or -4 in summer
    assert created.get_attribute("title") == \
        f"{local:%Y-%m-%d %H:%M:%S} {offset} (America/New_York)"
    assert re.fullmatch(r"\d+ (min|h \d+ min) ago", created.inner_text())
    tab.goto(f"{server.url}/jobs")
    assert "(America/New_York on hover)" in tab.inner_text("table.jobs thead")
    assert "(dates in UTC)" in tab.inner_text("form.filters")
    context.close()


def test_without_javascript_times_are_utc_and_say_so(browser, server):
    context = browser.new_context(java_script_enabled=False, timezone_id="Asia/Kolkata")
    tab = context.new_page()
    log_in(tab, server.url, seed.OPERATOR)
    tab.goto(f"{server.url}/jobs/{server.jobs['failed']}")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC",
                        tab.locator("dd time").first.inner_text())
    tab.goto(f"{server.url}/jobs")
    assert "Created (UTC)" in tab.inner_text("table.jobs thead")
    assert "(dates in UTC)" in tab.inner_text("form.filters")
    context.close()


def test_a_big_job_stays_light_and_leads_to_its_failure(page, server):
    job = server.jobs["big"]
    response = page.goto(f"{server.url}/jobs/{job}")
    weight, nodes = len(response.body()), page.evaluate(COUNT_NODES)
    print(f"\nbig job page: {weight:,} bytes of HTML, {nodes:,} DOM nodes")
    assert weight < 200_000 and nodes < 3_000
    # The succeeded requests are folded away; one opens on a click.
    folded = page.locator("li.request details.request-body")
    assert folded.count() == 20 and not folded.first.locator("pre.payload").is_visible()
    folded.first.locator("summary").click()
    assert '"line": 0' in folded.first.locator("pre.payload").inner_text()
    summary = page.inner_text("#request-summary")
    assert " ".join(summary.split()) == "999 succeeded, 1 failed: #1000"
    screenshot(page, "big-job.png")
    page.click("#request-summary a:has-text('#1000')")
    page.wait_for_url(re.compile(rf"/jobs/{job}\?requests=50#request-\d+"))
    failed = page.locator("li.request:has(h3 .state.failed)")
    assert failed.count() == 1 and failed.locator("pre.error-text").is_visible()
    assert "customer is outside the synced groups" in failed.inner_text()
    assert page.evaluate(COUNT_NODES) < 3_000


def test_an_actions_message_and_its_focus_outlast_the_polls_after_it(page, server):
    # Waiting to retry: "Retry" makes it due now; no digest runs here, so it stays due.
    job = add_job(server, "message-test")
    sql(server, "UPDATE jobs SET state = 'retrying', next_attempt_at = datetime('now', '+1 day') "
                "WHERE id = ?", job)
    page.goto(f"{server.url}/jobs/{job}")
    page.evaluate("window.aqPollSwaps = 0; document.addEventListener('htmx:afterSwap', e => {"
                  " if (e.detail.xhr && e.detail.xhr.aqPoll) window.aqPollSwaps++; })")
    page.click("#job-actions button:has-text('Retry')")
    page.wait_for_selector("#job .flash")
    assert "flash" in focused(page, "retried")
    swaps = page.evaluate("window.aqPollSwaps")
    wait_until(page, lambda: page.evaluate("window.aqPollSwaps") >= swaps + 2,
               what="the job page (two polls)")
    assert page.get_attribute("#job", "data-poll") is not None     # due: still polled
    assert page.locator("#job .flash").count() == 1
    assert "flash" in focused(page)
    page.click("#job-actions button:has-text('Pause')")             # the next action's own
    page.wait_for_selector("#job .flash:has-text('paused')")
    assert page.locator("#job .flash").count() == 1


def test_an_open_confirmation_survives_the_job_pages_polls(page, server):
    sql(server, "INSERT INTO jobs (source_id, state, next_attempt_at, created_at, updated_at) "
                "VALUES ('confirm-test', 'pending', datetime('now', '+1 day'), datetime('now'), "
                "datetime('now'))")
    job = sql(server, "SELECT max(id) FROM jobs")[0][0]
    page.goto(f"{server.url}/jobs/{job}")
    assert page.get_attribute("#job", "data-poll") is not None     # a due job's page polls
    page.click("#job-actions button:has-text('Cancel')")
    page.wait_for_selector("#job .confirm")
    page.wait_for_timeout(2500)                                     # two and a half polls
    assert page.locator("#job .confirm").is_visible()
    page.click("#job .confirm button:has-text('Yes, cancel job')")
    page.wait_for_selector("#job h1 .state.cancelled")
