"""The overview's strip of the last hour (issue 28, item 12): attempts succeeded and failed
per minute, and the requests in flight in each minute, with its axes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from dashboard.queries import minutes
from dashboard.queue import JobState, RequestState
from dashboard.queue.jobs.models import Attempt, Job, Request
from tests.support.clock import T0
from tests.support.factories import save_job
from tests.support.web import text


def at(clock_time: str) -> datetime:
    """A time of T0's day: "08:30:10"."""
    return datetime.combine(T0.date(), datetime.strptime(clock_time, "%H:%M:%S").time(), UTC)


@pytest.fixture
def seeded(session, clock):
    """Attempts around the hour before T0 (09:00), and a request running since 08:58:30."""
    job = save_job(session, clock, ("test_echo", {}))
    session.commit()
    spans = [("08:30:10", "08:30:40", "succeeded"),  # within one minute
             ("08:29:50", "08:32:05", "failed"),     # across four
             ("07:50:00", "08:02:30", "succeeded"),  # begun before the strip
             ("07:40:00", "07:59:59", "failed")]     # over before it: not shown
    for number, (began, ended, outcome) in enumerate(spans, start=1):
        session.add(Attempt(request_id=job.requests[0].id, number=number, outcome=outcome,
                            started_at=at(began), finished_at=at(ended)))
    running = save_job(session, clock, ("test_echo", {}))
    session.commit()
    session.execute(sa.update(Job).where(Job.id == running.id).values(state=JobState.RUNNING))
    session.execute(sa.update(Request).where(Request.job_id == running.id).values(
        state=RequestState.RUNNING, updated_at=at("08:58:30")))
    session.commit()


@pytest.mark.all_databases
def test_each_minute_counts_what_finished_and_what_was_in_flight(app, seeded, session):
    strip = minutes.last_hour(session, T0)
    assert len(strip) == 60 and strip[0].minute == at("08:01:00") and strip[-1].minute == T0
    found = {f"{m.minute:%H:%M}": (m.succeeded, m.failed, m.in_flight) for m in strip
             if (m.succeeded, m.failed, m.in_flight) != (0, 0, 0)}
    assert found == {
        "08:01": (0, 0, 1), "08:02": (1, 0, 1),                   # the one begun before
        "08:29": (0, 0, 1), "08:30": (1, 0, 2), "08:31": (0, 0, 1), "08:32": (0, 1, 1),
        "08:58": (0, 0, 1), "08:59": (0, 0, 1), "09:00": (0, 0, 1),  # running now
    }


@pytest.mark.all_databases
def test_the_overview_draws_the_strip_with_its_axes(viewer, seeded, clock):
    clock.now = T0 + timedelta(seconds=20)
    page = text(viewer.get("/"))
    strip = page[page.index('id="strip-title"'):page.index('id="day-title"')]
    assert "Requests per minute, last hour" in strip
    assert '<title id="strip-summary">2 succeeded, 1 failed, at most 2 in flight</title>' in strip
    assert "2026-01-05 08:30 UTC: 1 succeeded, 0 failed, 2 in flight" in strip
    assert 'class="in-flight" points="' in strip
    # The time axis: a label every ten minutes; the value axis: the scale's top and 0.
    ticks = re.findall(r'<span class="tick">([^<]+)</span>', strip)
    assert ticks == ["08:10", "08:20", "08:30", "08:40", "08:50", "09:00"]
    assert re.search(r'class="value-axis"[^>]*><span>2</span><span>0</span>', strip)
    assert "minutes in UTC" in strip


def test_an_idle_hour_draws_an_empty_strip(viewer):
    page = text(viewer.get("/"))
    strip = page[page.index('id="strip-title"'):page.index('id="day-title"')]
    assert "0 succeeded, 0 failed, at most 0 in flight" in strip and "<rect" not in strip
    assert "<polyline" not in strip
