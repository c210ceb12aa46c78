"""Pausing a request type over the HTTP API: an operator token (unscoped) pauses and
resumes; the jobs of the type wait meanwhile; every other token is refused."""

from __future__ import annotations

import pytest

from dashboard.queue import JobDigest, JobRepository, JobState, QueueSettings
from tests.support.api import audit_rows, job_body, scoped_token


def run(session, clock):
    JobDigest(session, settings=QueueSettings(), clock=clock).execute()


def state(session, job_id):
    session.expire_all()
    return JobRepository(session).get(job_id).state


def test_an_operator_pauses_a_type_its_new_jobs_wait_then_resumes_it(api, session, clock):
    answer = api("operator").post("/api/v1/types/test_echo/pause")
    assert answer.status_code == 200
    assert answer.json == {"message": answer.json["message"], "type_code": "test_echo",
                           "changed": True, "paused": True}
    job_id = api("enqueue").post("/api/v1/jobs", json=job_body(("test_echo", {}))).json["id"]
    clock.advance(seconds=1)
    run(session, clock)
    assert state(session, job_id) == JobState.PENDING

    again = api("operator").post("/api/v1/types/test_echo/pause")
    assert (again.status_code, again.json["changed"]) == (200, False)
    resumed = api("operator").post("/api/v1/types/test_echo/resume")
    assert resumed.json["paused"] is False and resumed.json["changed"] is True
    run(session, clock)
    assert state(session, job_id) == JobState.COMPLETED
    assert [row[:2] for row in audit_rows(session)] == [
        ("token:operator", "type-pause"), ("token:operator", "type-resume")]


@pytest.mark.parametrize("role", ["viewer", "enqueue"])
def test_only_an_operator_token_may_pause(api, session, role):
    answer = api(role).post("/api/v1/types/test_echo/pause")
    assert answer.status_code == 403 and "operator" in answer.json["message"]
    assert audit_rows(session) == []


def test_a_token_scoped_to_sources_may_not_pause_a_type(app, runner, session):
    answer = scoped_token(app, runner, "operator", "crm").post(
        "/api/v1/types/test_echo/pause")
    assert answer.status_code == 403 and "every source" in answer.json["message"]
    assert [row[1] for row in audit_rows(session)] == ["token-create"]


def test_an_unknown_type_is_a_404_that_names_it(api, session):
    answer = api("operator").post("/api/v1/types/no_such_type/pause")
    assert answer.status_code == 404
    assert answer.json["message"] == "no request type has the code 'no_such_type'"
    assert audit_rows(session) == []
