"""What a digest writes about the jobs it holds, every write guarded by its lease.

The statements are built once, with bound parameters, so the digest's hot path does not
rebuild and re-key them for every request. Nothing here commits, except ``combined``: the
digest groups these writes into its transactions (see digest.py).

On PostgreSQL the common step (a request succeeded, the next one starts) is one statement
of data-modifying CTEs instead of five statements and a commit: one round trip, atomic
on its own. Its parts apply only together, so when the guard of the finished job fails
nothing changes and the digest writes that step the general way, which says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .claims import Lease
from .database import execute_alone, executes_alone
from .models import Attempt, FailureAlert, Job, Request
from .states import JobState, Outcome, RequestState

jobs = Job.__table__
requests = Request.__table__
attempts = Attempt.__table__
failure_alerts = FailureAlert.__table__

#: Why a guarded write did not apply: another digest holds the job now. Otherwise the
#: reason is the state an operator put the job in (paused, cancelled...).
LOST = "lost"


def _param(name: str, column: sa.Column) -> sa.BindParameter:
    return sa.bindparam(name, type_=column.type)


_HELD = sa.and_(jobs.c.id == sa.bindparam("job_id"), jobs.c.locked_by == sa.bindparam("worker"))
_NOW = _param("now", jobs.c.updated_at)
_UNTIL = _param("until", jobs.c.locked_until)

START_JOB = sa.update(jobs).where(
    _HELD, jobs.c.state.in_([JobState.PENDING, JobState.RETRYING, JobState.RUNNING])
).values(state=JobState.RUNNING, locked_until=_UNTIL, updated_at=_NOW)
RENEW_JOB = sa.update(jobs).where(_HELD, jobs.c.state == JobState.RUNNING).values(
    locked_until=_UNTIL, updated_at=_NOW)
END_JOB = sa.update(jobs).where(_HELD, jobs.c.state == JobState.RUNNING).values(
    state=_param("state", jobs.c.state), finished_at=_param("finished_at", jobs.c.finished_at),
    next_attempt_at=_param("next_attempt_at", jobs.c.next_attempt_at),
    locked_by=None, locked_until=None, updated_at=_NOW)
LET_GO = sa.update(jobs).where(_HELD).values(locked_by=None, locked_until=None)
WHY = sa.select(jobs.c.state, jobs.c.locked_by).where(jobs.c.id == sa.bindparam("job_id"))

_REQUEST = requests.c.id == sa.bindparam("request_id")
_REQUEST_NOW = _param("now", requests.c.updated_at)
REQUEST_RUNNING = sa.update(requests).where(_REQUEST).values(
    state=RequestState.RUNNING, updated_at=_REQUEST_NOW)
REQUEST_SUCCEEDED = sa.update(requests).where(_REQUEST).values(
    state=RequestState.SUCCEEDED, attempts=sa.bindparam("attempts"),
    result=sa.bindparam("result"), updated_at=_REQUEST_NOW)
REQUEST_FAILED = sa.update(requests).where(_REQUEST).values(
    state=_param("state", requests.c.state), attempts=sa.bindparam("attempts"),
    last_error=sa.bindparam("error"), updated_at=_REQUEST_NOW)
INSERT_ATTEMPT = sa.insert(attempts)
INSERT_ALERT = sa.insert(failure_alerts)



def _sql(value: str) -> sa.ColumnElement:
    """A constant written into the statement (bound constants of DML inside a CTE are lost)."""
    return sa.literal_column(f"'{value}'", sa.String)


def _combined(prev: str | None, start: str | None) -> sa.Select:
    """One statement: ``prev`` (None, "end": the job completes, "renew": it goes on) is the
    outcome of a request that succeeded, ``start`` (None, "other": another job's request,
    "same": the next request of prev's job) the request marked running after it. Selects
    whether each part applied. Its parameters are named apart from the columns: an UPDATE
    would take a parameter named like a column as a value for that column."""
    worker: sa.BindParameter[str] = sa.bindparam("worker")
    ctes = []
    prev_job = next_job = None
    if prev is not None:
        held = sa.and_(jobs.c.id == sa.bindparam("prev_job_id"), jobs.c.locked_by == worker,
                       jobs.c.state == _sql(JobState.RUNNING))
        done = _param("done", jobs.c.updated_at)
        if prev == "end":
            values = dict(state=_sql(JobState.COMPLETED), finished_at=done,
                          next_attempt_at=sa.null(), locked_by=sa.null(), locked_until=sa.null(),
                          updated_at=done)
        else:
            values = dict(locked_until=_UNTIL, updated_at=_NOW)
        prev_job = sa.update(jobs).where(held).values(**values).returning(jobs.c.id).cte(
            "prev_job")
        prev_request = sa.update(requests).where(
            requests.c.id == sa.bindparam("prev_request_id"), sa.exists(prev_job.select())
        ).values(state=_sql(RequestState.SUCCEEDED), attempts=sa.bindparam("request_attempts"),
                 result=sa.bindparam("request_result"),
                 updated_at=_param("done", requests.c.updated_at)
                 ).returning(requests.c.id).cte("prev_request")
        ctes.append(sa.insert(attempts).from_select(
            ["request_id", "number", "started_at", "finished_at", "outcome"],
            sa.select(prev_request.c.id, sa.bindparam("attempt_number", type_=sa.Integer),
                      _param("attempt_started", attempts.c.started_at),
                      _param("done", attempts.c.finished_at),
                      _sql(Outcome.SUCCEEDED)),
        ).returning(attempts.c.id).cte("prev_attempt"))
    if start == "same":
        next_job = prev_job
    elif start == "other":
        guard = [jobs.c.id == sa.bindparam("next_job_id"), jobs.c.locked_by == worker,
                 jobs.c.state.in_([_sql(s) for s in (JobState.PENDING, JobState.RETRYING,
                                                     JobState.RUNNING)])]
        if prev_job is not None:
            guard.append(sa.exists(prev_job.select()))
        next_job = sa.update(jobs).where(*guard).values(
            state=_sql(JobState.RUNNING), locked_until=_UNTIL, updated_at=_NOW
        ).returning(jobs.c.id).cte("next_job")
    if next_job is not None:
        ctes.append(sa.update(requests).where(
            requests.c.id == sa.bindparam("next_request_id"), sa.exists(next_job.select())
        ).values(state=_sql(RequestState.RUNNING), updated_at=_REQUEST_NOW).returning(
            requests.c.id).cte("next_request"))
    return sa.select(
        sa.exists(prev_job.select()) if prev_job is not None else sa.true(),
        sa.exists(next_job.select()) if next_job is not None else sa.true(),
    ).add_cte(*ctes)


_COMBINED = {(prev, start): _combined(prev, start)
             for prev, start in ((None, "other"), ("end", None), ("end", "other"),
                                 ("renew", "same"))}


@dataclass
class Executed:
    """A request's execution: how it went."""

    ok: bool
    started_at: datetime
    finished_at: datetime
    result: str | None = None
    error: str | None = None
    traceback: str | None = None
    permanent: bool = False


@dataclass
class Pending:
    """An executed request whose outcome is still to be written."""

    job_id: int
    row: Any  # the request's row as the digest read it
    executed: Executed
    request_state: RequestState
    #: The job's state after it: running (more requests follow) or final for now.
    job_state: JobState
    next_attempt_at: datetime | None = None


class Writer:
    """The digest's writes on its connection, each guarded by ``lease``."""

    def __init__(self, conn: sa.Connection, lease: Lease) -> None:
        self.conn = conn
        self.lease = lease
        self._one_statement = executes_alone(conn)

    def combined(self, pending: Pending | None, start: tuple[int, int] | None,
                 now: datetime) -> tuple[bool, bool] | None:
        """PostgreSQL: write ``pending``'s outcome and mark ``start``'s request running in one
        statement, committed. Returns whether the outcome was written and whether the start
        was; when the outcome was not, nothing was. None: this step takes the general way
        (another database, a transaction already open, or a request that failed)."""
        if not self._one_statement or self.conn.in_transaction():
            return None
        params: dict[str, Any] = {"worker": self.lease.worker, "until": self.lease.until(now),
                                  "now": now}
        prev = None
        if pending is not None:
            if not pending.executed.ok:
                return None
            prev = "end" if pending.job_state == JobState.COMPLETED else "renew"
            row, executed = pending.row, pending.executed
            params.update(prev_job_id=pending.job_id, prev_request_id=row.id,
                          request_attempts=row.attempts + 1, request_result=executed.result,
                          attempt_number=(row.last_number or 0) + 1,
                          attempt_started=executed.started_at,
                          done=executed.finished_at)
        kind = None
        if start is not None:
            kind = "same" if pending is not None and start[0] == pending.job_id else "other"
            params.update(next_job_id=start[0], next_request_id=start[1])
        statement = _COMBINED.get((prev, kind))
        if statement is None:
            return None
        [(written, started)] = execute_alone(self.conn, statement, params)
        return bool(written), bool(started)

    def _guarded(self, statement: sa.Update, job_id: int, **params: Any) -> str | None:
        """Apply ``statement`` to a job this digest holds. None when it did; else why not."""
        params.update(job_id=job_id, worker=self.lease.worker)
        if self.conn.execute(statement, params).rowcount == 1:
            return None
        row = self.conn.execute(WHY, {"job_id": job_id}).one_or_none()
        if row is None or row.locked_by != self.lease.worker:
            return LOST
        return str(row.state)

    def let_go(self, job_id: int) -> None:
        self.conn.execute(LET_GO, {"job_id": job_id, "worker": self.lease.worker})

    def start(self, job_id: int, request_id: int, now: datetime) -> str | None:
        """Mark a request running. None when it may run; else why not (the job let go)."""
        why = self._guarded(START_JOB, job_id, until=self.lease.until(now), now=now)
        if why is None:
            self.conn.execute(REQUEST_RUNNING, {"request_id": request_id, "now": now})
        elif why != LOST:
            self.let_go(job_id)
        return why

    def outcome(self, pending: Pending) -> str | None:
        """Write an executed request's outcome: the job (guarded), the request, its attempt,
        and for a job that failed for good its alert. None, or why the job was let go:
        LOST writes nothing (the digest that took over owns the job); an operator's pause
        or cancel keeps what the request did and lets the job go."""
        executed, row, now = pending.executed, pending.row, pending.executed.finished_at
        if pending.job_state == JobState.RUNNING:
            why = self._guarded(RENEW_JOB, pending.job_id, until=self.lease.until(now), now=now)
        else:
            final = pending.job_state in (JobState.COMPLETED, JobState.FAILED)
            why = self._guarded(
                END_JOB, pending.job_id, state=pending.job_state, now=now,
                finished_at=now if final else None, next_attempt_at=pending.next_attempt_at)
        if why == LOST:
            return why
        request_state = pending.request_state
        if why is not None:
            self.let_go(pending.job_id)
            if why == JobState.CANCELLED and not executed.ok:
                request_state = RequestState.CANCELLED
        if executed.ok:
            self.conn.execute(REQUEST_SUCCEEDED, {
                "request_id": row.id, "attempts": row.attempts + 1, "result": executed.result,
                "now": now})
        else:
            self.conn.execute(REQUEST_FAILED, {
                "request_id": row.id, "state": request_state, "attempts": row.attempts + 1,
                "error": executed.error, "now": now})
        self.conn.execute(INSERT_ATTEMPT, {
            "request_id": row.id, "number": (row.last_number or 0) + 1,
            "started_at": executed.started_at, "finished_at": now,
            "outcome": Outcome.SUCCEEDED if executed.ok else Outcome.FAILED,
            "error": executed.error, "traceback": executed.traceback})
        if request_state == RequestState.FAILED and why is None:
            # Awaiting its alert email, in the transaction that fails the job: no failure
            # goes unreported.
            self.conn.execute(INSERT_ALERT, {
                "job_id": pending.job_id, "request_id": row.id, "attempts": row.attempts + 1,
                "failed_at": now,
                "reason": (executed.error or "").strip().split("\n", 1)[0]})
        return why
