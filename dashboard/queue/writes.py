"""What a digest writes about the jobs it holds, every write guarded by its lease.

The statements are built once, with bound parameters, so the digest's hot path does not
rebuild and re-key them for every request. Nothing here commits: the digest groups these
writes into its transactions (see digest.py).

This is the general way. On PostgreSQL the common step (a request succeeded, the next one
starts) is one statement instead of five and a commit (``dialect.PostgreSQL.write_step``).
Its parts apply only together, so when the guard of the finished job fails nothing
changes and the digest writes that step this way, which says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from .claims import Lease
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
    #: When it was due to start (see ``Attempt.due_at``); None: not known.
    due_at: datetime | None = None


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
            "error": executed.error, "traceback": executed.traceback,
            "due_at": executed.due_at})
        if request_state == RequestState.FAILED and why is None:
            # Awaiting its alert email, in the transaction that fails the job: no failure
            # goes unreported.
            self.conn.execute(INSERT_ALERT, {
                "job_id": pending.job_id, "request_id": row.id, "attempts": row.attempts + 1,
                "failed_at": now,
                "reason": (executed.error or "").strip().split("\n", 1)[0]})
        return why
