"""POST /api/v1/jobs/batch: up to 1,000 jobs saved all together, or refused with the bad
item named and nothing saved."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from dashboard.queue import Job, JobState
from tests.support.api import counts, job_body, scoped_token
from tests.support.busy import digest_running

pytestmark = pytest.mark.all_databases


def batch(count: int, **fields) -> dict:
    return {"jobs": [job_body(("test_echo", {"n": n}), relation_id=f"r{n % 3}", **fields)
                     for n in range(count)]}


def test_jobs_are_saved_and_their_ids_answered_in_order(api, session):
    body = {"jobs": [job_body(("test_echo", {"n": 1}), ("test_flaky", {"fail_times": 1}),
                              relation_id="cust-1", store_id=4, source_id="shop"),
                     job_body(("test_echo", {"n": 2})),
                     job_body(("test_echo", {"n": 3}), relation_id="5")]}
    response = api("enqueue").post("/api/v1/jobs/batch", body)
    assert response.status_code == 201, response.get_json()
    ids = response.get_json()["ids"]
    assert response.get_json()["duplicates"] == []
    assert len(ids) == 3 and ids == sorted(ids)
    session.rollback()
    saved = [session.get(Job, job_id) for job_id in ids]
    assert [(j.relation_id, j.store_id, j.source_id, j.state) for j in saved] == [
        ("cust-1", 4, "shop", JobState.PENDING), (None, None, "default", JobState.PENDING),
        ("5", None, "default", JobState.PENDING)]
    assert [[r.type_code for r in j.requests] for j in saved] == [
        ["test_echo", "test_flaky"], ["test_echo"], ["test_echo"]]
    assert saved[0].requests[0].payload == '{"n": 1}'


def test_a_thousand_jobs_are_taken(api, session):
    response = api().post("/api/v1/jobs/batch", batch(1000))
    assert response.status_code == 201
    assert len(response.get_json()["ids"]) == 1000
    assert counts(session) == (1000, 1000)


def test_1001_jobs_are_refused_and_none_saved(api, session):
    response = api().post("/api/v1/jobs/batch", batch(1001))
    assert response.status_code == 422
    found = response.get_json()
    assert (found["error"], found["field"]) == ("invalid", "jobs")
    assert "has 1001 jobs; a batch has at most 1000" in found["message"]
    assert counts(session) == (0, 0)


def test_a_bad_500th_job_saves_nothing_and_is_named(api, session):
    body = batch(1000)
    body["jobs"][499]["requests"][0]["type_code"] = "no_such_type"
    body["jobs"][700]["store_id"] = "7"
    response = api().post("/api/v1/jobs/batch", body)
    assert response.status_code == 422
    found = response.get_json()
    assert found["field"] == "jobs[499].requests[0].type_code"
    assert [p["field"] for p in found["problems"]] == [
        "jobs[499].requests[0].type_code", "jobs[700].store_id"]
    assert "no request type has the code 'no_such_type'" in found["message"]
    assert counts(session) == (0, 0)


@pytest.mark.parametrize(("body", "field", "words"), [
    ({}, "jobs", "is required"),
    ({"jobs": []}, "jobs", "at least one job"),
    ({"jobs": {"requests": []}}, "jobs", "must be a list"),
    ([], "body", "must be a JSON object"),
    ({"jobs": ["x"]}, "jobs[0]", "must be an object with requests"),
    ({"jobs": [{}]}, "jobs[0].requests", "is required"),
    ({**batch(1), "priority": 1}, "priority", "unknown field (known: jobs)"),
    ({"jobs": [{**job_body(("test_echo", {})), "delay": 5}]}, "jobs[0].delay",
     "unknown field (known: relation_id, store_id, source_id, run_at, delay_seconds"),
    ({"jobs": [job_body(("test_echo", {}), source_id="")]}, "jobs[0].source_id",
     "non-empty string"),
])
def test_a_bad_body_gets_422_naming_the_field(api, session, body, field, words):
    response = api().post("/api/v1/jobs/batch", body)
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.get_json()["field"] == field
    assert words in response.get_json()["message"]
    assert counts(session) == (0, 0)


def test_a_viewer_token_cant_enqueue_a_batch(api, session):
    response = api("viewer").post("/api/v1/jobs/batch", batch(2))
    assert response.status_code == 403
    assert counts(session) == (0, 0)


def test_a_scoped_token_gets_403_naming_the_job_of_another_source(app, runner, session):
    api = scoped_token(app, runner, "enqueue", "crm")
    body = {"jobs": [job_body(("test_echo", {}), source_id="crm"),
                     job_body(("test_echo", {}), source_id="erp")]}
    response = api.post("/api/v1/jobs/batch", body)
    assert response.status_code == 403
    assert response.get_json()["field"] == "jobs[1].source_id"
    assert counts(session) == (0, 0)
    body["jobs"][1]["source_id"] = "crm"
    assert api.post("/api/v1/jobs/batch", body).status_code == 201


def test_a_batch_counts_once_against_the_rate_limit(app, api):
    app.config["API_RATE_LIMIT"] = "2 per minute"
    client = api("operator")
    assert client.post("/api/v1/jobs/batch", batch(50)).status_code == 201
    assert client.get("/api/v1/jobs").status_code == 200
    assert client.post("/api/v1/jobs/batch", batch(1)).status_code == 429


@pytest.mark.slow
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
def test_batches_go_through_while_a_digest_runs(api, session, db_url, tmp_path):
    with digest_running(session, db_url, tmp_path):
        for _ in range(5):
            response = api().post("/api/v1/jobs/batch", batch(200, source_id="batch"))
            assert response.status_code == 201, response.get_json()
    session.rollback()
    assert session.scalar(sa.select(sa.func.count()).select_from(Job)
                          .where(Job.source_id == "batch")) == 1000
