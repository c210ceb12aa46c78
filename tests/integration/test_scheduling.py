"""Run at / delay, unique keys and priorities through the Python API, on every database."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.orm import Session

from dashboard.app.extensions import db
from dashboard.queue import Job, JobBuilder, JobDigest, JobRepository, JobState, Request
from dashboard.queue.digest.job_digest import QueueSettings
from dashboard.queue.operations import actions
from tests.support.factories import make_job


def build(*, relation_id=None, run_at=None, delay=None, unique_key=None, priority=None,
          payload=None, source_id="default"):
    job = (JobBuilder().set_relation_id(relation_id).set_run_at(run_at).set_delay(delay)
           .set_unique_key(unique_key).set_priority(priority or 0).set_source_id(source_id)
           .create())
    job.request_builder().set_type_code("test_echo").set_payload(payload or {}).create()
    return job


def digest(session, clock, **settings):
    return JobDigest(session, settings=QueueSettings(**settings), clock=clock).execute()


def state(session, job):
    session.rollback()
    return session.scalar(sa.select(Job.state).where(Job.id == job.id))


def count(session, model=Job):
    session.rollback()
    return session.scalar(sa.select(sa.func.count()).select_from(model))


@pytest.mark.parametrize("when", ["run_at", "delay"])
def test_a_scheduled_job_does_not_run_before_its_time(session, clock, when):
    schedule = ({"run_at": clock.now + timedelta(minutes=10)} if when == "run_at"
                else {"delay": 600})
    job = JobRepository(session, clock).save(build(**schedule))
    assert job.next_attempt_at == clock.now + timedelta(minutes=10)
    clock.advance(minutes=9, seconds=59)
    assert not digest(session, clock).outcomes
    assert state(session, job) == JobState.PENDING
    clock.advance(seconds=1)
    assert list(digest(session, clock).outcomes) == [job.id]
    assert state(session, job) == JobState.COMPLETED


def test_a_run_at_in_another_zone_is_the_same_instant(session, clock):
    from datetime import timezone
    paris = clock.now.astimezone(timezone(timedelta(hours=1))) + timedelta(minutes=5)
    job = JobRepository(session, clock).save(build(run_at=paris))
    assert job.next_attempt_at == clock.now + timedelta(minutes=5)


def test_run_now_runs_a_scheduled_job_at_once(session, clock):
    job = JobRepository(session, clock).save(build(delay=3600))
    JobDigest(session, clock=clock).set_job(job).execute()
    assert state(session, job) == JobState.COMPLETED


def test_a_later_job_of_a_relation_waits_for_an_earlier_scheduled_one(session, clock):
    repository = JobRepository(session, clock)
    scheduled = repository.save(build(relation_id="cust-1", delay=600))
    later = repository.save(build(relation_id="cust-1", priority=100))
    other = repository.save(build(relation_id="cust-2"))
    assert list(digest(session, clock).outcomes) == [other.id]
    assert state(session, later) == JobState.PENDING
    clock.advance(minutes=10)
    assert list(digest(session, clock, concurrency=1).outcomes) == [scheduled.id, later.id]


def test_a_second_save_of_an_active_key_returns_the_first_job(session, clock):
    repository = JobRepository(session, clock)
    first = repository.save(build(unique_key="order-7:loyalty", payload={"n": 1}))
    again = repository.save(build(unique_key="order-7:loyalty", payload={"n": 2}))
    assert (first.duplicate, again.duplicate) == (False, True)
    assert again.id == first.id
    assert [r.payload for r in again.requests] == ['{"n": 1}']
    assert again.unique_key == "order-7:loyalty"
    assert (count(session), count(session, Request)) == (1, 1)


def test_save_many_takes_keys_in_order(session, clock):
    repository = JobRepository(session, clock)
    held = repository.save(build(unique_key="a"))
    jobs = repository.save_many([build(unique_key="b"), build(), build(unique_key="a"),
                                 build(unique_key="b"), build(unique_key="c")])
    assert [job.duplicate for job in jobs] == [False, False, True, True, False]
    new = [jobs[0].id, jobs[1].id, jobs[4].id]
    assert held.id < new[0] < new[1] < new[2]  # the order of the call
    assert (jobs[2].id, jobs[3].id) == (held.id, jobs[0].id)
    assert count(session) == 4 and count(session, Request) == 4
    assert [len(job.requests) for job in jobs] == [1] * 5


def test_a_key_is_unique_within_its_source_only(session, clock):
    repository = JobRepository(session, clock)
    crm = repository.save(build(unique_key="invoice:78", source_id="crm", delay=3600))
    jobs = repository.save_many([build(unique_key="invoice:78", source_id=source)
                                 for source in ("erp", "crm", "erp", "shop")])
    assert [job.duplicate for job in jobs] == [False, True, True, False]
    assert jobs[1].id == crm.id and jobs[2].id == jobs[0].id
    assert [job.source_id for job in jobs] == ["erp", "crm", "erp", "shop"]
    assert len({crm.id, jobs[0].id, jobs[3].id}) == 3
    again = repository.save(build(unique_key="invoice:78", source_id="erp"))
    assert (again.duplicate, again.id, again.source_id) == (True, jobs[0].id, "erp")
    assert count(session) == 3


def test_a_failed_save_with_keys_saves_nothing(session, clock):
    good = build(unique_key="a")
    bad = make_job(("test_echo", {"n": 2}), ("test_echo", {"n": 3}))
    bad.requests[1].position = 0  # two requests at one position: the database refuses
    with pytest.raises(sa.exc.IntegrityError):
        JobRepository(session, clock).save_many([good, bad])
    assert count(session) == 0 and count(session, Request) == 0
    assert not JobRepository(session, clock).save(build(unique_key="a")).duplicate


@pytest.mark.parametrize("finish", ["complete", "cancel"])
def test_the_key_is_free_again_once_the_job_is_finished(session, clock, finish):
    repository = JobRepository(session, clock)
    first = repository.save(build(unique_key="k"))
    if finish == "complete":
        digest(session, clock)
    else:
        actions.apply(session, "cancel", first.id, clock.now)
        session.commit()  # the caller owns the commit
    assert state(session, first) in (JobState.COMPLETED, JobState.CANCELLED)
    second = repository.save(build(unique_key="k"))
    assert not second.duplicate and second.id != first.id
    assert repository.save(build(unique_key="k")).id == second.id


@pytest.mark.parametrize("held_by", ["failed", "paused", "retrying", "scheduled"])
def test_an_unfinished_job_keeps_its_key(session, clock, held_by):
    repository = JobRepository(session, clock)
    job = build(unique_key="k", delay=60 if held_by == "scheduled" else None)
    if held_by in ("failed", "retrying"):
        job.requests[0].type_code = "test_not_applicable" if held_by == "failed" else "test_flaky"
        job.requests[0].payload = '{"fail_times": 5}' if held_by == "retrying" else "{}"
    first = repository.save(job)
    if held_by == "paused":
        actions.apply(session, "pause", first.id, clock.now)
        session.commit()  # the caller owns the commit
    elif held_by != "scheduled":
        digest(session, clock)
    assert state(session, first).value == ("pending" if held_by == "scheduled" else held_by)
    assert repository.save(build(unique_key="k")).id == first.id


THREADS = 8


def test_eight_threads_saving_one_key_at_once_make_one_job(app, clock):
    """Each thread its own connection; they meet at a barrier, then save."""
    barrier = threading.Barrier(THREADS)
    saved: list[tuple[int, bool]] = []
    errors: list[BaseException] = []
    engine = db.engine

    def save() -> None:
        with Session(engine) as session:
            job = build(unique_key="webhook-42")
            try:
                barrier.wait(timeout=30)
                JobRepository(session, clock).save(job)
                saved.append((job.id, job.duplicate))
            except BaseException as error:  # reported below
                errors.append(error)

    threads = [threading.Thread(target=save) for _ in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    assert len(saved) == THREADS
    assert len({job_id for job_id, _ in saved}) == 1
    assert sorted(duplicate for _, duplicate in saved) == [False] + [True] * (THREADS - 1)
    assert count(db.session) == 1 and count(db.session, Request) == 1


def test_due_jobs_are_claimed_by_priority_then_age(session, clock):
    repository = JobRepository(session, clock)
    saved = {}
    for name, priority in [("low", -5), ("normal", None), ("high", 10), ("normal 2", 0),
                           ("high 2", 10), ("top", 100)]:
        saved[name] = repository.save(build(priority=priority))
        clock.advance(seconds=1)
    result = digest(session, clock, concurrency=1, claim_batch=2)
    order = {job_id: name for name, job in saved.items() for job_id in [job.id]}
    assert [order[job_id] for job_id in result.outcomes] == [
        "top", "high", "high 2", "normal", "normal 2", "low"]


def test_within_a_relation_enqueue_order_wins_over_priority(session, clock):
    repository = JobRepository(session, clock)
    first = repository.save(build(relation_id="cust-1", priority=-100))
    second = repository.save(build(relation_id="cust-1", priority=100))
    free = repository.save(build(priority=1))
    # The second, first by priority, waits for the first; it is claimed once that is done.
    result = digest(session, clock, concurrency=1)
    assert list(result.outcomes) == [free.id, first.id, second.id]


@pytest.mark.parametrize("jobs", [1, 3], ids=["save", "save_many"])
def test_times_and_priorities_are_stored(session, clock, jobs):
    # One job and many go through different statements on PostgreSQL.
    built = [build(run_at=clock.now + timedelta(hours=1), priority=7),
             build(delay=30.5, priority=-100), build()][:jobs]
    JobRepository(session, clock).save_many(built)
    session.expire_all()
    stored = [session.get(Job, job.id) for job in built]
    assert [(job.next_attempt_at, job.priority) for job in stored] == [
        (clock.now + timedelta(hours=1), 7), (clock.now + timedelta(seconds=30.5), -100),
        (clock.now, 0)][:jobs]
