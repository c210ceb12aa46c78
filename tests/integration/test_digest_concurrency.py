"""One digest running several jobs at once (``concurrency``), in this process, on every
database: how many run at once, and that every rule of a job still holds."""

from __future__ import annotations

import itertools
import json
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.db import Base
from dashboard.queue import (
    Job,
    JobDigest,
    JobRepository,
    JobState,
    QueueSettings,
    RequestContext,
    RequestState,
    RequestType,
)
from tests.support.factories import make_job, save_job


class Overlap(RequestType):
    """Sleeps ``sleep`` seconds, counting how many executions overlap; returns its
    thread and the result it was handed. ``four`` is set when four run at once."""

    type_code = "test_overlap"
    lock = threading.Lock()
    now = 0
    most = 0
    four = threading.Event()

    def execute(self, payload: Any, context: RequestContext) -> Any:
        with Overlap.lock:
            Overlap.now += 1
            Overlap.most = max(Overlap.most, Overlap.now)
            if Overlap.now == 4:
                Overlap.four.set()
        try:
            time.sleep(payload.get("sleep", 0.1))
        finally:
            with Overlap.lock:
                Overlap.now -= 1
        return {"thread": threading.get_ident(), "step": payload.get("step"),
                "previous": context.previous_result}


@pytest.fixture(autouse=True)
def overlap():
    Overlap.now = Overlap.most = 0
    Overlap.four.clear()
    return Overlap


def digest(session, clock, concurrency, **settings):
    return JobDigest(session, settings=QueueSettings(**settings), clock=clock,
                     concurrency=concurrency)


def overlapping_jobs(session, clock, count, steps=1, sleep=0.1, **fields):
    return [save_job(session, clock, *[("test_overlap", {"step": s, "n": n, "sleep": sleep})
                                       for s in range(steps)], **fields)
            for n in range(count)]


def stored(session, job):
    session.expire_all()
    return JobRepository(session).get(job.id)


def test_up_to_concurrency_jobs_run_at_once(session, clock, overlap):
    jobs = overlapping_jobs(session, clock, 12, sleep=0.2)
    started = time.monotonic()
    result = digest(session, clock, concurrency=4).execute()
    seconds = time.monotonic() - started
    assert (result.jobs, result.succeeded) == (12, 12)
    assert overlap.most == 4
    assert seconds < 12 * 0.2 * 0.75, seconds  # one at a time takes 2.4 s
    assert {stored(session, job).state for job in jobs} == {JobState.COMPLETED}


def test_concurrency_one_runs_one_job_at_a_time(session, clock, overlap):
    overlapping_jobs(session, clock, 3, sleep=0.05)
    assert digest(session, clock, concurrency=1).execute().succeeded == 3
    assert overlap.most == 1


def test_a_jobs_requests_run_in_order_in_one_thread_each_handed_the_previous_result(
        session, clock):
    jobs = overlapping_jobs(session, clock, 6, steps=3, sleep=0.02)
    result = digest(session, clock, concurrency=4).execute()
    assert result.succeeded == 18
    for job in jobs:
        requests = stored(session, job).requests
        results = [json.loads(r.result) for r in requests]
        assert [r["step"] for r in results] == [0, 1, 2]
        assert len({r["thread"] for r in results}) == 1, "a job changed threads"
        assert results[0]["previous"] is None
        assert results[1]["previous"] == results[0] and results[2]["previous"] == results[1]
        assert [a.number for r in requests for a in r.history] == [1, 1, 1]


def test_jobs_of_one_relation_never_run_side_by_side(session, clock, overlap):
    jobs = overlapping_jobs(session, clock, 4, steps=2, sleep=0.05, relation_id="cust-1")
    result = digest(session, clock, concurrency=4).execute()
    assert result.succeeded == 8
    assert overlap.most == 1
    ends = [stored(session, job).requests for job in jobs]
    for before, after in itertools.pairwise(ends):
        assert after[0].history[0].started_at >= before[-1].history[0].finished_at


