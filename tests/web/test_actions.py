"""Actions on one job: who may act, what each does, and refusals that change nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.audit import AuditEntry, AuditJob
from dashboard.queue import Job, JobState, RequestState
from tests.support.factories import save_job
from tests.support.web import post, run_digest, text

ACTIONS = ["retry", "pause", "resume", "cancel", "run"]


def state_of(session, job) -> JobState:
    session.rollback()  # a fresh read: the request wrote through its own session
    return session.scalar(sa.select(Job.state).where(Job.id == job.id))


def audit_rows(session) -> list[tuple[str, str, int]]:
    session.rollback()
    return [tuple(r) for r in session.execute(
        sa.select(AuditEntry.actor, AuditEntry.action, AuditJob.job_id)
        .join(AuditJob, AuditJob.entry_id == AuditEntry.id).order_by(AuditEntry.id))]


@pytest.fixture
def failed_job(session, clock):
    job = save_job(session, clock, ("test_not_applicable", {}), relation_id="cust-1")
    run_digest(session, clock)
    return job


@pytest.mark.parametrize("action", ACTIONS)
def test_viewers_cannot_act(viewer, failed_job, session, action):
    response = post(viewer, f"/jobs/{failed_job.id}/{action}", {"confirm": "yes"})
    assert response.status_code == 403
    assert "your role (viewer) can&#39;t do this" in text(response)
    assert state_of(session, failed_job) == JobState.FAILED
    assert audit_rows(session) == []


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_without_the_csrf_token_is_refused(operator, failed_job, session, action):
    response = operator.post(f"/jobs/{failed_job.id}/{action}", data={"confirm": "yes"})
    assert response.status_code == 400
    assert "security token is missing" in text(response)
    assert state_of(session, failed_job) == JobState.FAILED


@pytest.mark.parametrize("action", ACTIONS)
def test_an_action_on_an_unknown_job_gets_404(operator, action):
    response = post(operator, f"/jobs/424242/{action}", {"confirm": "yes"})
    assert response.status_code == 404
    assert "Job #424242 does not exist" in text(response)


def test_an_unknown_action_gets_404(operator, failed_job):
    response = post(operator, f"/jobs/{failed_job.id}/explode")
    assert response.status_code == 404
    assert "There is no action &#39;explode&#39;" in text(response)


def test_actions_are_post_only(operator, failed_job):
    assert operator.get(f"/jobs/{failed_job.id}/retry").status_code == 405


@pytest.mark.all_databases
@pytest.mark.parametrize("role", ["operator", "admin"])
def test_retry_gives_a_failed_job_a_fresh_round_and_keeps_its_history(as_role, role, failed_job,
                                                                      session):
    client = as_role(role)
    response = post(client, f"/jobs/{failed_job.id}/retry")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/jobs/{failed_job.id}"
    assert state_of(session, failed_job) == JobState.PENDING
    request = session.get(Job, failed_job.id).requests[0]
    assert (request.state, request.attempts, len(request.history)) == (
        RequestState.PENDING, 0, 1)
    assert audit_rows(session) == [(role, "retry", failed_job.id)]
    assert f"Job #{failed_job.id} is due again." in text(client.get(f"/jobs/{failed_job.id}"))


def test_an_action_that_does_not_apply_says_why_and_changes_nothing(operator, session, clock):
    job = save_job(session, clock, ("test_echo", {}))
    run_digest(session, clock)
    response = post(operator, f"/jobs/{job.id}/retry", follow_redirects=True)
    assert f"Nothing changed: can&#39;t retry job {job.id}: it is completed" in text(response)
    assert state_of(session, job) == JobState.COMPLETED
    assert audit_rows(session) == []


def test_htmx_action_answers_with_the_jobs_fragment(operator, failed_job, session):
    response = post(operator, f"/jobs/{failed_job.id}/retry", headers={"HX-Request": "true"})
    page = text(response)
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="job"') and "<html" not in page
    assert '<span class="state pending">pending</span>' in page
    refused = post(operator, f"/jobs/{failed_job.id}/resume", headers={"HX-Request": "true"})
    assert refused.status_code == 409
    assert "Nothing changed: can&#39;t resume" in text(refused)


def test_pause_and_resume(operator, session, clock):
    job = save_job(session, clock, ("test_echo", {}))
    post(operator, f"/jobs/{job.id}/pause")
    assert state_of(session, job) == JobState.PAUSED
    run_digest(session, clock)                      # a paused job is skipped
    assert state_of(session, job) == JobState.PAUSED
    post(operator, f"/jobs/{job.id}/resume")
    assert state_of(session, job) == JobState.PENDING
    assert [row[1] for row in audit_rows(session)] == ["pause", "resume"]


def test_cancel_asks_for_confirmation_first(operator, failed_job, session):
    first = post(operator, f"/jobs/{failed_job.id}/cancel")
    assert first.status_code == 200
    assert f"Cancel job #{failed_job.id} for good?" in text(first)
    assert state_of(session, failed_job) == JobState.FAILED
    assert audit_rows(session) == []
    post(operator, f"/jobs/{failed_job.id}/cancel", {"confirm": "yes"})
    assert state_of(session, failed_job) == JobState.CANCELLED
    assert audit_rows(session) == [("operator", "cancel", failed_job.id)]


@pytest.mark.all_databases
def test_cancel_frees_the_next_job_of_the_relation(operator, failed_job, session, clock):
    later = save_job(session, clock, ("test_echo", {}), relation_id="cust-1")
    assert "Blocked by job" in text(operator.get(f"/jobs/{later.id}"))
    post(operator, f"/jobs/{failed_job.id}/cancel", {"confirm": "yes"})
    assert "Blocked by job" not in text(operator.get(f"/jobs/{later.id}"))


@pytest.mark.all_databases
def test_run_now_runs_the_job_here_and_tells_the_outcome(operator, session, clock):
    job = save_job(session, clock, ("test_echo", {"x": 1}))
    response = post(operator, f"/jobs/{job.id}/run", follow_redirects=True)
    assert f"Job #{job.id} ran: now completed; 1 request(s) succeeded" in text(response)
    assert state_of(session, job) == JobState.COMPLETED
    assert audit_rows(session) == [("operator", "run", job.id)]


def test_run_now_is_refused_when_an_earlier_job_blocks_it(operator, failed_job, session, clock):
    later = save_job(session, clock, ("test_echo", {}), relation_id="cust-1")
    response = post(operator, f"/jobs/{later.id}/run", follow_redirects=True)
    assert (f"Can&#39;t run job #{later.id} now: job {later.id} is blocked by job "
            f"#{failed_job.id}") in text(response)
    assert state_of(session, later) == JobState.PENDING
    assert audit_rows(session) == []


@pytest.mark.all_databases
def test_run_now_is_refused_while_another_digest_holds_the_job(operator, session, clock):
    job = save_job(session, clock, ("test_echo", {}))
    stored = session.get(Job, job.id)
    stored.locked_by, stored.locked_until = "elsewhere:1:x", clock.now.replace(year=2099)
    session.commit()
    response = post(operator, f"/jobs/{job.id}/run", follow_redirects=True)
    assert "is held by digest elsewhere:1:x" in text(response)
    assert state_of(session, job) == JobState.PENDING


def test_the_action_returns_to_the_list_with_its_filters(operator, failed_job):
    response = post(operator, f"/jobs/{failed_job.id}/retry",
                    {"next": "/jobs?state=failed&relation=cust-1"})
    assert response.headers["Location"] == "/jobs?state=failed&relation=cust-1"
