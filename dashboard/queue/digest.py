"""The digest: claims due jobs and executes their requests in order.

No transaction stays open while a request type's ``execute`` runs: a request is marked
running and committed, then executed, then its outcome is committed on its own. Every
write to a job is guarded by the digest's lease (``locked_by``).
"""

from __future__ import annotations

import logging
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from . import claims
from .claims import Lease
from .models import Attempt, DigestRun, FailureAlert, Job, Request
from .payload import dump_json, load_json
from .repository import JobRepository
from .retry import RetryStrategy
from .settings import QueueSettings, default_clock, default_session, default_settings
from .states import JobState, Outcome, RequestState
from .types import (
    JobInfo,
    PermanentFailure,
    RequestContext,
    RequestInfo,
    UnknownRequestType,
    pool,
)

log = logging.getLogger("dashboard.digest")

jobs = Job.__table__
requests = Request.__table__
attempts = Attempt.__table__
runs = DigestRun.__table__
failure_alerts = FailureAlert.__table__

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
    #: Outcome of each job run, by id: a JobState value.
    outcomes: dict[int, str] = field(default_factory=dict)

    def summary(self) -> str:
        return (
            f"{self.jobs} jobs run, {self.succeeded} requests succeeded, {self.failed} failed, "
            f"{self.retrying} retrying, in {self.seconds:.2f}s"
        )


@dataclass
class _Outcome:
    ok: bool
    started_at: datetime
    finished_at: datetime
    result: str | None = None
    error: str | None = None
    traceback: str | None = None
    permanent: bool = False


