"""``flask enqueue --run-at / --delay / --unique-key / --priority``, on every database."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.queue import Job

ENQUEUE = ["enqueue", "test_echo", "--payload", "{}"]


def jobs(session) -> list[Job]:
    session.rollback()
    return list(session.scalars(sa.select(Job).order_by(Job.id)))


@pytest.mark.parametrize("schedule", [
    ["--run-at", "2026-01-05T10:30:00+01:00"],  # the test clock is 09:00 UTC
    ["--run-at", "2026-01-05T09:30:00Z"],
    ["--delay", "1800"],
])
def test_enqueue_a_scheduled_job(runner, session, clock, schedule):
    result = runner.invoke(args=[*ENQUEUE, *schedule])
    assert result.exit_code == 0, result.output
    job, = jobs(session)
    assert job.next_attempt_at == clock.now + timedelta(minutes=30)
    assert result.output == (f"enqueued job {job.id}, to run at 2026-01-05 09:30:00 UTC "
                             "at the earliest\n")


def test_enqueue_with_a_priority(runner, session):
    result = runner.invoke(args=[*ENQUEUE, "--priority", "-20"])
    assert result.exit_code == 0, result.output
    assert [job.priority for job in jobs(session)] == [-20]


@pytest.mark.all_databases
def test_enqueue_a_unique_key_twice_makes_one_job(runner, session):
    first = runner.invoke(args=[*ENQUEUE, "--unique-key", "order-7"])
    second = runner.invoke(args=[*ENQUEUE, "--unique-key", "order-7"])
    job, = jobs(session)
    assert first.output == f"enqueued job {job.id}\n"
    assert second.exit_code == 0
    assert second.output == f"job {job.id} holds the unique key 'order-7': nothing enqueued\n"
    assert job.unique_key == "order-7"


def test_enqueue_a_unique_key_held_by_another_source_makes_a_job(runner, session):
    crm = runner.invoke(args=[*ENQUEUE, "--unique-key", "invoice:78", "--source-id", "crm"])
    erp = runner.invoke(args=[*ENQUEUE, "--unique-key", "invoice:78", "--source-id", "erp"])
    again = runner.invoke(args=[*ENQUEUE, "--unique-key", "invoice:78", "--source-id", "erp"])
    held, new = jobs(session)
    assert (crm.output, erp.output) == (f"enqueued job {held.id}\n", f"enqueued job {new.id}\n")
    assert (held.source_id, new.source_id) == ("crm", "erp")
    assert again.output == f"job {new.id} holds the unique key 'invoice:78': nothing enqueued\n"


@pytest.mark.parametrize(("options", "message"), [
    (["--run-at", "2026-01-05T10:30:00"], "Invalid value for '--run-at'"),
    (["--run-at", "2026-01-05T10:30:00"], "needs a date, a time and an offset"),
    (["--run-at", "2026-01-05"], "needs a date, a time and an offset"),
    (["--run-at", "tomorrow"], "is not an RFC 3339 time"),
    (["--delay", "-5"], "Invalid value for '--delay': delay must not be negative"),
    (["--delay", "soon"], "Invalid value for '--delay'"),
    (["--delay", "inf"], "delay must be a number of seconds"),
    (["--priority", "101"], "Invalid value for '--priority': priority must be between -100"),
    (["--priority", "high"], "Invalid value for '--priority'"),
    (["--unique-key", ""], "Invalid value for '--unique-key': unique_key must be 1 to 255"),
    (["--unique-key", "k" * 256], "unique_key must be 1 to 255"),
    (["--run-at", "2026-01-05T10:30:00Z", "--delay", "5"], "give --run-at or --delay, not both"),
])
def test_bad_scheduling_options_exit_2_naming_the_option(runner, session, options, message):
    result = runner.invoke(args=[*ENQUEUE, *options])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert "Traceback" not in result.output
    assert jobs(session) == []


def test_jobs_list_shows_scheduled_jobs_and_filters_by_priority(runner, session):
    runner.invoke(args=[*ENQUEUE, "--delay", "60", "--priority", "3"])
    runner.invoke(args=[*ENQUEUE])
    scheduled, due = jobs(session)
    listed = runner.invoke(args=["jobs", "list", "--priority", "3"])
    assert listed.exit_code == 0, listed.output
    assert listed.output.startswith(f"#{scheduled.id}\tscheduled\t")
    assert f"#{due.id}\t" not in listed.output
    bad = runner.invoke(args=["jobs", "list", "--priority", "200"])
    assert bad.exit_code == 2 and "--priority" in bad.output
