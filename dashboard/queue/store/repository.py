"""Saving and loading jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session, scoped_session, selectinload
from sqlalchemy.orm.attributes import set_committed_value

from ...db import as_detached
from ..database.general_way import Reason
from ..database.write_lock import begin_for_write
from ..jobs.models import Job, Request
from ..jobs.settings import current
from . import dialect, unique_keys

#: What a save writes and no job or request is built with.
_JOB_UNSET = dict.fromkeys(("finished_at", "locked_by", "locked_until"))
_REQUEST_UNSET = dict.fromkeys(("last_error", "result"))


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

        Afterwards each job is a detached copy of what was stored: its id, columns and
        requests (with theirs) read with no query; ``get(job.id)`` reads it again. A job
        whose unique key an active job holds (or an earlier job of the same call) is a
        duplicate, as in ``save``; it stands for that job, requests included.
        """
        jobs = list(jobs)
        for job in jobs:
            if job.id is not None:
                raise ValueError(f"job {job.id} is already saved")
            if not job.requests:
                raise ValueError("a job needs at least one request")
        now = self.clock()
        session = self.session() if isinstance(self.session, scoped_session) else self.session
        # End whatever the caller read first: on SQLite a transaction that read before a
        # digest's write could not write at all ("database is locked" at once).
        if session.in_transaction():
            session.commit()
        if not jobs:
            return jobs
        rows = [dialect.job_row(job, now) for job in jobs]
        duplicates: dict[int, int] = {}
        new, new_rows = jobs, rows
        try:
            if any(row["unique_key"] is not None for row in rows):
                # One job at a time, the unique index deciding (see unique_keys.py), in a
                # transaction begun as a write (on SQLite: BEGIN IMMEDIATE).
                dialect.for_connection(session.get_bind(Job)).save_gives_way(
                    Reason.UNIQUE_KEYS, len(jobs))
                begin_for_write(session)
                job_ids, duplicates = unique_keys.insert_jobs(session, rows, now)
                new = [job for n, job in enumerate(jobs) if n not in duplicates]
                new_rows = [row for n, row in enumerate(rows) if n not in duplicates]
                job_ids = [job_id for n, job_id in enumerate(job_ids) if n not in duplicates]
                request_ids = dialect.insert_requests(
                    session.connection(), list(zip(job_ids, new, strict=True)), now)
                session.commit()
            else:
                bind = session.get_bind(Job)
                job_ids, request_ids = dialect.for_connection(bind).save(
                    session, bind, jobs, rows, now)
        except BaseException:
            session.rollback()
            raise
        _as_stored(new, new_rows, job_ids, request_ids, now)
        if duplicates:
            unique_keys.stand_for_holders(session, {jobs[n]: holder
                                                    for n, holder in duplicates.items()})
        return jobs

    def get(self, job_id: int) -> Job | None:
        """A job with its requests and their attempts, or None."""
        return self.session.scalars(
            sa.select(Job)
            .where(Job.id == job_id)
            .options(selectinload(Job.requests).selectinload(Request.history))
        ).one_or_none()


def _as_stored(jobs: list[Job], rows: list[dict[str, Any]], job_ids: list[int],
               request_ids: list[int], now: datetime) -> None:
    """The saved jobs and their requests become detached copies of their rows: every
    column as written, no attempts yet, nothing left to load (and no session to load it).
    Set without the ORM's events, which would cost more than the save's statement."""
    numbered = iter(request_ids)
    for job, row, job_id in zip(jobs, rows, job_ids, strict=True):
        job.__dict__.update(row, **_JOB_UNSET, id=job_id, created_at=now, updated_at=now)
        job.duplicate = False
        as_detached(job, (job_id,))
        for request in job.requests:
            request_id = next(numbered)
            request.__dict__.update(**_REQUEST_UNSET, id=request_id, job_id=job_id,
                                    job=job, created_at=now, updated_at=now)
            set_committed_value(request, "history", [])
            as_detached(request, (request_id,))
