"""What an operator can do to a job: retry, pause, resume, cancel, run now, delete.

``ACTIONS`` is the one table of them: the pages' buttons, the bulk form, the HTTP API's
description and ``flask jobs`` read their label, help text and states from it.

Each action but ``run`` is one compare-and-set update: it changes the job only from the
states it applies to, so it can't undo a digest's concurrent write, and an action that
does not apply is refused with a reason (``ActionRefused``), never ignored. ``run`` hands
the job to the digest, which refuses it the same way. The pages, the API and the CLI call
them through ``dashboard.actions``, which records each in the audit log.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...db import changed_rows
from ..jobs.models import Job, Request
from ..jobs.states import DUE_STATES, JobState, RequestState
from .retention import PRUNABLE_STATES, delete_jobs

jobs = Job.__table__
requests = Request.__table__


@dataclass(frozen=True)
class Action:
    """One operator action, as every caller names and explains it."""

    #: In URLs, forms, the API's paths, the CLI's subcommands and the audit log.
    code: str
    #: The job states it changes a job from.
    applies_to: tuple[JobState, ...]
    #: The button: "Retry", "Run now".
    label: str
    #: Past participle, for counts: "12 jobs retried", "can be retried".
    past: str
    #: What it does to one job, in one or two sentences.
    help: str
    #: What one job is afterwards, for the message "Job #12 is due again." (None for
    #: ``run``, whose message tells how the run went).
    result: str | None = None
    #: It destroys what can't be had back: only an administrator may do it.
    admin_only: bool = False
    #: It can't be undone: its buttons are styled apart, and over many jobs the operator
    #: types their number to confirm.
    destructive: bool = False


#: Every action, in the order the pages show them.
ACTIONS: dict[str, Action] = {action.code: action for action in (
    Action("retry", (JobState.RETRYING, JobState.FAILED), "Retry", "retried",
           "Make a retrying job due now; give a failed one a fresh round of attempts (its "
           "history is kept).", "is due again"),
    Action("pause", (JobState.PENDING, JobState.RETRYING, JobState.RUNNING), "Pause", "paused",
           "Keep the digest away from the job; a running one stops after its current "
           "request.", "is paused"),
    Action("resume", (JobState.PAUSED,), "Resume", "resumed",
           "Let the digest take a paused job again, where it left off.", "is resumed"),
    Action("cancel", (JobState.PENDING, JobState.RETRYING, JobState.RUNNING, JobState.PAUSED,
                      JobState.FAILED), "Cancel", "cancelled",
           "Stop the job for good; later jobs of its relation are no longer held back.",
           "is cancelled", destructive=True),
    Action("run", DUE_STATES, "Run now", "run",
           "Run the job here and now through the digest (it must be pending or retrying, "
           "not held by another digest nor blocked by an earlier job of its relation)."),
    Action("delete", PRUNABLE_STATES, "Delete", "deleted",
           "Delete the finished job with its requests and attempt history, for good (the "
           "audit log keeps what was done to it). Administrators only.", "is deleted",
           admin_only=True, destructive=True),
)}

#: The states each action applies to.
APPLIES_TO: dict[str, tuple[JobState, ...]] = {
    code: action.applies_to for code, action in ACTIONS.items()}


def applicable(state: JobState) -> list[Action]:
    """The actions that apply to a job in this state, in the order the pages show them."""
    return [action for action in ACTIONS.values() if state in action.applies_to]


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
    """``retry`` (see ACTIONS): a failed job goes back to pending, its failed request to
    a new round of attempts."""
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
    """``pause`` (see ACTIONS): the digest checks the state between requests."""
    _update(session, "pause", job_id, state=JobState.PAUSED, updated_at=now)


def resume(session: Session, job_id: int, now: datetime) -> None:
    """``resume`` (see ACTIONS): back to the state its requests and lease say it is in."""
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
    """``cancel`` (see ACTIONS): its requests that have not run are cancelled too."""
    _update(session, "cancel", job_id, state=JobState.CANCELLED, next_attempt_at=None,
            finished_at=now, updated_at=now)
    session.execute(
        sa.update(requests)
        .where(requests.c.job_id == job_id,
               requests.c.state.in_((RequestState.PENDING, RequestState.RETRYING)))
        .values(state=RequestState.CANCELLED, updated_at=now)
    )


def delete(session: Session, job_id: int, now: datetime) -> None:
    """``delete`` (see ACTIONS): the compare-and-set update holds the job's row (no retry
    slips in between) while it goes, with its requests, attempts and alerts."""
    _update(session, "delete", job_id, updated_at=now)
    delete_jobs(session, [job_id])


#: The compare-and-set actions (every one but ``run``): also the bulk actions.
ACTION_FUNCTIONS: dict[str, Callable[[Session, int, datetime], None]] = {
    "retry": retry, "pause": pause, "resume": resume, "cancel": cancel, "delete": delete,
}
BULK = tuple(ACTION_FUNCTIONS)


def apply(session: Session, action: str, job_id: int, now: datetime) -> None:
    """Apply one compare-and-set action to one job, in the session's transaction (the
    caller commits); ActionRefused, with nothing changed, when it does not apply."""
    ACTION_FUNCTIONS[action](session, job_id, now)
