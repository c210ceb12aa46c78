"""One claimed job run by the digest, in a thread of its own: its requests in order, each
started and its outcome written by a step (steps.py), each call watched for its timeout
(calls.py) and taken in turn at its connector's limits (limits.py).

``JobRunning`` is the part of ``JobDigest`` (job_digest.py) that does this; the digest
claims the jobs and hands each to a thread (inflight.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from ..jobs import retry
from ..jobs.payload import load_json
from ..jobs.settings import QueueSettings
from ..jobs.states import JobState, RequestState
from ..jobs.types import JobInfo, registry, timeout_of
from ..store.claims import Lease
from ..store.pauses import PausedNow
from ..store.writes import LOST, Executed, Pending
from . import execution, limits
from .calls import Call, Calls
from .connections import Connections
from .digest_runs import DigestResult
from .heartbeat import Holdings
from .inflight import InFlight
from .limits import ConnectorBusy, ConnectorLimits
from .steps import Step, Steps, StepToWrite

log = logging.getLogger("dashboard.digest")


@dataclass
class Work:
    """A claimed job and its requests still to run."""

    job_id: int
    job: JobInfo
    todo: list[sa.Row]
    previous: Any  # the result of the request before the first one to run


class Abandoned(Exception):
    """The call ran past its timeout, and its job was ended without it."""


class JobRunning:
    """Runs claimed jobs in the digest's threads (see the module's docstring)."""

    settings: QueueSettings
    lease: Lease
    limits: ConnectorLimits
    _held: Holdings
    _stop: threading.Event
    _failing: threading.Event
    _run_started: datetime
    _deadline: float | None
    _connections: Connections
    _steps: Steps
    _calls: Calls
    _flight: InFlight
    _total: DigestResult
    _results: threading.Lock
    _paused: PausedNow | None = None
    clock: Callable[[], datetime]

    def _should_stop(self, deadline: float | None) -> bool:
        return (self._stop.is_set() or self._failing.is_set()
                or (deadline is not None and time.monotonic() >= deadline))

    def _run_in_thread(self, work: Work) -> None:
        """Run one claimed job to its end (or give it back)."""
        result = DigestResult()
        job_id = work.job_id
        abandoned = False
        try:
            if self._should_stop(self._deadline):  # claimed, not started: give it back
                self._step(None, None, result, release=[job_id])
            else:
                pending = self._run_job(work, result)
                stopped = pending is not None and pending.job_state == JobState.RUNNING
                self._step(pending, None, result, release=[job_id] if stopped else None)
            # On an error the job stays held: the run gives it back, if the database lets it.
            self._held.discard([job_id])
        except Abandoned:  # its outcome was written, and its result counted, without it
            abandoned = True
        finally:
            if not abandoned:
                with self._results:
                    self._total.add(result)
            if work.job.relation_id is not None:
                self._flight.wake()  # the next job of its relation may be due now

    def _run_job(self, work: Work, result: DigestResult) -> Pending | None:
        """Run a job's requests; returns the last request's outcome, still to be written.
        Past the run's deadline, or once stopped, no further request starts."""
        job_id = work.job_id
        result.jobs += 1
        previous = work.previous
        pending: Pending | None = None
        # The first request was due when its job was, as claimed; each next one when the
        # one before it ended.
        due = work.todo[0].job_due_at if work.todo else None
        for index, row in enumerate(work.todo):
            if index > 0 and row.type_code in self._paused_now():
                # Its type was paused after the claim: the outcome so far is written and
                # the job given back (see _run_in_thread), due again once it is resumed.
                return pending
            refused = self._step(pending, (job_id, row.id), result).refused
            if refused is not None:
                self._note_let_go(job_id, refused, result)
                return None
            try:
                executed = self._invoke(work, row, previous, result, due)
            except ConnectorBusy as busy:
                self._defer(job_id, row, busy, result)
                return None
            last = index == len(work.todo) - 1
            pending = self._pending(job_id, row, executed, last=last)
            if not executed.ok or last or self._should_stop(self._deadline):
                return pending
            previous = load_json(executed.result)
            due = executed.finished_at
        return pending

    def _paused_now(self) -> PausedNow:
        with self._results:
            if self._paused is None:
                self._paused = PausedNow(self._connections.run)
            paused = self._paused
        return paused

    def _step(self, pending: Pending | None, start: tuple[int, int] | None,
              result: DigestResult, release: list[int] | None = None) -> Step:
        """Write ``pending``'s outcome, then mark ``start``'s request running (or give back
        ``release``), committed (with other jobs' steps, see steps.py)."""
        if pending is None and start is None and not release:
            return Step()
        step = self._steps.write(StepToWrite(pending, start, tuple(release or ()),
                                             self.clock()))
        if pending is not None:
            self._account(pending, step.let_go, result)
        return step

    def _account(self, pending: Pending, why: str | None, result: DigestResult) -> None:
        job_id = pending.job_id
        if why == LOST:
            log.warning("job %s: lost its lease to another digest; the outcome of request %s "
                        "was not written", job_id, pending.row.id)
            self._note_let_go(job_id, why, result)
            return
        if pending.executed.ok:
            result.succeeded += 1
        elif pending.request_state == RequestState.FAILED:
            result.failed += 1
        else:
            result.retrying += 1
        if pending.job_state != JobState.RUNNING:
            result.outcomes[job_id] = str(pending.job_state)
        execution.log_outcome(job_id, pending.row, pending.executed, pending.request_state)
        if why is not None:
            self._note_let_go(job_id, why, result)

    def _note_let_go(self, job_id: int, why: str, result: DigestResult) -> None:
        if result.outcomes.get(job_id) == "released":
            return  # noted with the outcome written in the same step
        if why != LOST:
            log.warning("job %s: %s by an operator; left as it is", job_id, why)
        result.released += 1
        result.outcomes[job_id] = "released"

    def _pending(self, job_id: int, row: sa.Row, executed: Executed, *, last: bool) -> Pending:
        """What an executed request changes: its own state and its job's."""
        if executed.ok:
            job_state = JobState.COMPLETED if last else JobState.RUNNING
            return Pending(job_id, row, executed, RequestState.SUCCEEDED, job_state)
        retry_at = None if executed.permanent else retry.for_type(
            row.type_code, self.settings.retry).next_attempt_at(row.attempts + 1,
                                                               executed.finished_at)
        if retry_at is None:
            return Pending(job_id, row, executed, RequestState.FAILED, JobState.FAILED)
        # Never within this run: a run claims what was due when it started.
        retry_at = max(retry_at, self._run_started + timedelta(microseconds=1))
        return Pending(job_id, row, executed, RequestState.RETRYING, JobState.RETRYING, retry_at)

    def _invoke(self, work: Work, row: sa.Row, previous: Any, result: DigestResult,
                due_at: datetime | None) -> Executed:
        """Execute a request in its turn at its connector's limits (ConnectorBusy: no turn
        came within ``limit_wait``, and the request did not run), watched for its timeout
        (Abandoned: it outran it)."""
        connector = limits.connector_of(row.type_code)
        wait = self.settings.limit_wait
        if self._deadline is not None:
            wait = max(0.0, min(wait, self._deadline - time.monotonic()))
        type_cls = registry.get(row.type_code) if row.type_code in registry else None
        timeout = timeout_of(type_cls, self.settings.request_timeout)
        with self.limits.turn(self._connections.borrow, connector, work.job_id, self.clock,
                              max_wait=wait):
            call = self._calls.begin(work.job_id, row, timeout, self.clock(), result,
                                     due_at=due_at)
            try:
                executed = execution.execute(work.job, row, previous, clock=self.clock,
                                             masker=self.settings.masker, due_at=due_at)
            finally:
                in_time = self._calls.end(call)
        if not in_time:
            log.warning("job %s request %s returned after its timeout; its result is "
                        "discarded", work.job_id, row.id)
            raise Abandoned
        return executed

    def _call_ended(self, call: Call, reason: str) -> None:
        """A call abandoned (past its timeout, or the digest stopped at once): its failed
        attempt is written, and its job goes on by the retry schedule."""
        self._held.discard([call.job_id])
        result: DigestResult = call.done or DigestResult()
        try:
            executed = Executed(ok=False, started_at=call.started_at, finished_at=self.clock(),
                                error=reason, due_at=execution.due_by(call.due_at,
                                                                      call.started_at))
            self._step(self._pending(call.job_id, call.row, executed, last=True), None, result)
        except BaseException as error:
            self._flight.fail(error)
            raise
        finally:
            with self._results:
                self._total.add(result)
            self._flight.ended()

    def _defer(self, job_id: int, row: sa.Row, busy: ConnectorBusy,
               result: DigestResult) -> None:
        """Give back a job whose connector is at its limit (see limits.defer)."""
        def write(conn: sa.Connection) -> None:
            with conn.begin():
                limits.defer(conn, self.lease, job_id, row, busy, now=self.clock(),
                             not_before=self._run_started + timedelta(microseconds=1))
        self._connections.run(write)
        result.deferred += 1
        result.outcomes[job_id] = "deferred"
