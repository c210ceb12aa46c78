"""POST /api/v1/jobs/<id>/<action>: the dashboard's buttons, their refusals (409) and audit."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.queue import Job, JobState
from tests.support.api import audit_rows
from tests.support.factories import save_job
from tests.support.web import run_digest


def state_of(session, job_id: int) -> JobState:
    session.rollback()
    return session.scalar(sa.select(Job.state).where(Job.id == job_id))


@pytest.fixture
def failed_job(session, clock):
    job = save_job(session, clock, ("test_not_applicable", {}), relation_id="cust-1")
    run_digest(session, clock)
    return job


@pytest.mark.all_databases
@pytest.mark.parametrize(("action", "before", "after", "message"), [
    ("retry", "failed", "pending", "is due again"),
    ("cancel", "failed", "cancelled", "is cancelled"),
    ("pause", "pending", "paused", "is paused"),
    ("resume", "paused", "pending", "is resumed"),
    ("run", "pending", "completed", "ran: now completed; 1 request(s) succeeded"),
])
def test_each_action_as_the_buttons_do_recorded_under_the_token(
        api, session, clock, action, before, after, message):
    if before == "failed":
        job = save_job(session, clock, ("test_not_applicable", {}))
        run_digest(session, clock)
    else:
        job = save_job(session, clock, ("test_echo", {}))
        if before == "paused":
            session.execute(sa.update(Job).where(Job.id == job.id).values(state=JobState.PAUSED))
            session.commit()
    assert state_of(session, job.id) == before
    response = api("operator").post(f"/api/v1/jobs/{job.id}/{action}")
    assert response.status_code == 200
    body = response.get_json()
    assert message in body["message"]
    assert body["job"]["id"] == job.id and body["job"]["state"] == after
    assert state_of(session, job.id) == after
    assert audit_rows(session) == [("token:operator", action, job.id)]


@pytest.mark.parametrize(("action", "reason"), [
    ("resume", "can't resume job {id}: it is failed (only paused jobs)"),
    ("pause", "can't pause job {id}: it is failed"),
    ("run", "job {id} is failed; only pending or retrying jobs run"),
])
def test_an_action_that_does_not_apply_gets_409_and_changes_nothing(
        api, session, failed_job, action, reason):
    response = api("operator").post(f"/api/v1/jobs/{failed_job.id}/{action}")
    assert response.status_code == 409
    body = response.get_json()
    assert body["error"] == "refused"
    assert reason.format(id=failed_job.id) in body["message"]
    assert state_of(session, failed_job.id) == JobState.FAILED
    assert audit_rows(session) == []


@pytest.mark.all_databases
def test_run_is_refused_while_an_earlier_job_of_the_relation_blocks_it(
        api, session, clock, failed_job):
    later = save_job(session, clock, ("test_echo", {}), relation_id="cust-1")
    response = api("operator").post(f"/api/v1/jobs/{later.id}/run")
    assert response.status_code == 409
    assert f"is blocked by job #{failed_job.id}" in response.get_json()["message"]
    assert state_of(session, later.id) == JobState.PENDING


@pytest.mark.parametrize(("job_id", "message"), [
    ("424242", "job 424242 does not exist"),
    (str(2**31), "2147483648 is not an id: ids are whole numbers from 1 to 2147483647."),
])
def test_an_action_on_an_unknown_job_gets_404(api, job_id, message):
    response = api("operator").post(f"/api/v1/jobs/{job_id}/retry")
    assert response.status_code == 404
    assert response.get_json()["message"] == message


@pytest.mark.parametrize("role", ["enqueue", "viewer"])
def test_only_operators_act(api, session, failed_job, role):
    response = api(role).post(f"/api/v1/jobs/{failed_job.id}/retry")
    assert response.status_code == 403
    assert state_of(session, failed_job.id) == JobState.FAILED
    assert audit_rows(session) == []


def test_an_unknown_action_gets_404_json(api, failed_job):
    response = api("operator").post(f"/api/v1/jobs/{failed_job.id}/explode")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not-found"


def test_actions_are_post_only(api, failed_job):
    response = api("operator").get(f"/api/v1/jobs/{failed_job.id}/retry")
    assert response.status_code == 405
    assert response.headers["Allow"] == "POST"
    assert response.get_json()["error"] == "method-not-allowed"
