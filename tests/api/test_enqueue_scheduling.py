"""run_at, delay_seconds, unique_key and priority over HTTP, one job and in batches, on
every database: stored as the Python API stores them, refused with the field named."""

from __future__ import annotations

from datetime import timedelta

import pytest

from dashboard.queue import Job, JobState
from tests.support.api import counts, job_body


def enqueue(api, **fields):
    return api().post("/api/v1/jobs", job_body(("test_echo", fields.pop("payload", {})),
                                               **fields))


def stored(session, job_id: int) -> Job:
    session.rollback()
    return session.get(Job, job_id)


@pytest.mark.all_databases
@pytest.mark.parametrize("run_at", ["2026-01-05T10:10:00+01:00", "2026-01-05T09:10:00Z",
                                    "2026-01-05t09:10:00.000z"])
def test_run_at_with_its_offset_is_when_the_job_becomes_due(api, session, clock, run_at):
    response = enqueue(api, run_at=run_at)
    assert response.status_code == 201, response.get_json()
    job = stored(session, response.get_json()["id"])
    assert job.next_attempt_at == clock.now + timedelta(minutes=10)
    assert job.state == JobState.PENDING


def test_delay_seconds_counts_from_the_save(api, session, clock):
    response = enqueue(api, delay_seconds=90.5)
    assert response.status_code == 201
    assert stored(session, response.get_json()["id"]).next_attempt_at == (
        clock.now + timedelta(seconds=90.5))


def test_priority_is_stored_and_a_job_without_one_has_0(api, session):
    high = enqueue(api, priority=100).get_json()["id"]
    plain = enqueue(api).get_json()["id"]
    assert (stored(session, high).priority, stored(session, plain).priority) == (100, 0)


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"run_at": "2026-01-05T09:10:00"}, "run_at", "with its offset"),
    ({"run_at": "2026-01-05"}, "run_at", "with its offset"),
    ({"run_at": "2026-01-05T09:10+01:00"}, "run_at", "RFC 3339"),
    ({"run_at": 1767603000}, "run_at", "RFC 3339"),
    ({"run_at": "0999-01-05T09:10:00Z"}, "run_at", "between the years"),
    ({"run_at": "2026-01-05T09:10:00Z", "delay_seconds": 5}, "delay_seconds", "not both"),
    ({"delay_seconds": -1}, "delay_seconds", "must not be negative"),
    ({"delay_seconds": "60"}, "delay_seconds", "number of seconds"),
    ({"priority": 101}, "priority", "between -100 and 100"),
    ({"priority": "1"}, "priority", "must be an integer"),
    ({"priority": 1.5}, "priority", "must be an integer"),
    ({"unique_key": ""}, "unique_key", "1 to 255 characters"),
    ({"unique_key": 7}, "unique_key", "must be a string"),
    ({"unique_key": "order\x1b[2J"}, "unique_key", "control characters"),
])
def test_a_bad_scheduling_field_gets_422_naming_it(api, session, fields, field, words):
    response = enqueue(api, **fields)
    assert response.status_code == 422, response.get_json()
    assert response.get_json()["field"] == field
    assert words in response.get_json()["message"]
    assert counts(session) == (0, 0)


@pytest.mark.all_databases
def test_a_unique_key_held_by_an_active_job_answers_200_with_that_job(api, session):
    first = enqueue(api, unique_key="order-7", payload={"n": 1})
    assert first.status_code == 201
    again = enqueue(api, unique_key="order-7", payload={"n": 2})
    assert again.status_code == 200
    body = again.get_json()
    assert body["id"] == first.get_json()["id"]
    assert again.headers["Location"] == body["url"]
    assert [r["payload"] for r in body["requests"]] == [{"n": 1}]  # the first job, whole
    assert counts(session) == (1, 1)


@pytest.mark.all_databases
def test_the_key_is_free_again_once_the_job_is_cancelled(api, session):
    first = enqueue(api, unique_key="order-7").get_json()["id"]
    assert api().post(f"/api/v1/jobs/{first}/cancel").status_code == 200
    again = enqueue(api, unique_key="order-7")
    assert again.status_code == 201
    assert again.get_json()["id"] != first


@pytest.mark.all_databases
def test_a_batch_answers_the_holders_ids_for_duplicates(api, session):
    held = enqueue(api, unique_key="a").get_json()["id"]
    response = api().post("/api/v1/jobs/batch", {"jobs": [
        job_body(("test_echo", {"n": 1}), unique_key="a"),
        job_body(("test_echo", {"n": 2}), unique_key="b", priority=5, delay_seconds=60),
        job_body(("test_echo", {"n": 3}), unique_key="b"),
        job_body(("test_echo", {"n": 4}))]})
    assert response.status_code == 201
    ids, duplicates = response.get_json()["ids"], response.get_json()["duplicates"]
    assert ids[0] == held and ids[2] == ids[1] and len(set(ids)) == 3
    assert duplicates == [0, 2]
    assert stored(session, ids[1]).priority == 5
    assert counts(session) == (3, 3)


def test_a_bad_scheduling_field_in_a_batch_is_named_and_nothing_is_saved(api, session):
    response = api().post("/api/v1/jobs/batch", {"jobs": [
        job_body(("test_echo", {}), unique_key="a"),
        job_body(("test_echo", {}), run_at="tomorrow")]})
    assert response.status_code == 422
    assert response.get_json()["field"] == "jobs[1].run_at"
    assert counts(session) == (0, 0)
