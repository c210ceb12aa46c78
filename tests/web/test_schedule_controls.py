"""The Schedules page and ``flask schedule list`` with an entry that fails, and the
operator's switches on the page: enqueue now, disable, enable, each audited."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from dashboard.audit.models import AuditEntry
from dashboard.queue import QueueSettings
from dashboard.queue.jobs.models import Job
from dashboard.queue.operations.recurring import enqueue_due
from tests.integration.test_schedule import at, entries
from tests.integration.test_schedule_faults import NEVER
from tests.support.web import post


@pytest.fixture
def scheduled(app):
    """The app's settings with the hourly entry and the one that names no time."""
    schedule = (NEVER, *entries())
    before = app.extensions["queue"]
    app.extensions["queue"] = replace(before, settings=QueueSettings(schedule=schedule))
    yield schedule
    app.extensions["queue"] = before


def test_the_cli_and_the_page_show_the_failing_entry_without_a_traceback(
        session, scheduled, runner, as_role, clock):
    enqueue_due(session, scheduled, at(9, 30))
    enqueue_due(session, scheduled, at(10, 0))
    clock.now = at(10, 1)
    listed = runner.invoke(args=["schedule", "list"])
    assert listed.exit_code == 0, listed.output
    assert "Traceback" not in listed.output
    assert listed.output.splitlines()[0] == (
        "never: 0 0 31 2 * | last: never | next: none | jobs: 0 | error: "
        "CroniterBadDateError: failed to find prev date")
    response = as_role("viewer").get("/schedules")
    assert response.status_code == 200
    page = response.get_data(as_text=True)
    assert '<tr data-schedule="never" class="schedule-error">' in page
    assert "Last run skipped" in page and "CroniterBadDateError" in page



def audit_entries(session) -> list[tuple[str, str, str, int]]:
    session.rollback()
    return [(e.actor, e.action, e.detail, e.job_count) for e in session.scalars(
        sa.select(AuditEntry).order_by(AuditEntry.id))]


def test_an_operator_disables_enables_and_enqueues_an_entry(session, scheduled, operator,
                                                            clock):
    clock.now = at(9, 30)
    enqueue_due(session, scheduled, clock.now)
    answer = post(operator, "/schedules/hourly-sync/disable")
    assert (answer.status_code, answer.location) == (303, "/schedules")
    page = operator.get("/schedules").get_data(as_text=True)
    assert "Schedule hourly-sync is disabled." in page
    assert '<tr data-schedule="hourly-sync" class="schedule-disabled">' in page
    clock.now = at(10, 0)
    assert enqueue_due(session, scheduled, clock.now) == []
    post(operator, "/schedules/hourly-sync/enable")
    answer = post(operator, "/schedules/hourly-sync/enqueue")
    assert answer.status_code == 303
    session.rollback()
    job_id = session.scalar(sa.select(Job.id).where(Job.schedule_name == "hourly-sync"))
    assert f"Job #{job_id} enqueued now for schedule hourly-sync." in operator.get(
        "/schedules").get_data(as_text=True)
    assert audit_entries(session) == [
        ("operator", "schedule-disable", "schedule hourly-sync", 0),
        ("operator", "schedule-enable", "schedule hourly-sync", 0),
        ("operator", "schedule-enqueue", "schedule hourly-sync", 1)]


def test_switches_need_an_operator_and_a_known_entry(session, scheduled, as_role, operator):
    viewer = as_role("viewer")
    assert "Enqueue now" not in viewer.get("/schedules").get_data(as_text=True)
    assert post(viewer, "/schedules/hourly-sync/disable").status_code == 403
    assert post(operator, "/schedules/no-such-entry/enqueue").status_code == 404
    assert post(operator, "/schedules/hourly-sync/explode").status_code == 404
    assert audit_entries(session) == []
