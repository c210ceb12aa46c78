"""Tokens limited to sources (``tokens create --source S``): enqueue for those only (403
naming the field otherwise); jobs of other sources are not there for them (404, left out
of lists)."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.audit import AuditEntry
from tests.support.api import ApiClient, audit_rows, job_body
from tests.support.busy import digest_running
from tests.support.factories import save_job


def scoped_token(app, runner, role: str, *sources: str) -> ApiClient:
    args = ["tokens", "create", f"{role}-scoped", "--role", role]
    for source in sources:
        args += ["--source", source]
    result = runner.invoke(args=args)
    assert result.exit_code == 0, result.output
    return ApiClient(app.test_client(), result.stdout.strip())


@pytest.fixture
def jobs(session, clock) -> dict[str, int]:
    """source -> the id of a job of that source."""
    return {source: save_job(session, clock, ("test_echo", {}), source_id=source).id
            for source in ("crm", "erp", "default")}


@pytest.mark.parametrize("source", ["crm", "erp"])
def test_a_scoped_token_enqueues_for_its_sources(app, runner, source):
    api = scoped_token(app, runner, "enqueue", "crm", "erp")
    response = api.post("/api/v1/jobs", job_body(("test_echo", {}), source_id=source))
    assert response.status_code == 201, response.get_json()
    assert response.get_json()["source_id"] == source


@pytest.mark.parametrize("fields", [{"source_id": "shop"}, {}])  # {}: source "default"
def test_a_scoped_token_cant_enqueue_for_another_source(app, runner, session, fields):
    api = scoped_token(app, runner, "enqueue", "crm", "erp")
    response = api.post("/api/v1/jobs", job_body(("test_echo", {}), relation_id="cust-1",
                                                 **fields))
    assert response.status_code == 403
    body = response.get_json()
    assert body["field"] == "source_id"
    assert body["message"].startswith("source_id: this token is limited to source_id "
                                      "'crm', 'erp'; got ")
    assert [row[1] for row in audit_rows(session)] == ["token-create"]  # and no job


def test_a_scoped_token_lists_jobs_of_its_sources_only(app, runner, jobs):
    api = scoped_token(app, runner, "viewer", "crm")
    listed = api.get("/api/v1/jobs").get_json()["jobs"]
    assert [job["id"] for job in listed] == [jobs["crm"]]
    assert api.get("/api/v1/jobs?source=crm").get_json()["jobs"] == listed
    refused = api.get("/api/v1/jobs?source=erp")
    assert refused.status_code == 403 and refused.get_json()["field"] == "source"


def test_jobs_of_other_sources_are_not_there_for_a_scoped_token(app, runner, jobs):
    api = scoped_token(app, runner, "operator", "crm")
    assert api.get(f"/api/v1/jobs/{jobs['crm']}").status_code == 200
    for source in ("erp", "default"):
        assert api.get(f"/api/v1/jobs/{jobs[source]}").status_code == 404
        paused = api.post(f"/api/v1/jobs/{jobs[source]}/pause")
        assert paused.status_code == 404
        assert paused.get_json()["message"] == f"job {jobs[source]} does not exist"
    assert api.post(f"/api/v1/jobs/{jobs['crm']}/pause").status_code == 200


def test_a_token_without_sources_sees_every_source(app, runner, jobs):
    api = scoped_token(app, runner, "operator")
    assert len(api.get("/api/v1/jobs").get_json()["jobs"]) == 3
    assert api.post(f"/api/v1/jobs/{jobs['erp']}/pause").status_code == 200


def test_the_cli_lists_and_records_a_tokens_sources(app, runner, session):
    scoped_token(app, runner, "enqueue", "erp", "crm", "crm")
    scoped_token(app, runner, "viewer")
    listed = runner.invoke(args=["tokens", "list"]).stdout.splitlines()
    assert [line.split("\t")[:3] for line in listed] == [
        ["enqueue-scoped", "enqueue", "sources crm,erp"],
        ["viewer-scoped", "viewer", "every source"]]
    session.rollback()
    details = session.scalars(sa.select(AuditEntry.detail).order_by(AuditEntry.id)).all()
    assert details[0] == "created token enqueue-scoped (enqueue, sources crm,erp)"


@pytest.mark.parametrize(("source", "words"), [
    ("", "source_id must be a non-empty string"),
    ("x" * 101, "at most 100 characters"),
    ("bell\x07", "must not contain control characters"),
])
def test_the_cli_refuses_a_bad_source_naming_it(runner, source, words):
    result = runner.invoke(args=["tokens", "create", "shop", "--role", "enqueue",
                                 "--source", "crm", "--source", source])
    assert result.exit_code == 2
    assert "--source" in result.output and words in result.output


def test_replacing_a_token_replaces_its_sources(app, runner):
    scoped_token(app, runner, "enqueue", "crm")
    result = runner.invoke(args=["tokens", "create", "enqueue-scoped", "--role", "enqueue",
                                 "--replace", "--source", "erp"])
    api = ApiClient(app.test_client(), result.stdout.strip())
    assert api.post("/api/v1/jobs", job_body(("test_echo", {}),
                                             source_id="crm")).status_code == 403
    assert api.post("/api/v1/jobs", job_body(("test_echo", {}),
                                             source_id="erp")).status_code == 201


def test_scoped_enqueues_and_refusals_work_while_a_digest_runs(app, runner, session, db_url,
                                                              tmp_path):
    api = scoped_token(app, runner, "enqueue", "crm")
    with digest_running(session, db_url, tmp_path):
        for _ in range(10):
            assert api.post("/api/v1/jobs", job_body(
                ("test_echo", {}), source_id="crm")).status_code == 201
            assert api.post("/api/v1/jobs", job_body(
                ("test_echo", {}), source_id="erp")).status_code == 403
