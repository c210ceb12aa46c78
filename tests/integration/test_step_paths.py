"""PostgreSQL's one-statement step and the general way's statements change the same rows
the same way: both take their guards and values from queue/store/guards.py.

Each case runs on the same seeded rows twice, once each way, in a transaction rolled back
after its rows are read.
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.queue.jobs.models import Attempt, Job, Request
from dashboard.queue.jobs.states import JobState, RequestState
from dashboard.queue.store.claims import Lease
from dashboard.queue.store.dialect import POSTGRESQL
from dashboard.queue.store.writes import Executed, Pending, Writer
from tests.support.clock import T0
from tests.support.factories import save_job

pytestmark = pytest.mark.parametrize("db_url", ["postgresql"], indirect=True)

LEASE = Lease("digest-a", 60)
STARTED, DONE, NOW = (T0 + timedelta(seconds=s) for s in (1, 2, 3))
jobs, requests, attempts = Job.__table__, Request.__table__, Attempt.__table__


def seed(session, clock) -> dict[str, tuple[int, list[int]]]:
    """Jobs this digest holds: ``going`` (two requests, its first running), ``ending`` (one
    request, running) and ``claimed`` (one request, not started). By name: (job id,
    request ids)."""
    going = save_job(session, clock, ("test_echo", {"n": 1}), ("test_echo", {"n": 2}))
    ending = save_job(session, clock, ("test_echo", {"n": 3}))
    claimed = save_job(session, clock, ("test_echo", {"n": 4}))
    session.commit()
    lease = dict(locked_by=LEASE.worker, locked_until=T0 + timedelta(seconds=60))
    for job in (going, ending):
        session.execute(sa.update(jobs).where(jobs.c.id == job.id).values(
            state=JobState.RUNNING, **lease))
        session.execute(sa.update(requests).where(requests.c.id == job.requests[0].id)
                        .values(state=RequestState.RUNNING))
    session.execute(sa.update(jobs).where(jobs.c.id == claimed.id).values(**lease))
    session.commit()
    return {name: (job.id, [r.id for r in job.requests])
            for name, job in (("going", going), ("ending", ending), ("claimed", claimed))}


def succeeded(seeded, name: str, job_state: JobState) -> Pending:
    job_id, request_ids = seeded[name]
    row = SimpleNamespace(id=request_ids[0], attempts=0, last_number=None)
    executed = Executed(ok=True, started_at=STARTED, finished_at=DONE, result='{"ok": 1}')
    return Pending(job_id, row, executed, RequestState.SUCCEEDED, job_state)


def rows(conn: sa.Connection) -> dict[str, list[tuple]]:
    """Every row of the queue's three tables (an attempt's id aside: the sequence does not
    roll back)."""
    return {
        "jobs": [tuple(r) for r in conn.execute(sa.select(jobs).order_by(jobs.c.id))],
        "requests": [tuple(r) for r in conn.execute(
            sa.select(requests).order_by(requests.c.id))],
        "attempts": [tuple(r) for r in conn.execute(
            sa.select(*(c for c in attempts.c if c.name != "id")).order_by(
                attempts.c.request_id, attempts.c.number))],
    }


def the_general_way(conn: sa.Connection, pending: Pending | None,
                    start: tuple[int, int] | None) -> None:
    writer = Writer(conn, LEASE)
    if pending is not None:
        writer.outcome(pending)
    if start is not None:
        writer.start(*start, NOW)


def in_one_statement(conn: sa.Connection, pending: Pending | None,
                     start: tuple[int, int] | None) -> None:
    written = POSTGRESQL.write_step(conn, LEASE, pending, start, NOW, alone=False)
    assert written is not None, "this step has no statement of its own"
    assert (written.outcome, written.start) == (True, True)


def rows_after(write, pending, start) -> dict[str, list[tuple]]:
    with db.engine.connect() as conn:
        try:
            write(conn, pending, start)
            return rows(conn)
        finally:
            conn.rollback()


#: (the outcome written: job and its state after it, or None; the request started, or None)
CASES = {
    "a claimed job's first request starts": (None, ("claimed", 0)),
    "a request succeeds, its job's next starts": (("going", JobState.RUNNING), ("going", 1)),
    "a request succeeds, its job goes on later": (("going", JobState.RUNNING), None),
    "a job's last request succeeds": (("ending", JobState.COMPLETED), None),
    "a job completes, another job's request starts": (("ending", JobState.COMPLETED),
                                                       ("claimed", 0)),
}


@pytest.mark.parametrize("case", CASES)
def test_both_ways_of_writing_a_step_change_the_same_rows(session, clock, case):
    seeded = seed(session, clock)
    outcome, starting = CASES[case]
    pending = None if outcome is None else succeeded(seeded, *outcome)
    start = None if starting is None else (seeded[starting[0]][0],
                                           seeded[starting[0]][1][starting[1]])
    with db.engine.connect() as conn:
        before = rows(conn)
    general = rows_after(the_general_way, pending, start)
    fast = rows_after(in_one_statement, pending, start)
    assert general != before
    assert fast == general


def test_neither_way_writes_a_step_of_a_job_another_digest_took(session, clock):
    seeded = seed(session, clock)
    session.execute(sa.update(jobs).where(jobs.c.id == seeded["going"][0]).values(
        locked_by="digest-b"))
    session.commit()
    pending = succeeded(seeded, "going", JobState.RUNNING)
    start = (seeded["going"][0], seeded["going"][1][1])
    with db.engine.connect() as conn:
        before = rows(conn)
        written = POSTGRESQL.write_step(conn, LEASE, pending, start, NOW, alone=False)
        assert written is not None and not written.outcome
        assert rows(conn) == before
        conn.rollback()
    assert rows_after(the_general_way, pending, None) == before
