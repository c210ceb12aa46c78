"""What waits and why things fail: due, blocked and scheduled jobs on the overview and as
list filters; failure reasons whole, with their time, red only while failing; Top errors."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.queries import errors, waiting
from dashboard.queue import Job, JobState
from dashboard.queue.jobs.masking import MASK
from dashboard.queue.store.claims import blocking_job
from tests.support.factories import save_job
from tests.support.plans import sent_statement
from tests.support.statements import sent_statements
from tests.support.web import post, run_digest, text

pytestmark = pytest.mark.all_databases

LONG = ("upstream answered after a very long and winding explanation of what went wrong "
        "with order 81723: HTTP 410 Gone")


@pytest.fixture
def queue(session, clock):
    """A failed job that blocks two later jobs of its relation; one due job; a retrying job
    whose retry time is ahead (scheduled)."""
    failed = save_job(session, clock, ("test_not_applicable", {}), relation_id="cust-7")
    retrying = save_job(session, clock, ("test_boom", {"n": 1}))
    run_digest(session, clock)
    clock.advance(seconds=1)
    run_digest(session, clock)  # the second failure waits for its retry time
    clock.advance(seconds=30)
    blocked = [save_job(session, clock, ("test_echo", {"n": n}), relation_id="cust-7")
               for n in range(2)]
    due = save_job(session, clock, ("test_echo", {}), relation_id="cust-8")
    clock.advance(seconds=30)
    return {"failed": failed.id, "retrying": retrying.id, "blocked": [j.id for j in blocked],
            "due": due.id}


def listed(client, query: str) -> list[int]:
    page = text(client.get(f"/jobs?{query}"))
    return [int(i) for i in re.findall(r"<tr data-job=\"(\d+)\"", page)]


def job_row(client, job_id: int) -> str:
    return text(client.get("/jobs")).split(f'<tr data-job="{job_id}"')[1].split("</tr>")[0]


def test_the_overview_counts_due_blocked_and_scheduled_apart(viewer, queue):
    page = text(viewer.get("/"))
    counts = dict(re.findall(r'data-waiting="(\w+)"[^>]*>([\d,+]+)<', page))
    assert counts == {"due": "1", "blocked": "2", "scheduled": "1"}
    assert 'href="/jobs?waiting=blocked"' in page


def test_counts_stop_at_their_cap(session, clock, queue):
    found = waiting.waiting(session, clock.now, cap=3)
    assert found.due == waiting.Count(1) and found.blocked == waiting.Count(2)
    assert found.come == waiting.Count(3)
    found = waiting.waiting(session, clock.now, cap=1)
    assert found.scheduled == waiting.Count(1, False)


@pytest.mark.parametrize("cap", [1, 2])
def test_past_the_cap_due_and_blocked_are_counted_together_never_as_shares(
        session, clock, queue, cap):
    """More jobs whose time has come than the cap: "cap+ due or blocked", never shares of
    the cap + 1 jobs read, which look exact and aren't ("8,641+" of 10,001)."""
    found = waiting.waiting(session, clock.now, cap=cap)
    assert found.due is None and found.blocked is None
    assert found.come == waiting.Count(cap, True)


def test_past_the_cap_no_job_is_asked_whether_it_is_blocked(session, clock, queue):
    """Past the cap due and blocked are not told apart, so none of the jobs is asked the
    relation rule (at a million jobs that was 10,001 probes on every overview)."""
    with sent_statements() as sent:
        waiting.waiting(session, clock.now, cap=2)
    assert sent() and not [s for s in sent() if "earlier" in s]
    with sent_statements() as sent:
        waiting.waiting(session, clock.now, cap=3)
    assert [s for s in sent() if "earlier" in s]


def test_the_overview_says_due_or_blocked_past_the_cap(viewer, queue, monkeypatch):
    monkeypatch.setattr("dashboard.queries.overview.COUNT_CAP", 2)
    page = " ".join(text(viewer.get("/")).split())
    counts = dict(re.findall(r'data-waiting="([\w-]+)"[^>]*>([\d,+]+)<', page))
    assert counts == {"due-or-blocked": "2+", "scheduled": "1"}
    assert "due or blocked" in page.lower()


