"""One job as its page shows it: fields, requests with their attempts, what holds it back."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from sqlalchemy.orm import Session

from ..audit import AuditEntry, entries_for_job
from ..queue.jobs.models import Job, Request
from ..queue.jobs.settings import current
from ..queue.jobs.states import DUE_STATES, JobState, RequestState
from ..queue.store import claims
from ..queue.store.repository import JobRepository
from .filters import ShownState
from .jobs import shown_state
from .permanence import judge


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
    #: The paused request type that holds this waiting job back.
    paused_type: str | None = None
    #: Its requests (ids) that failed for good at once (see permanence.py).
    permanent: frozenset[int] = frozenset()

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
    secrets = current().settings.masker.secrets_of_json(
        *(text for r in job.requests for text in (r.payload, r.result)))
    is_permanent = judge()
    permanent = frozenset(r.id for r in job.requests
                          if is_permanent(r.type_code, r.state, r.attempts))
    paused_type = claims.paused_type_of(session, job_id) if job.state in DUE_STATES else None
    return JobDetail(job, blocked_by, entries_for_job(session, job_id), secrets,
                     paused_type=paused_type, permanent=permanent)


#: Requests a job's page shows at once: a job of 1,000 requests is read a part at a time.
REQUESTS_PER_PART = 20
#: Failing requests the summary line links to, at most.
LINKED_FAILURES = 10


@dataclass(frozen=True)
class RequestPart:
    """The requests of a job one page shows, and the line that sums up all of them."""

    requests: list[Request]
    #: 1-based; ``parts`` in all.
    number: int
    parts: int
    total: int
    #: (state, how many), in the order of RequestState.
    counts: list[tuple[RequestState, int]]
    #: The failed and retrying requests, with the part each is shown in.
    failing: list[tuple[Request, int]]

    @property
    def first_position(self) -> int:
        return (self.number - 1) * REQUESTS_PER_PART


def request_part(requests: list[Request], number: int) -> RequestPart:
    """Part ``number`` (1-based, clamped to the last) of a job's requests."""
    parts = max(1, -(-len(requests) // REQUESTS_PER_PART))
    number = min(max(number, 1), parts)
    start = (number - 1) * REQUESTS_PER_PART
    tally = Counter(r.state for r in requests)
    failing = [(r, i // REQUESTS_PER_PART + 1) for i, r in enumerate(requests)
               if r.state in (RequestState.FAILED, RequestState.RETRYING)]
    return RequestPart(requests[start:start + REQUESTS_PER_PART], number, parts, len(requests),
                       [(state, tally[state]) for state in RequestState if tally[state]],
                       failing[:LINKED_FAILURES])
