"""The round trips that differ by database, behind one object chosen once per connection.

``for_connection(conn)`` answers ``POSTGRESQL``, which does the digest's claim, its common
step, a group of such steps and a save each in one statement (postgresql.py,
postgresql_group.py), or ``GENERAL`` (SQLite, MariaDB, MySQL), which does them in a
transaction of a few statements. The digest and the
repository call the object and never ask which database they are on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..database.driver_path import execute_alone
from ..database.engine_setup import is_postgresql
from ..database.general_way import SAVES, Reason
from ..database.write_lock import begin_for_write
from ..jobs.models import Job, Request
from ..jobs.states import JobState
from . import claims, postgresql, postgresql_group
from .claims import Lease
from .postgresql import JOB_FIELDS, REQUEST_FIELDS, TIMES, Next, Succeeded
from .writes import Pending, StepToWrite

INSERT_JOBS = sa.insert(Job.__table__).returning(
    Job.__table__.c.id, sort_by_parameter_order=True)
INSERT_REQUESTS = sa.insert(Request.__table__).returning(
    Request.__table__.c.id, sort_by_parameter_order=True)
#: Up to this many requests, a job saved alone on PostgreSQL goes as plain VALUES (a
#: statement per number of requests); more go as JSON, whose SQL text is the same for any
#: number.
ONE_JOB_MAX_REQUESTS = 10


def job_row(job: Job, now: datetime) -> dict[str, Any]:
    """The job's columns as a save writes them, but its created and updated times: due at
    its run-at time (in UTC, as it reads back), or its delay after ``now``, or at once.
    Read from the object's own values: the job is unsaved, and the ORM's attribute access
    costs more than the save's statement."""
    values = job.__dict__
    row = {f: values.get(f) for f in JOB_FIELDS}
    due = row["next_attempt_at"]
    if due is None:
        due = now if job.delay_seconds is None else now + timedelta(seconds=job.delay_seconds)
    row["next_attempt_at"] = due.astimezone(UTC)
    if row["priority"] is None:
        row["priority"] = 0
    return row


def request_row(request: Request) -> dict[str, Any]:
    """The request's columns as a save writes them, its job and times aside."""
    values = request.__dict__
    return {f: values.get(f) for f in REQUEST_FIELDS}


#: The job's columns that hold a time (the others go into JSON as they are).
TIME_FIELDS = ("next_attempt_at", "schedule_slot")


def _json_time(value: datetime) -> str:
    """A time as naive UTC text, which a recordset's timestamp column reads back."""
    return value.astimezone(UTC).replace(tzinfo=None).isoformat()


def _json_job(n: int, row: dict[str, Any]) -> dict[str, Any]:
    """A job's row as INSERT_MANY reads it: numbered, times as text, and without its NULLs
    (a key left out reads as NULL: most jobs have no relation, store, key or schedule)."""
    item = {f: value for f, value in row.items() if value is not None}
    item["n"] = n
    for f in TIME_FIELDS:
        if f in item:
            item[f] = _json_time(item[f])
    return item


def _json_request(k: int, n: int, request: Request) -> dict[str, Any]:
    """A request's row as INSERT_MANY reads it: numbered, and its search copy left out
    when it is the payload itself (no secret in it), which the statement then copies."""
    item = request_row(request)
    item["k"], item["n"] = k, n
    if item["payload_search"] == item["payload"]:
        del item["payload_search"]
    return item


def insert_requests(conn: sa.Connection, jobs: list[tuple[int, Job]],
                    now: datetime) -> list[int]:
    """The requests of the jobs (id, job) just inserted, in one multi-row INSERT whose
    RETURNING keeps their order."""
    if not jobs:
        return []
    request_times = dict.fromkeys(TIMES["request"], now)
    return list(conn.scalars(
        INSERT_REQUESTS,
        [{"job_id": job_id, **request_row(r), **request_times}
         for job_id, job in jobs for r in job.requests],
    ).all())


@dataclass(frozen=True)
class Claimed:
    """What a claim took: the jobs' ids, oldest first, and the rows of their requests."""

    ids: list[int]
    rows: Sequence[sa.Row]


@dataclass(frozen=True)
class StepWritten:
    """What a step written in one statement did. When the outcome was not written
    (another digest holds the job, or an operator let it go), nothing was."""

    outcome: bool
    start: bool


#: A step's shape: its outcome (None: none) and its start (None: none).
Shape = tuple[Succeeded | None, Next | None]


