"""What a digest writes when someone changed its job while a request ran, on every database.

On PostgreSQL the digest's common step is one statement that applies only when the job is
as the digest left it; these are the cases where it does not, and the digest must take
the general way: keep what the request did, respect the operator, write nothing over
another digest's work.
"""

import json

import sqlalchemy as sa

from dashboard.queue import (
    FailureAlert,
    JobDigest,
    JobRepository,
    JobState,
    QueueSettings,
    Request,
    RequestState,
)
from dashboard.queue.operations import actions
from tests.support.factories import save_job


def digest(session, clock, **settings):
    return JobDigest(session, settings=QueueSettings(**settings), clock=clock)


def reload(session, job):
    session.expire_all()
    return JobRepository(session).get(job.id)


def interferes(db_url, do, **payload):
    return ("test_interferes", {"url": db_url, "do": do, **payload})


def test_a_job_paused_during_a_request_keeps_its_outcome_and_stops_there(
        session, clock, db_url):
    job = save_job(session, clock, interferes(db_url, "pause"), ("test_echo", {"n": 2}))
    result = digest(session, clock).execute()
    stored = reload(session, job)
    assert (stored.state, stored.locked_by) == (JobState.PAUSED, None)
    assert [r.state for r in stored.requests] == [RequestState.SUCCEEDED, RequestState.PENDING]
    assert [len(r.history) for r in stored.requests] == [1, 0]
    assert result.outcomes == {job.id: "released"}

    actions.apply(session, "resume", job.id, clock.now)
    session.commit()
    clock.advance(seconds=1)
    digest(session, clock).execute()
    stored = reload(session, job)
    assert stored.state == JobState.COMPLETED
    assert [len(r.history) for r in stored.requests] == [1, 1]  # the first ran once


def test_a_job_cancelled_during_a_failing_request_is_not_retried_nor_alerted(
        session, clock, db_url):
    job = save_job(session, clock, interferes(db_url, "cancel", fail=True),
                   ("test_echo", {}))
    digest(session, clock).execute()
    stored = reload(session, job)
    assert (stored.state, stored.locked_by) == (JobState.CANCELLED, None)
    assert [r.state for r in stored.requests] == [RequestState.CANCELLED,
                                                  RequestState.CANCELLED]
    [attempt] = stored.requests[0].history
    assert (attempt.outcome, attempt.error) == ("failed", "ConnectionError: timed out")
    assert session.scalar(sa.select(sa.func.count()).select_from(FailureAlert)) == 0


def test_a_job_cancelled_during_a_request_that_succeeds_keeps_its_result(
        session, clock, db_url):
    job = save_job(session, clock, interferes(db_url, "cancel"), ("test_echo", {}))
    digest(session, clock).execute()
    stored = reload(session, job)
    assert (stored.state, stored.locked_by) == (JobState.CANCELLED, None)
    assert [r.state for r in stored.requests] == [RequestState.SUCCEEDED,
                                                  RequestState.CANCELLED]
    assert stored.requests[0].result == '"done"'


def test_a_digest_that_lost_its_job_to_another_writes_nothing_over_it(
        session, clock, db_url):
    job = save_job(session, clock, interferes(db_url, "take"), ("test_echo", {}))
    result = digest(session, clock).execute()
    stored = reload(session, job)
    assert (stored.state, stored.locked_by) == (JobState.RUNNING, "another digest")
    assert [r.state for r in stored.requests] == [RequestState.RUNNING, RequestState.PENDING]
    assert [len(r.history) for r in stored.requests] == [0, 0]
    assert (result.released, result.succeeded) == (1, 0)


def test_the_next_job_of_a_batch_paused_meanwhile_is_given_back_unstarted(
        session, clock, db_url):
    first = save_job(session, clock, interferes(db_url, "pause"))
    later = save_job(session, clock, ("test_echo", {}))
    # ``first`` pauses ``later``, which it could only name once ``later`` was saved.
    session.execute(sa.update(Request).where(Request.job_id == first.id).values(
        payload=json.dumps(interferes(db_url, "pause", job=later.id)[1])))
    session.commit()
    # One at a time: at a higher concurrency ``later`` would start beside ``first``.
    result = digest(session, clock, concurrency=1).execute()
    assert reload(session, first).state == JobState.COMPLETED
    stored = reload(session, later)
    assert (stored.state, stored.locked_by) == (JobState.PAUSED, None)
    assert stored.requests[0].state == RequestState.PENDING
    assert stored.requests[0].history == []
    assert result.outcomes == {first.id: str(JobState.COMPLETED), later.id: "released"}
