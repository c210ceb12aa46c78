"""Digests on hosts whose clocks are wrong (libfaketime) go by the database server's
clock: they take over no job before its lease ends, call nothing twice at once, write no
false "interrupted" attempt, and run what is due."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from dashboard.db import utcnow
from dashboard.queue import JobState
from dashboard.queue.digest import db_clock
from dashboard.queue.jobs.models import Attempt
from tests.support.call_server import CallServer
from tests.support.concurrency import job_states, save
from tests.support.factories import make_job
from tests.support.http_types import TYPE_CODE
from tests.support.processes import wait_until

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1")
#: A short lease, renewed every 2 s: without the database's clock, a host 300 s ahead sees
#: every lease as long over.
LEASE = {"QUEUE_LEASE_SECONDS": 6, "QUEUE_TYPES": "tests.support.http_types"}


def skewed(seconds: int) -> dict[str, str]:
    """The environment of a process whose clock is ``seconds`` off (libfaketime)."""
    return {"LD_PRELOAD": str(LIBFAKETIME), "FAKETIME": f"{seconds:+d}s",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1"}


def call_job(server: CallServer, *, hold: bool = False):
    return make_job((TYPE_CODE, {"url": server.url, "hold": hold}))


def needs_a_server(db_url: str) -> None:
    if not LIBFAKETIME.exists() or not shutil.which("faketime"):
        pytest.skip("libfaketime is not installed (apt-get install faketime)")
    if db_url.startswith("sqlite"):
        pytest.skip("SQLite has no server: its clock is the clock of the process that opens "
                    "the file, so a clock faked for one process is that process's database "
                    "clock (every digest runs on the database's host, with one clock)")


@pytest.mark.slow
def test_digests_300s_ahead_and_behind_beside_a_healthy_one(session, digests, db_url):
    needs_a_server(db_url)
    with CallServer() as server:
        held = save(session, [call_job(server, hold=True) for _ in range(4)])
        healthy = digests.start("--max-jobs", "4", "--concurrency", "4", **LEASE)
        wait_until(lambda: server.held() == 4, what="the healthy digest's 4 calls")
        quick = save(session, [call_job(server) for _ in range(6)])

        # Behind first: a due job is due by the database's clock, not 300 s later.
        behind = digests.run("--max-jobs", "3", "--concurrency", "2", **LEASE,
                             **skewed(-300))
        ahead = digests.run("--concurrency", "2", **LEASE, **skewed(+300))
        assert server.held() == 4, "a held call was let go or taken over"
        server.released.set()
        assert healthy.wait(60) == 0, healthy.output

    for process in (behind, ahead):
        assert process.popen.returncode == 0, process.output
        assert "lease expired" not in process.stderr, process.output
    calls = server.calls
    by_pid = Counter(call.pid for call in calls)
    assert by_pid[behind.pid] == 3 and by_pid[ahead.pid] == 3, (by_pid, behind.output)
    assert Counter(call.job for call in calls if call.pid == healthy.pid) == {
        job.id: 1 for job in held}
    assert sorted(call.job for call in calls) == sorted(job.id for job in held + quick)
    assert server.overlapping() == []
    assert job_states(session) == {JobState.COMPLETED: 10}
    session.rollback()
    assert session.scalars(sa.select(Attempt.error).where(Attempt.error.is_not(None))).all() \
        == []
    for process in (behind, ahead):  # and each was warned of its clock
        assert "the database server's by 300" in process.stderr, process.output


def test_a_skewed_host_is_measured_warned_of_and_shown(app, session, caplog):
    """In-process: a host clock 300 s ahead, corrected to the database's."""
    engine = session.get_bind()
    ahead = db_clock.DatabaseClock(engine, host=lambda: utcnow() + timedelta(seconds=300),
                                   warn_over=5, hostname="skewed-host")
    with caplog.at_level("WARNING", "dashboard.digest"):
        corrected = ahead()
        ahead()
    assert abs(corrected - utcnow()) < timedelta(seconds=2)
    assert ahead.offset == pytest.approx(-300, abs=2)
    assert [r.message for r in caplog.records].count(caplog.records[0].message) == 1
    assert "skewed-host is ahead of the database server's by 300" in caplog.text
    session.rollback()
    shown = db_clock.skewed_hosts(session, now=utcnow(), warn_over=5)
    assert [(row.host, round(row.offset_seconds)) for row in shown] == [("skewed-host", -300)]
    assert db_clock.skewed_hosts(session, now=utcnow(), warn_over=400) == []
