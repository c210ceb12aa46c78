"""The Digests page and the rows behind it: a digest writes its row when a run starts, beats
it while the run lasts, deletes it when the run ends; a killed digest's row turns stale and
is pruned a day on. The slow test runs a real digest process."""

from __future__ import annotations

import signal
from datetime import timedelta
from typing import Any, ClassVar

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.auth.models import Role
from dashboard.db import utcnow
from dashboard.queue import JobDigest, JobState, QueueSettings, RequestContext, RequestType
from dashboard.queue.digest import processes
from dashboard.queue.jobs.models import DigestProcess, Job
from tests.support.concurrency_types import TYPE_CODE
from tests.support.factories import save_job
from tests.support.processes import wait_until
from tests.support.web import add_user, log_in


def rows(session) -> list[DigestProcess]:
    session.rollback()
    return session.scalars(sa.select(DigestProcess)).all()


class Peek(RequestType):
    """Reads the digest_processes rows while it runs."""

    type_code = "test_peek_processes"
    seen: ClassVar[list] = []

    def execute(self, payload: Any, context: RequestContext) -> Any:
        with db.engine.connect() as connection:
            Peek.seen = connection.execute(sa.select(DigestProcess.__table__)).all()
        return None


def test_a_run_writes_its_row_while_it_lasts_and_deletes_it_at_the_end(session, clock):
    save_job(session, clock, (Peek.type_code, {}))
    JobDigest(session, settings=QueueSettings(), clock=clock, concurrency=1,
              worker="web-1.example:4242:ab12").execute()
    assert [(r.worker, r.host, r.pid, r.concurrency, r.started_at) for r in Peek.seen] == [
        ("web-1.example:4242:ab12", "web-1.example", 4242, 1, clock.now)]
    assert rows(session) == []


def test_a_silent_digest_is_pruned_a_day_after_its_last_heartbeat(session, clock):
    for name, hours in (("gone", 25), ("recent", 23)):
        session.add(DigestProcess(worker=f"{name}:1:x", host=name, pid=1, concurrency=8,
                                  beat_seconds=30,
                                  started_at=clock.now - timedelta(hours=hours + 1),
                                  heartbeat_at=clock.now - timedelta(hours=hours)))
    session.commit()
    JobDigest(session, settings=QueueSettings(), clock=clock, concurrency=1).execute()
    assert [row.worker for row in rows(session)] == ["recent:1:x"]


@pytest.mark.parametrize("beat", [30.0, 1.0])
def test_stale_is_three_missed_beats_of_the_digest_itself(session, clock, beat):
    for name, seconds in (("live", beat * 3 - 0.5), ("stale", beat * 3 + 0.5)):
        session.add(DigestProcess(worker=f"{name}:7:x", host=name, pid=7, concurrency=2,
                                  beat_seconds=beat,
                                  started_at=clock.now - timedelta(hours=1),
                                  heartbeat_at=clock.now - timedelta(seconds=seconds)))
    session.commit()
    found = processes.running(session, now=clock.now)
    assert [(d.worker, d.stale) for d in found] == [("live:7:x", False), ("stale:7:x", True)]


@pytest.mark.parametrize(("worker", "host", "pid"), [
    ("db-2:31:9f", "db-2", 31),
    ("[::1]:8:ff", "[::1]", 8),
    ("odd", "odd", 0),
    ("a:b:c", "a:b:c", 0),
])
def test_host_and_pid_come_from_the_worker_id(worker, host, pid):
    assert processes._host_and_pid(worker) == (host, pid)


@pytest.mark.slow
def test_the_page_lists_a_real_digest_with_its_requests_then_marks_it_stale(
        app, session, digests, tmp_path):
    clock = utcnow
    jobs = [save_job(session, clock, (TYPE_CODE, {"until": str(tmp_path / "never")}),
                     relation_id=f"slow-{n}").id for n in range(2)]
    session.commit()
    # A short lease: its heartbeat beats every second; three missed, it is stale. (The
    # web app's lease is 300 s: a digest is judged by its own beat.)
    digest = digests.start("--max-seconds", "120", QUEUE_LEASE_SECONDS=3, QUEUE_CONCURRENCY=2)
    client = log_in(app.test_client(), add_user(session, "ops", Role.VIEWER))

    def page() -> str:
        return client.get("/digests").get_data(as_text=True)

    def both_in_flight() -> bool:
        session.rollback()
        return session.scalar(sa.select(sa.func.count()).where(
            Job.state == JobState.RUNNING)) == 2

    wait_until(both_in_flight, timeout=60, what="the digest to run both jobs")
    html = page()
    assert f"<td class=\"num\">{digest.pid}</td>" in html
    for job_id in jobs:
        assert f'href="/jobs/{job_id}">job #{job_id}</a>' in html
    assert "stale-badge" not in html
    first_beat = rows(session)[0].heartbeat_at
    wait_until(lambda: rows(session)[0].heartbeat_at > first_beat, timeout=10,
               what="a heartbeat")

    digest.send(signal.SIGKILL)
    digest.wait()
    html = wait_until(lambda: (text := page()) and "stale-badge" in text and text,
                      timeout=15, what="the page to mark the killed digest stale")
    assert f"<td class=\"num\">{digest.pid}</td>" in html
    assert "Digests" in html and 'aria-current="page">Digests' in html
