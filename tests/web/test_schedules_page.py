"""The Schedules page and the job list's schedule filter."""

from __future__ import annotations

from dataclasses import replace

from dashboard.auth.models import Role
from dashboard.queue import QueueSettings
from dashboard.queue.operations.recurring import enqueue_due
from tests.integration.test_schedule import at, entries
from tests.support.web import add_user, log_in


def test_the_schedules_page_lists_entries_and_links_to_their_jobs(app, session, clock):
    schedule = entries()
    app.extensions["queue"] = replace(app.extensions["queue"],
                                      settings=QueueSettings(schedule=schedule))
    try:
        enqueue_due(session, schedule, at(9, 30))
        job, = enqueue_due(session, schedule, at(10, 0))
        client = log_in(app.test_client(), add_user(session, "viewer", Role.VIEWER))
        page = client.get("/schedules").get_data(as_text=True)
        assert "hourly-sync" in page and "<code>0 * * * *</code>" in page
        assert f'href="/jobs/{job.id}"' in page and 'href="/jobs?schedule=hourly-sync"' in page
        shown = client.get(f"/jobs/{job.id}").get_data(as_text=True)
        assert 'href="/jobs?schedule=hourly-sync">hourly-sync</a>, the slot of' in shown
        listed = client.get("/jobs?schedule=hourly-sync").get_data(as_text=True)
        assert f'href="/jobs/{job.id}"' in listed
        assert client.get("/jobs?schedule=" + "x" * 101).status_code == 400
    finally:
        app.extensions["queue"] = replace(app.extensions["queue"], settings=QueueSettings())
