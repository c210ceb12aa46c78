"""The digest's rules, on every database."""

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.queue import (
    Job,
    JobDigest,
    JobRepository,
    JobState,
    QueueSettings,
    Request,
    RequestState,
    RetryStrategy,
)
from dashboard.queue.operations import actions
from tests.support.factories import make_job, save_job


def digest(session, clock, **settings):
    return JobDigest(session, settings=QueueSettings(**settings), clock=clock)


def reload(session, job):
    session.expire_all()
    return JobRepository(session).get(job.id)


def test_request_that_keeps_failing_follows_the_schedule_then_fails(session, clock):
    job = save_job(session, clock, ("test_boom", {}), ("test_echo", {}))
    waits = []
    for _ in range(9):
        failed_at = clock.now
        digest(session, clock).execute()
        stored = reload(session, job)
        if stored.state == JobState.FAILED:
            break
        waits.append(stored.next_attempt_at - failed_at)
        clock.now = stored.next_attempt_at + timedelta(seconds=1)
    hours = [round(w / timedelta(hours=1), 3) for w in waits]
    assert hours == [0, 2, 4, 6, 8, 10, 12, 14]
    first, second = stored.requests
    assert (first.state, first.attempts) == (RequestState.FAILED, 9)
    assert [a.number for a in first.history] == list(range(1, 10))
    assert first.last_error == "RuntimeError: boom"
    assert "Traceback" in first.history[0].traceback
    # A request that never ran stays pending when its job fails.
    assert second.state == RequestState.PENDING
    assert stored.finished_at is not None


def test_a_failed_request_is_not_retried_within_the_same_run(session, clock):
    job = save_job(session, clock, ("test_flaky", {"fail_times": 1}))
    result = digest(session, clock).execute()
    assert (result.jobs, result.retrying) == (1, 1)
    assert reload(session, job).state == JobState.RETRYING
    clock.advance(seconds=60)
    result = digest(session, clock).execute()
    assert (result.jobs, result.succeeded) == (1, 1)
    stored = reload(session, job)
    assert stored.state == JobState.COMPLETED
    assert [a.outcome for a in stored.requests[0].history] == ["failed", "succeeded"]


def test_permanent_failure_fails_at_once_without_retries(session, clock):
    job = save_job(session, clock, ("test_echo", {}), ("test_not_applicable", {}),
                   ("test_echo", {"later": 1}))
    result = digest(session, clock).execute()
    assert (result.succeeded, result.failed, result.retrying) == (1, 1, 0)
    stored = reload(session, job)
    assert stored.state == JobState.FAILED
    assert [r.state for r in stored.requests] == [
        RequestState.SUCCEEDED, RequestState.FAILED, RequestState.PENDING]
    assert stored.requests[1].last_error == "customer is outside the synced groups"
    assert stored.requests[1].attempts == 1


def test_unknown_type_fails_the_attempt_and_is_retried(session, clock):
    job = save_job(session, clock, ("not_deployed_yet", {}))
    digest(session, clock).execute()
    stored = reload(session, job)
    assert stored.state == JobState.RETRYING
    assert stored.requests[0].last_error == "unknown request type 'not_deployed_yet'"


def test_a_result_json_cannot_hold_fails_the_attempt(session, clock):
    job = save_job(session, clock, ("test_not_json", {}))
    digest(session, clock).execute()
    assert "result is not JSON-serialisable" in reload(session, job).requests[0].last_error


def test_type_may_override_attempts_and_delay(session, clock):
    job = save_job(session, clock, ("test_short_schedule", {}))
    digest(session, clock).execute()
    clock.advance(seconds=1)
    digest(session, clock).execute()
    stored = reload(session, job)
    assert stored.next_attempt_at == clock.now + timedelta(seconds=60)
    clock.advance(seconds=61)
    digest(session, clock).execute()
    assert reload(session, job).state == JobState.FAILED
    assert reload(session, job).requests[0].attempts == 3


def test_settings_set_the_schedule(session, clock):
    job = save_job(session, clock, ("test_boom", {}))
    settings = dict(retry=RetryStrategy(max_attempts=2, delay=10))
    digest(session, clock, **settings).execute()
    clock.advance(seconds=1)
    digest(session, clock, **settings).execute()
    assert reload(session, job).state == JobState.FAILED


def test_a_job_resumes_at_its_first_unfinished_request(session, clock):
    job = save_job(session, clock, ("test_echo", {"n": 1}), ("test_flaky", {"fail_times": 1}),
                   ("test_echo", {"n": 3}))
    digest(session, clock).execute()
    clock.advance(seconds=1)
    digest(session, clock).execute()
    stored = reload(session, job)
    assert stored.state == JobState.COMPLETED
    assert [len(r.history) for r in stored.requests] == [1, 2, 1]