class LetGo(Exception):
    """The digest stopped working on a job: it lost its lease to another digest, or an
    operator paused or cancelled the job while it ran."""


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
        if self._job is not None:
            return self._execute_one(self._job)
        return self._execute_due(max_jobs or self.settings.max_jobs_per_run, max_seconds)

    # -- runs -----------------------------------------------------------------------

    def _execute_one(self, job: Job) -> DigestResult:
        if job.id is None:
            JobRepository(self.session, self.clock).save(job)
        job_id = job.id
        # Whatever the caller read stays as it is; the claim needs a transaction of its own.
        self.session.commit()
        self._run_started = self.clock()
        claims.claim_one(self.session, self.lease, job_id, now=self.clock())
        result = DigestResult()
        started = time.monotonic()
        with _Heartbeat(self):
            self._held = [job_id]
            self._run_job(job_id, result)
            self._release_held()
        result.seconds = time.monotonic() - started
        self.session.expire(job)
        return result

    def _execute_due(self, max_jobs: int, max_seconds: float | None) -> DigestResult:
        result = DigestResult()
        started = time.monotonic()
        run_started = self._run_started = self.clock()
        run_id = self._record_run_start(run_started)
        error: str | None = None
        try:
            with _Heartbeat(self):
                self._recover_expired(result)
                while not self._stop.is_set() and result.jobs < max_jobs:
                    if max_seconds is not None and time.monotonic() - started >= max_seconds:
                        break
                    batch = min(self.settings.claim_batch, max_jobs - result.jobs)
                    ids = claims.claim_due(
                        self.session, self.lease, due_by=run_started, now=self.clock(),
                        limit=batch,
                    )
                    if not ids:
                        break
                    self._held = list(ids)
                    for job_id in ids:
                        if self._stop.is_set() or (
                            max_seconds is not None
                            and time.monotonic() - started >= max_seconds
                        ):
                            break
                        self._run_job(job_id, result)
                    self._release_held()
        except BaseException as exc:
            error = f"{type(exc).__name__}: {exc}"
            self._release_held(best_effort=True)
            raise
        finally:
            result.seconds = time.monotonic() - started
            self._record_run_end(run_id, result, error)
        self._run_ended(result)
        return result

    def _run_ended(self, result: DigestResult) -> None:
        for listener in self.settings.run_listeners:
            try:
                listener(self, result)
            except Exception:  # e.g. the alerts: they must never fail the run
                self.session.rollback()
                log.warning("after the run, %s failed", getattr(listener, "__qualname__",
                                                                listener), exc_info=True)

    def _release_held(self, *, best_effort: bool = False) -> None:
        held, self._held = self._held, []
        try:
            claims.release(self.session, self.lease, held, now=self.clock())
        except Exception:
            if not best_effort:
                raise
            log.warning("could not give back jobs %s; their lease will expire", held)

    def _record_run_start(self, started_at: datetime) -> int | None:
        try:
            run_id = self.session.execute(
                sa.insert(runs).values(worker=self.lease.worker, started_at=started_at,
                                       jobs=0, succeeded=0, failed=0, retrying=0)
            ).inserted_primary_key[0]
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return run_id

    def _record_run_end(self, run_id: int | None, result: DigestResult, error: str | None) -> None:
        try:
            self.session.execute(
                sa.update(runs).where(runs.c.id == run_id).values(
                    finished_at=self.clock(), jobs=result.jobs, succeeded=result.succeeded,
                    failed=result.failed, retrying=result.retrying, error=error,
                )
            )
            # Keep a week of runs: enough for the overview, bounded for a --loop worker.
            self.session.execute(sa.delete(runs).where(
                runs.c.started_at < self.clock() - timedelta(days=RUNS_KEPT_DAYS)))
            self.session.commit()
        except Exception:
            self.session.rollback()
            if error is None:
                raise
            # The database is what failed: the run's own error is the one to report.

    def _recover_expired(self, result: DigestResult) -> None:
        """Take back jobs whose digest died: the request it was running failed."""
        now = self.clock()
        for job_id in claims.expired_jobs(self.session, now=now, limit=1000):
            try:
                if not claims.take_expired(self.session, self.lease, job_id, now=now):
                    self.session.rollback()
                    continue
                running = self.session.execute(
                    sa.select(requests.c.id, requests.c.type_code, requests.c.attempts,
                              requests.c.updated_at, _last_number())
                    .where(requests.c.job_id == job_id,
                           requests.c.state == RequestState.RUNNING)
                ).all()
                self.session.commit()
            except BaseException:
                self.session.rollback()
                raise
            log.warning("job %s: its digest's lease expired; taking it over", job_id)
            if not running:
                self._held = [job_id]
                self._release_held()
                continue
            for row in running:
                outcome = _Outcome(ok=False, started_at=row.updated_at, finished_at=now,
                                   error=INTERRUPTED)
                self._record_failure(job_id, row, outcome, result)

    # -- one job --------------------------------------------------------------------

    def _run_job(self, job_id: int, result: DigestResult) -> None:
        try:
            job = self.session.execute(
                sa.select(jobs.c.relation_id, jobs.c.source_id, jobs.c.store_id)
                .where(jobs.c.id == job_id)
            ).one()
            rows = self.session.execute(
                sa.select(requests.c.id, requests.c.position, requests.c.type_code,
                          requests.c.payload, requests.c.state, requests.c.attempts,
                          requests.c.result, _last_number())
                .where(requests.c.job_id == job_id)
                .order_by(requests.c.position)
            ).all()
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        info = JobInfo(job_id, job.relation_id, job.source_id, job.store_id)
        result.jobs += 1
        previous: Any = None
        try:
            for index, row in enumerate(rows):
                if row.state == RequestState.SUCCEEDED:
                    previous = load_json(row.result)
                    continue
                self._start(job_id, row.id)
                outcome = self._invoke(info, row, previous)
                if not outcome.ok:
                    state = self._record_failure(job_id, row, outcome, result)
                    result.outcomes[job_id] = state
                    return
                last = index == len(rows) - 1
                self._record_success(job_id, row, outcome, last=last, result=result)
                previous = load_json(outcome.result)
                if self._stop.is_set() and not last:
                    result.outcomes[job_id] = JobState.PENDING
                    return  # the caller gives the job back
            result.outcomes[job_id] = JobState.COMPLETED
        except LetGo as lost:
            log.warning("job %s: %s", job_id, lost)
            result.released += 1
            result.outcomes[job_id] = "released"
        finally:
            if job_id in self._held and result.outcomes.get(job_id) != JobState.PENDING:
                self._held.remove(job_id)

    def _invoke(self, job: JobInfo, row: sa.Row, previous: Any) -> _Outcome:
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
            return _Outcome(
                ok=False,
                started_at=started,
                finished_at=self.clock(),
                error=str(exc) if own else f"{type(exc).__name__}: {exc}",
                traceback=None if isinstance(exc, UnknownRequestType) else traceback.format_exc(),
                permanent=isinstance(exc, PermanentFailure),
            )
        return _Outcome(ok=True, started_at=started, finished_at=self.clock(), result=text)

    # -- writes, each in its own transaction, each guarded by the lease ---------------

    def _guarded_job_update(self, job_id: int, states: tuple[JobState, ...], **values: Any) -> None:
        """Update the job if this digest still holds it; LetGo or an operator's change
        otherwise. Leaves the transaction open for the caller's other writes."""
        outcome = self.session.execute(
            sa.update(jobs)
            .where(jobs.c.id == job_id, jobs.c.locked_by == self.lease.worker,
                   jobs.c.state.in_(states))
            .values(**values)
        )
        if outcome.rowcount == 1:
            return
        row = self.session.execute(
            sa.select(jobs.c.state, jobs.c.locked_by).where(jobs.c.id == job_id)
        ).one_or_none()
        if row is None or row.locked_by != self.lease.worker:
            raise LetGo("lost its lease to another digest; stopped without writing")
        raise _OperatorChanged(row.state)

    def _start(self, job_id: int, request_id: int) -> None:
        now = self.clock()
        try:
            self._guarded_job_update(
                job_id,
                (JobState.PENDING, JobState.RETRYING, JobState.RUNNING),
                state=JobState.RUNNING, locked_until=self.lease.until(now), updated_at=now,
            )
            self.session.execute(
                sa.update(requests).where(requests.c.id == request_id)
                .values(state=RequestState.RUNNING, updated_at=now)
            )
            self.session.commit()
        except _OperatorChanged as changed:
            self.session.rollback()
            self._let_go(job_id)
            raise LetGo(f"is {changed.state} by an operator; left as it is") from None
        except BaseException:
            self.session.rollback()
            raise

    def _record_success(self, job_id: int, row: sa.Row, outcome: _Outcome, *, last: bool,
                        result: DigestResult) -> None:
        now = outcome.finished_at
        if last:
            job_values = dict(state=JobState.COMPLETED, finished_at=now, next_attempt_at=None,
                              locked_by=None, locked_until=None, updated_at=now)
        else:
            job_values = dict(locked_until=self.lease.until(now), updated_at=now)
        self._write_outcome(job_id, row, outcome, RequestState.SUCCEEDED, job_values)
        result.succeeded += 1

    def _record_failure(self, job_id: int, row: sa.Row, outcome: _Outcome,
                        result: DigestResult) -> str:
        now = outcome.finished_at
        failed_attempts = row.attempts + 1
        retry_at = None if outcome.permanent else self._strategy(row.type_code).next_attempt_at(
            failed_attempts, now)
        if retry_at is not None:
            # Never within this run: a run claims what was due when it started.
            retry_at = max(retry_at, self._run_started + timedelta(microseconds=1))
        if retry_at is None:
            request_state, job_values = RequestState.FAILED, dict(
                state=JobState.FAILED, finished_at=now, next_attempt_at=None)
            result.failed += 1
        else:
            request_state, job_values = RequestState.RETRYING, dict(
                state=JobState.RETRYING, next_attempt_at=retry_at)
            result.retrying += 1
        job_values.update(locked_by=None, locked_until=None, updated_at=now)
        self._write_outcome(job_id, row, outcome, request_state, job_values)
        return str(job_values["state"])

    def _write_outcome(self, job_id: int, row: sa.Row, outcome: _Outcome,
                       request_state: RequestState, job_values: dict[str, Any]) -> None:
        """One transaction: the job (guarded), the request, the attempt row."""
        request_values: dict[str, Any] = dict(
            state=request_state, attempts=row.attempts + 1, updated_at=outcome.finished_at)
        if outcome.ok:
            request_values["result"] = outcome.result
        else:
            request_values["last_error"] = outcome.error
        try:
            try:
                self._guarded_job_update(job_id, (JobState.RUNNING,), **job_values)
                operator_state = None
            except _OperatorChanged as changed:
                # Paused or cancelled while the request ran: keep what it did, let go.
                operator_state = changed.state
                self._let_go(job_id, commit=False)
                if operator_state == JobState.CANCELLED and not outcome.ok:
                    request_values["state"] = RequestState.CANCELLED
            self.session.execute(
                sa.update(requests).where(requests.c.id == row.id).values(**request_values))
            self.session.execute(sa.insert(attempts).values(
                request_id=row.id, number=(row.last_number or 0) + 1,
                started_at=outcome.started_at, finished_at=outcome.finished_at,
                outcome=Outcome.SUCCEEDED if outcome.ok else Outcome.FAILED,
                error=outcome.error, traceback=outcome.traceback,
            ))
            # -- failure alerts: the job failed for good; it awaits its alert email, recorded
            # in this same transaction, so no failure goes unreported.
            if request_state == RequestState.FAILED and operator_state is None:
                self.session.execute(sa.insert(failure_alerts).values(
                    job_id=job_id, request_id=row.id, attempts=row.attempts + 1,
                    failed_at=outcome.finished_at,
                    reason=(outcome.error or "").strip().split("\n", 1)[0],
                ))
            # -- end of failure alerts
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        _log_outcome(job_id, row, outcome, request_values["state"])
        if operator_state is not None:
            raise LetGo(f"is {operator_state} by an operator; stopped after request {row.id}")

    def _let_go(self, job_id: int, *, commit: bool = True) -> None:
        self.session.execute(
            sa.update(jobs).where(jobs.c.id == job_id, jobs.c.locked_by == self.lease.worker)
            .values(locked_by=None, locked_until=None)
        )
        if commit:
            self.session.commit()

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


