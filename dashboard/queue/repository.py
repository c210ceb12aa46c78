"""Saving and loading jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached, scoped_session, selectinload

from . import dialect, unique_keys
from .database import begin_for_write
from .models import Job, Request
from .settings import current

#: What a save leaves to load from the database on first use: the columns but the ids,
#: and the attempts. (The ids, and who belongs to whom, are known.)
_JOB_EXPIRED = [c.key for c in Job.__mapper__.column_attrs if c.key != "id"]
_REQUEST_EXPIRED = [c.key for c in Request.__mapper__.column_attrs if c.key != "id"] + ["history"]


class JobRepository:
    """``JobRepository().save(job)`` stores a built job, whole or not at all."""

    def __init__(
        self, session: Session | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        setup = current()
        self.session = session if session is not None else setup.new_session()
        self.clock = clock or setup.clock

    def save(self, job: Job) -> Job:
        """Store a new job and its requests in one transaction; assigns ``job.id``."""
        return self.save_many([job])[0]

    def save_many(self, jobs: Iterable[Job]) -> list[Job]:
        """Store many new jobs in one transaction: all of them or none. Commits the session.

        Afterwards the jobs and their requests belong to the session with their ids set;
        their other attributes load from the database on first use, as after any commit.
        A job whose unique key an active job holds (or an earlier job of the same call) is
        a duplicate, as in ``save``; it stands for that job, requests included.
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
        duplicates: dict[int, int] = {}
        new = jobs
        try:
            # On SQLite the transaction begins IMMEDIATE; PostgreSQL's save runs outside one.
            begin_for_write(session)
            conn = session.connection()
            if any(job.unique_key is not None for job in jobs):
                # One job at a time, the unique index deciding (see unique_keys.py).
                job_ids, duplicates = unique_keys.insert_jobs(session, jobs, dialect.job_row, now)
                new = [job for n, job in enumerate(jobs) if n not in duplicates]
                requests = [request for job in new for request in job.requests]
                job_ids = [job_id for n, job_id in enumerate(job_ids) if n not in duplicates]
                request_ids = dialect.insert_requests(
                    session.connection(), list(zip(job_ids, new, strict=True)), now)
            else:
                job_ids, request_ids = dialect.for_connection(conn).insert(
                    conn, jobs, requests, now)
            self._attach(session, new, job_ids, requests, request_ids)
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
        for job in new:
            job.duplicate = False
            session.expire(job, _JOB_EXPIRED)
        for request in requests:
            session.expire(request, _REQUEST_EXPIRED)
        if duplicates:
            unique_keys.stand_for_holders(session, {jobs[n]: holder
                                                    for n, holder in duplicates.items()})
        return jobs

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