def test_dead_jobs_never_take_a_slot(session, clock):
    # The original selected 500 "incomplete" jobs with no filter: 500 dead jobs starved the rest.
    repository = JobRepository(session, clock)
    dead = repository.save_many([make_job(("test_not_applicable", {"n": n})) for n in range(6)])
    digest(session, clock).execute()
    assert {reload(session, j).state for j in dead} == {JobState.FAILED}
    paused = save_job(session, clock, ("test_echo", {"p": 1}))
    actions.apply(session, "pause", paused.id, clock.now)
    session.commit()
    cancelled = save_job(session, clock, ("test_echo", {"c": 1}))
    actions.apply(session, "cancel", cancelled.id, clock.now)
    session.commit()
    clock.advance(seconds=1)
    fresh = save_job(session, clock, ("test_echo", {"fresh": 1}))
    result = digest(session, clock, max_jobs_per_run=1).execute()
    assert result.jobs == 1
    assert reload(session, fresh).state == JobState.COMPLETED
    assert reload(session, paused).state == JobState.PAUSED
    assert reload(session, cancelled).state == JobState.CANCELLED


def test_due_jobs_run_oldest_first_and_at_most_max_per_run(session, clock):
    saved = []
    for n in range(5):
        saved.append(save_job(session, clock, ("test_echo", {"n": n})))
        clock.advance(seconds=1)
    # One at a time, so that they also end in that order.
    result = digest(session, clock, max_jobs_per_run=3, claim_batch=2,
                    concurrency=1).execute()
    assert list(result.outcomes) == [j.id for j in saved[:3]]
    assert reload(session, saved[3]).state == JobState.PENDING


def test_jobs_of_a_relation_run_in_order(session, clock):
    first = save_job(session, clock, ("test_flaky", {"fail_times": 1}), relation_id="cust-1")
    second = save_job(session, clock, ("test_echo", {"n": 2}), relation_id="cust-1")
    other_source = save_job(session, clock, ("test_echo", {"n": 3}), relation_id="cust-1",
                            source_id="crm")
    other_relation = save_job(session, clock, ("test_echo", {"n": 4}), relation_id="cust-2")
    no_relation = save_job(session, clock, ("test_echo", {"n": 5}))
    result = digest(session, clock).execute()
    assert set(result.outcomes) == {first.id, other_source.id, other_relation.id, no_relation.id}
    assert reload(session, second).state == JobState.PENDING
    clock.advance(seconds=1)
    result = digest(session, clock).execute()
    assert list(result.outcomes) == [first.id, second.id]


@pytest.mark.parametrize(("action", "unblocks"), [("cancel", True), ("pause", False)])
def test_finished_jobs_do_not_block_their_relation(session, clock, action, unblocks):
    first = save_job(session, clock, ("test_not_applicable", {}), relation_id="cust-1")
    second = save_job(session, clock, ("test_echo", {}), relation_id="cust-1")
    digest(session, clock).execute()
    assert reload(session, first).state == JobState.FAILED  # failed still blocks
    assert reload(session, second).state == JobState.PENDING
    if action == "pause":
        actions.apply(session, "retry", first.id, clock.now)
        session.commit()
    actions.apply(session, action, first.id, clock.now)
    session.commit()
    clock.advance(seconds=1)
    digest(session, clock).execute()
    expected = JobState.COMPLETED if unblocks else JobState.PENDING
    assert reload(session, second).state == expected


def test_no_transaction_is_open_while_a_type_executes(session, clock, db_url):
    # The type writes to the queue's own database through its own connection; on SQLite a
    # write lock held by the digest across execute() would make it time out.
    job = save_job(session, clock, ("test_writes_own_row", {"url": db_url}))
    digest(session, clock).execute()
    stored = reload(session, job)
    assert stored.requests[0].last_error is None
    assert stored.state == JobState.COMPLETED
    with session.get_bind().connect() as connection:
        assert connection.exec_driver_sql("SELECT job_id FROM side_effects").scalar() == job.id
        connection.exec_driver_sql("DROP TABLE side_effects")
        connection.commit()


def test_run_now_bypasses_the_retry_delay(session, clock):
    job = save_job(session, clock, ("test_flaky", {"fail_times": 2}))
    digest(session, clock).execute()
    clock.advance(seconds=1)
    digest(session, clock).execute()
    assert reload(session, job).next_attempt_at > clock.now
    JobDigest(session, clock=clock).set_job(reload(session, job)).execute()
    assert reload(session, job).state == JobState.COMPLETED


