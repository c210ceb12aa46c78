"""Is a digest alive? The Digests page, the overview's alarm when none runs while jobs are
due, and the age of the last run in /metrics."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from prometheus_client.parser import text_string_to_metric_families

from dashboard.queue import DigestRun, JobState
from dashboard.queue.digest import db_clock
from dashboard.queue.jobs.models import DigestProcess
from dashboard.queue.jobs.states import RequestState
from tests.support.factories import save_job
from tests.support.web import run_digest, text

TOKEN = "scrape-me-9c1d"


@pytest.fixture
def config(config):
    return {**config, "METRICS_TOKEN": TOKEN, "QUEUE_DIGEST_EXPECTED_SECONDS": 180.0}


def alarm(page: str) -> str | None:
    found = re.search(r'<div class="digest-alarm" role="alert">(.*?)</div>', page, re.S)
    return None if found is None else " ".join(re.sub(r"<[^>]+>", "", found[1]).split())


def add_digest(session, clock, worker: str, *, beat_ago: float, **fields) -> None:
    session.add(DigestProcess(worker=worker, host=worker.split(":")[0],
                              pid=int(worker.split(":")[1]), concurrency=fields.get("n", 8),
                              beat_seconds=30, job_id=fields.get("job_id"),
                              started_at=clock.now - timedelta(minutes=10),
                              heartbeat_at=clock.now - timedelta(seconds=beat_ago)))
    session.commit()


def test_the_navigation_links_to_the_digests_page(viewer):
    page = text(viewer.get("/"))
    assert re.search(r'<a href="/digests"\s*>Digests</a>', page)


def test_no_digest_yet_says_so(viewer):
    page = text(viewer.get("/digests"))
    assert "No digest has run yet." in page
    assert 'aria-current="page">Digests' in page


def test_cron_between_runs_says_when_a_digest_was_last_seen(viewer, session, clock):
    run_digest(session, clock)
    save_job(session, clock, ("test_echo", {}))
    clock.advance(seconds=42)
    page = " ".join(text(viewer.get("/digests")).split())
    assert "No digest is running now: cron between runs, last seen 42.0 s ago" in page
    assert "silence" not in page


def test_nothing_seen_while_jobs_are_due_is_said_in_red(viewer, session, clock):
    run_digest(session, clock)
    for n in range(3):
        save_job(session, clock, ("test_echo", {"n": n}))
    clock.advance(seconds=200)
    page = " ".join(text(viewer.get("/digests")).split())
    said = page.split('<p class="empty silence">')[1].split("</p>")[0]
    assert re.sub(r"<[^>]+>", "", said).startswith(
        "Nothing seen for 3 min 20 s (since ") and "while 3 jobs are due" in said


@pytest.mark.parametrize("path", ["/jobs", "/jobs?state=failed", "/audit", "/schedules",
                                  "/digests"])
def test_the_alarm_stands_on_every_page_and_in_its_title(viewer, session, clock, path):
    job = save_job(session, clock, ("test_echo", {}))
    clock.advance(seconds=181)
    page = text(viewer.get(path))
    assert f"#{job.id} has waited 3 min 1 s" in alarm(page)
    assert re.search(r"<title>⚠ ", page)


def test_no_alarm_and_a_plain_title_while_a_digest_runs_on_time(viewer, session, clock):
    save_job(session, clock, ("test_echo", {}))
    run_digest(session, clock)
    save_job(session, clock, ("test_echo", {"n": 2}))
    clock.advance(seconds=179)
    page = text(viewer.get("/jobs"))
    assert alarm(page) is None and "<title>⚠" not in page


def test_blocked_jobs_never_sound_the_alarm(viewer, session, clock):
    first = save_job(session, clock, ("test_echo", {}), relation_id="cust-1")
    first.state = JobState.PAUSED  # unfinished: the later job of its relation waits
    session.commit()
    save_job(session, clock, ("test_echo", {"n": 2}), relation_id="cust-1")
    clock.advance(hours=1)
    for path in ("/", "/jobs"):
        page = text(viewer.get(path))
        assert alarm(page) is None and "<title>⚠" not in page


def test_the_login_page_asks_nothing_of_the_queue(app, session, clock):
    save_job(session, clock, ("test_echo", {}))
    clock.advance(seconds=181)
    page = text(app.test_client().get("/login"))
    assert alarm(page) is None and "<title>⚠" not in page


def test_each_digest_with_its_requests_in_flight_stale_ones_marked(viewer, session, clock):
    add_digest(session, clock, "web-1:101:aa", beat_ago=5, n=4)
    add_digest(session, clock, "web-2:202:bb", beat_ago=3600)
    job = save_job(session, clock, ("test_echo", {}), ("test_echo", {"n": 2}))
    job.state, job.locked_by = JobState.RUNNING, "web-1:101:aa"
    job.locked_until = clock.now + timedelta(minutes=5)
    second = job.requests[1]
    job.requests[0].state, second.state = RequestState.SUCCEEDED, RequestState.RUNNING
    second.updated_at = clock.now - timedelta(seconds=42)
    session.commit()
    page = text(viewer.get("/digests"))
    live, stale = page.split('<tr data-worker="')[1:]
    assert live.startswith("web-1:101:aa") and stale.startswith("web-2:202:bb")
    assert '<td class="num">101</td>' in live and '<td class="num">4</td>' in live
    assert f'<a href="/jobs/{job.id}">job #{job.id}</a>' in live
    assert "request 2 <code>test_echo</code>, running for 42.0 s" in re.sub(r"\s+", " ", live)
    assert "stale-badge" not in live and "stale-badge" in stale and "none" in stale


def test_a_digest_asked_to_run_one_job_says_so_and_is_no_cron(viewer, session, clock):
    job = save_job(session, clock, ("test_echo", {}))
    add_digest(session, clock, "web-3:303:cc", beat_ago=1, job_id=job.id)
    page = " ".join(text(viewer.get("/digests")).split())
    assert f'asked to run <a href="/jobs/{job.id}">#{job.id}</a> alone' in page
    clock.advance(seconds=200)
    add_digest(session, clock, "web-4:404:dd", beat_ago=1, job_id=job.id)
    assert alarm(text(viewer.get("/"))).startswith("No digest is running.")


def test_digests_fragment_for_htmx(viewer, session, clock):
    add_digest(session, clock, "web-1:101:aa", beat_ago=1)
    fragment = text(viewer.get("/digests", headers={"HX-Request": "true"}))
    assert fragment.startswith('<div id="digests"') and "<html" not in fragment


def test_the_page_needs_a_login(app):
    response = app.test_client().get("/digests")
    assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_no_alarm_while_a_digest_runs_on_time(viewer, session, clock):
    save_job(session, clock, ("test_echo", {}))
    run_digest(session, clock)
    save_job(session, clock, ("test_echo", {"n": 2}))
    clock.advance(seconds=179)
    assert alarm(text(viewer.get("/"))) is None


def test_alarm_when_jobs_are_due_and_no_digest_ran_for_the_expected_time(viewer, session,
                                                                        clock):
    ran_at = clock.now
    run_digest(session, clock)
    job = save_job(session, clock, ("test_echo", {}))
    clock.advance(seconds=181)
    said = alarm(text(viewer.get("/")))
    assert said.startswith("No digest is running. No digest has run since "
                           f"{ran_at:%Y-%m-%d %H:%M:%S} UTC (3 min 1 s ago)")
    assert f"#{job.id} has waited 3 min 1 s" in said


def test_alarm_when_no_digest_ever_ran(viewer, session, clock):
    save_job(session, clock, ("test_echo", {}))
    said = alarm(text(viewer.get("/")))
    assert said.startswith("No digest is running. No digest has ever run, and jobs are due")


def test_no_alarm_when_nothing_is_due(viewer, session, clock):
    clock.advance(days=3)
    assert alarm(text(viewer.get("/"))) is None


def test_a_long_run_that_keeps_beating_is_no_alarm(viewer, session, clock):
    save_job(session, clock, ("test_echo", {}))
    session.add(DigestRun(worker="long:1:x", started_at=clock.now - timedelta(hours=1),
                          jobs=0, succeeded=0, failed=0, retrying=0))
    add_digest(session, clock, "long:1:x", beat_ago=20)
    assert alarm(text(viewer.get("/"))) is None


def scrape(app) -> dict:
    response = app.test_client().get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return {sample.name: sample.value
            for family in text_string_to_metric_families(response.get_data(as_text=True))
            for sample in family.samples}


def test_metrics_export_the_age_of_the_last_digest_run(app, session, clock):
    assert "asyncqueue_digest_last_run_age_seconds" not in scrape(app)
    run_digest(session, clock)
    clock.advance(seconds=75)
    assert scrape(app)["asyncqueue_digest_last_run_age_seconds"] == 75
    add_digest(session, clock, "long:1:x", beat_ago=10)
    assert scrape(app)["asyncqueue_digest_last_run_age_seconds"] == 10


def test_a_host_whose_clock_is_off_is_shown_until_it_is_set_right(viewer, session, clock):
    with session.get_bind().begin() as connection:
        db_clock.record(connection, "skewed-1", -301.4, now=clock.now)
        db_clock.record(connection, "fine-1", 0.2, now=clock.now)
    page = " ".join(re.sub(r"<[^>]+>", "", text(viewer.get("/digests"))).split())
    assert "skewed-1: 301.4 s ahead of the database's clock" in page
    assert "fine-1" not in page
    with session.get_bind().begin() as connection:
        db_clock.record(connection, "skewed-1", 0.1, now=clock.now)
    assert "clock is off" not in text(viewer.get("/digests"))
