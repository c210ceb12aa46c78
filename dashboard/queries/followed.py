"""Following an operator's action: the jobs its audit entry names, counted by state now.

After "Retry all" the operator asks "did they go through?": the job list filtered by
``audit=ID`` shows those jobs, and this says how many are pending, running, completed or
failed again, polled with the list.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..audit import AuditEntry, AuditJob
from ..queue.jobs.models import Job
from ..queue.jobs.states import JobState

jobs = Job.__table__


@dataclass(frozen=True)
class Followed:
    entry: AuditEntry
    #: (state, how many of the entry's jobs are in it now), in the order of JobState.
    states: list[tuple[JobState, int]]
    #: The entry's jobs that no longer exist (deleted, or pruned).
    gone: int

    @property
    def filter_params(self) -> dict[str, str]:
        """The filter the action was over, as the list's URL parameters ({} for ticked
        rows or one job)."""
        return json.loads(self.entry.filter) if self.entry.filter else {}

    @property
    def unfinished(self) -> int:
        """Jobs that may still change by themselves (the digest is not done with them)."""
        return sum(n for s, n in self.states
                   if s in (JobState.PENDING, JobState.RUNNING, JobState.RETRYING))


def followed(session: Session, entry_id: int) -> Followed | None:
    """The entry and its jobs' states now; None when there is no such entry."""
    entry = session.get(AuditEntry, entry_id)
    if entry is None:
        return None
    counts: dict[str, int] = {state: count for state, count in session.execute(
        sa.select(jobs.c.state, sa.func.count())
        .join(AuditJob, AuditJob.job_id == jobs.c.id)
        .where(AuditJob.entry_id == entry_id)
        .group_by(jobs.c.state))}
    states = [(JobState(s), counts[s]) for s in JobState if counts.get(s)]
    return Followed(entry, states, entry.job_count - sum(counts.values()))
