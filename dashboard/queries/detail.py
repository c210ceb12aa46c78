"""One job as its page shows it: fields, requests with their attempts, what holds it back."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..audit import AuditEntry, entries_for_job
from ..queue import claims
from ..queue.models import Job
from ..queue.repository import JobRepository
from ..queue.settings import default_settings
from ..queue.states import DUE_STATES, JobState
from .filters import ShownState
from .jobs import shown_state


@dataclass(frozen=True)
class JobDetail:
    job: Job
    #: The earlier unfinished job of the same relation that holds this one back.
    blocked_by: int | None
    #: Operator actions on this job, newest first.
    audit: list[AuditEntry]
    #: The values of the secret keys of the job's payloads and results: hidden wherever
    #: they turn up in its errors, tracebacks and results.
    secrets: frozenset[str] = frozenset()

    @property
    def shown_state(self) -> JobState | ShownState:
        return shown_state(self.job.state, self.job.next_attempt_at)


def job_detail(session: Session, job_id: int) -> JobDetail | None:
    job = JobRepository(session).get(job_id)
    if job is None:
        return None
    waiting = job.state in (*DUE_STATES, JobState.PAUSED)
    blocked_by = (claims.blocking_job(session, job_id)
                  if waiting and job.relation_id is not None else None)
    secrets = default_settings().masker.secrets_of_json(
        *(text for r in job.requests for text in (r.payload, r.result)))
    return JobDetail(job, blocked_by, entries_for_job(session, job_id), secrets)
