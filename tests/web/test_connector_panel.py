"""The overview's connector panel: each limited connector, its limits, its calls in flight."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from dashboard.queries import overview
from dashboard.queue.jobs.models import ConnectorCall, ConnectorRow, Job
from tests.support.factories import save_job
from tests.support.limited_types import ONE_SLOT, THREE_SLOTS
from tests.support.web import text

pytestmark = pytest.mark.all_databases


def rows(page: str) -> dict[str, list[str]]:
    """The panel's cells, by connector."""
    found = {}
    for name, row in re.findall(r'<tr data-connector="([^"]+)">(.*?)</tr>', page, re.S):
        found[name] = [re.sub(r"<[^>]+>", "", cell).strip()
                       for cell in re.findall(r"<td[^>]*>(.*?)</td>", row, re.S)]
    return found


def call(session, clock, connector: str, *, lease_left: float) -> None:
    """A call in flight whose digest's lease on the job ends ``lease_left`` s from now."""
    job = save_job(session, clock, ("test_echo", {}))
    session.execute(sa.update(Job).where(Job.id == job.id).values(
        locked_by="host:1:run", locked_until=clock.now + timedelta(seconds=lease_left)))
    session.add(ConnectorCall(connector=connector, job_id=job.id, worker="host:1:run",
                              started_at=clock.now))
    session.commit()


def test_each_limited_connector_shows_its_limits_and_calls_in_flight(viewer, session, clock):
    session.add(ConnectorRow(name=THREE_SLOTS.name, rate_limit=2.5, max_in_flight=3,
                             next_call_at=0, in_flight=3, updated_at=clock.now))
    session.commit()
    call(session, clock, THREE_SLOTS.name, lease_left=60)
    call(session, clock, THREE_SLOTS.name, lease_left=60)
    call(session, clock, THREE_SLOTS.name, lease_left=-1)  # its digest was killed
    panel = rows(text(viewer.get("/")))
    # The digests' limits (written by the last one to use it), and the live calls only.
    assert panel[THREE_SLOTS.name] == [THREE_SLOTS.name, "2.5 calls/s", "3", "2"]
    # Declared by a loaded type, not used yet.
    assert panel[ONE_SLOT.name] == [ONE_SLOT.name, "none", "1", "0"]
    assert panel["test_rate_20"] == ["test_rate_20", "20 calls/s", "none", "0"]
    assert "default" not in panel  # no limit: not tracked


def test_a_hostile_connector_name_is_shown_as_text(viewer, session, clock):
    session.add(ConnectorRow(name="<script>alert(1)</script>", rate_limit=1, next_call_at=0,
                             in_flight=0, updated_at=clock.now))
    session.commit()
    page = text(viewer.get("/", headers={"HX-Request": "true"}))
    assert "<script>alert(1)" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page


def test_without_limited_connectors_the_panel_says_so(viewer, monkeypatch):
    monkeypatch.setattr(overview, "declared_connectors", list)
    page = text(viewer.get("/"))
    assert "No connector has a limit." in page and "data-connector" not in page
