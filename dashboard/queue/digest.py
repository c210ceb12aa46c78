"""The digest: claims due jobs and executes their requests in order.

A digest works on a connection of its own, in short transactions: one claims a batch of
jobs and reads their requests; then each request gets one transaction that writes the
outcome of the request before it and marks it running. So no transaction stays open
while a request type's ``execute`` runs, and each outcome is durable before the next
request starts. Every write to a job is guarded by the digest's lease (``locked_by``).
On PostgreSQL each of these transactions is a single statement, one round trip (see
dialect.py).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import claims, digest_runs, execution, limits, processes, recurring, retention, retry
from .claims import Lease
from .database import IMMEDIATE
from .db_clock import for_digest
from .dialect import General, for_connection
from .digest_runs import DigestResult
from .heartbeat import Heartbeat, Holdings
from .inflight import InFlight, check_pool, in_memory
from .limits import ConnectorBusy, ConnectorLimits
from .models import Attempt, Job, Request
from .payload import load_json, load_shown
from .repository import JobRepository
from .settings import QueueSettings, current
from .states import JobState, RequestState
from .types import (
    JobInfo,
)
from .writes import LOST, Executed, Pending, Writer

log = logging.getLogger("dashboard.digest")

jobs = Job.__table__
requests = Request.__table__
attempts = Attempt.__table__

INTERRUPTED = "interrupted: lease expired"


@dataclass(frozen=True)
class Step:
    """What a step wrote. Each reason is LOST (another digest holds the job) or the state
    an operator put the job in (paused, cancelled...)."""

    #: Why the outcome's job was let go; None when the outcome was written as it is.
    let_go: str | None = None
    #: Why the start was refused; None when the request may run.
    refused: str | None = None


@dataclass
class _Work:
    """A claimed job and its requests still to run."""

    job_id: int
    job: JobInfo
    todo: list[sa.Row]
    previous: Any  # the result of the request before the first one to run


class JobDigest:
    """``JobDigest().execute()`` processes due jobs; ``.set_job(job).execute()`` runs one now.

    ``concurrency`` (default: the settings') is how many jobs it runs at once, each in a
    thread of its own (see inflight.py); 1 runs them one after the other in this thread.
    ``resident``: a long-lived worker's (worker.py), whose row on the Digests page outlives
    each run.
    """

    def __init__(
        self,
        session: Session | None = None,
        settings: QueueSettings | None = None,
        clock: Callable[[], datetime] | None = None,
        worker: str | None = None,
        concurrency: int | None = None,
        resident: bool = False,
    ) -> None:
        setup = current()
        self.session = session if session is not None else setup.new_session()
        self.settings = settings or setup.settings
        self.clock = clock or setup.clock
        self.concurrency = self.settings.concurrency if concurrency is None else concurrency
        if self.concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        # Read here: the threads can't ask the session (a Flask one is bound to a context).
        # A digest opens connections of its own: the session is bound to an engine.
        self._engine = cast(sa.Engine, self.session.get_bind())
        if clock is None:  # leases and due times go by the database server's clock
            self.clock = for_digest(self.clock, self._engine, self.settings.clock_skew_warn)
        if concurrency is None and in_memory(self._engine):
            self.concurrency = 1  # the default, where only one connection has the database
        if self.concurrency > 1:
            check_pool(self._engine, self.concurrency)
        self.lease = Lease(worker or claims.new_worker_id(), self.settings.lease_seconds)
        self.resident = resident
        self._job: Job | None = None
        self._run_started = self.clock()
        self._held = Holdings()
        self._stop = threading.Event()
        self._failing = threading.Event()  # a thread failed: the others stop too
        self._local = threading.local()  # each thread's connection and writer
        self._results = threading.Lock()
        self.limits = ConnectorLimits(self.lease, self.settings.limit_wait, self._stop)
        #: The run's --max-seconds end (monotonic): no wait for a connector goes past it.
        self._deadline: float | None = None

    @property
    def _conn(self) -> sa.Connection:
        """This thread's connection: set for the run by _own_connection."""
        return self._local.conn

    @property
    def _writer(self) -> Writer:
        """This thread's writer, on its connection."""
        return self._local.writer

    @property
    def _dialect(self) -> General:
        """This thread's database's round trips (see dialect.py)."""
        return self._local.dialect

    # -- public API -----------------------------------------------------------------

    def set_job(self, job: Job) -> JobDigest:
        """Run only this job on ``execute()``, now, bypassing its retry delay."""
        self._job = job
        return self

    def stop(self) -> None:
        """Finish the requests running, give back the claimed jobs and return (signal-safe)."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def wait(self, seconds: float) -> None:
        """Sleep between runs of a long-lived worker; returns early on ``stop()``."""
        self._stop.wait(seconds)

    def execute(
        self, *, max_jobs: int | None = None, max_seconds: float | None = None
    ) -> DigestResult:
        """Run; the session is committed first (the digest works on a connection of its own)."""
        if self._job is not None:
            return self._execute_one(self._job)
        self.session.commit()
        return self._execute_due(max_jobs or self.settings.max_jobs_per_run, max_seconds)

    # -- runs -----------------------------------------------------------------------

    @contextmanager
    def _own_connection(self) -> Iterator[sa.Connection]:
        """This thread's connection, for the whole run; on SQLite its transactions begin
        IMMEDIATE."""
        with self._engine.connect().execution_options(**{IMMEDIATE: True}) as conn:
            self._local.conn, self._local.writer = conn, Writer(conn, self.lease)
            self._local.dialect = for_connection(conn)
            try:
                yield conn
            finally:
                self._local.conn = self._local.writer = self._local.dialect = None

    @contextmanager
    def _connected(self) -> Iterator[sa.Connection]:
        with self._own_connection() as conn, Heartbeat(
                self._engine, self.lease, self._held.snapshot, self.clock):
            yield conn

    def _execute_one(self, job: Job) -> DigestResult:
        if job.id is None:
            JobRepository(self.session, self.clock).save(job)
        job_id = job.id
        # Whatever the caller read stays as it is; the claim needs a transaction of its own.
        self.session.commit()
        self._run_started = self.clock()
        result = DigestResult()
        started = time.monotonic()
        with self._connected() as conn:
            with self._transaction():
                claims.claim_one(conn, self.lease, job_id, now=self.clock())
                processes.register(conn, self.lease.worker, concurrency=1,
                                   lease_seconds=self.lease.seconds, now=self._run_started,
                                   job_id=job_id)
                work = self._load([job_id])
            try:
                self._run_batch(work, result, deadline=None)
            finally:
                self._forget_best_effort()
        result.seconds = time.monotonic() - started
        # The caller's job reads what the run did: it and its requests load again on first
        # use (a job copied out by a save joins the session for that).
        if sa.inspect(job).detached:
            self.session.add(job)
        for request in job.__dict__.get("requests", ()):
            self.session.expire(request)
        self.session.expire(job)
        return result

    def _execute_due(self, max_jobs: int, max_seconds: float | None) -> DigestResult:
        result = DigestResult()
        started = time.monotonic()
        deadline = self._deadline = None if max_seconds is None else started + max_seconds
        if self.settings.schedule:  # first, so that this run takes their jobs
            recurring.enqueue_due(self.session, self.settings.schedule, self.clock())
        run_started = self._run_started = self.clock()
        error: str | None = None
        self._failing.clear()
        with self._connected():
            run_id = self._record_run_start(run_started)
            try:
                self._recover_expired(result)
                if self.concurrency == 1:
                    self._run_serially(max_jobs, deadline, result)
                else:
                    self._run_concurrently(max_jobs, deadline, result)
            except BaseException as exc:
                error = f"{type(exc).__name__}: {exc}"
                self._release_best_effort()
                raise
            finally:
                result.seconds = time.monotonic() - started
                self._record_run_end(run_id, result, error)
        self._run_ended(result)
        return result

    def _run_serially(self, max_jobs: int, deadline: float | None,
                      result: DigestResult) -> None:
        while result.jobs < max_jobs and not self._should_stop(deadline):
            work = self._claim(due_by=self._run_started,
                               limit=min(self.settings.claim_batch, max_jobs - result.jobs))
            if not work:
                return
            self._run_batch(work, result, deadline)

    def _run_concurrently(self, max_jobs: int, deadline: float | None,
                          result: DigestResult) -> None:
        """Keep every thread busy: claim a few jobs ahead of the threads (half a claim
        batch to a batch, so that a thread that ends a job finds the next one waiting,
        not a claim's round trip); when none is due, wait for a running one to end (it
        may unblock the next job of its relation), until none runs."""
        claimed = 0
        most = self.concurrency + self.settings.claim_batch  # held at once, at most
        run = lambda work: self._run_in_thread(work, deadline, result)  # noqa: E731
        with InFlight(self.concurrency, run, self._own_connection, self._failing) as flight:
            while claimed < max_jobs and not self._should_stop(deadline):
                busy = flight.wait(below=most - self.settings.claim_batch // 2 + 1,
                                   timeout=0.2)
                if busy > most - self.settings.claim_batch // 2:
                    continue
                work = self._claim(due_by=self._run_started, limit=min(
                    self.settings.claim_batch, most - busy, max_jobs - claimed))
                if not work and busy == 0:
                    return
                if not work:
                    flight.wait(below=busy, timeout=0.2)
                claimed += len(work)
                for each in work:
                    flight.submit(each)

    def _run_in_thread(self, work: _Work, deadline: float | None,
                       total: DigestResult) -> None:
        """Run one claimed job to its end (or give it back), on this thread's connection."""
        result = DigestResult()
        job_id = work.job_id
        try:
            if self._should_stop(deadline):  # claimed, not started: give it back at once
                self._step(None, None, result, release=[job_id])
            else:
                pending = self._run_job(work, None, result, deadline)
                stopped = pending is not None and pending.job_state == JobState.RUNNING
                self._step(pending, None, result, release=[job_id] if stopped else None)
            # On an error the job stays held: the run gives it back, if the database lets it.
            self._held.discard([job_id])
        finally:
            with self._results:
                total.add(result)

    def _should_stop(self, deadline: float | None) -> bool:
        return (self._stop.is_set() or self._failing.is_set()
                or (deadline is not None and time.monotonic() >= deadline))

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            yield
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise

    def _claim(self, *, due_by: datetime, limit: int) -> list[_Work]:
        """Claim a batch of due jobs and read their requests (see dialect.py)."""
        claimed = self._dialect.claim(self._conn, self.lease, due_by=due_by, now=self.clock(),
                                      limit=limit)
        self._held.add(claimed.ids)
        return self._group(claimed.rows, claimed.ids)

    def _load(self, ids: list[int]) -> list[_Work]:
        """The claimed jobs' requests, read in the claim's transaction: under the lease only
        this digest writes them."""
        self._held.add(ids)
        if not ids:
            return []
        return self._group(self._conn.execute(claims.LOAD, {"ids": ids}).all(), ids)

    def _group(self, rows: Sequence[sa.Row], ids: list[int] | None = None) -> list[_Work]:
        """The work of each job, in the order of ``ids`` (else of ``rows``)."""
        by_job: dict[int, list[sa.Row]] = {job_id: [] for job_id in ids or ()}
        for row in rows:
            by_job.setdefault(row.job_id, []).append(row)
        work = []
        for job_id, rows in by_job.items():
            first = next((i for i, r in enumerate(rows) if r.state != RequestState.SUCCEEDED),
                         len(rows))
            job = JobInfo(job_id, rows[0].relation_id, rows[0].source_id, rows[0].store_id)
            # load_shown: a result edited into something that is not JSON is handed on as
            # stored, rather than failing every run that takes the job.
            previous = load_shown(rows[first - 1].result) if first else None
            work.append(_Work(job_id, job, rows[first:], previous))
        return work

    def _run_ended(self, result: DigestResult) -> None:
        for listener in self.settings.run_listeners:
            try:
                listener(self, result)
            except Exception:  # e.g. the alerts: they must never fail the run
                self.session.rollback()
                log.warning("after the run, %s failed", getattr(listener, "__qualname__",
                                                                listener), exc_info=True)

    def _release_best_effort(self) -> None:
        held = self._held.take()
        try:
            with self._transaction():
                claims.release(self._conn, self.lease, held, now=self.clock())
        except Exception:
            log.warning("could not give back jobs %s; their lease will expire", held)

    def _forget_best_effort(self) -> None:
        try:
            with self._transaction():
                processes.forget(self._conn, self.lease.worker)
        except Exception:  # the database failed: the row turns stale and is pruned later
            log.warning("could not delete the row of digest %s", self.lease.worker)

    def _record_run_start(self, started_at: datetime) -> int | None:
        with self._transaction():
            if not self.resident:  # a resident worker's row is written once, at its start
                processes.register(self._conn, self.lease.worker, concurrency=self.concurrency,
                                   lease_seconds=self.lease.seconds, now=started_at)
            return digest_runs.record_start(self._conn, self.lease.worker, started_at)

    def _record_run_end(self, run_id: int | None, result: DigestResult, error: str | None) -> None:
        try:
            with self._transaction():
                digest_runs.record_end(self._conn, run_id, result, error, now=self.clock())
                if not self.resident:
                    processes.forget(self._conn, self.lease.worker)
                # Old runs, sent alerts and hourly counts: bounded for a --loop worker.
                retention.prune_history(self._conn, now=self.clock())
        except Exception:
            if error is None:
                raise
            # The database is what failed: the run's own error is the one to report.

    def _recover_expired(self, result: DigestResult) -> None:
        """Take back jobs whose digest died: the request it was running failed."""
        now = self.clock()
        with self._transaction():
            expired = claims.expired_jobs(self._conn, now=now, limit=1000)
        for job_id in expired:
            with self._transaction():
                if not claims.take_expired(self._conn, self.lease, job_id, now=now):
                    continue
                running = self._conn.execute(
                    claims.LOAD.where(requests.c.state == RequestState.RUNNING),
                    {"ids": [job_id]}
                ).all()
                log.warning("job %s: its digest's lease expired; taking it over", job_id)
                if not running:
                    claims.release(self._conn, self.lease, [job_id], now=now)
                    continue
            for row in running:
                executed = Executed(ok=False, started_at=row.updated_at, finished_at=now,
                                    error=INTERRUPTED)
                self._step(self._pending(job_id, row, executed, last=True), None, result)

    # -- batches of jobs ------------------------------------------------------------

    def _run_batch(self, batch: list[_Work], result: DigestResult,
                   deadline: float | None) -> None:
        pending: Pending | None = None
        let_go: set[int] = set()  # jobs run to an end, or left to an operator or a digest
        for work in batch:
            if self._should_stop(deadline):
                break
            pending = self._run_job(work, pending, result, deadline)
            if pending is not None and pending.job_state == JobState.RUNNING:
                break  # stopped between two requests of a job: give it back below
            let_go.add(work.job_id)
        # The last outcome, and the jobs claimed but not finished given back, at once.
        ids = [work.job_id for work in batch]
        self._step(pending, None, result, release=[i for i in ids if i not in let_go])
        self._held.discard(ids)

    def _run_job(self, work: _Work, pending: Pending | None, result: DigestResult,
                 deadline: float | None) -> Pending | None:
        """Run a job's requests; returns the last request's outcome, still to be written.
        Past ``deadline``, or once stopped, no further request starts."""
        job_id = work.job_id
        result.jobs += 1
        previous = work.previous
        for index, row in enumerate(work.todo):
            refused = self._step(pending, (job_id, row.id), result).refused
            if refused is not None:
                self._note_let_go(job_id, refused, result)
                return None
            try:
                executed = self._invoke(work, row, previous)
            except ConnectorBusy as busy:
                self._defer(job_id, row, busy, result)
                return None
            last = index == len(work.todo) - 1
            pending = self._pending(job_id, row, executed, last=last)
            if not executed.ok or last or self._should_stop(deadline):
                return pending
            previous = load_json(executed.result)
        return pending

    def _step(self, pending: Pending | None, start: tuple[int, int] | None,
              result: DigestResult, release: list[int] | None = None) -> Step:
        """One transaction: write ``pending``'s outcome, then mark ``start``'s request running
        (or give back ``release``)."""
        if pending is None and start is None and not release:
            return Step()
        now = self.clock()
        fast = None if release else self._dialect.write_step(
            self._conn, self.lease, pending, start, now)
        if fast is not None and fast.outcome:
            step = Step()
            if start is not None and not fast.start:
                with self._transaction():  # the job was let go meanwhile: say why
                    step = Step(refused=self._writer.start(*start, now))
        else:  # the general way; also when the fast one wrote nothing, to say why
            step = self._step_in_transaction(pending, start, release, now)
        if pending is not None:
            self._account(pending, step.let_go, result)
        return step

    def _step_in_transaction(self, pending: Pending | None, start: tuple[int, int] | None,
                             release: list[int] | None, now: datetime) -> Step:
        with self._transaction():
            let_go = self._writer.outcome(pending) if pending is not None else None
            if start is None:
                refused = None
            elif let_go is not None and pending is not None and start[0] == pending.job_id:
                refused = let_go  # its job was let go: its next request can't start
            else:
                refused = self._writer.start(*start, now)
            if release:
                claims.release(self._conn, self.lease, release, now=now)
        return Step(let_go, refused)

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

    def _invoke(self, work: _Work, row: sa.Row, previous: Any) -> Executed:
        """Execute a request in its turn at its connector's limits (ConnectorBusy: no turn
        came within ``limit_wait``, and the request did not run)."""
        connector = limits.connector_of(row.type_code)
        wait = self.settings.limit_wait
        if self._deadline is not None:
            wait = max(0.0, min(wait, self._deadline - time.monotonic()))
        with self.limits.turn(self._conn, connector, work.job_id, self.clock, max_wait=wait):
            return execution.execute(work.job, row, previous, clock=self.clock,
                                     masker=self.settings.masker)

    def _defer(self, job_id: int, row: sa.Row, busy: ConnectorBusy,
               result: DigestResult) -> None:
        """Give back a job whose connector is at its limit (see limits.defer)."""
        with self._transaction():
            limits.defer(self._conn, self.lease, job_id, row, busy, now=self.clock(),
                         not_before=self._run_started + timedelta(microseconds=1))
        result.deferred += 1
        result.outcomes[job_id] = "deferred"