def test_the_oldest_due_job_is_one_a_digest_could_take_never_a_blocked_one(viewer, queue):
    page = " ".join(text(viewer.get("/")).split())
    oldest = page.split('<p class="oldest">')[1].split("</p>")[0]
    # The blocked jobs waited longer, but no digest could take them.
    assert f'<a href="/jobs/{queue["due"]}">#{queue["due"]}</a>' in oldest
    assert all(f"#{blocked}<" not in oldest for blocked in queue["blocked"])


def test_with_only_blocked_jobs_due_the_oldest_due_job_says_none_could_run(viewer, session,
                                                                         clock, queue):
    session.execute(sa.update(Job).where(Job.id == queue["due"]).values(
        next_attempt_at=clock.now + timedelta(hours=1)))
    session.commit()
    page = " ".join(text(viewer.get("/")).split())
    oldest = page.split('<p class="oldest">')[1].split("</p>")[0]
    assert "none a digest could take now" in oldest
    assert 'href="/jobs?waiting=blocked"' in oldest


@pytest.mark.parametrize(("query", "expected"), [
    ("waiting=blocked", "blocked"), ("waiting=scheduled", "retrying"), ("waiting=due", "due"),
    ("waiting=BLOCKED&relation=cust-7", "blocked"), ("waiting=due&relation=cust-7", None),
])
def test_the_list_filters_waiting_jobs(viewer, queue, query, expected):
    wanted = queue.get(expected, [])
    assert sorted(listed(viewer, query)) == sorted(wanted if isinstance(wanted, list)
                                                   else [wanted])


def test_a_blocked_row_links_to_its_blocker(viewer, queue):
    page = text(viewer.get("/jobs?waiting=blocked"))
    blocker = queue["failed"]
    assert page.count(f'blocked by <a href="/jobs/{blocker}">#{blocker}</a>') == 2


def test_scheduled_jobs_turn_due_when_their_time_comes(as_role, queue, clock):
    clock.advance(hours=3)
    viewer = as_role("viewer")
    assert listed(viewer, "waiting=scheduled") == []
    assert sorted(listed(viewer, "waiting=due")) == sorted([queue["due"], queue["retrying"]])


def test_a_bad_waiting_value_is_refused_by_name(viewer):
    response = viewer.get("/jobs?waiting=stuck")
    assert response.status_code == 400
    assert "waiting=&#39;stuck&#39;: is not one of due, blocked, scheduled" in text(response)


def test_the_api_shares_the_waiting_filter(app, session, clock, queue):
    from dashboard.api import tokens
    _, secret = tokens.create(session, "reader", "viewer", now=clock.now)
    session.commit()
    client = app.test_client()
    headers = {"Authorization": f"Bearer {secret}"}
    found = client.get("/api/v1/jobs?waiting=blocked", headers=headers).get_json()
    assert sorted(job["id"] for job in found["jobs"]) == sorted(queue["blocked"])
    refused = client.get("/api/v1/jobs?waiting=later", headers=headers)
    assert refused.status_code == 400 and "waiting" in refused.get_data(as_text=True)


def test_the_list_shows_a_failing_reason_whole_and_when_it_failed(viewer, session, clock):
    job = save_job(session, clock, ("test_fails_with", {"reason": LONG}))
    failed_at = clock.now
    run_digest(session, clock)
    row = job_row(viewer, job.id)
    assert f'<td class="reason failing">{LONG}</td>' in row
    assert f'<time datetime="{failed_at.isoformat()}"' in row.split("reason failing")[1]


def test_a_secret_in_the_reason_never_shows(viewer, operator, session, clock):
    job = save_job(session, clock, ("test_leaks", {"password": "hunter2x"}))
    run_digest(session, clock)
    for client in (viewer, operator):
        for page in (text(client.get("/jobs")), text(client.get("/"))):
            assert "hunter2x" not in page
        assert f"login refused for password &#39;{MASK}&#39;" in text(client.get("/jobs"))
    assert job.id


def test_red_marks_only_failing_and_retrying_jobs(as_role, session, clock):
    flaky = save_job(session, clock, ("test_flaky", {"fail_times": 1}))
    run_digest(session, clock)
    row = job_row(as_role("viewer"), flaky.id)
    assert 'class="reason failing">ConnectionError: attempt 1 timed out' in row
    clock.advance(seconds=1)
    run_digest(session, clock)
    row = job_row(as_role("viewer"), flaky.id)
    assert "completed" in row and 'class="reason earlier"' in row
    assert "reason failing" not in row and "earlier failure: " in row


