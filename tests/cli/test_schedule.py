"""``flask schedule list``: each entry's last and next run."""

from __future__ import annotations

from dataclasses import replace

from dashboard.queue import QueueSettings
from dashboard.queue.operations.recurring import enqueue_due
from tests.integration.test_schedule import at, entries


def test_list_prints_each_entry_with_its_last_and_next_run(app, runner, session, clock):
    schedule = entries() + entries(name="paris", cron="30 2 * * *", timezone="Europe/Paris",
                                   catch_up=True)
    app.extensions["queue"] = replace(app.extensions["queue"],
                                      settings=QueueSettings(schedule=schedule))
    try:
        enqueue_due(session, schedule, at(9, 30))
        job, = enqueue_due(session, schedule, at(10, 0))
        clock.now = at(10, 20)
        result = runner.invoke(args=["schedule", "list"])
    finally:
        app.extensions["queue"] = replace(app.extensions["queue"], settings=QueueSettings())
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        f"hourly-sync: 0 * * * * | last: 2026-01-05 10:00 UTC job {job.id} pending"
        " | next: 2026-01-05 11:00 UTC | jobs: 1",
        "paris: 30 2 * * * (Europe/Paris), catch up | last: never"
        " | next: 2026-01-06 01:30 UTC | jobs: 0",
    ]


def test_list_without_a_schedule_says_so(runner):
    result = runner.invoke(args=["schedule", "list"])
    assert (result.exit_code, result.output) == (
        0, "no recurring schedule: QUEUE_SCHEDULE is not set\n")
