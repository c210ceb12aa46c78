"""PostgreSQL's one-statement step, its one statement for a group of steps, and the general
way's statements change the same rows the same way: all take their guards and values from
queue/store/guards.py.

Each case runs on the same seeded rows twice, once each way, in a transaction rolled back
after its rows are read (a group, written by the digest's steps, is committed: it runs
last).
"""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from dashboard.app.extensions import db
from dashboard.queue.digest.connections import Connections
from dashboard.queue.digest.steps import Step, Steps
from dashboard.queue.jobs.models import Attempt, Job, Request
from dashboard.queue.jobs.states import JobState, RequestState
from dashboard.queue.store.claims import Lease
from dashboard.queue.store.dialect import POSTGRESQL
from dashboard.queue.store.writes import LOST, Executed, Pending, StepToWrite, Writer
from tests.support.clock import T0
from tests.support.factories import save_job
from tests.support.statements import sent_statements

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


# -- a group of steps ---------------------------------------------------------------------


def hold(session, clock, name: str, count: int, *, running: bool,
         worker: str = LEASE.worker, state: JobState | None = None) -> tuple[int, list[int]]:
    """A job of ``count`` requests held by ``worker``: its first request running, or
    claimed and not started (or in ``state``, as an operator left it). Its (id, request
    ids)."""
    job = save_job(session, clock, *(("test_echo", {"job": name, "k": k})
                                     for k in range(count)))
    session.commit()
    session.execute(sa.update(jobs).where(jobs.c.id == job.id).values(
        locked_by=worker, locked_until=T0 + timedelta(seconds=60),
        state=state or (JobState.RUNNING if running else JobState.PENDING)))
    if running:
        session.execute(sa.update(requests).where(requests.c.id == job.requests[0].id)
                        .values(state=RequestState.RUNNING))
    session.commit()
    return job.id, [r.id for r in job.requests]


def done(job: tuple[int, list[int]], job_state: JobState) -> Pending:
    """The job's first request succeeded; the job is in ``job_state`` after it."""
    return succeeded({"job": job}, "job", job_state)


def failed(job: tuple[int, list[int]]) -> Pending:
    """The job's first request failed, to be tried again."""
    row = SimpleNamespace(id=job[1][0], attempts=0, last_number=None)
    executed = Executed(ok=False, started_at=STARTED, finished_at=DONE, error="boom")
    return Pending(job[0], row, executed, RequestState.RETRYING, JobState.RETRYING,
                   next_attempt_at=DONE + timedelta(seconds=30))


def each_the_general_way(group: list[StepToWrite]) -> dict[str, list[tuple]]:
    """The rows after the group's steps, each written the general way in its turn, as a
    step alone would be (rolled back)."""
    with db.engine.connect() as conn:
        try:
            writer = Writer(conn, LEASE)
            for step in group:
                let_go = writer.outcome(step.pending) if step.pending is not None else None
                if step.start is not None and not (
                        let_go is not None and step.start[0] == step.pending.job_id):
                    writer.start(*step.start, step.now)
            return rows(conn)
        finally:
            conn.rollback()


def as_a_group(group: list[StepToWrite]) -> tuple[list[Step], Steps, list[str]]:
    """The group written and committed as the digest writes a group of steps: what each
    step wrote, the steps' tally and the statements sent."""
    connections = Connections(db.engine, 1, wait_seconds=5)
    steps = Steps(connections, LEASE)
    try:
        with sent_statements() as sent:
            written = steps._commit(group)
        return written, steps, sent()
    finally:
        connections.close()


def test_a_group_of_steps_that_have_a_statement_is_one_statement(session, clock):
    # Six jobs, each shape of step a digest's thread writes: a request succeeds and its
    # job's next starts, a job's last request succeeds, a claimed job's first starts.
    going = [hold(session, clock, f"going {n}", 2, running=True) for n in range(2)]
    ending = [hold(session, clock, f"ending {n}", 1, running=True) for n in range(2)]
    claimed = [hold(session, clock, f"claimed {n}", 1, running=False) for n in range(2)]
    group = [
        StepToWrite(done(job, JobState.RUNNING), (job[0], job[1][1]), (), NOW)
        for job in going
    ] + [
        StepToWrite(done(job, JobState.COMPLETED), None, (), NOW) for job in ending
    ] + [StepToWrite(None, (job[0], job[1][0]), (), NOW) for job in claimed]
    # and a last outcome with another job's start (a job run after another in a thread)
    before_other = hold(session, clock, "ending before another", 1, running=True)
    other = hold(session, clock, "started after another", 1, running=False)
    group.append(StepToWrite(done(before_other, JobState.COMPLETED), (other[0], other[1][0]),
                             (), NOW))
    with db.engine.connect() as conn:
        before = rows(conn)
    general = each_the_general_way(group)
    written, steps, sent = as_a_group(group)
    assert len(sent) == 1, sent  # one statement for the seven steps, in a transaction
    assert sent[0].startswith("WITH steps AS")
    assert written == [Step()] * len(group)
    assert steps.general_way.counts() == {}
    with db.engine.connect() as conn:
        after = rows(conn)
    assert general != before
    assert after == general


def test_a_group_writes_what_holds_and_leaves_the_rest_to_the_general_way(session, clock):
    # One group: steps whose guards hold, beside a step of a job another digest took (its
    # outcome and start refused), a start of a job another digest took, a request that
    # failed, and an outcome whose job completes while the next job it starts was paused.
    going = hold(session, clock, "going", 2, running=True)
    ending = hold(session, clock, "ending", 1, running=True)
    claimed = hold(session, clock, "claimed", 1, running=False)
    lost = hold(session, clock, "lost", 2, running=True, worker="digest-b")
    taken = hold(session, clock, "taken", 1, running=False, worker="digest-b")
    failing = hold(session, clock, "failing", 2, running=True)
    last = hold(session, clock, "last", 1, running=True)
    paused = hold(session, clock, "paused", 1, running=False, state=JobState.PAUSED)
    group = [
        StepToWrite(done(going, JobState.RUNNING), (going[0], going[1][1]), (), NOW),
        StepToWrite(done(lost, JobState.RUNNING), (lost[0], lost[1][1]), (), NOW),
        StepToWrite(done(ending, JobState.COMPLETED), None, (), NOW),
        StepToWrite(failed(failing), None, (), NOW),
        StepToWrite(None, (taken[0], taken[1][0]), (), NOW),
        StepToWrite(None, (claimed[0], claimed[1][0]), (), NOW),
        StepToWrite(done(last, JobState.COMPLETED), (paused[0], paused[1][0]), (), NOW),
    ]
    with db.engine.connect() as conn:
        before = rows(conn)
    general = each_the_general_way(group)
    written, steps, sent = as_a_group(group)
    assert written == [Step(), Step(let_go=LOST, refused=LOST), Step(), Step(),
                       Step(refused=LOST), Step(), Step(refused=JobState.PAUSED)]
    assert steps.general_way.counts() == {
        "the outcome's job not held": 1, "a request failed": 1,
        "the start's job not held": 2}
    assert [s for s in sent if s.startswith("WITH steps AS")] == sent[:1]
    with db.engine.connect() as conn:
        after = rows(conn)
    assert general != before
    assert after == general
    # Nothing of the jobs another digest holds was written, by either way.
    held_by_b = {lost[0], taken[0]}
    assert ([r for r in after["jobs"] if r[0] in held_by_b]
            == [r for r in before["jobs"] if r[0] in held_by_b])
