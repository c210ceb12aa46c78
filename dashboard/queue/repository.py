"""Saving and loading jobs."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session, make_transient_to_detached, scoped_session, selectinload

from ..db import UTCDateTime
from .database import begin_for_write
from .models import Job, Request
from .settings import default_clock, default_session

jobs = Job.__table__
requests = Request.__table__
#: The columns a save takes from the objects; the times are the save's own.
_JOB_FIELDS = ("relation_id", "source_id", "store_id", "state")
_REQUEST_FIELDS = ("position", "type_code", "payload", "payload_search", "state", "attempts")
_TIMES = {"job": ("next_attempt_at", "created_at", "updated_at"),
          "request": ("created_at", "updated_at")}
#: What a save leaves to load from the database on first use: the columns but the ids,
#: and the attempts. (The ids, and who belongs to whom, are known.)
_JOB_EXPIRED = [c.key for c in Job.__mapper__.column_attrs if c.key != "id"]
_REQUEST_EXPIRED = [c.key for c in Request.__mapper__.column_attrs if c.key != "id"] + ["history"]
_NOW = sa.bindparam("now", type_=UTCDateTime())


def _insert_many_in_one_statement() -> sa.Insert:
    """PostgreSQL: any number of jobs and their requests in one statement.

    The rows travel as two JSON arrays (one parameter each, whatever their length: the SQL
    text stays the same, and stays prepared), which ``json_to_recordset`` turns back into
    rows. The jobs' INSERT is a CTE; each request finds its job's new id by the job's
    number ``n`` in the call.

    Ids follow the rows' order: a sequence hands out ascending values in the order the
    ``ORDER BY`` feeds the rows (what SQLAlchemy's ``sort_by_parameter_order`` relies on
    too), so the n-th smallest new job id is the n-th job of the call.
    """
    def rows(name: str, table: sa.Table, fields: tuple[str, ...], numbers: tuple[str, ...]):
        # Strings as TEXT: a cast to VARCHAR(n) would cut a longer value, not refuse it.
        columns = [sa.column(n, sa.Integer) for n in numbers] + [
            sa.column(f, sa.Text if isinstance(table.c[f].type, sa.String) else table.c[f].type)
            for f in fields]
        return (sa.func.json_to_recordset(sa.bindparam(name, type_=postgresql.JSON))
                .table_valued(*columns).render_derived(name=name[0], with_types=True))

    job_rows = rows("jobs", jobs, _JOB_FIELDS, ("n",))
    new_jobs = (
        sa.insert(jobs)
        .from_select([*_JOB_FIELDS, *_TIMES["job"]],
                     sa.select(*(job_rows.c[f] for f in _JOB_FIELDS), _NOW, _NOW, _NOW)
                     .order_by(job_rows.c.n))
        .returning(jobs.c.id)
        .cte("new_jobs")
    )
    numbered = sa.select(
        new_jobs.c.id, sa.func.row_number().over(order_by=new_jobs.c.id).label("n")
    ).cte("numbered")
    request_rows = rows("requests", requests, _REQUEST_FIELDS, ("k", "n"))
    return (
        sa.insert(requests)
        .from_select(["job_id", *_REQUEST_FIELDS, *_TIMES["request"]],
                     sa.select(numbered.c.id, *(request_rows.c[f] for f in _REQUEST_FIELDS),
                               _NOW, _NOW)
                     .join_from(request_rows, numbered, numbered.c.n == request_rows.c.n)
                     .order_by(request_rows.c.k))
        .returning(requests.c.id, requests.c.job_id)
    )


#: Up to this many requests, a job saved alone goes as plain VALUES (a statement per
#: number of requests); more go as JSON, whose SQL text is the same for any number.
ONE_JOB_MAX_REQUESTS = 10


@functools.cache
def _insert_one_job_in_one_statement(count: int) -> sa.Insert:
    """PostgreSQL: one job and its ``count`` requests in one statement, plain VALUES
    (for a single job cheaper on the server than unpacking JSON: docs/benchmarks.md)."""
    new_job = (
        sa.insert(jobs)
        .values({**{f: sa.bindparam(f"job_{f}", type_=jobs.c[f].type) for f in _JOB_FIELDS},
                 **dict.fromkeys(_TIMES["job"], _NOW)})
        .returning(jobs.c.id)
        .cte("new_job")
    )
    # One SELECT of parameters per request, k their order (sa.values() would not be cached).
    selects = [sa.select(sa.literal_column(str(k)).label("k"),
                         *(sa.bindparam(f"r{k}_{f}", type_=requests.c[f].type).label(f)
                           for f in _REQUEST_FIELDS))
               for k in range(count)]
    rows = (selects[0] if count == 1 else sa.union_all(*selects)).subquery("r")
    return (
        sa.insert(requests)
        .from_select(["job_id", *_REQUEST_FIELDS, *_TIMES["request"]],
                     sa.select(new_job.c.id, *(rows.c[f] for f in _REQUEST_FIELDS), _NOW, _NOW)
                     .join_from(new_job, rows, sa.true())
                     .order_by(rows.c.k))
        .returning(requests.c.id, requests.c.job_id)
    )


INSERT_MANY_IN_ONE_STATEMENT = _insert_many_in_one_statement()
INSERT_JOBS = sa.insert(jobs).returning(jobs.c.id, sort_by_parameter_order=True)
INSERT_REQUESTS = sa.insert(requests).returning(requests.c.id, sort_by_parameter_order=True)


class JobRepository:
    """``JobRepository().save(job)`` stores a built job, whole or not at all."""

    def __init__(
        self, session: Session | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self.session = session if session is not None else default_session()
        self.clock = clock or default_clock()

    def save(self, job: Job) -> Job:
        """Store a new job and its requests in one transaction; assigns ``job.id``."""
        return self.save_many([job])[0]

    def save_many(self, jobs: Iterable[Job]) -> list[Job]:
        """Store many new jobs in one transaction: all of them or none. Commits the session.

        Afterwards the jobs and their requests belong to the session with their ids set;
        their other attributes load from the database on first use, as after any commit.
        """
        jobs = list(jobs)
        for job in jobs:
            if job.id is not None:
                raise ValueError(f"job {job.id} is already saved")
            if not job.requests:
                raise ValueError("a job needs at least one request")
        requests = [request for job in jobs for request in job.requests]
        now = self.clock()
        session = self.session() if isinstance(self.session, scoped_session) else self.session
        # End whatever the caller read first: on SQLite a transaction that read before a
        # digest's write could not write at all ("database is locked" at once). (Not
        # session.commit() regardless: with no transaction it would still expire every
        # object the session holds.)
        if session.in_transaction():
            session.commit()
        if not jobs:
            return jobs
        try:
            if session.get_bind().dialect.name == "postgresql":
                job_ids, request_ids = self._insert_in_one_statement(session, jobs, requests, now)
            else:
                job_ids, request_ids = self._insert_in_two_statements(session, jobs, now)
            self._attach(session, jobs, job_ids, requests, request_ids)
            # Commit without expiring all the session holds (at every save, and it may hold
            # thousands of objects): only what this save wrote, below.
            session.expire_on_commit, expire_on_commit = False, session.expire_on_commit
            try:
                session.commit()
            finally:
                session.expire_on_commit = expire_on_commit
        except BaseException:
            session.rollback()
            raise
        for job in jobs:
            session.expire(job, _JOB_EXPIRED)
        for request in requests:
            session.expire(request, _REQUEST_EXPIRED)
        return jobs

    @staticmethod
    def _insert_in_one_statement(
        session: Session, jobs: list[Job], requests: list[Request], now: datetime
    ) -> tuple[list[int], list[int]]:
        """PostgreSQL: one round trip, a single statement outside a transaction (atomic on
        its own, and durable once it returns: no BEGIN, no COMMIT)."""
        conn = session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        if len(jobs) == 1 and len(requests) <= ONE_JOB_MAX_REQUESTS:
            job, = jobs
            params = {f"job_{f}": getattr(job, f) for f in _JOB_FIELDS}
            for k, request in enumerate(requests):
                params.update({f"r{k}_{f}": getattr(request, f) for f in _REQUEST_FIELDS})
            statement = _insert_one_job_in_one_statement(len(requests))
        else:
            params = {
                "jobs": [{"n": n, **{f: getattr(job, f) for f in _JOB_FIELDS}}
                         for n, job in enumerate(jobs, 1)],
                "requests": [{"k": k, "n": n, **{f: getattr(r, f) for f in _REQUEST_FIELDS}}
                             for k, (n, r) in enumerate(((n, r) for n, job in enumerate(jobs, 1)
                                                         for r in job.requests), 1)],
            }
            statement = INSERT_MANY_IN_ONE_STATEMENT
        # Sorted by request id, the rows come in the requests' order (see the statements).
        rows = sorted(conn.execute(statement, {"now": now, **params}).all())
        first_rows = [0]
        for job in jobs[:-1]:
            first_rows.append(first_rows[-1] + len(job.requests))
        return [rows[i][1] for i in first_rows], [request_id for request_id, _ in rows]

    @staticmethod
    def _insert_in_two_statements(
        session: Session, jobs: list[Job], now: datetime
    ) -> tuple[list[int], list[int]]:
        """SQLite and MariaDB: one transaction (BEGIN IMMEDIATE on SQLite), two multi-row
        INSERTs whose RETURNING keeps the rows' order."""
        begin_for_write(session)
        conn = session.connection()
        job_times = dict.fromkeys(_TIMES["job"], now)
        job_ids = conn.scalars(
            INSERT_JOBS, [{**{f: getattr(job, f) for f in _JOB_FIELDS}, **job_times}
                          for job in jobs]).all()
        request_times = dict.fromkeys(_TIMES["request"], now)
        request_ids = conn.scalars(
            INSERT_REQUESTS,
            [{"job_id": job_id, **{f: getattr(r, f) for f in _REQUEST_FIELDS}, **request_times}
             for job_id, job in zip(job_ids, jobs, strict=True) for r in job.requests],
        ).all()
        return list(job_ids), list(request_ids)

    @staticmethod
    def _attach(session: Session, jobs: list[Job], job_ids: list[int],
                requests: list[Request], request_ids: list[int]) -> None:
        """The objects join the session as the rows they now are (not through the ORM's
        unit of work: they are written already)."""
        for request, request_id in zip(requests, request_ids, strict=True):
            request.id = request_id
            make_transient_to_detached(request)
        for job, job_id in zip(jobs, job_ids, strict=True):
            job.id = job_id
            make_transient_to_detached(job)
        session.add_all(jobs)  # and their requests, by cascade

    def get(self, job_id: int) -> Job | None:
        """A job with its requests and their attempts, or None."""
        return self.session.scalars(
            sa.select(Job)
            .where(Job.id == job_id)
            .options(selectinload(Job.requests).selectinload(Request.history))
        ).one_or_none()