@pytest.mark.parametrize(("reason", "normalised"), [
    ("HTTP 410 Gone for order 81723", "HTTP # Gone for order #"),
    ("job 5f2a9c1e-0b4d-4c7e-9a1f-3d2e1c0b9a8f not found", "job # not found"),
    ("token deadbeef42cafe rejected\nTraceback ...", "token # rejected"),
    ("  spaced    out  ", "spaced out"),
    ("no numbers here", "no numbers here"),
    (None, ""),
])
def test_reasons_are_normalised(reason, normalised):
    assert errors.normalise(reason) == normalised


def test_top_errors_group_failing_jobs_by_reason(viewer, session, clock):
    first = clock.now
    for order in (81723, 81724):
        save_job(session, clock,
                 ("test_fails_with", {"reason": f"HTTP 410 Gone for order {order}"}))
        run_digest(session, clock)
        clock.advance(minutes=5)
    save_job(session, clock, ("test_fails_with", {"reason": "quota exceeded"}))
    run_digest(session, clock)
    found = errors.top_errors(session)
    assert [(g.reason, g.jobs) for g in found.groups] == [
        ("HTTP # Gone for order #", 2), ("quota exceeded", 1)]
    assert found.groups[0].first_seen == first
    assert found.groups[0].last_seen == first + timedelta(minutes=5)
    assert not found.partial
    page = text(viewer.get("/"))
    assert 'href="/jobs?error=HTTP+%23+Gone+for+order+%23">HTTP # Gone for order #</a>' in page


def test_top_errors_read_a_bounded_number_of_jobs(session, clock):
    for n in range(3):
        save_job(session, clock, ("test_fails_with", {"reason": f"gone {n}"}))
    run_digest(session, clock)
    found = errors.top_errors(session, scanned=2)
    assert [(g.reason, g.jobs) for g in found.groups] == [("gone #", 2)] and found.partial


def test_top_errors_read_exactly_their_cap_without_saying_more(session, clock):
    for n in range(2):
        save_job(session, clock, ("test_fails_with", {"reason": f"gone {n}"}))
    run_digest(session, clock)
    found = errors.top_errors(session, scanned=2)
    assert [(g.reason, g.jobs) for g in found.groups] == [("gone #", 2)]
    assert not found.partial


def test_top_errors_ask_one_statement_a_state_however_many_jobs_fail(session, clock):
    """The failing jobs' ids stay in the database: the same two statements (the failed
    jobs', the retrying ones') for 3 failing jobs as for 12, never a list of their ids."""
    def sent_for(failing: int) -> list[str]:
        for n in range(failing):
            save_job(session, clock, ("test_fails_with", {"reason": f"gone {n}"}))
        run_digest(session, clock)
        with sent_statements() as sent:
            found = errors.top_errors(session, scanned=20)
        session.rollback()
        assert sum(g.jobs for g in found.groups) == len(session.scalars(
            sa.select(Job.id).where(Job.state == JobState.FAILED)).all())
        return [s for s in sent() if s.lstrip().upper().startswith("SELECT")]

    few = sent_for(3)
    assert len(few) == 2, few
    assert sent_for(9) == few


def test_top_errors_read_jobs_and_requests_by_index(app):
    """SQLite's plan: the newest failing jobs from ix_jobs_state_id, their requests by key."""
    if db.engine.dialect.name != "sqlite":
        pytest.skip("SQLite's plan (PostgreSQL's: tests/integration/test_query_plans.py)")
    statement, parameters = sent_statement(
        lambda connection: errors.newest_failing(sa.orm.Session(connection), JobState.FAILED,
                                                 errors.SCANNED), "AS newest")
    with db.engine.connect() as connection:
        plan = "\n".join(row[-1] for row in connection.exec_driver_sql(
            f"EXPLAIN QUERY PLAN {statement}", parameters))
    assert "ix_jobs_state_id" in plan and "SCAN requests" not in plan, plan
    assert "SEARCH requests USING INDEX" in plan, plan


def test_no_failing_jobs_says_so(viewer):
    assert "No failed or retrying jobs." in text(viewer.get("/"))


