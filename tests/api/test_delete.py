"""DELETE /api/v1/jobs/{id}: an admin token deletes a finished job, audited; others are
refused."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.api import tokens
from dashboard.queue import Job
from tests.support.api import ApiClient, audit_rows
from tests.support.factories import save_job
from tests.support.web import run_digest

# A delete cascades through each database's foreign keys: every test on all three.
pytestmark = pytest.mark.all_databases


@pytest.fixture
def admin_api(app, session, clock) -> ApiClient:
    _, secret = tokens.create(session, "admin", "admin", now=clock.now)
    session.commit()
    return ApiClient(app.test_client(), secret)


@pytest.fixture
def failed_job(session, clock) -> int:
    job = save_job(session, clock, ("test_not_applicable", {}))
    run_digest(session, clock)
    session.rollback()
    return job.id


def exists(session, job_id: int) -> bool:
    session.rollback()
    return session.scalar(sa.select(Job.id).where(Job.id == job_id)) is not None


def test_an_admin_token_deletes_a_finished_job(admin_api, session, failed_job):
    response = admin_api.open(f"/api/v1/jobs/{failed_job}", "DELETE")
    assert response.status_code == 200
    assert response.get_json() == {"message": f"Job #{failed_job} is deleted.",
                                   "id": failed_job}
    assert not exists(session, failed_job)
    assert audit_rows(session) == [("token:admin", "delete", failed_job)]
    assert admin_api.open(f"/api/v1/jobs/{failed_job}", "DELETE").status_code == 404


def test_an_unfinished_job_is_refused_with_409(admin_api, session, clock):
    job = save_job(session, clock, ("test_echo", {}))
    response = admin_api.open(f"/api/v1/jobs/{job.id}", "DELETE")
    assert response.status_code == 409
    assert "it is pending" in response.get_json()["message"]
    assert exists(session, job.id)


def test_an_operator_token_may_not_delete(api, session, failed_job):
    response = api("operator").open(f"/api/v1/jobs/{failed_job}", "DELETE")
    assert response.status_code == 403
    assert "it needs a token of role admin" in response.get_json()["message"]
    assert api("operator").post(f"/api/v1/jobs/{failed_job}/delete").status_code == 404
    assert exists(session, failed_job)
    assert audit_rows(session) == []