def _step_parameters(lease: Lease, pending: Pending | None, start: tuple[int, int] | None,
                     now: datetime) -> tuple[Shape, dict[str, Any]] | Reason:
    """A step's shape and the parameters of its writes (guards.PARAMETERS; ``worker``
    aside), when its shape has a statement of its own (a key of postgresql.STEPS); else
    why not."""
    # The lease runs from the start's time, or with no start from the outcome's, as the
    # general way's (writes.Writer).
    params: dict[str, Any] = {"now": now, "until": lease.until(
        now if start is not None or pending is None else pending.executed.finished_at)}
    succeeded = None
    if pending is not None:
        if not pending.executed.ok:
            return Reason.REQUEST_FAILED
        succeeded = (Succeeded.JOB_COMPLETES if pending.job_state == JobState.COMPLETED
                     else Succeeded.JOB_GOES_ON)
        row, executed = pending.row, pending.executed
        params.update(prev_job_id=pending.job_id, prev_request_id=row.id,
                      request_attempts=row.attempts + 1, request_result=executed.result,
                      attempt_number=(row.last_number or 0) + 1,
                      attempt_started=executed.started_at,
                      attempt_due=executed.due_at, done=executed.finished_at,
                      job_state=pending.job_state, finished=executed.finished_at,
                      next_attempt=None)
    following = None
    if start is not None:
        following = (Next.SAME_JOB if pending is not None and start[0] == pending.job_id
                     else Next.OTHER_JOB)
        params.update(next_job_id=start[0], next_request_id=start[1])
    if (succeeded, following) not in postgresql.STEPS:
        return Reason.NO_STATEMENT
    return (succeeded, following), params


def group_row(k: int, shape: Shape, params: dict[str, Any]) -> dict[str, Any]:
    """A step's row of postgresql_group.WRITE_STEPS (``k``: its place in the group), from
    its shape and parameters (``_step_parameters``): times as text, NULLs left out."""
    prev, following = shape
    return {"k": k, "prev": prev and prev.value, "next": following and following.value,
            **{name: _json_time(value) if isinstance(value, datetime) else value
               for name, value in params.items() if value is not None}}


class General:
    """SQLite, MariaDB and MySQL: each of these is a transaction of a few statements."""

    def claim(self, conn: sa.Connection, lease: Lease, *, due_by: datetime, now: datetime,
              limit: int) -> Claimed:
        """Claim up to ``limit`` due jobs and read their requests; committed."""
        try:
            ids = claims.claim_due(conn, lease, due_by=due_by, now=now, limit=limit)
            rows = conn.execute(claims.LOAD, {"ids": ids}).all() if ids else []
            conn.commit()
        except BaseException:
            conn.rollback()
            raise
        return Claimed(ids, rows)

    def write_step(self, conn: sa.Connection, lease: Lease, pending: Pending | None,
                   start: tuple[int, int] | None, now: datetime, *, alone: bool = True,
                   release: bool = False) -> StepWritten | Reason | None:
        """None: there is no other way than the general one (writes.Writer)."""
        return None

    def write_steps(self, conn: sa.Connection, lease: Lease,
                    steps: Sequence[StepToWrite]) -> list[StepWritten | Reason | None]:
        """None for each: there is no other way than the general one (writes.Writer)."""
        return [None] * len(steps)

    def save_gives_way(self, reason: Reason, jobs: int) -> None:
        """A save of ``jobs`` jobs takes the general way for ``reason``: the only way here."""

    def save(self, session: Session, bind: sa.Engine | sa.Connection, jobs: list[Job],
             rows: list[dict[str, Any]], now: datetime) -> tuple[list[int], list[int]]:
        """New jobs (``rows``: their job_row()s) and their requests, stored and committed:
        the session's transaction, begun as a write (on SQLite: BEGIN IMMEDIATE), holds
        ``insert``. ``bind``: what the session saves jobs through. Returns the jobs' ids
        and the requests'."""
        begin_for_write(session)
        conn = session.connection()
        ids = self.insert(conn, jobs, rows, [r for job in jobs for r in job.requests], now)
        session.commit()
        return ids

    def insert(self, conn: sa.Connection, jobs: list[Job], rows: list[dict[str, Any]],
               requests: list[Request], now: datetime) -> tuple[list[int], list[int]]:
        """New jobs (``rows``: their job_row()s) and their requests, in the transaction
        ``conn`` began as a write (on SQLite: BEGIN IMMEDIATE): two multi-row INSERTs
        whose RETURNING keeps the rows' order. Returns the jobs' ids and the requests'."""
        job_times = dict.fromkeys(TIMES["job"], now)
        job_ids = conn.scalars(INSERT_JOBS, [{**row, **job_times} for row in rows]).all()
        return list(job_ids), insert_requests(conn, list(zip(job_ids, jobs, strict=True)), now)