def test_an_error_group_lists_its_jobs_and_retry_all_applies_to_them(operator, session, clock):
    gone = [save_job(session, clock, ("test_fails_with", {"reason": f"HTTP 410 Gone for {n}"}))
            for n in (1, 22)]
    other = save_job(session, clock, ("test_fails_with", {"reason": "HTTP 500 for 100%_x"}))
    run_digest(session, clock)
    assert sorted(listed(operator, "error=HTTP+%23+Gone+for+%23")) == sorted(j.id for j in gone)
    assert listed(operator, "error=HTTP+%23+for+100%25_x") == [other.id]
    assert listed(operator, "error=HTTP+%23+for+1000") == []  # % and _ are no wildcards
    form = {"action": "retry", "scope": "filter", "error": "HTTP # Gone for #"}
    page = text(post(operator, "/jobs/bulk", form))
    assert "Retry 2 jobs?" in page
    upto = re.search(r'name="upto" value="(\d+)"', page).group(1)
    # PermanentFailure: asked once more before retrying them.
    done = post(operator, "/jobs/bulk", {**form, "confirm": "yes", "upto": upto,
                                         "permanent": "yes"})
    assert done.status_code == 303
    session.rollback()
    assert {session.get(Job, j.id).state for j in gone} == {JobState.PENDING}
    assert session.get(Job, other.id).state == JobState.FAILED
    assert listed(operator, "error=HTTP+%23+Gone+for+%23") == []  # no longer failing


#: (relation, source, state, time): every case the relation rule tells apart. "come":
#: its time has come; "ahead": scheduled for later (unfinished all the same).
TANGLE = [
    ("a", "default", JobState.FAILED, None),      # holds back a's later jobs
    ("a", "default", JobState.PENDING, "come"),   # blocked by a failed job
    ("a", "erp", JobState.PENDING, "come"),       # due: another source
    ("b", "default", JobState.COMPLETED, None),   # done: holds nothing back
    ("b", "default", JobState.CANCELLED, None),
    ("b", "default", JobState.PENDING, "come"),   # due: the first unfinished of b
    ("b", "default", JobState.RETRYING, "come"),  # blocked by a due job
    ("c", "default", JobState.PAUSED, None),
    ("c", "default", JobState.RETRYING, "come"),  # blocked by a paused job
    (None, "default", JobState.PENDING, "come"),  # due: no relation
    ("d", "default", JobState.PENDING, "ahead"),  # scheduled, and holds back d's others
    ("d", "default", JobState.PENDING, "come"),   # blocked by a scheduled job
    ("e", "default", JobState.RUNNING, None),
    ("e", "default", JobState.PENDING, "come"),   # blocked by a running job
    (None, "default", JobState.RETRYING, "come"),  # due: no relation
    ("f", "default", JobState.PENDING, "come"),   # due
    ("f", "default", JobState.PENDING, "come"),   # blocked
    ("b", "erp", JobState.FAILED, None),          # no later job of b/erp to hold back
]


@pytest.fixture
def tangle(session, clock) -> list[int]:
    ids = []
    for relation, source, state, time in TANGLE:
        job = save_job(session, clock, ("test_echo", {}), relation_id=relation,
                       source_id=source)
        session.commit()
        at = {"come": clock.now - timedelta(minutes=1),
              "ahead": clock.now + timedelta(hours=1)}.get(time)
        session.execute(sa.update(Job).where(Job.id == job.id).values(
            state=state, next_attempt_at=at))
        session.commit()
        ids.append(job.id)
    return ids


@pytest.mark.parametrize("kind", ["due", "blocked"])
def test_the_waiting_lists_hold_exactly_the_jobs_the_relation_rule_says(
        viewer, session, clock, tangle, kind):
    """Each job whose time has come is asked of the relation rule alone (the claims'
    ``blocking_job``); the list shows exactly those of its kind, newest first, and counts
    them, on every database (PostgreSQL asks the rule of the whole set at once)."""
    come = [job_id for job_id, (*_, time) in zip(tangle, TANGLE, strict=True)
            if time == "come"]
    held = {job_id for job_id in come if blocking_job(session, job_id) is not None}
    session.rollback()
    expected = sorted(held if kind == "blocked" else set(come) - held, reverse=True)
    assert len(expected) >= 5   # a real mix of both kinds
    assert listed(viewer, f"waiting={kind}") == expected
    page = " ".join(text(viewer.get(f"/jobs?waiting={kind}")).split())
    assert f"<strong>{len(expected)}</strong> matching" in page
    found = waiting.waiting(session, clock.now, cap=100)
    assert (found.due, found.blocked) == (waiting.Count(len(come) - len(held)),
                                          waiting.Count(len(held)))
