"""A job whose first request a digest marked running at a given time, as the pages, the
API and ``jobs show`` find it while its call runs."""

from __future__ import annotations

from datetime import datetime, timedelta

import sqlalchemy as sa

from dashboard.queue import Job, JobState, Request
from dashboard.queue.jobs.states import RequestState


def mark_running(session, job: Job, started_at: datetime) -> None:
    """As a digest's start step leaves it: the job running and held, its first request
    running since ``started_at``."""
    session.execute(sa.update(Job).where(Job.id == job.id).values(
        state=JobState.RUNNING, locked_by="host-1:4242:ab12cd34",
        locked_until=started_at + timedelta(minutes=5)))
    session.execute(sa.update(Request).where(Request.job_id == job.id,
                                             Request.position == 0).values(
        state=RequestState.RUNNING, updated_at=started_at))
    session.commit()
