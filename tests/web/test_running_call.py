"""A job's page tells how long its running request has run, and how long it may."""

from __future__ import annotations

import re
from datetime import timedelta

from tests.support.factories import save_job
from tests.support.running import mark_running
from tests.support.web import text


def running_line(page: str) -> str:
    found = re.search(r'<p class="running-call[^"]*">(.*?)</p>', page, re.S)
    assert found is not None, page
    return " ".join(re.sub(r"<[^>]+>", "", found[1]).split())


def test_a_running_request_shows_since_when_for_how_long_and_its_timeout(viewer, session,
                                                                         clock):
    job = save_job(session, clock, ("test_echo", {"n": 1}), ("test_echo", {"n": 2}))
    mark_running(session, job, clock.now - timedelta(seconds=90))
    page = text(viewer.get(f"/jobs/{job.id}"))
    assert running_line(page) == ("Running since 2026-01-05 08:58:30 UTC, for 1 min 30 s; "
                                  "times out after 5 min 0 s.")
    assert page.count('class="running-call') == 1  # the request after it waits


def test_a_request_running_past_its_timeout_is_flagged(viewer, session, clock):
    job = save_job(session, clock, ("test_echo", {}))
    mark_running(session, job, clock.now - timedelta(minutes=7))
    page = text(viewer.get(f"/jobs/{job.id}"))
    assert 'class="running-call overdue"' in page
    assert running_line(page).endswith("for 7 min 0 s: past its timeout of 5 min 0 s, "
                                       "the call hangs.")
