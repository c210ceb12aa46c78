"""An operator's action on one job, with its audit entry: retry, pause, resume, cancel, run.

The one code path behind the dashboard's buttons, the HTTP API and ``flask jobs ...``
(no Flask here): each caller only says who acts, commits, and shows the outcome its own
way.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import audit
from ..queue import JobDigest, NotRunnable
from ..queue.jobs.models import Job
from ..queue.operations import actions

#: Every action on one job, in the order the pages show them.
OPERATIONS = tuple(actions.ACTIONS)


class NoSuchJob(LookupError):
    """The job does not exist (never did, or was pruned)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id} does not exist")
        self.job_id = job_id


class Refused(Exception):
    """The action does not apply to the job as it is; nothing changed. ``reason`` says why."""

    def __init__(self, action: str, job_id: int, reason: str) -> None:
        super().__init__(reason)
        self.action = action
        self.job_id = job_id
        self.reason = reason


@dataclass(frozen=True)
class Done:
    job_id: int
    action: str
    #: One sentence for the operator: "Job #12 is due again."
    message: str
    #: For ``run``: the job's state afterwards (a JobState value); None otherwise.
    outcome: str | None = None


def perform(session: Session, action: str, job_id: int, *, actor: str, now: datetime,
            run_seconds: float | None = None) -> Done:
    """Apply ``action`` to the job and record it under ``actor``, in the session's
    transaction: the caller commits both, or neither.

    ``run_seconds`` bounds ``run`` (see _run); None lets it go to the end of the job.
    Raises NoSuchJob, or Refused when the action does not apply (nothing is written),
    or ValueError for an action that does not exist.
    """
    if action not in OPERATIONS:
        raise ValueError(f"there is no action {action!r}: use {', '.join(OPERATIONS)}")
    if session.scalar(sa.select(Job.id).where(Job.id == job_id)) is None:
        raise NoSuchJob(job_id)
    if action == "run":
        return _run(session, job_id, actor=actor, now=now, seconds=run_seconds)
    try:
        # A refused compare-and-set changed no row: nothing to undo.
        actions.ACTION_FUNCTIONS[action](session, job_id, now)
    except actions.ActionRefused as refusal:
        raise Refused(action, job_id, str(refusal)) from None
    audit.record(session, actor, action, [job_id], at=now)
    return Done(job_id, action, f"Job #{job_id} {actions.ACTIONS[action].result}.")


def _run(session: Session, job_id: int, *, actor: str, now: datetime,
         seconds: float | None) -> Done:
    """Run the job through the digest here and now, and say how it went.

    The one action that commits: the digest writes each step in a transaction of its
    own, on its own connection, so the audit entry is committed before the run starts (a
    run cut off, its process killed, is still on record, as started) and its outcome
    after. After ``seconds`` the run stops at the end of its current request and gives
    the job back, due: the digest runs the rest.
    """
    job = session.get_one(Job, job_id)
    entry = audit.record(session, actor, "run", [job_id], detail="started, no outcome recorded",
                         at=now)
    session.commit()
    digest = JobDigest(session)
    timer = threading.Timer(seconds, digest.stop) if seconds is not None else None
    try:
        if timer is not None:
            timer.start()
        result = digest.set_job(job).execute()
    except NotRunnable as refusal:
        session.rollback()
        audit.forget(session, entry)  # nothing ran: nothing to keep on record
        session.commit()
        raise Refused("run", job_id, str(refusal)) from None
    finally:
        if timer is not None:
            timer.cancel()
    summary = (f"{result.succeeded} request(s) succeeded, {result.failed} failed, "
               f"{result.retrying} retrying, in {result.seconds:.2f} s")
    if digest.stopped and job_id not in result.outcomes:
        state = session.scalar(sa.select(Job.state).where(Job.id == job_id))
        outcome = f"still {state}"
        message = (f"Job #{job_id} was still running after {seconds:g} s, the limit of Run "
                   f"now: it stopped after its current request ({summary}) and the digest "
                   f"runs the rest at its next run.")
    else:
        outcome = result.outcomes.get(job_id, "unchanged")
        message = f"Job #{job_id} ran: now {outcome}; {summary}."
    entry.detail = f"{outcome}: {summary}"
    session.commit()
    return Done(job_id, "run", message, outcome)