class PostgreSQL(General):
    """PostgreSQL: each in one statement, one round trip, outside a transaction."""

    def claim(self, conn: sa.Connection, lease: Lease, *, due_by: datetime, now: datetime,
              limit: int) -> Claimed:
        rows = execute_alone(conn, postgresql.CLAIM_AND_LOAD, postgresql.claim_parameters(
            lease, due_by=due_by, now=now, limit=limit))
        return Claimed(list(dict.fromkeys(row.job_id for row in rows)), rows)

    def write_step(self, conn: sa.Connection, lease: Lease, pending: Pending | None,
                   start: tuple[int, int] | None, now: datetime, *, alone: bool = True,
                   release: bool = False) -> StepWritten | Reason | None:
        """Write ``pending``'s outcome and mark ``start``'s request running in one
        statement: ``alone``, committed on its own; else in the connection's transaction,
        which its caller commits. A Reason: why this step has no such statement
        (``release``: the step gives jobs back too), which the caller counts
        (general_way.py)."""
        if release:
            return Reason.JOBS_GIVEN_BACK
        if alone and conn.in_transaction():
            return Reason.IN_TRANSACTION
        found = _step_parameters(lease, pending, start, now)
        if isinstance(found, Reason):
            return found
        shape, params = found
        statement = postgresql.STEPS[shape]
        params["worker"] = lease.worker
        if alone:
            [(outcome, started)] = execute_alone(conn, statement, params)
        else:
            outcome, started = conn.execute(statement, params).one()
        return StepWritten(outcome=bool(outcome), start=bool(started))

    def write_steps(self, conn: sa.Connection, lease: Lease,
                    steps: Sequence[StepToWrite]) -> list[StepWritten | Reason | None]:
        """A group's steps, in the connection's transaction (a group's, see steps.py),
        which its caller commits: every step that has a statement of its own
        (postgresql.STEPS's shapes) in one statement for them all
        (postgresql_group.WRITE_STEPS), and what it did; for each other step, why not (a
        Reason, which the caller counts). A step of a job an earlier step of the group
        writes too is left to the general way, after the statement: so each job's steps
        keep their order."""
        found: list[StepWritten | Reason | None] = []
        rows: list[dict[str, Any]] = []
        seen: set[int] = set()
        for k, step in enumerate(steps):
            jobs = step.jobs()
            each = (Reason.JOBS_GIVEN_BACK if step.release else
                    Reason.JOB_TWICE_IN_A_GROUP if jobs & seen else
                    _step_parameters(lease, step.pending, step.start, step.now))
            seen |= jobs
            found.append(each if isinstance(each, Reason) else None)
            if not isinstance(each, Reason):
                rows.append(group_row(k, *each))
        if rows:
            for k, outcome, started in conn.execute(postgresql_group.WRITE_STEPS,
                                                    {"worker": lease.worker, "steps": rows}):
                found[k] = StepWritten(outcome=bool(outcome), start=bool(started))
        return found

    def save_gives_way(self, reason: Reason, jobs: int) -> None:
        """Logged and counted (general_way.SAVES)."""
        SAVES.took(reason, f"a save of {jobs} jobs")

    def save(self, session: Session, bind: sa.Engine | sa.Connection, jobs: list[Job],
             rows: list[dict[str, Any]], now: datetime) -> tuple[list[int], list[int]]:
        """One statement on a connection of the session's engine, outside a transaction
        (atomic on its own, and durable once it returns: no BEGIN, no COMMIT), run on the
        driver (driver_path.DriverStatement): SQLAlchemy's session transaction and execution
        around it cost a one-job save a third of its time. A session bound to one
        connection saves the general way, in its transaction (counted: general_way.SAVES)."""
        if not isinstance(bind, sa.Engine):
            self.save_gives_way(Reason.BOUND_TO_A_CONNECTION, len(jobs))
            return super().save(session, bind, jobs, rows, now)
        requests = [r for job in jobs for r in job.requests]
        if len(jobs) == 1 and len(requests) <= ONE_JOB_MAX_REQUESTS:
            params = {f"job_{f}": value for f, value in rows[0].items()}
            for k, request in enumerate(requests):
                params.update({f"r{k}_{f}": value for f, value in request_row(request).items()})
            statement = postgresql.insert_one_job(len(requests))
        else:
            params = {
                "jobs": [_json_job(n, row) for n, row in enumerate(rows, 1)],
                "requests": [_json_request(k, n, r)
                             for k, (n, r) in enumerate(((n, r) for n, job in enumerate(jobs, 1)
                                                         for r in job.requests), 1)],
            }
            statement = postgresql.INSERT_MANY
        # Sorted by request id, the rows come in the requests' order (see the statements).
        ids = sorted(statement.rows(bind, {"now": now, **params}))
        first_rows = [0]
        for job in jobs[:-1]:
            first_rows.append(first_rows[-1] + len(job.requests))
        return [ids[i][1] for i in first_rows], [request_id for request_id, _ in ids]


GENERAL = General()
POSTGRESQL = PostgreSQL()


def for_connection(conn: sa.Connection | sa.Engine) -> General:
    """The round trips of ``conn``'s database."""
    return POSTGRESQL if is_postgresql(conn) else GENERAL