def test_max_jobs_caps_the_jobs_taken_at_any_concurrency(session, clock):
    jobs = overlapping_jobs(session, clock, 12, sleep=0.02)
    result = digest(session, clock, concurrency=4, max_jobs_per_run=5,
                    claim_batch=3).execute()
    assert result.jobs == 5
    states = [stored(session, job) for job in jobs]
    assert [j.state for j in states] == [JobState.COMPLETED] * 5 + [JobState.PENDING] * 7
    assert {j.locked_by for j in states} == {None}


def test_past_max_seconds_no_request_starts_and_jobs_in_flight_are_given_back(
        session, clock, overlap):
    jobs = overlapping_jobs(session, clock, 6, steps=3, sleep=1.2)
    started = time.monotonic()
    result = digest(session, clock, concurrency=4).execute(max_seconds=1)
    # The four requests in flight finished; none started after the deadline (the counts
    # below show it; the time, 1.2 s and a little when idle, that nothing held the digest
    # for long: the bound is loose, as a loaded machine may stall it for seconds).
    assert time.monotonic() - started < 10
    assert (result.succeeded, result.jobs) == (4, 4)
    states = [stored(session, job) for job in jobs]
    assert sorted([r.state for r in j.requests] for j in states) == (
        [[RequestState.PENDING] * 3] * 2 + [[RequestState.SUCCEEDED] + [
            RequestState.PENDING] * 2] * 4)
    assert {(j.state, j.locked_by, j.locked_until) for j in states} == {
        (JobState.PENDING, None, None)}


def test_stop_lets_requests_in_flight_finish_and_gives_back_every_job_at_once(
        session, clock, overlap):
    jobs = overlapping_jobs(session, clock, 6, steps=3, sleep=0.3)
    runner = digest(session, clock, concurrency=4)
    stopper = threading.Thread(target=lambda: overlap.four.wait(30) and runner.stop())
    stopper.start()
    result = runner.execute()
    stopper.join()
    assert (result.succeeded, result.jobs) == (4, 4)
    session.rollback()
    assert session.execute(sa.select(Job.state, Job.locked_by)).all() == [
        (JobState.PENDING, None)] * 6
    assert sum(len(r.history) for job in jobs for r in stored(session, job).requests) == 4


def test_64_jobs_run_at_once_on_the_digests_few_connections(session, clock, overlap):
    # A thread waiting on its call holds no connection: 64 at once share at most
    # QUEUE_DB_CONNECTIONS - 1 (the session has the last one); SQLite's writer is one.
    jobs = overlapping_jobs(session, clock, 64, sleep=2)
    runner = digest(session, clock, concurrency=64, db_connections=4)
    result = runner.execute()
    assert (result.jobs, result.succeeded) == (64, 64)
    assert overlap.most == 64
    assert runner._connections.most <= (1 if runner._engine.dialect.name == "sqlite" else 3)
    assert {stored(session, job).state for job in jobs} == {JobState.COMPLETED}


def test_a_pool_smaller_than_the_digests_connections_is_refused_up_front(session):
    if session.get_bind().dialect.name == "sqlite":
        pytest.skip("SQLite: one writer connection, whatever the pool")
    with pytest.raises(ValueError, match="QUEUE_DB_CONNECTIONS is 64, but the engine's pool "
                                         "gives at most 18"):
        JobDigest(session, settings=QueueSettings(db_connections=64))


@pytest.mark.parametrize("concurrency", [0, -1])
def test_a_concurrency_below_one_is_refused(session, concurrency):
    with pytest.raises(ValueError, match="concurrency must be at least 1"):
        JobDigest(session, concurrency=concurrency)


def test_an_in_memory_sqlite_database_runs_one_job_at_a_time(overlap):
    engine = sa.create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        JobRepository(session).save_many([make_job(("test_overlap", {"n": n, "sleep": 0.01}))
                                          for n in range(3)])
        assert JobDigest(session).concurrency == 1  # the default gives way
        assert JobDigest(session).execute().succeeded == 3
        with pytest.raises(ValueError, match="an in-memory SQLite database can't be shared"):
            JobDigest(session, concurrency=4)
    assert overlap.most == 1
