"""Recurring schedules on every database: each slot's job made once, however many digests
see it; only the latest missed slot after downtime unless catch_up; the CLI and the page."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.queue import Job, JobDigest, JobState, QueueSettings
from dashboard.queue.operations.recurring import ScheduleState, enqueue_due, parse
from dashboard.queue.operations.schedules import status

HOURLY = {"name": "hourly-sync", "cron": "0 * * * *", "relation_id": "sync",
          "requests": [{"type_code": "test_echo", "payload": {"scope": "all"}}]}


def entries(**changes):
    return parse({"schedule": [{**HOURLY, **changes}]}, lambda code: True)


def scheduled_jobs(session):
    session.expire_all()
    jobs = session.scalars(sa.select(Job).where(Job.schedule_name.is_not(None))
                           .order_by(Job.schedule_slot)).all()
    session.commit()
    return jobs


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 1, 5, hour, minute, tzinfo=UTC)


def test_an_entry_starts_when_first_seen_then_enqueues_each_slot_once(session):
    schedule = entries()
    assert enqueue_due(session, schedule, at(9, 30)) == []  # first seen: nothing before it
    assert enqueue_due(session, schedule, at(9, 59)) == []
    made, = enqueue_due(session, schedule, at(10, 0))
    assert enqueue_due(session, schedule, at(10, 30)) == []  # the 10:00 slot is done
    job, = scheduled_jobs(session)
    assert (job.id, job.schedule_name, job.schedule_slot) == (made.id, "hourly-sync", at(10))
    assert (job.relation_id, job.source_id, job.state) == ("sync", "schedule", JobState.PENDING)
    assert [(r.type_code, json.loads(r.payload)) for r in job.requests] == [
        ("test_echo", {"scope": "all"})]


def test_after_downtime_only_the_latest_missed_slot_is_enqueued(session):
    schedule = entries()
    enqueue_due(session, schedule, at(9, 30))
    enqueue_due(session, schedule, at(15, 5))  # down from 9:30 to 15:05
    assert [j.schedule_slot for j in scheduled_jobs(session)] == [at(15)]


def test_catch_up_enqueues_every_missed_slot_in_order(session):
    schedule = entries(catch_up=True)
    enqueue_due(session, schedule, at(9, 30))
    enqueue_due(session, schedule, at(13, 5))
    jobs = scheduled_jobs(session)
    assert [j.schedule_slot for j in jobs] == [at(10), at(11), at(12), at(13)]
    assert [j.id for j in jobs] == sorted(j.id for j in jobs)  # enqueued oldest first


def test_a_slot_stays_done_after_its_job_completes_or_is_pruned(session):
    schedule = entries()
    enqueue_due(session, schedule, at(9, 30))
    job, = enqueue_due(session, schedule, at(10, 1))
    session.execute(sa.update(Job).where(Job.id == job.id).values(state=JobState.COMPLETED))
    session.commit()
    assert enqueue_due(session, schedule, at(10, 2)) == []
    session.execute(sa.delete(Job).where(Job.id == job.id))  # retention pruned it
    session.commit()
    session.expunge_all()
    assert enqueue_due(session, schedule, at(10, 3)) == []
    assert enqueue_due(session, schedule, at(11, 0)) != []


def test_eight_digests_racing_for_a_slot_make_one_job(app, session):
    schedule = entries(catch_up=True)
    enqueue_due(session, schedule, at(9, 30))
    db.session.remove()
    made: list[int] = []
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def digest() -> None:
        with app.app_context():
            try:
                start.wait()
                made.extend(job.id for job in enqueue_due(db.session, schedule, at(12, 1)))
            except BaseException as error:
                errors.append(error)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=digest) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert errors == []
    jobs = scheduled_jobs(db.session)
    assert [j.schedule_slot for j in jobs] == [at(10), at(11), at(12)]
    assert sorted(made) == [j.id for j in jobs]  # each made by exactly one of them


def test_the_digest_enqueues_due_slots_and_runs_them_in_the_same_run(session, clock):
    clock.now = at(9, 30)
    settings = QueueSettings(schedule=entries())
    JobDigest(session, settings=settings, clock=clock).execute()
    clock.now = at(10, 0) + timedelta(seconds=30)
    result = JobDigest(session, settings=settings, clock=clock).execute()
    job, = scheduled_jobs(session)
    assert (result.jobs, job.state) == (1, JobState.COMPLETED)


def test_status_gives_each_entry_its_last_and_next_slot(session):
    schedule = entries()
    enqueue_due(session, schedule, at(9, 30))
    job, = enqueue_due(session, schedule, at(10, 0))
    shown, = status(session, schedule, at(10, 20))
    assert (shown.last_slot, shown.last_job_id, shown.last_job_state, shown.next_slot,
            shown.jobs) == (at(10), job.id, "pending", at(11), 1)


@pytest.mark.slow
def test_two_digest_processes_racing_for_a_slot_make_one_job(digests, tmp_path):
    """Real processes, started together on a slot that fell due within the minute. Once
    an hour, at this minute: processes slowed past the minute's end (a loaded host) still
    race for that one slot, not for the next minute's too."""
    now = datetime.now(UTC)
    path = tmp_path / "schedule.toml"
    path.write_text(f'[[schedule]]\nname = "this-minute"\ncron = "{now.minute} * * * *"\n'
                    'requests = [{type_code = "recorded", payload = {"n" = 1}}]\n')
    db.session.add(ScheduleState(name="this-minute", since=now - timedelta(minutes=3)))
    db.session.commit()
    started = [digests.start("--max-jobs", "1", QUEUE_SCHEDULE=str(path)) for _ in range(2)]
    for process in started:
        assert process.wait(120) == 0, process.output
    jobs = scheduled_jobs(db.session)
    assert len(jobs) == 1, [(j.id, j.schedule_slot) for j in jobs]
    assert now - timedelta(minutes=1) <= jobs[0].schedule_slot <= datetime.now(UTC)



def test_an_entry_of_many_requests_is_saved_with_its_slot(session):
    """Past ten requests a job travels as JSON on PostgreSQL: the slot too."""
    requests = [{"type_code": "test_echo", "payload": {"n": n}} for n in range(12)]
    schedule = entries(requests=requests)
    enqueue_due(session, schedule, at(9, 30))
    enqueue_due(session, schedule, at(10, 0))
    job, = scheduled_jobs(session)
    assert (job.schedule_slot, len(job.requests)) == (at(10), 12)
