"""On PostgreSQL every step and save has one statement of its own; what takes the general
way instead is logged and counted by reason (queue/database/general_way.py)."""

from __future__ import annotations

import logging

import pytest
from sqlalchemy.orm import Session

from dashboard.app.extensions import db
from dashboard.queue import JobBuilder, JobDigest, JobRepository, QueueSettings
from dashboard.queue.database import general_way
from tests.support.factories import make_job, save_job

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)


def run(session, clock, concurrency: int):
    digest = JobDigest(session, settings=QueueSettings(lease_seconds=3600), clock=clock,
                       concurrency=concurrency)
    session.commit()
    return digest.execute()


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_digest_whose_requests_succeed_takes_no_general_step(session, clock, concurrency):
    # Jobs of one, two and three requests: each step is a start alone, an outcome and the
    # next start of the same job, the last outcome alone, or a last outcome and another
    # job's start (at concurrency 4, several in one group's transaction).
    for n in range(12):
        save_job(session, clock, *(("test_echo", {"n": n, "k": k}) for k in range(n % 3 + 1)))
    result = run(session, clock, concurrency)
    assert result.succeeded == sum(n % 3 + 1 for n in range(12))
    assert result.general_way == {}
    assert "general way" not in result.summary()


def test_a_failed_request_is_counted_and_logged_with_its_reason(session, clock, caplog):
    save_job(session, clock, ("test_echo", {"n": 1}), ("test_boom", {}))
    with caplog.at_level(logging.DEBUG, logger="dashboard.general_way"):
        result = run(session, clock, 1)
    assert result.retrying == 1
    assert result.general_way == {"a request failed": 1}
    assert "1 steps the general way (a request failed: 1)" in result.summary()
    [line] = [r.getMessage() for r in caplog.records if r.name == "dashboard.general_way"]
    assert line.endswith("took the general way: a request failed")
    assert "'s outcome of request" in line


def saves_counted(reason: str) -> int:
    return general_way.SAVES.counts().get(reason, 0)


def test_a_save_through_the_engine_is_not_counted(session, clock):
    before = general_way.SAVES.counts()
    JobRepository(session, clock).save(make_job(("test_echo", {"n": 1})))
    assert general_way.SAVES.counts() == before


def test_a_save_through_a_session_bound_to_one_connection_is_counted(app, clock):
    before = saves_counted("a session bound to one connection")
    with db.engine.connect() as conn, Session(bind=conn) as own:
        saved = JobRepository(own, clock).save(make_job(("test_echo", {"n": 1})))
    assert saved.id is not None
    assert saves_counted("a session bound to one connection") == before + 1


def test_a_save_of_jobs_with_unique_keys_is_counted(session, clock):
    before = saves_counted("jobs with unique keys")
    job = JobBuilder().set_unique_key("once").create()
    job.request_builder().set_type_code("test_echo").set_payload({"n": 1}).create()
    JobRepository(session, clock).save(job)
    assert saves_counted("jobs with unique keys") == before + 1
