"""The digest: claims due jobs and executes their requests in order.

A digest works on a connection of its own, in short transactions: one claims a batch of
jobs and reads their requests; then each request gets one transaction that writes the
outcome of the request before it and marks it running. So no transaction stays open
while a request type's ``execute`` runs, and each outcome is durable before the next
request starts. Every write to a job is guarded by the digest's lease (``locked_by``).
On PostgreSQL each of these transactions is a single statement, one round trip (see
``claims.CLAIMED`` and ``writes.Writer.combined``).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import claims
from .claims import Lease
from .database import IMMEDIATE, execute_alone, executes_alone
from .heartbeat import Heartbeat
from .models import Attempt, DigestRun, Job, Request
from .payload import dump_json, load_json
from .repository import JobRepository
from .retry import RetryStrategy
from .settings import QueueSettings, default_clock, default_session, default_settings
from .states import JobState, RequestState
from .types import JobInfo, PermanentFailure, RequestContext, RequestInfo, UnknownRequestType, pool
from .writes import LOST, Executed, Pending, Writer

log = logging.getLogger("dashboard.digest")

jobs = Job.__table__
requests = Request.__table__
attempts = Attempt.__table__
runs = DigestRun.__table__

INTERRUPTED = "interrupted: lease expired"
RUNS_KEPT_DAYS = 7


@dataclass
class DigestResult:
    """What one digest run did."""

    jobs: int = 0
    succeeded: int = 0
    failed: int = 0
    retrying: int = 0
    #: Jobs this digest had to let go of (its lease was lost, or an operator paused them).
    released: int = 0
    seconds: float = 0.0
    #: Outcome of each job run, by id: a JobState value, or "released".
    outcomes: dict[int, str] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.jobs} jobs run, {self.succeeded} requests succeeded, {self.failed} failed, "
            f"{self.retrying} retrying, in {self.seconds:.2f}s"
        )


@dataclass
class _Work:
    """A claimed job and its requests still to run."""

    job: JobInfo
    todo: list[sa.Row]
    previous: Any  # the result of the request before the first one to run


_last_number = (
    sa.select(sa.func.max(attempts.c.number))
    .where(attempts.c.request_id == requests.c.id)
    .scalar_subquery()
    .label("last_number")
)


#: What the digest reads of a request.
_REQUEST = (requests.c.job_id, requests.c.id, requests.c.position, requests.c.type_code,
            requests.c.payload, requests.c.state, requests.c.attempts, requests.c.result,
            requests.c.updated_at, _last_number)


def _requests_of(held: sa.TableClause) -> sa.Select:
    """The requests of the jobs in ``held`` (the jobs table, or the claim's CTE), with their
    last attempt's number and what the digest needs of their job."""
    return (
        sa.select(*_REQUEST, held.c.relation_id, held.c.source_id, held.c.store_id)
        .join(held, held.c.id == requests.c.job_id)
    )


def _claim_and_load() -> sa.Select:
    """PostgreSQL: the claim and the claimed jobs' requests in one statement. The requests
    are read job by job (LATERAL), by key: joined as one set, on tables not analyzed since
    a burst the planner guessed hundreds of requests per job and read all of requests.
    OFFSET 0 keeps PostgreSQL from folding the LATERAL back into such a join."""
    held = claims.CLAIMED
    own = sa.select(*_REQUEST).where(requests.c.job_id == held.c.id).offset(0).lateral("own")
    return (
        sa.select(*own.c, held.c.relation_id, held.c.source_id, held.c.store_id)
        .select_from(held.join(own, sa.true()))
        .order_by(held.c.created_at, held.c.id, own.c.position)
    )


_LOAD = (
    _requests_of(jobs)
    .where(requests.c.job_id.in_(sa.bindparam("ids", expanding=True)))
    .order_by(requests.c.job_id, requests.c.position)
)
#: PostgreSQL: the claim and the claimed jobs' requests in one statement.
_CLAIM_AND_LOAD = _claim_and_load()


class JobDigest:
    """``JobDigest().execute()`` processes due jobs; ``.set_job(job).execute()`` runs one now."""

    def __init__(
        self,
        session: Session | None = None,
        settings: QueueSettings | None = None,
        clock: Callable[[], datetime] | None = None,
        worker: str | None = None,
    ) -> None:
        self.session = session if session is not None else default_session()
        self.settings = settings or default_settings()
        self.clock = clock or default_clock()
        self.lease = Lease(worker or claims.new_worker_id(), self.settings.lease_seconds)
        self._job: Job | None = None
        self._run_started = self.clock()
        self._held: list[int] = []
        self._stop = threading.Event()
        self._conn: sa.Connection | None = None
        self._writer: Writer | None = None

    # -- public API -----------------------------------------------------------------

    def set_job(self, job: Job) -> JobDigest:
        """Run only this job on ``execute()``, now, bypassing its retry delay."""
        self._job = job
        return self

    def stop(self) -> None:
        """Finish the current request, give back the claimed jobs and return (signal-safe)."""
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
    def _connected(self) -> Iterator[sa.Connection]:
        engine = self.session.get_bind()
        # One connection for the whole run; on SQLite its transactions begin IMMEDIATE.
        with engine.connect().execution_options(**{IMMEDIATE: True}) as conn:
            self._conn = conn
            self._writer = Writer(conn, self.lease)
            try:
                with Heartbeat(engine, self.lease, lambda: self._held, self.clock):
                    yield conn
            finally:
                self._conn = None

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
                work = self._load([job_id])
            self._run_batch(work, result, deadline=None)
        result.seconds = time.monotonic() - started
        self.session.expire(job)
        return result

    def _execute_due(self, max_jobs: int, max_seconds: float | None) -> DigestResult:
        result = DigestResult()
        started = time.monotonic()
        deadline = None if max_seconds is None else started + max_seconds
        run_started = self._run_started = self.clock()
        error: str | None = None
        with self._connected():
            run_id = self._record_run_start(run_started)
            try:
                self._recover_expired(result)
                while result.jobs < max_jobs and not self._should_stop(deadline):
                    work = self._claim(
                        due_by=run_started,
                        limit=min(self.settings.claim_batch, max_jobs - result.jobs))
                    if not work:
                        break
                    self._run_batch(work, result, deadline)
            except BaseException as exc:
                error = f"{type(exc).__name__}: {exc}"
                self._release_best_effort()
                raise
            finally:
                result.seconds = time.monotonic() - started
                self._record_run_end(run_id, result, error)
        self._run_ended(result)
        return result

    def _should_stop(self, deadline: float | None) -> bool:
        return self._stop.is_set() or (deadline is not None and time.monotonic() >= deadline)

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        try:
            yield
            self._conn.commit()
        except BaseException:
            self._conn.rollback()
            raise

    def _claim(self, *, due_by: datetime, limit: int) -> list[_Work]:
        """Claim a batch of due jobs and read their requests: on PostgreSQL in one statement,
        elsewhere in one transaction."""
        now = self.clock()
        if executes_alone(self._conn):
            rows = execute_alone(self._conn, _CLAIM_AND_LOAD, claims.claim_parameters(
                self.lease, due_by=due_by, now=now, limit=limit))
            self._held = list(dict.fromkeys(row.job_id for row in rows))
            return self._group(rows)
        with self._transaction():
            return self._load(claims.claim_due(self._conn, self.lease, due_by=due_by, now=now,
                                               limit=limit))

    def _load(self, ids: list[int]) -> list[_Work]:
        """The claimed jobs' requests, read in the claim's transaction: under the lease only
        this digest writes them."""
        self._held = list(ids)
        if not ids:
            return []
        return self._group(self._conn.execute(_LOAD, {"ids": ids}).all(), ids)

    def _group(self, rows: list[sa.Row], ids: list[int] | None = None) -> list[_Work]:
        """The work of each job, in the order of ``ids`` (else of ``rows``)."""
        by_job: dict[int, list[sa.Row]] = {job_id: [] for job_id in ids or ()}
        for row in rows:
            by_job.setdefault(row.job_id, []).append(row)
        work = []
        for job_id, rows in by_job.items():
            first = next((i for i, r in enumerate(rows) if r.state != RequestState.SUCCEEDED),
                         len(rows))
            job = JobInfo(job_id, rows[0].relation_id, rows[0].source_id, rows[0].store_id)
            previous = load_json(rows[first - 1].result) if first else None
            work.append(_Work(job, rows[first:], previous))
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
        held, self._held = self._held, []
        try:
            with self._transaction():
                claims.release(self._conn, self.lease, held, now=self.clock())
        except Exception:
            log.warning("could not give back jobs %s; their lease will expire", held)

    def _record_run_start(self, started_at: datetime) -> int | None:
        with self._transaction():
            return self._conn.execute(
                sa.insert(runs).values(worker=self.lease.worker, started_at=started_at,
                                       jobs=0, succeeded=0, failed=0, retrying=0)
            ).inserted_primary_key[0]

    def _record_run_end(self, run_id: int | None, result: DigestResult, error: str | None) -> None:
        try:
            with self._transaction():
                self._conn.execute(sa.update(runs).where(runs.c.id == run_id).values(
                    finished_at=self.clock(), jobs=result.jobs, succeeded=result.succeeded,
                    failed=result.failed, retrying=result.retrying, error=error))
                # Keep a week of runs: enough for the overview, bounded for a --loop worker.
                self._conn.execute(sa.delete(runs).where(
                    runs.c.started_at < self.clock() - timedelta(days=RUNS_KEPT_DAYS)))
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
                    _LOAD.where(requests.c.state == RequestState.RUNNING), {"ids": [job_id]}
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
            pending = self._run_job(work, pending, result)
            if pending is not None and pending.job_state == JobState.RUNNING:
                break  # stopped between two requests of a job: give it back below
            let_go.add(work.job.id)
        # The last outcome, and the jobs claimed but not finished given back, at once.
        self._step(pending, None, result,
                   release=[job_id for job_id in self._held if job_id not in let_go])
        self._held = []

    def _run_job(self, work: _Work, pending: Pending | None,
                 result: DigestResult) -> Pending | None:
        """Run a job's requests; returns the last request's outcome, still to be written."""
        job_id = work.job.id
        result.jobs += 1
        previous = work.previous
        for index, row in enumerate(work.todo):
            why = self._step(pending, (job_id, row.id), result)
            if why is not None:
                self._note_let_go(job_id, why, result)
                return None
            executed = self._invoke(work.job, row, previous)
            last = index == len(work.todo) - 1
            pending = self._pending(job_id, row, executed, last=last)
            if not executed.ok or last or self._stop.is_set():
                return pending
            previous = load_json(executed.result)
        return pending

    def _step(self, pending: Pending | None, start: tuple[int, int] | None,
              result: DigestResult, release: list[int] | None = None) -> str | None:
        """One transaction: write ``pending``'s outcome, then mark ``start``'s request running
        (or give back ``release``). Returns why the start was refused, or None."""
        if pending is None and start is None and not release:
            return None
        now = self.clock()
        combined = None if release else self._writer.combined(pending, start, now)
        if combined is not None and combined[0]:
            written = refused = None
            if start is not None and not combined[1]:
                with self._transaction():  # the job was let go meanwhile: say why
                    refused = self._writer.start(*start, now)
        else:
            with self._transaction():
                written = self._writer.outcome(pending) if pending is not None else None
                if start is not None and written is not None and start[0] == pending.job_id:
                    refused = written  # the job was let go: its next request can't start
                elif start is not None:
                    refused = self._writer.start(*start, now)
                else:
                    refused = None
                if release:
                    claims.release(self._conn, self.lease, release, now=now)
        if pending is not None:
            self._account(pending, written, result)
        return refused

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
        _log_outcome(job_id, pending.row, pending.executed, pending.request_state)
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
        retry_at = None if executed.permanent else self._strategy(row.type_code).next_attempt_at(
            row.attempts + 1, executed.finished_at)
        if retry_at is None:
            return Pending(job_id, row, executed, RequestState.FAILED, JobState.FAILED)
        # Never within this run: a run claims what was due when it started.
        retry_at = max(retry_at, self._run_started + timedelta(microseconds=1))
        return Pending(job_id, row, executed, RequestState.RETRYING, JobState.RETRYING, retry_at)

    def _invoke(self, job: JobInfo, row: sa.Row, previous: Any) -> Executed:
        started = self.clock()
        try:
            type_cls = pool.get(row.type_code)
            type_cls.connector.acquire()
            context = RequestContext(
                job=job,
                request=RequestInfo(row.id, row.position, row.type_code, row.attempts + 1),
                previous_result=previous,
                connector=type_cls.connector,
                logger=type_cls.connector.logger,
            )
            value = type_cls().execute(load_json(row.payload), context)
            text = dump_json(value, what="result")
        except Exception as exc:  # a type's failure of any kind fails the attempt
            own = isinstance(exc, PermanentFailure | UnknownRequestType)
            return Executed(
                ok=False,
                started_at=started,
                finished_at=self.clock(),
                error=str(exc) if own else f"{type(exc).__name__}: {exc}",
                traceback=None if isinstance(exc, UnknownRequestType) else traceback.format_exc(),
                permanent=isinstance(exc, PermanentFailure),
            )
        return Executed(ok=True, started_at=started, finished_at=self.clock(), result=text)

    def _strategy(self, type_code: str) -> RetryStrategy:
        default = self.settings.retry
        if type_code not in pool:
            return default
        type_cls = pool.get(type_code)
        if type_cls.max_attempts is None and type_cls.retry_delay is None:
            return default
        return RetryStrategy(
            max_attempts=type_cls.max_attempts or default.max_attempts,
            delay=default.delay if type_cls.retry_delay is None else type_cls.retry_delay,
        )


def _log_outcome(job_id: int, row: sa.Row, executed: Executed, state: RequestState) -> None:
    """One line per request outcome, with its fields for log shippers (LOG_FORMAT=json)."""
    duration = (executed.finished_at - executed.started_at).total_seconds()
    reason = "" if executed.ok else f": {executed.error}"
    log.log(
        logging.WARNING if state == RequestState.FAILED else logging.INFO,
        "job %s request %s (%s) %s in %.3fs%s", job_id, row.id, row.type_code, state,
        duration, reason,
        extra={"job_id": job_id, "request_id": row.id, "type_code": row.type_code,
               "outcome": "succeeded" if executed.ok else "failed", "state": str(state),
               "duration": duration},
    )
