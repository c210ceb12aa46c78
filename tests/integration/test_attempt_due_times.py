"""Each attempt says when it was due (``attempts.due_at``, the queue latency's start): its
job's run-at or retry time for the first request a run takes, the previous request's end
for the next one, and never after its own start. Written the PostgreSQL fast way (a
request that succeeded) and the general way (one that failed, and SQLite's and
MariaDB's every step)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.queue import JobBuilder, JobDigest, JobRepository, QueueSettings
from dashboard.queue.jobs.models import Attempt, Job, Request
from tests.support.clock import Clock
from tests.support.statements import sent_statements


class TickingClock(Clock):
    """A clock a second further on each time it is read: an attempt ends after it starts,
    and the next one starts after that."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            self.now += timedelta(seconds=1)
            return self.now


def attempt_inserts(sent: Callable[[], list[str]]) -> list[str]:
    return [s for s in sent() if "INSERT INTO attempts" in s]


def save(session, clock, *types: str, run_at: datetime | None = None) -> int:
    job = JobBuilder().set_run_at(run_at).create()
    for n, type_code in enumerate(types):  # test_flaky fails once, then succeeds
        job.request_builder().set_type_code(type_code).set_payload(
            {"n": n, "fail_times": 1}).create()
    return JobRepository(session, clock).save(job).id


def run(session, clock, job_id: int | None = None) -> None:
    digest = JobDigest(session, settings=QueueSettings(lease_seconds=3600), clock=clock,
                       concurrency=1)
    if job_id is not None:
        digest.set_job(JobRepository(session).get(job_id))
    digest.execute()
    session.expire_all()


def attempts_of(session, job_id: int) -> list[Attempt]:
    return list(session.scalars(
        sa.select(Attempt).join(Request).where(Request.job_id == job_id)
        .order_by(Request.position, Attempt.number)))


def next_attempt_at(session, job_id: int) -> datetime:
    return session.get(Job, job_id).next_attempt_at


def on_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def test_a_delayed_job_was_due_at_its_run_at_time_and_its_next_request_at_the_first_end(
        session):
    clock = TickingClock()
    run_at = clock.now + timedelta(minutes=10)
    job_id = save(session, clock, "test_echo", "test_echo", run_at=run_at)
    clock.now += timedelta(hours=1)
    with sent_statements() as sent:
        run(session, clock)
    first, second = attempts_of(session, job_id)
    assert first.outcome == second.outcome == "succeeded"
    assert first.due_at == run_at < first.started_at
    assert second.due_at == first.finished_at < second.started_at
    # Both written by PostgreSQL's one statement of a step, else by a plain INSERT.
    fast = [s.lstrip().startswith("WITH") for s in attempt_inserts(sent)]
    assert fast == [on_postgresql()] * 2, attempt_inserts(sent)


def test_a_retry_was_due_at_its_retry_time(session):
    clock = TickingClock()
    job_id = save(session, clock, "test_flaky")
    due = next_attempt_at(session, job_id)  # at once, as saved
    with sent_statements() as sent:
        run(session, clock)
    retry_at = next_attempt_at(session, job_id)
    assert retry_at > due
    clock.now = retry_at + timedelta(minutes=5)
    with sent_statements() as sent_again:
        run(session, clock)
    failed, succeeded = attempts_of(session, job_id)
    assert (failed.outcome, succeeded.outcome) == ("failed", "succeeded")
    assert failed.due_at == due <= failed.started_at
    assert succeeded.due_at == retry_at < succeeded.started_at
    # The failure went the general way everywhere; the success, on PostgreSQL, the fast way.
    assert [s.lstrip().startswith("WITH") for s in attempt_inserts(sent)] == [False]
    assert [s.lstrip().startswith("WITH")
            for s in attempt_inserts(sent_again)] == [on_postgresql()]


def test_a_job_run_now_before_its_run_at_time_was_due_at_its_start(session):
    clock = TickingClock()
    job_id = save(session, clock, "test_echo", run_at=clock.now + timedelta(days=1))
    run(session, clock, job_id)
    attempt, = attempts_of(session, job_id)
    assert attempt.due_at == attempt.started_at

