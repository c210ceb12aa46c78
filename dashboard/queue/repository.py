"""Saving and loading jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached, selectinload

from .database import begin_for_write
from .models import Attempt, Job, Request
from .settings import default_clock, default_session

JOBS = Job.__table__
REQUESTS = Request.__table__
_JOB_FIELDS = ("relation_id", "source_id", "store_id", "state", "next_attempt_at",
               "created_at", "updated_at")
_REQUEST_FIELDS = ("position", "type_code", "payload", "state", "attempts", "created_at",
                   "updated_at")


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
        """Store many new jobs in one transaction: all of them or none. Commits the session."""
        jobs = list(jobs)
        now = self.clock()
        for job in jobs:
            if job.id is not None:
                raise ValueError(f"job {job.id} is already saved")
            if not job.requests:
                raise ValueError("a job needs at least one request")
            job.created_at = job.updated_at = now
            job.next_attempt_at = now
            for request in job.requests:
                request.created_at = request.updated_at = now
        # End whatever the caller read first: on SQLite a transaction that read before a
        # digest's write could not write at all ("database is locked" at once).
        self.session.commit()
        try:
            begin_for_write(self.session)
            self._insert(jobs)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return jobs

    def _insert(self, jobs: list[Job]) -> None:
        """Two multi-row INSERTs (not the ORM's unit of work: four times faster in bulk),
        then the objects join the session as the rows they now are."""
        conn = self.session.connection()
        job_ids = conn.scalars(
            sa.insert(JOBS).returning(JOBS.c.id, sort_by_parameter_order=True),
            [{c: getattr(job, c) for c in _JOB_FIELDS} for job in jobs],
        ).all()
        all_requests = [(job_id, r) for job_id, job in zip(job_ids, jobs, strict=True)
                        for r in job.requests]
        request_ids = conn.scalars(
            sa.insert(REQUESTS).returning(REQUESTS.c.id, sort_by_parameter_order=True),
            [{"job_id": job_id, **{c: getattr(r, c) for c in _REQUEST_FIELDS}}
             for job_id, r in all_requests],
        ).all()
        for (job_id, request), request_id in zip(all_requests, request_ids, strict=True):
            request.id, request.job_id = request_id, job_id
            make_transient_to_detached(request)
        for job, job_id in zip(jobs, job_ids, strict=True):
            job.id = job_id
            make_transient_to_detached(job)
            self.session.add(job)

    def get(self, job_id: int) -> Job | None:
        """A job with its requests and their attempts, or None."""
        return self.session.scalars(
            sa.select(Job)
            .where(Job.id == job_id)
            .options(selectinload(Job.requests).selectinload(Request.history))
        ).one_or_none()

    def attempts(self, request_id: int) -> list[Attempt]:
        return list(
            self.session.scalars(
                sa.select(Attempt).where(Attempt.request_id == request_id).order_by(Attempt.number)
            )
        )
