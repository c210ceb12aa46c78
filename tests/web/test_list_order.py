"""The job list's count, sort orders, keyset pages, new-job notice and filter mistakes."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.queue import JobRepository, JobState
from dashboard.queue.jobs.models import Job
from tests.support.factories import make_job, save_job
from tests.support.web import text

pytestmark = pytest.mark.all_databases

ROW = re.compile(r'<tr data-job="(\d+)"')


def row_ids(page: str) -> list[int]:
    return [int(i) for i in ROW.findall(page)]


def all_pages(client, url: str) -> list[int]:
    """The ids of every page, following the "next" links to the end."""
    seen: list[int] = []
    while url:
        page = text(client.get(url))
        seen += row_ids(page)
        found = re.search(r'rel="next" href="([^"]+)"', page)
        url = found.group(1).replace("&amp;", "&") if found else ""
    return seen


@pytest.fixture
def spread(session, clock) -> list[int]:
    """120 jobs with next attempts and failures in an order that is not their ids' order,
    several sharing one time so that pages must break ties by id."""
    jobs = JobRepository(session, clock).save_many(
        [make_job(("test_echo", {"n": n})) for n in range(120)])
    for n, job in enumerate(jobs):
        moment = clock() + timedelta(minutes=(n * 37) % 50)   # 50 distinct times, ties
        state = JobState.FAILED if n % 2 else JobState.RETRYING
        session.execute(sa.update(Job).where(Job.id == job.id).values(
            state=state, next_attempt_at=None if n % 2 else moment,
            finished_at=moment if n % 2 else None))
    session.commit()
    return [job.id for job in jobs]


@pytest.mark.parametrize(("sort", "column", "descending", "states"), [
    ("next", "next_attempt_at", False, ("retrying",)),
    ("failed", "finished_at", True, ("failed",)),
])
def test_each_sort_order_pages_every_job_once_in_order(viewer, session, spread, sort, column,
                                                       descending, states):
    ids = all_pages(viewer, f"/jobs?sort={sort}")
    rows = session.execute(sa.select(Job.id, getattr(Job, column)).where(
        Job.state.in_(states))).all()
    expected = sorted(rows, key=lambda row: (row[1], row[0]), reverse=descending)
    assert ids == [row[0] for row in expected] and len(ids) == 60


def test_the_newest_first_order_pages_every_job_once(viewer, spread):
    assert all_pages(viewer, "/jobs") == sorted(spread, reverse=True)


def test_the_list_says_how_many_jobs_match(viewer, spread):
    assert "<strong>120</strong> matching" in text(viewer.get("/jobs"))
    assert "<strong>60</strong> matching" in text(viewer.get("/jobs?state=failed"))
    page = text(viewer.get("/jobs?sort=next"))
    assert "<strong>60</strong> matching (pending or retrying: the jobs this order sorts)" in page


def test_the_count_stops_at_its_cap(viewer, spread, monkeypatch):
    monkeypatch.setattr("dashboard.web.jobs.COUNT_CAP", 100)
    assert "<strong>100+</strong> matching" in text(viewer.get("/jobs"))
    assert "<strong>60</strong> matching" in text(viewer.get("/jobs?state=failed"))


def test_new_jobs_are_counted_not_pushed_into_the_page(viewer, session, clock):
    first = [save_job(session, clock, ("test_echo", {"n": n})).id for n in range(3)]
    page = text(viewer.get("/jobs"))
    seen = re.search(r'id="job-list" data-poll hx-get="/jobs\?seen=(\d+)"', page).group(1)
    assert int(seen) == first[-1] and "new job" not in page
    for n in range(2):
        save_job(session, clock, ("test_echo", {"later": n}))
    polled = text(viewer.get(f"/jobs?seen={seen}", headers={"HX-Request": "true"}))
    assert row_ids(polled) == first[::-1]
    assert re.search(r'class="new-jobs"[^>]*href="/jobs"[^>]*>2 new jobs, show them<', polled)
    assert "<strong>5</strong> matching" in polled
    assert len(row_ids(text(viewer.get("/jobs")))) == 5


def test_new_jobs_count_only_those_matching_the_filter(viewer, session, clock):
    save_job(session, clock, ("test_echo", {}), source_id="crm")
    page = text(viewer.get("/jobs?source=shop"))
    seen = re.search(r'hx-get="/jobs\?seen=(\d+)', page).group(1)
    save_job(session, clock, ("test_echo", {}), source_id="crm")
    save_job(session, clock, ("test_echo", {}), source_id="shop")
    polled = text(viewer.get(f"/jobs?seen={seen}&source=shop"))
    assert ">1 new job, show them<" in polled and row_ids(polled) == []


@pytest.mark.parametrize(("query", "field", "reason"), [
    ("store=abc&relation=cust-9", "store", "is not a store id"),
    ("state=broken", "state", "is not a job state"),
    ("from=2026-02-01&to=2026-01-01", "from", "is not before"),
    ("sort=oldest", "sort", "is not a sort order"),
    ("q=" + "x" * 201, "q", "is longer than 200 characters"),
])
@pytest.mark.parametrize("htmx", [False, True], ids=["page", "htmx"])
def test_a_bad_filter_is_shown_next_to_its_field_with_the_form_as_typed(viewer, query, field,
                                                                        reason, htmx):
    headers = {"HX-Request": "true", "HX-Target": "jobs"} if htmx else {}
    response = viewer.get(f"/jobs?{query}", headers=headers)
    page = text(response)
    assert response.status_code == 400
    assert f'aria-invalid="true" aria-describedby="problem-{field}"' in page
    assert re.search(rf'<span class="field-error" id="problem-{field}">[^<]*{reason}', page)
    assert "No jobs are listed until it is fixed" in page and "<table" not in page
    assert page.count('aria-invalid="true"') == 1
    if "relation=cust-9" in query:
        assert 'name="store" value="abc"' in page and 'name="relation" value="cust-9"' in page
    assert ("<html" in page) is not htmx


def test_the_failed_link_is_marked_as_the_page_shown(viewer):
    page = text(viewer.get("/jobs?state=failed"))
    assert re.search(r'href="/jobs\?state=failed" aria-current="page">Failed<', page)
    assert not re.search(r'href="/jobs" aria-current="page">Jobs<', page)
    assert re.search(r'href="/jobs" aria-current="page">Jobs<', text(viewer.get("/jobs")))


def test_a_job_of_many_requests_is_summed_up_and_shown_a_part_at_a_time(viewer, session,
                                                                      clock):
    job = save_job(session, clock, *[("test_echo", {"n": n}) for n in range(45)])
    requests = session.get(Job, job.id).requests
    for request in requests[:44]:
        request.state = "succeeded"
    requests[44].state = "failed"
    session.commit()
    page = text(viewer.get(f"/jobs/{job.id}"))
    assert page.count('<li class="request"') == 20
    last = requests[44].id
    summary = re.search(r'id="request-summary">(.*?)</p>', page, re.S).group(1)
    assert re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", summary)).strip() == \
        "44 succeeded, 1 failed: #45"
    assert f'href="/jobs/{job.id}?requests=3#request-{last}">#45</a>' in summary
    third = text(viewer.get(f"/jobs/{job.id}?requests=3"))
    assert third.count('<li class="request"') == 5 and f'id="request-{last}"' in third
    assert "Requests 41 to 45 of 45" in third
    assert text(viewer.get(f"/jobs/{job.id}?requests=99")).count('<li class="request"') == 5
    assert viewer.get(f"/jobs/{job.id}?requests=x").status_code == 400


@pytest.mark.parametrize("query", [
    "sort=next&cursor=yesterday~12",     # not a time
    "sort=failed&cursor=2026-01-05T09:00:00~x",
    "cursor=abc",                        # the newest-first order pages with "before"
    "sort=next&before=12",
    "seen=-1",
])
def test_a_bad_page_cursor_gets_400_naming_it(viewer, query):
    response = viewer.get(f"/jobs?{query}")
    assert response.status_code == 400
    name = query.rsplit("&", 1)[-1].split("=")[0]
    assert f"Bad filter: {name}=" in text(response)
