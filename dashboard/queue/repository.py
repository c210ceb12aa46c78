"""Saving and loading jobs."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from .database import begin_for_write
from .models import Attempt, Job, Request
from .settings import default_clock, default_session


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
            self.session.add_all(jobs)
            self.session.commit()
        except BaseException:
            self.session.rollback()
            raise
        return jobs

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
