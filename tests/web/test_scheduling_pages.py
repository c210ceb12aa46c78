"""The dashboard shows scheduled jobs with their time, priorities and unique keys, and
filters the job list by priority and by "scheduled"."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

from dashboard.queue import JobBuilder, JobRepository
from tests.support.web import text


def save(session, clock, **options):
    builder = JobBuilder()
    for name, value in options.items():
        getattr(builder, f"set_{name}")(value)
    job = builder.create()
    job.request_builder().set_type_code("test_echo").set_payload({}).create()
    return JobRepository(session, clock).save(job)


def listed(page: str) -> dict[int, str]:
    """Job id -> its row's text, of the job list."""
    rows = re.findall(r'<tr data-job="(\d+)"[^>]*>(.*?)</tr>', page, re.S)
    return {int(job_id): " " + " ".join(re.sub(r"<[^>]+>", " ", row).split()) + " "
            for job_id, row in rows}


def test_the_list_shows_scheduled_jobs_with_their_time_and_priorities(viewer, session, clock):
    scheduled = save(session, clock, delay=3600, priority=5)
    due = save(session, clock, priority=-3)
    # Its time has come: due like any pending job.
    past = save(session, clock, run_at=clock.now - timedelta(minutes=1))
    rows = listed(text(viewer.get("/jobs")))
    assert re.search(r"scheduled 5 .* 2026-01-05 10:00", rows[scheduled.id]), rows[scheduled.id]
    assert re.search(r" pending -3 ", rows[due.id]), rows[due.id]
    assert re.search(r" pending 0 .* 2026-01-05 08:59", rows[past.id]), rows[past.id]


@pytest.mark.all_databases
def test_the_list_filters_by_priority_and_by_scheduled(viewer, session, clock):
    scheduled = save(session, clock, run_at=clock.now + timedelta(minutes=5), priority=5)
    due = save(session, clock, priority=5)
    other = save(session, clock)
    assert set(listed(text(viewer.get("/jobs?priority=5")))) == {scheduled.id, due.id}
    assert set(listed(text(viewer.get("/jobs?priority=0")))) == {other.id}
    assert set(listed(text(viewer.get("/jobs?state=scheduled")))) == {scheduled.id}
    # A scheduled job is a pending one: the pending filter includes it.
    assert set(listed(text(viewer.get("/jobs?state=pending")))) == {scheduled.id, due.id,
                                                                    other.id}
    page = text(viewer.get("/jobs?state=scheduled&priority=0"))
    assert "No scheduled jobs matching the other filters." in page
    assert '<option value="scheduled" selected>' in text(viewer.get("/jobs?state=scheduled"))


@pytest.mark.parametrize(("query", "message"), [
    ("priority=101", "priority=&#39;101&#39;: is not a priority from -100 to 100"),
    ("priority=high", "priority=&#39;high&#39;: is not a priority"),
    ("priority=1.5", "priority=&#39;1.5&#39;: is not a priority"),
    ("state=later", "one of pending, scheduled, running"),
])
def test_bad_priority_or_state_gets_a_400_naming_it(viewer, query, message):
    response = viewer.get(f"/jobs?{query}")
    assert response.status_code == 400
    assert message in text(response)


def test_the_job_page_shows_its_schedule_priority_and_key(viewer, session, clock):
    job = save(session, clock, delay=600, priority=-7, unique_key="order-7:<loyalty>")
    page = text(viewer.get(f"/jobs/{job.id}"))
    assert re.search(r'<h1>Job #\d+ <span class="state scheduled">scheduled</span>', page)
    assert "Scheduled: the digest starts it at" in page and "2026-01-05 09:10" in page
    assert re.search(r"<dt>Priority</dt><dd>-7</dd>", page)
    assert "<code>order-7:&lt;loyalty&gt;</code>" in page
    plain = text(viewer.get(f"/jobs/{save(session, clock).id}"))
    assert "<dt>Unique key</dt><dd>—</dd>" in plain and "Scheduled:" not in plain


def test_run_now_runs_a_scheduled_job_from_its_page(operator, session, clock):
    job = save(session, clock, delay=3600)
    page = text(operator.get(f"/jobs/{job.id}"))
    assert "Run now" in page
    token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    response = operator.post(f"/jobs/{job.id}/run", data={"csrf_token": token})
    assert response.status_code in (200, 302, 303)
    assert re.search(r'class="state completed"', text(operator.get(f"/jobs/{job.id}")))
