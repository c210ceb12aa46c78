"""The digest: claims due jobs and executes their requests in order.

A digest runs up to ``concurrency`` jobs at once, each in a thread (inflight.py), on a few
database connections that they all share (connections.py): a thread borrows one for each
short transaction, never while a request runs. One transaction claims a batch of jobs
and reads their requests; then each request gets a step, which writes the outcome of the
request before it and marks it running (steps.py; the steps of different jobs that come
close together share one transaction). So no transaction stays open while a request
type's ``execute`` runs, and each outcome is durable before the next request starts.
Every write to a job is guarded by the digest's lease (``locked_by``). A call that runs
past its timeout is ended without it (calls.py). How one job runs is in running.py.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..jobs.models import Job, Request
from ..jobs.payload import load_shown
from ..jobs.settings import QueueSettings, current
from ..jobs.states import RequestState
from ..jobs.types import JobInfo
from ..operations import recurring, retention
from ..store import claims
from ..store.claims import Lease
from ..store.dialect import for_connection
from ..store.repository import JobRepository
from ..store.writes import Executed
from . import digest_runs, processes
from .calls import Calls
from .connections import Connections, in_memory, shared_size
from .db_clock import for_digest
from .digest_runs import DigestResult
from .heartbeat import Heartbeat, Holdings
from .inflight import InFlight
from .limits import ConnectorLimits
from .running import JobRunning, Work
from .steps import Steps

log = logging.getLogger("dashboard.digest")

requests = Request.__table__

INTERRUPTED = "interrupted: lease expired"
#: The error of a call in flight when the digest was told to stop at once.
STOPPED_AT_ONCE = "interrupted: the digest was stopped at once"


class JobDigest(JobRunning):
    """``JobDigest().execute()`` processes due jobs; ``.set_job(job).execute()`` runs one now.

    ``concurrency`` (default: the settings') is how many jobs it runs at once, each in a
    thread of its own (see inflight.py), on at most ``settings.db_connections``
    connections whatever the concurrency (see connections.py).
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
        #: An in-memory SQLite database lives in one thread's connection: the jobs run in
        #: the caller's thread, one at a time, where no timeout can end a call.
        self._inline = in_memory(self._engine)
        if self._inline and self.concurrency > 1:
            if concurrency is not None:
                raise ValueError(f"concurrency {concurrency} needs a database file: an "
                                 "in-memory SQLite database can't be shared by threads "
                                 "(use concurrency 1)")
            self.concurrency = 1  # the default gives way
        #: The connections its jobs, claims and heartbeat share (its session has one more).
        self.connections = shared_size(self._engine, self.settings.db_connections)
        self.lease = Lease(worker or claims.new_worker_id(), self.settings.lease_seconds)
        self.resident = resident
        self._job: Job | None = None
        self._run_started = self.clock()
        self._held = Holdings()
        self._stop = threading.Event()
        self._abort = threading.Event()  # stopped at once: no more waiting for anything
        self._failing = threading.Event()  # a thread failed: the others stop too
        self._results = threading.Lock()
        self._total = DigestResult()
        self.limits = ConnectorLimits(self.lease, self.settings.limit_wait, self._stop)
        #: The run's --max-seconds end (monotonic): no wait for a connector goes past it.
        self._deadline: float | None = None
        self._calls = Calls(self._call_ended, lambda thread: self._flight.abandon(thread),
                            watch=not self._inline)

    # -- public API -----------------------------------------------------------------

    def set_job(self, job: Job) -> JobDigest:
        """Run only this job on ``execute()``, now, bypassing its retry delay."""
        self._job = job
        return self

    def stop(self) -> None:
        """Finish the requests running, give back the claimed jobs and return. Called
        again: stop at once, every call in flight abandoned with a failed attempt
        (STOPPED_AT_ONCE) and its job given back. Signal-safe."""
        if self._stop.is_set():
            self._abort.set()
            # Not in the signal handler's frame: it may have interrupted a holder of the lock.
            threading.Thread(target=self._calls.abandon_all, args=(STOPPED_AT_ONCE,),
                             daemon=True).start()
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def hung(self) -> int:
        """Calls abandoned past their timeout whose thread is still stuck in them."""
        return self._calls.hung

    def wait(self, seconds: float) -> None:
        """Sleep between runs of a long-lived worker; returns early on ``stop()``."""
        self._stop.wait(seconds)

    def execute(
        self, *, max_jobs: int | None = None, max_seconds: float | None = None
    ) -> DigestResult:
        """Run; the session is committed first (the digest works on connections of its own)."""
        if self._job is not None:
            return self._execute_one(self._job)
        self.session.commit()
        return self._execute_due(max_jobs or self.settings.max_jobs_per_run, max_seconds)

    # -- runs -----------------------------------------------------------------------

    @contextmanager
    def _machinery(self) -> Iterator[None]:
        """A run's connections, the steps written on them, and the heartbeat."""
        self._total = DigestResult()
        self._failing.clear()
        self._connections = Connections(self._engine, self.connections,
                                        self.settings.db_wait_seconds, self._abort)
        self._steps = Steps(self._connections, self.lease)
        try:
            with Heartbeat(self._connections, self.lease, self._renewed, self.clock):
                yield
        finally:
            self._total.general_way = self._steps.general_way.counts()
            self._connections.close()

    def _renewed(self) -> list[int]:
        """The jobs whose lease the heartbeat renews: held, their call not overdue."""
        return [job_id for job_id in self._held.snapshot() if not self._calls.overdue(job_id)]

    def _in_flight(self) -> InFlight:
        # One thread at a time runs in the caller's context, as the caller's thread did.
        self._flight = InFlight(self.concurrency, self._run_in_thread, self._failing,
                                inline=self._inline, shared_context=self.concurrency == 1)
        return self._flight

    def _execute_one(self, job: Job) -> DigestResult:
        if job.id is None:
            JobRepository(self.session, self.clock).save(job)
        job_id = job.id
        # Whatever the caller read stays as it is; the claim needs a transaction of its own.
        self.session.commit()
        self._run_started = self.clock()
        self._deadline = None
        started = time.monotonic()

        def claim(conn: sa.Connection) -> list[Work]:
            with conn.begin():
                claims.claim_one(conn, self.lease, job_id, now=self.clock())
                processes.register(conn, self.lease.worker, concurrency=1,
                                   lease_seconds=self.lease.seconds, now=self._run_started,
                                   job_id=job_id)
                return self._load(conn, [job_id])

        with self._machinery():
            work = self._connections.run(claim)
            try:
                with self._in_flight() as flight:
                    for each in work:
                        flight.submit(each)
            finally:
                self._forget_best_effort()
        result = self._total
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
        started = time.monotonic()
        self._deadline = None if max_seconds is None else started + max_seconds
        if self.settings.schedule:  # first, so that this run takes their jobs
            recurring.enqueue_due(self.session, self.settings.schedule, self.clock())
        run_started = self._run_started = self.clock()
        error: str | None = None
        with self._machinery():
            result = self._total
            run_id = self._record_run_start(run_started)
            try:
                self._recover_expired()
                self._run_claimed(max_jobs)
            except BaseException as exc:
                error = f"{type(exc).__name__}: {exc}"
                self._connections.patient = False  # what follows is best effort
                self._release_best_effort()
                raise
            finally:
                result.seconds = time.monotonic() - started
                self._record_run_end(run_id, result, error)
        self._run_ended(result)
        return result

    def _run_claimed(self, max_jobs: int) -> None:
        """Keep every thread busy: claim a few jobs ahead of the threads (half a claim
        batch to a batch, so that a thread that ends a job finds the next one waiting,
        not a claim's round trip). When fewer are due than asked, claim again once half a
        batch has ended, or a job of a relation (it may unblock the next of its
        relation), or every job, or a second on (another digest may have let jobs go);
        until none is due and none runs."""
        claimed = 0
        batch = self.settings.claim_batch
        most = self.concurrency + batch  # held at once, at most
        with self._in_flight() as flight:
            busy = 0
            while claimed < max_jobs and not self._should_stop(self._deadline):
                if busy > most - batch // 2:
                    busy = flight.wait(below=most - batch // 2 + 1, timeout=0.2)
                    continue
                limit = min(batch, most - busy, max_jobs - claimed)
                work = self._claim(limit=limit)
                if not work and busy == 0:
                    return
                claimed += len(work)
                for each in work:
                    flight.submit(each)
                busy = flight.busy
                if len(work) < limit:
                    busy = flight.wait(below=max(1, busy - batch // 2 + 1), timeout=1.0)

    def _claim(self, *, limit: int) -> list[Work]:
        """Claim a batch of due jobs and read their requests (see dialect.py)."""
        claimed = self._connections.run(lambda conn: for_connection(conn).claim(
            conn, self.lease, due_by=self._run_started, now=self.clock(), limit=limit))
        self._held.add(claimed.ids)
        return self._group(claimed.rows, claimed.ids)

    def _load(self, conn: sa.Connection, ids: list[int]) -> list[Work]:
        """The claimed jobs' requests, read in the claim's transaction: under the lease only
        this digest writes them."""
        self._held.add(ids)
        if not ids:
            return []
        return self._group(conn.execute(claims.LOAD, {"ids": ids}).all(), ids)

    def _group(self, rows: Sequence[sa.Row], ids: list[int] | None = None) -> list[Work]:
        """The work of each job, in the order of ``ids`` (else of ``rows``)."""
        by_job: dict[int, list[sa.Row]] = {job_id: [] for job_id in ids or ()}
        for row in rows:
            by_job.setdefault(row.job_id, []).append(row)
        work = []
        for job_id, rows in by_job.items():
            first = next((i for i, r in enumerate(rows) if r.state != RequestState.SUCCEEDED),
                         len(rows))
            # A job without requests (only a row written by hand) has nothing to run: the
            # run goes on, rather than failing at it each time it is claimed.
            job = (JobInfo(job_id, rows[0].relation_id, rows[0].source_id, rows[0].store_id)
                   if rows else JobInfo(job_id, None, "", None))
            # load_shown: a result edited into something that is not JSON is handed on as
            # stored, rather than failing every run that takes the job.
            previous = load_shown(rows[first - 1].result) if first else None
            work.append(Work(job_id, job, rows[first:], previous))
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
            with self._connections.borrow() as conn, conn.begin():
                claims.release(conn, self.lease, held, now=self.clock())
        except Exception:
            log.warning("could not give back jobs %s; their lease will expire", held)

    def _forget_best_effort(self) -> None:
        try:
            with self._connections.borrow() as conn, conn.begin():
                processes.forget(conn, self.lease.worker)
        except Exception:  # the database failed: the row turns stale and is pruned later
            log.warning("could not delete the row of digest %s", self.lease.worker)

    def _record_run_start(self, started_at: datetime) -> int | None:
        def record(conn: sa.Connection) -> int | None:
            with conn.begin():
                if not self.resident:  # a resident worker's row is written once, at its start
                    processes.register(conn, self.lease.worker, concurrency=self.concurrency,
                                       lease_seconds=self.lease.seconds, now=started_at)
                return digest_runs.record_start(conn, self.lease.worker, started_at)
        return self._connections.run(record)

    def _record_run_end(self, run_id: int | None, result: DigestResult, error: str | None) -> None:
        def record(conn: sa.Connection) -> None:
            with conn.begin():
                digest_runs.record_end(conn, run_id, result, error, now=self.clock())
                if not self.resident:
                    processes.forget(conn, self.lease.worker)
                # Old runs, sent alerts and hourly counts: bounded for a --loop worker.
                retention.prune_history(conn, now=self.clock())
        try:
            self._connections.run(record)
        except Exception:
            if error is None:
                raise
            # The database is what failed: the run's own error is the one to report.

    def _recover_expired(self) -> None:
        """Take back jobs whose digest died: the request it was running failed."""
        now = self.clock()

        def take(conn: sa.Connection, job_id: int) -> Sequence[sa.Row] | None:
            with conn.begin():
                if not claims.take_expired(conn, self.lease, job_id, now=now):
                    return None
                running = conn.execute(
                    claims.LOAD.where(requests.c.state == RequestState.RUNNING),
                    {"ids": [job_id]}).all()
                log.warning("job %s: its digest's lease expired; taking it over", job_id)
                if not running:
                    claims.release(conn, self.lease, [job_id], now=now)
                return running

        expired = self._connections.run(
            lambda conn: claims.expired_jobs(conn, now=now, limit=1000))
        for job_id in expired:
            running = self._connections.run(functools.partial(take, job_id=job_id))
            for row in running or ():
                executed = Executed(ok=False, started_at=row.updated_at, finished_at=now,
                                    error=INTERRUPTED)
                self._step(self._pending(job_id, row, executed, last=True), None,
                           self._total)
