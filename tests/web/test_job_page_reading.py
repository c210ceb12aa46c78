"""The job page and the waiting lists read without detective work: a succeeded request's
earlier error is history, blocked jobs are grouped by what blocks them (its state and
reason), scheduled jobs come soonest first, and labels say "scheduled" or "waiting to
retry" as the case is."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from dashboard.queue import Job, JobBuilder, JobRepository
from tests.support.factories import save_job
from tests.support.web import run_digest, text


def test_a_succeeded_requests_earlier_error_is_history_not_a_current_error(operator, session,
                                                                           clock):
    job = save_job(session, clock, ("test_flaky", {"fail_times": 1}))
    run_digest(session, clock)
    retrying = text(operator.get(f"/jobs/{job.id}"))
    assert "<h4>Last error</h4>" in retrying  # failing now: the current error
    assert "Waiting to retry: its next attempt is due" in retrying
    clock.advance(minutes=1)
    run_digest(session, clock)
    page = text(operator.get(f"/jobs/{job.id}"))
    assert "<h4>Last error</h4>" not in page
    assert '<pre class="error-text">' not in page
    assert ('<details class="earlier-error"><summary>Earlier error, before it succeeded'
            '</summary><pre>ConnectionError: attempt 1 timed out</pre></details>') in page


def test_blocked_jobs_are_grouped_by_their_blocker_with_its_state_and_reason(
        operator, session, clock):
    first = save_job(session, clock, ("test_not_applicable", {}), relation_id="cust-7")
    run_digest(session, clock)
    held = [save_job(session, clock, ("test_echo", {}), relation_id="cust-7").id
            for _ in range(2)]
    page = text(operator.get("/jobs?waiting=blocked"))
    group = re.search(rf'<div class="blocker-group" data-blocker="{first.id}">.*?</div>',
                      page, re.S).group(0)
    assert '<span class="state failed">failed</span>' in group
    assert '<span class="tag permanent"' in group
    assert "customer is outside the synced groups" in group
    assert "Holds back 2 jobs on this page" in group
    assert all(f'href="#row-{i}"' in group for i in held)
    assert f"#{first.id}</a> (failed)</span>" in page  # each row says the blocker's state
    job_page = " ".join(text(operator.get(f"/jobs/{held[0]}")).split())
    assert f'Job #{first.id} is <span class="state failed">failed</span>' in job_page
    assert "customer is outside the synced groups" in job_page


def test_scheduled_jobs_are_listed_soonest_first(operator, session, clock):
    later = [JobBuilder().set_run_at(clock.now + timedelta(hours=h)).create() for h in (5, 1, 3)]
    for job in later:
        job.request_builder().set_type_code("test_echo").set_payload({}).create()
    saved = JobRepository(session, clock).save_many(later)
    session.rollback()
    by_time = [j.id for j in sorted(saved, key=lambda j: j.next_attempt_at)]
    for query in ("waiting=scheduled", "state=scheduled"):
        page = text(operator.get(f"/jobs?{query}"))
        assert [int(i) for i in re.findall(r'<tr data-job="(\d+)"', page)] == by_time
        assert '<span class="state scheduled">scheduled</span>' in page
    newest_first = text(operator.get("/jobs?waiting=scheduled&sort=created"))
    assert [int(i) for i in re.findall(r'<tr data-job="(\d+)"', newest_first)] == sorted(
        by_time, reverse=True)
    assert session.scalar(sa.select(sa.func.count()).select_from(Job)) == 3


def test_the_overview_says_scheduled_or_waiting_to_retry(operator):
    assert "scheduled for later, or waiting to retry" in text(operator.get("/"))
