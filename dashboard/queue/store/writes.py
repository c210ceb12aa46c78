"""What a digest writes about the jobs it holds, every write guarded by its lease.

The statements are built once, with bound parameters, so the digest's hot path does not
rebuild and re-key them for every request. Nothing here commits: the digest groups these
writes into its transactions (see digest/job_digest.py).

This is the general way. On PostgreSQL the common step (a request succeeded, the next one
starts) is one statement instead of five and a commit (``dialect.PostgreSQL.write_step``),
and a group of such steps one statement for them all (``write_steps``), made from the same
guards and values (guards.py). A step's parts apply only together, so when the guard of
the finished job fails nothing of it changes and the digest writes that step this way,
which says why.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..jobs.models import Attempt, FailureAlert, Job, Request
from ..jobs.states import JobState, Outcome, RequestState
from . import guards
from .claims import Lease

jobs = Job.__table__
requests = Request.__table__
attempts = Attempt.__table__
failure_alerts = FailureAlert.__table__

#: Why a guarded write did not apply: another digest holds the job now. Otherwise the
#: reason is the state an operator put the job in (paused, cancelled...).
LOST = "lost"

# Their guards and values are guards.py's, which PostgreSQL's one statement shares.
START_JOB = sa.update(jobs).where(guards.startable("job_id")).values(guards.START_JOB)
RENEW_JOB = sa.update(jobs).where(guards.running("job_id")).values(guards.RENEW_JOB)
END_JOB = sa.update(jobs).where(guards.running("job_id")).values(guards.END_JOB)
LET_GO = sa.update(jobs).where(guards.held("job_id")).values(locked_by=None, locked_until=None)
WHY = sa.select(jobs.c.state, jobs.c.locked_by).where(jobs.c.id == sa.bindparam("job_id"))

REQUEST_RUNNING = sa.update(requests).where(guards.request("request_id")).values(
    guards.REQUEST_RUNNING)
REQUEST_SUCCEEDED = sa.update(requests).where(guards.request("request_id")).values(
    guards.REQUEST_SUCCEEDED)
REQUEST_FAILED = sa.update(requests).where(guards.request("request_id")).values(
    guards.REQUEST_FAILED)
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


@dataclass(frozen=True)
class StepToWrite:
    """A digest's step: write ``pending``'s outcome, then mark ``start`` (job id, request
    id) running, then give back ``release``; each part optional."""

    pending: Pending | None
    start: tuple[int, int] | None
    release: tuple[int, ...]
    now: datetime

    def jobs(self) -> set[int]:
        """The jobs the step writes."""
        found = set(self.release)
        if self.pending is not None:
            found.add(self.pending.job_id)
        if self.start is not None:
            found.add(self.start[0])
        return found


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
        executed, row, done = pending.executed, pending.row, pending.executed.finished_at
        if pending.job_state == JobState.RUNNING:
            why = self._guarded(RENEW_JOB, pending.job_id, until=self.lease.until(done),
                                done=done)
        else:
            final = pending.job_state in (JobState.COMPLETED, JobState.FAILED)
            why = self._guarded(
                END_JOB, pending.job_id, job_state=pending.job_state, done=done,
                finished=done if final else None, next_attempt=pending.next_attempt_at)
        if why == LOST:
            return why
        request_state = pending.request_state
        if why is not None:
            self.let_go(pending.job_id)
            if why == JobState.CANCELLED and not executed.ok:
                request_state = RequestState.CANCELLED
        if executed.ok:
            self.conn.execute(REQUEST_SUCCEEDED, {
                "request_id": row.id, "request_attempts": row.attempts + 1,
                "request_result": executed.result, "done": done})
        else:
            self.conn.execute(REQUEST_FAILED, {
                "request_id": row.id, "request_state": request_state,
                "request_attempts": row.attempts + 1, "request_error": executed.error,
                "done": done})
        self.conn.execute(INSERT_ATTEMPT, {
            "request_id": row.id, "number": (row.last_number or 0) + 1,
            "started_at": executed.started_at, "finished_at": done,
            "outcome": Outcome.SUCCEEDED if executed.ok else Outcome.FAILED,
            "error": executed.error, "traceback": executed.traceback,
            "due_at": executed.due_at})
        if request_state == RequestState.FAILED and why is None:
            # Awaiting its alert email, in the transaction that fails the job: no failure
            # goes unreported.
            self.conn.execute(INSERT_ALERT, {
                "job_id": pending.job_id, "request_id": row.id, "attempts": row.attempts + 1,
                "failed_at": done,
                "reason": (executed.error or "").strip().split("\n", 1)[0]})
        return why
