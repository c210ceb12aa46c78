"""A schedule entry that fails at run time never stops the queue: it is skipped for that
run with one line in the log, shown in red, and every other entry and job goes on; the
CLI and the page never answer with a traceback. And an operator's switches: disable,
enable, enqueue now, kept in the database."""

from __future__ import annotations

import logging

import sqlalchemy as sa

from dashboard.queue import JobDigest, JobState, QueueSettings
from dashboard.queue.jobs.models import Job
from dashboard.queue.operations.recurring import Entry, ScheduledRequest, ScheduleState, enqueue_due
from dashboard.queue.operations.schedules import enqueue_now, set_disabled, status
from tests.integration.test_schedule import at, entries, scheduled_jobs
from tests.support.factories import save_job

#: Not as the file would give it (start-up refuses it): as it may come to be at run time.
NEVER = Entry(name="never", cron="0 0 31 2 *",
              requests=(ScheduledRequest("test_echo", {"n": 1}),))


#: The one that names no time, and an hourly one.
SCHEDULE = (NEVER, *entries())


def test_an_entry_that_raises_is_skipped_and_the_others_go_on(session, caplog):
    scheduled = SCHEDULE
    enqueue_due(session, scheduled, at(9, 30))
    with caplog.at_level(logging.INFO, "dashboard.schedule"):
        made = enqueue_due(session, scheduled, at(10, 0))
    assert [job.schedule_name for job in made] == ["hourly-sync"]
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == ["schedule never: skipped this run: CroniterBadDateError: failed to "
                      "find prev date"]
    shown = {s.entry.name: s for s in status(session, scheduled, at(10, 1))}
    assert shown["never"].error.startswith("CroniterBadDateError")
    assert shown["never"].next_slots == [] and shown["hourly-sync"].error is None
    assert shown["hourly-sync"].next_slots == [at(11), at(12), at(13)]


def test_a_digest_with_a_failing_entry_runs_every_job(session, clock):
    scheduled = SCHEDULE
    job = save_job(session, clock, ("test_echo", {"n": 7}))
    settings = QueueSettings(schedule=scheduled)
    for moment in (at(9, 30), at(10, 0)):
        clock.now = moment
        JobDigest(session, settings=settings, clock=clock).execute()
    session.rollback()
    assert session.get(Job, job.id).state == JobState.COMPLETED
    assert [j.state for j in scheduled_jobs(session)] == [JobState.COMPLETED]


def test_a_disabled_entry_makes_no_jobs_until_enabled(session, clock):
    schedule = entries(cron="*/2 * * * *")
    enqueue_due(session, schedule, at(9, 30))
    assert set_disabled(session, schedule[0], True, at(9, 31))
    session.commit()
    assert enqueue_due(session, schedule, at(9, 40)) == []
    assert not set_disabled(session, schedule[0], True, at(9, 41))  # already off
    session.rollback()
    assert status(session, schedule, at(9, 41))[0].disabled
    assert set_disabled(session, schedule[0], False, at(9, 45))
    session.commit()
    # Back on from now: the slots it missed while off are not made up.
    assert enqueue_due(session, schedule, at(9, 45)) == []
    made, = enqueue_due(session, schedule, at(9, 46))
    assert made.schedule_slot == at(9, 46)


def test_enqueue_now_makes_a_job_outside_the_slots(session, clock):
    schedule = entries()
    enqueue_due(session, schedule, at(9, 30))
    job = enqueue_now(session, schedule[0], at(9, 35))
    session.commit()
    assert (job.schedule_name, job.schedule_slot, job.state) == (
        "hourly-sync", None, JobState.PENDING)
    # The 10:00 slot is still made, and the status' last run is still a slot's.
    made, = enqueue_due(session, schedule, at(10, 0))
    assert made.schedule_slot == at(10)
    shown, = status(session, schedule, at(10, 1))
    assert (shown.last_job_id, shown.jobs) == (made.id, 2)
    session.rollback()
    assert session.scalar(sa.select(ScheduleState.disabled)) is False