class _OperatorChanged(Exception):
    def __init__(self, state: str) -> None:
        super().__init__(state)
        self.state = state


def _log_outcome(job_id: int, row: sa.Row, outcome: _Outcome, state: RequestState) -> None:
    """One line per request outcome, with its fields for log shippers (LOG_FORMAT=json)."""
    duration = (outcome.finished_at - outcome.started_at).total_seconds()
    reason = "" if outcome.ok else f": {outcome.error}"
    log.log(
        logging.WARNING if state == RequestState.FAILED else logging.INFO,
        "job %s request %s (%s) %s in %.3fs%s", job_id, row.id, row.type_code, state,
        duration, reason,
        extra={"job_id": job_id, "request_id": row.id, "type_code": row.type_code,
               "outcome": "succeeded" if outcome.ok else "failed", "state": str(state),
               "duration": duration},
    )


def _last_number() -> sa.Label[int]:
    return (
        sa.select(sa.func.max(attempts.c.number))
        .where(attempts.c.request_id == requests.c.id)
        .scalar_subquery()
        .label("last_number")
    )


class _Heartbeat:
    """Renews the lease of every job the digest holds, a third of a lease apart, on its
    own connection, so a request that runs longer than the lease keeps its job."""

    def __init__(self, digest: JobDigest) -> None:
        self.digest = digest
        self.engine = digest.session.get_bind()
        self.interval = digest.lease.seconds / 3
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lease-heartbeat", daemon=True)

    def __enter__(self) -> _Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._done.set()
        self._thread.join()

    def _run(self) -> None:
        while not self._done.wait(self.interval):
            held = list(self.digest._held)
            if not held:
                continue
            try:
                with self.engine.begin() as connection:
                    claims.renew(connection, self.digest.lease, held, now=self.digest.clock())
            except Exception as error:  # the next beat tries again; the lease has slack
                # One line: during an outage this repeats every beat, into cron's log.
                text = str(error).strip()
                log.warning("could not renew the lease of jobs %s: %s", held,
                            text.splitlines()[0] if text else type(error).__name__)
