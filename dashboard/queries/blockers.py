"""What holds blocked jobs back: each blocking job with its state and, when it failed, why.

A blocked list reads as a few causes, not as many rows: "#161, failed: CRM rejected
customer 42, holds back #204, #205".
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..queue.jobs.models import Job, Request
from ..queue.jobs.states import JobState, RequestState
from ..queue.store.per_job import rows_of_jobs
from .jobs import first_line, shown_state
from .permanence import judge

jobs = Job.__table__
requests = Request.__table__


@dataclass
class Blocker:
    id: int
    state: str
    #: The first line of its failing request's reason; None when nothing failed.
    reason: str | None = None
    permanent: bool = False
    #: The jobs it holds back (of those asked about), in the order given.
    held: list[int] = field(default_factory=list)


def blockers(session: Session, blocked: Iterable[tuple[int, int | None]]) -> list[Blocker]:
    """The blockers of (job id, blocker id) pairs, in the order each first appears."""
    found: dict[int, Blocker] = {}
    for job_id, blocker_id in blocked:
        if blocker_id is not None:
            found.setdefault(blocker_id, Blocker(blocker_id, "")).held.append(job_id)
    if not found:
        return []
    for job in session.execute(sa.select(jobs.c.id, jobs.c.state, jobs.c.next_attempt_at)
                               .where(jobs.c.id.in_(found))):
        found[job.id].state = shown_state(job.state, job.next_attempt_at).value
    is_permanent = judge()
    for row in session.execute(rows_of_jobs(session, list(found), lambda match: sa.select(
            requests.c.job_id, requests.c.position, requests.c.type_code, requests.c.state,
            requests.c.attempts, requests.c.last_error,
    ).where(match(requests.c.job_id),
            requests.c.state.in_((RequestState.FAILED, RequestState.RETRYING))),
            order_by=("job_id", "position"))):
        blocker = found[row.job_id]
        if blocker.reason is None:
            blocker.reason = first_line(row.last_error)
            blocker.permanent = is_permanent(row.type_code, row.state, row.attempts)
    return list(found.values())


#: What a blocker's state means for the jobs behind it.
WHY = {
    JobState.FAILED.value: "failed: the jobs behind it wait until it is retried and "
                           "completes, or is cancelled",
    JobState.RETRYING.value: "retrying: the jobs behind it wait for it to succeed",
    JobState.PAUSED.value: "paused by an operator: resume or cancel it to let them go",
    JobState.RUNNING.value: "running now",
    JobState.PENDING.value: "waiting for a digest",
    "scheduled": "scheduled for later",
}
