"""What an operator can do to a job: retry, pause, resume, cancel.

Each action is one compare-and-set update: it changes the job only from the states it
applies to, so it can't undo a digest's concurrent write, and an action that does not
apply is refused with a reason (``ActionRefused``), never ignored. The pages, the API and
the CLI call them through ``dashboard.actions``, which records each in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..db import changed_rows
from .models import Job, Request
from .states import JobState, RequestState

jobs = Job.__table__
requests = Request.__table__

ACTIONS = ("retry", "pause", "resume", "cancel")

#: The states each action applies to.
APPLIES_TO: dict[str, tuple[JobState, ...]] = {
    "retry": (JobState.RETRYING, JobState.FAILED),
    "pause": (JobState.PENDING, JobState.RETRYING, JobState.RUNNING),
    "resume": (JobState.PAUSED,),
    "cancel": (
        JobState.PENDING, JobState.RETRYING, JobState.RUNNING, JobState.PAUSED, JobState.FAILED,
    ),
}


class ActionRefused(ValueError):
    """The action does not apply to the job as it is; the message says why."""


def _refuse(session: Session, action: str, job_id: int) -> ActionRefused:
    state = session.scalar(sa.select(jobs.c.state).where(jobs.c.id == job_id))
    if state is None:
        return ActionRefused(f"job {job_id} does not exist")
    allowed = ", ".join(s.value for s in APPLIES_TO[action])
    return ActionRefused(f"can't {action} job {job_id}: it is {state} (only {allowed} jobs)")


def _update(session: Session, action: str, job_id: int, **values: object) -> None:
    result = session.execute(
        sa.update(jobs)
        .where(jobs.c.id == job_id, jobs.c.state.in_(APPLIES_TO[action]))
        .values(**values)
    )
    if changed_rows(result) != 1:
        raise _refuse(session, action, job_id)


def retry(session: Session, job_id: int, now: datetime) -> None:
    """Make a retrying job due now; give a failed one a fresh set of attempts."""
    _update(session, "retry", job_id, state=sa.case(
        (jobs.c.state == JobState.FAILED, JobState.PENDING.value), else_=jobs.c.state,
    ), next_attempt_at=now, finished_at=None, updated_at=now)
    # The failed request starts a new round of attempts; its history stays.
    session.execute(
        sa.update(requests)
        .where(requests.c.job_id == job_id, requests.c.state == RequestState.FAILED)
        .values(state=RequestState.PENDING, attempts=0, updated_at=now)
    )


def pause(session: Session, job_id: int, now: datetime) -> None:
    """Keep the digest away from the job; a running one stops after its current request."""
    _update(session, "pause", job_id, state=JobState.PAUSED, updated_at=now)


def resume(session: Session, job_id: int, now: datetime) -> None:
    """Let the digest take a paused job again, where it left off."""
    retrying = sa.exists().where(
        requests.c.job_id == jobs.c.id, requests.c.state == RequestState.RETRYING
    )
    running = sa.exists().where(
        requests.c.job_id == jobs.c.id, requests.c.state == RequestState.RUNNING
    )
    _update(session, "resume", job_id, state=sa.case(
        (sa.and_(running, jobs.c.locked_until >= now), JobState.RUNNING.value),
        (retrying, JobState.RETRYING.value),
        else_=JobState.PENDING.value,
    ), next_attempt_at=sa.func.coalesce(jobs.c.next_attempt_at, now), updated_at=now)


def cancel(session: Session, job_id: int, now: datetime) -> None:
    """Stop the job for good; later jobs of its relation are no longer held back."""
    _update(session, "cancel", job_id, state=JobState.CANCELLED, next_attempt_at=None,
            finished_at=now, updated_at=now)
    session.execute(
        sa.update(requests)
        .where(requests.c.job_id == job_id,
               requests.c.state.in_((RequestState.PENDING, RequestState.RETRYING)))
        .values(state=RequestState.CANCELLED, updated_at=now)
    )


ACTION_FUNCTIONS: dict[str, Callable[[Session, int, datetime], None]] = {
    "retry": retry, "pause": pause, "resume": resume, "cancel": cancel,
}


def apply(session: Session, action: str, job_id: int, now: datetime) -> None:
    """Apply one action to one job and commit; ActionRefused (nothing changed) otherwise."""
    try:
        ACTION_FUNCTIONS[action](session, job_id, now)
        session.commit()
    except BaseException:
        session.rollback()
        raise

