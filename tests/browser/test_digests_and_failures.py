"""The operator's cockpit in a real Chromium: is a digest alive (the alarm, the Digests page
with a real digest process), what waits and why (due, blocked, scheduled), why things fail
(whole reasons, Top errors and its filter)."""

from __future__ import annotations

import re
import signal

import pytest

import tests.support.types  # noqa: F401  (the request types the jobs below use)
from dashboard import create_app
from dashboard.app.extensions import db
from dashboard.queue import JobDigest, JobRepository, QueueSettings
from tests.support.browser import screenshot
from tests.support.factories import make_job
from tests.support.processes import DigestProcess, digest_env

GONE = ("the shop's API answered after a long explanation that pushes the status past the "
        "old cut of the column, for order 81723: HTTP 410 Gone")


def add_jobs(server, *jobs, run: bool = False) -> list[int]:
    """Save jobs into the server's database; ``run``: run each once now, as Run now does."""
    app = create_app({"SQLALCHEMY_DATABASE_URI": server.env["DATABASE_URL"],
                      "SECRET_KEY": "browser-tests"})
    with app.app_context():
        repository = JobRepository(db.session)
        ids = [repository.save(job).id for job in jobs]
        if run:
            for job_id in ids:
                JobDigest(db.session, settings=QueueSettings(), concurrency=1).set_job(
                    repository.get(job_id)).execute()
        db.session.remove()
    return ids


def test_the_alarm_then_a_real_digest_on_the_digests_page_then_stale(page, server, tmp_path):
    page.goto(f"{server.url}/")
    alarm = page.locator("[role=alert]")
    # The seed's last run was a quarter of an hour ago, and its jobs are due.
    assert "No digest is running." in alarm.inner_text()
    assert re.search(r"No digest has run since .* \(\d+ min \d+ s ago\)", alarm.inner_text())
    screenshot(page, "overview-digest-alarm.png")
    # Every page sounds it, and the tab's title says so, on a desktop and on a phone.
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{server.url}/jobs")
        alarm = page.locator(".digest-alarm[role=alert]")
        assert alarm.is_visible() and "No digest is running." in alarm.inner_text()
        assert page.title().startswith("⚠ Jobs")
    page.set_viewport_size({"width": 1360, "height": 900})

    [job_id] = add_jobs(server, make_job(("test_sleeps", {"seconds": 40})))
    env = digest_env(server.env["DATABASE_URL"], QUEUE_TYPES="tests.support.types",
                     QUEUE_LEASE_SECONDS=3)
    digest = DigestProcess(["--job", str(job_id)], env, tmp_path, "browser-digest")
    try:
        page.locator("header nav").get_by_role("link", name="Digests").click()
        page.wait_for_url(f"{server.url}/digests")
        row = page.locator(f"tr:has(td.num:text-is('{digest.pid}'))")
        row.wait_for(timeout=30_000)
        assert row.get_by_role("link", name=f"job #{job_id}").is_visible()
        assert "test_sleeps" in row.inner_text() and row.locator(".stale-badge").count() == 0
        screenshot(page, "digests.png")
        digest.send(signal.SIGKILL)
        digest.wait()
        # The page polls: the killed digest turns stale within three missed beats.
        row.locator(".stale-badge").wait_for(timeout=20_000)
    finally:
        if digest.popen.poll() is None:
            digest.popen.kill()
            digest.popen.wait()


@pytest.fixture(scope="module")
def failing(server) -> dict[str, int]:
    """A job failed with a long reason that blocks a later job of its relation, and two
    more failed alike."""
    failed = add_jobs(server, *(make_job(("test_fails_with", {"reason": GONE.replace(
        "81723", str(order))}), relation_id=f"shop-{order}") for order in (81723, 81724, 81725)),
        run=True)
    [blocked] = add_jobs(server, make_job(("test_echo", {}), relation_id="shop-81723"))
    return {"failed": failed[0], "blocked": blocked}


def test_a_failed_reason_shows_whole_and_wrapped_in_red(page, server, failing):
    page.goto(f"{server.url}/jobs?state=failed")
    cell = page.locator(f"tr[data-job='{failing['failed']}'] td.reason")
    assert cell.inner_text().endswith("HTTP 410 Gone")
    assert cell.is_visible() and cell.evaluate("e => getComputedStyle(e).whiteSpace") == "pre-wrap"
    box = cell.bounding_box()
    assert box["height"] > 30  # wrapped over lines, not cut at the column's width
    bad = page.evaluate("""() => { const e = document.createElement('span');
        e.style.color = 'var(--bad)'; document.body.append(e);
        const colour = getComputedStyle(e).color; e.remove(); return colour; }""")
    assert cell.evaluate("e => getComputedStyle(e).color") == bad  # the scheme's red
    # The Failed column, after the Priority column.
    failed_at = page.locator(f"tr[data-job='{failing['failed']}'] td:nth-child(11) time")
    assert failed_at.count() == 1
    screenshot(page, "failed-list.png")


def test_top_errors_lead_to_the_jobs_where_retry_all_applies(page, server, failing):
    page.goto(f"{server.url}/")
    panel = page.locator("section.top-errors")
    row = panel.locator("tr", has=page.get_by_role("link", name=re.compile(r"HTTP # Gone$")))
    group = row.get_by_role("link")
    assert row.locator("td.num").inner_text() == "3"
    screenshot(page, "overview-top-errors.png")
    group.click()
    page.wait_for_url(re.compile(r"/jobs\?error="))
    shown = page.locator("tr[data-job]")
    assert shown.count() == 3
    assert page.get_by_role("textbox", name="Error").input_value().endswith("HTTP # Gone")
    page.get_by_role("button", name="Retry all").click()
    assert "Retry 3 jobs?" in page.locator("main").inner_text()


def test_blocked_jobs_apart_on_the_overview_and_in_the_list(page, server, failing):
    page.goto(f"{server.url}/")
    blocked = page.locator("[data-waiting=blocked]")
    assert int(blocked.inner_text().rstrip("+")) >= 1
    page.locator(".waiting-counts a", has=page.locator("[data-waiting=blocked]")).click()
    page.wait_for_url(f"{server.url}/jobs?waiting=blocked")
    row = page.locator(f"tr[data-job='{failing['blocked']}']")
    link = row.get_by_role("link", name=f"#{failing['failed']}")
    assert "blocked by" in row.inner_text()
    link.click()
    page.wait_for_url(f"{server.url}/jobs/{failing['failed']}")
