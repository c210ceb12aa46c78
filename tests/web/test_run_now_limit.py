"""Run now is bounded: it stops after DASHBOARD_RUN_SECONDS and says so, and its audit
entry is committed before the job starts, so a run cut off is still on record."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.api import tokens
from dashboard.audit import AuditEntry
from dashboard.queue import Job, JobState
from dashboard.queue.jobs.models import Request
from tests.support.factories import save_job
from tests.support.web import post, run_digest, text

pytestmark = pytest.mark.all_databases


def audit_details(session) -> list[tuple[str, str]]:
    session.rollback()
    return list(session.execute(sa.select(AuditEntry.action, AuditEntry.detail)))


def request_states(session, job_id: int) -> list[str]:
    session.rollback()
    return [s.value for s in session.scalars(
        sa.select(Request.state).where(Request.job_id == job_id).order_by(Request.position))]


def test_run_now_stops_at_its_time_limit_and_the_digest_runs_the_rest(
        app, operator, session, clock):
    app.config["DASHBOARD_RUN_SECONDS"] = 3
    job = save_job(session, clock, *[("test_sleeps", {"seconds": seconds, "n": n})
                                     for n, seconds in enumerate([0.0, 6.0, 0.0])])
    response = post(operator, f"/jobs/{job.id}/run", follow_redirects=True)
    page = text(response)
    # The limit passes during the second request, 3 s into its 6: a loaded host has 3 s to
    # start it, and its timer 3 s to fire. That one finishes, the third waits.
    assert (f"Job #{job.id} was still running after 3 s, the limit of Run now: it stopped "
            "after its current request (2 request(s) succeeded") in page
    assert "the digest runs the rest at its next run" in page
    assert request_states(session, job.id) == ["succeeded", "succeeded", "pending"]
    assert session.get(Job, job.id).state == JobState.PENDING
    [(action, detail)] = audit_details(session)
    assert action == "run" and detail.startswith("still pending: 2 request(s) succeeded")
    run_digest(session, clock)
    assert request_states(session, job.id) == ["succeeded"] * 3


def test_run_now_within_its_limit_tells_the_outcome(app, operator, session, clock):
    job = save_job(session, clock, ("test_sleeps", {"seconds": 0.1}))
    response = post(operator, f"/jobs/{job.id}/run", follow_redirects=True)
    assert f"Job #{job.id} ran: now completed; 1 request(s) succeeded" in text(response)
    [(action, detail)] = audit_details(session)
    assert action == "run" and detail.startswith("completed: 1 request(s) succeeded")


def test_a_run_whose_worker_is_killed_is_on_record(operator, session, clock):
    # gunicorn ends a worker that overran its timeout with SystemExit, mid-request.
    job = save_job(session, clock, ("test_kills_its_worker", {}))
    with pytest.raises(SystemExit):
        post(operator, f"/jobs/{job.id}/run")
    assert audit_details(session) == [("run", "started, no outcome recorded")]


def test_the_api_says_when_the_run_was_cut_off(app, session, clock):
    _, secret = tokens.create(session, "ops", "operator", now=clock.now)
    session.commit()
    # The limit passes while the first request runs, with 2.7 s to spare for a loaded
    # host's timer thread.
    app.config["DASHBOARD_RUN_SECONDS"] = 0.3
    job = save_job(session, clock, ("test_sleeps", {"seconds": 3.0, "n": 0}),
                   ("test_sleeps", {"seconds": 0.0, "n": 1}))
    response = app.test_client().post(f"/api/v1/jobs/{job.id}/run",
                                      headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 200
    body = response.get_json()
    assert body["message"].startswith(f"Job #{job.id} was still running after 0.3 s")
    assert body["job"]["state"] == "pending"
