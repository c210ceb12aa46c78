"""What the queue looks like right now: counts and ages, read from the database.

Each function is one cheap query (an index or a small table), so the health check and the
metrics endpoint can call them on every request, from any number of processes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .models import Attempt, DigestRun, Job, Request
from .states import DUE_STATES, JobState

jobs = Job.__table__
requests = Request.__table__
attempts = Attempt.__table__
runs = DigestRun.__table__


def jobs_by_state(session: Session) -> dict[JobState, int]:
    """How many jobs are in each state; every state is there, 0 when none."""
    counts = dict.fromkeys(JobState, 0)
    for state, count in session.execute(
        sa.select(jobs.c.state, sa.func.count()).group_by(jobs.c.state)
    ):
        counts[JobState(state)] = count
    return counts


def attempts_by_type(session: Session, *, since: datetime) -> dict[tuple[str, str], int]:
    """Attempts finished since ``since``, by (type code, outcome)."""
    rows = session.execute(
        sa.select(requests.c.type_code, attempts.c.outcome, sa.func.count())
        .select_from(attempts.join(requests, requests.c.id == attempts.c.request_id))
        .where(attempts.c.finished_at >= since)
        .group_by(requests.c.type_code, attempts.c.outcome)
    )
    return {(type_code, outcome): count for type_code, outcome, count in rows}


@dataclass(frozen=True)
class LastRun:
    """The digest's last finished run."""

    started_at: datetime
    finished_at: datetime
    jobs: int
    failed: bool

    @property
    def seconds(self) -> float:
        return (self.finished_at - self.started_at).total_seconds()


def last_digest_run(session: Session) -> LastRun | None:
    """The most recent finished digest run (one still running is not counted), or None."""
    row = session.execute(
        sa.select(runs.c.started_at, runs.c.finished_at, runs.c.jobs, runs.c.error)
        .where(runs.c.finished_at.is_not(None))
        .order_by(runs.c.started_at.desc())
        .limit(1)
    ).one_or_none()
    if row is None:
        return None
    return LastRun(row.started_at, row.finished_at, row.jobs, row.error is not None)


def oldest_due_age(session: Session, *, now: datetime) -> timedelta:
    """How long the job that has been due the longest has waited (zero when none is due).

    Counts a job held back by an earlier job of its relation too: it is waiting all the
    same, and a failed job blocking others is what an operator must hear about.
    """
    oldest = session.scalar(
        sa.select(sa.func.min(jobs.c.next_attempt_at))
        .where(jobs.c.state.in_(DUE_STATES), jobs.c.next_attempt_at <= now)
    )
    if oldest is None:
        return timedelta(0)
    return max(now - oldest, timedelta(0))