def test_run_now_is_refused_when_an_earlier_job_of_the_relation_is_unfinished(session, clock):
    first = save_job(session, clock, ("test_echo", {}), relation_id="cust-1")
    second = save_job(session, clock, ("test_echo", {"n": 2}), relation_id="cust-1")
    from dashboard.queue import NotRunnable
    with pytest.raises(NotRunnable, match=f"blocked by job #{first.id}"):
        JobDigest(session, clock=clock).set_job(second).execute()
    with pytest.raises(NotRunnable, match="only pending or retrying"):
        actions.apply(session, "cancel", first.id, clock.now)
        session.commit()
        JobDigest(session, clock=clock).set_job(first).execute()


def test_cancel_marks_unfinished_requests_cancelled(session, clock):
    job = save_job(session, clock, ("test_echo", {}), ("test_flaky", {"fail_times": 1}),
                   ("test_echo", {"n": 3}))
    digest(session, clock).execute()
    actions.apply(session, "cancel", job.id, clock.now)
    session.commit()
    stored = reload(session, job)
    assert stored.state == JobState.CANCELLED
    assert [r.state for r in stored.requests] == [
        RequestState.SUCCEEDED, RequestState.CANCELLED, RequestState.CANCELLED]


def test_retrying_a_failed_job_gives_fresh_attempts_and_keeps_history(session, clock):
    job = save_job(session, clock, ("test_not_applicable", {}))
    digest(session, clock).execute()
    actions.apply(session, "retry", job.id, clock.now)
    session.commit()
    stored = reload(session, job)
    assert (stored.state, stored.requests[0].attempts) == (JobState.PENDING, 0)
    clock.advance(seconds=1)
    digest(session, clock).execute()
    stored = reload(session, job)
    assert [a.number for a in stored.requests[0].history] == [1, 2]


def test_pause_and_resume(session, clock):
    job = save_job(session, clock, ("test_echo", {}))
    actions.apply(session, "pause", job.id, clock.now)
    session.commit()
    assert digest(session, clock).execute().jobs == 0
    with pytest.raises(actions.ActionRefused, match="it is paused"):
        actions.apply(session, "pause", job.id, clock.now)
    actions.apply(session, "resume", job.id, clock.now)
    session.commit()
    assert reload(session, job).state == JobState.PENDING
    assert digest(session, clock).execute().jobs == 1


def test_actions_that_do_not_apply_are_refused_and_change_nothing(session, clock):
    job = save_job(session, clock, ("test_echo", {}))
    digest(session, clock).execute()
    for action in ("retry", "pause", "resume", "cancel"):
        with pytest.raises(actions.ActionRefused, match="it is completed"):
            actions.apply(session, action, job.id, clock.now)
    assert reload(session, job).state == JobState.COMPLETED
    with pytest.raises(actions.ActionRefused, match="does not exist"):
        actions.apply(session, "retry", 999_999, clock.now)


def test_a_digest_run_is_recorded(session, clock):
    save_job(session, clock, ("test_echo", {}))
    digest(session, clock).execute()
    from dashboard.queue import DigestRun
    run = session.scalars(sa.select(DigestRun)).one()
    assert (run.jobs, run.succeeded, run.error) == (1, 1, None)
    assert run.finished_at is not None


def test_max_seconds_stops_taking_new_jobs(session, clock):
    for n in range(3):
        save_job(session, clock, ("test_echo", {"n": n}))
    result = digest(session, clock).execute(max_seconds=0)
    assert result.jobs == 0
    assert session.scalar(
        sa.select(sa.func.count()).select_from(Job).where(Job.locked_by.is_not(None))) == 0


def test_a_stored_result_that_is_not_json_is_handed_on_as_stored(session, clock):
    # The second request fails once: the job is taken again with the first one done.
    job = save_job(session, clock, ("test_echo", {}), ("test_flaky", {"fail_times": 1}))
    digest(session, clock).execute()
    first = reload(session, job).requests[0]
    session.execute(sa.update(Request).where(Request.id == first.id).values(result="{oops"))
    session.commit()
    clock.advance(seconds=60)
    result = digest(session, clock).execute()  # crashed with JSONDecodeError, every run
    assert (result.jobs, result.succeeded) == (1, 1)
    assert reload(session, job).state == JobState.COMPLETED


def test_a_job_written_without_requests_fails_no_run(session, clock):
    """Only a hand-written row can have no request. A run that claims it goes on with the
    jobs after it, rather than failing at it again and again; the row is left as it is,
    for an operator to cancel or delete."""
    session.execute(sa.insert(Job.__table__).values(
        source_id="by-hand", state=JobState.PENDING, next_attempt_at=clock.now,
        created_at=clock.now, updated_at=clock.now))
    session.commit()
    empty = session.scalar(sa.select(sa.func.max(Job.id)))
    after = save_job(session, clock, ("test_echo", {"n": 1}))
    result = digest(session, clock).execute()
    assert (result.succeeded, result.failed) == (1, 0)
    assert reload(session, after).state == JobState.COMPLETED
    assert session.get(Job, empty).state == JobState.PENDING
