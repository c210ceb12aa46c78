"""GET /api/v1/jobs/<id>: the job, its requests (secrets masked) and every attempt."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.queue import Request
from dashboard.queue.jobs.masking import MASK
from tests.support.factories import save_job
from tests.support.running import mark_running
from tests.support.web import run_digest


def test_a_job_with_its_requests_results_and_attempts(api, session, clock):
    job = save_job(session, clock, ("test_echo", {"api_key": "k-1", "n": 1}),
                   ("test_flaky", {"fail_times": 1}), relation_id="cust-1", store_id=2)
    run_digest(session, clock)
    clock.advance(minutes=1)
    run_digest(session, clock)
    body = api("viewer").get(f"/api/v1/jobs/{job.id}").get_json()
    assert (body["id"], body["state"], body["relation_id"], body["store_id"]) == (
        job.id, "completed", "cust-1", 2)
    assert body["finished_at"].endswith("+00:00") and body["blocked_by"] is None
    echo, flaky = body["requests"]
    assert echo["payload"] == {"api_key": MASK, "n": 1}
    assert echo["result"]["payload"] == {"api_key": MASK, "n": 1}  # results are masked too
    assert [a["outcome"] for a in echo["history"]] == ["succeeded"]
    assert flaky["result"] == {"attempt": 2}
    assert [(a["number"], a["outcome"], a["error"]) for a in flaky["history"]] == [
        (1, "failed", "ConnectionError: attempt 1 timed out"), (2, "succeeded", None)]
    assert flaky["history"][0]["traceback"] is None  # server paths: for operators only
    operator = api("operator").get(f"/api/v1/jobs/{job.id}").get_json()
    assert "Traceback" in operator["requests"][1]["history"][0]["traceback"]


@pytest.mark.all_databases
def test_a_job_held_back_by_an_earlier_one_says_which(api, session, clock):
    first = save_job(session, clock, ("test_not_applicable", {}), relation_id="cust-9")
    run_digest(session, clock)
    later = save_job(session, clock, ("test_echo", {}), relation_id="cust-9")
    assert api("viewer").get(f"/api/v1/jobs/{later.id}").get_json()["blocked_by"] == first.id


@pytest.mark.parametrize("job_id", ["424242", "0", str(2**31), "9" * 40])
def test_an_unknown_job_gets_404(api, job_id):
    response = api("viewer").get(f"/api/v1/jobs/{job_id}")
    assert response.status_code == 404
    assert response.get_json()["error"] == "not-found"


def test_a_stored_payload_that_is_not_json_is_given_as_stored(api, session, clock):
    job = save_job(session, clock, ("test_echo", {"password": "pw"}))
    session.execute(sa.update(Request).where(Request.job_id == job.id)
                    .values(payload='{"password": "pw", broken'))
    session.commit()
    response = api("viewer").get(f"/api/v1/jobs/{job.id}")
    assert response.status_code == 200
    assert response.get_json()["requests"][0]["payload"] == '{"password": "pw", broken'


def test_a_running_request_gives_its_start_elapsed_time_and_timeout(api, session, clock):
    job = save_job(session, clock, ("test_echo", {"n": 1}), ("test_echo", {"n": 2}))
    mark_running(session, job, clock.now - timedelta(seconds=42))
    running, waiting = api("viewer").get(f"/api/v1/jobs/{job.id}").get_json()["requests"]
    assert running["running"] == {"started_at": (clock.now - timedelta(seconds=42)).isoformat(),
                                  "elapsed": 42.0, "timeout": 300.0}
    assert waiting["running"] is None
