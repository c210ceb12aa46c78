"""What the emails list: failures awaiting their alert, and unresolved jobs for the summary."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import Session

from ..db import changed_rows
from ..queue.jobs.masking import DEFAULT_WORDS, Masker, hide
from ..queue.jobs.models import FailureAlert, Job, Request
from ..queue.jobs.payload import load_shown
from ..queue.jobs.states import JobState, RequestState

#: Rows an email lists; the rest are counted ("and 70 more") and linked.
SHOWN = 50
PAYLOAD_SHOWN = 200

failure_alerts = FailureAlert.__table__
jobs = Job.__table__
requests = Request.__table__


@dataclass(frozen=True)
class Failure:
    """One row of an email."""

    job_id: int
    request_id: int
    type_code: str | None
    relation_id: str | None
    store_id: int | None
    attempts: int
    #: When it failed (for a retrying job of the summary: its last failed attempt).
    failed_at: datetime
    reason: str
    #: The payload as JSON, secrets masked, cut short.
    payload: str
    #: The job's state now.
    state: str


@dataclass(frozen=True)
class Listing:
    failures: list[Failure]
    total: int
    #: The newest failure alert covered (alerts only): everything up to it is marked sent.
    last_id: int | None = None

    @property
    def more(self) -> int:
        return self.total - len(self.failures)


def waiting(session: Session) -> int:
    """How many failures are not yet in an accepted email."""
    return session.scalar(sa.select(sa.func.count()).select_from(failure_alerts)
                          .where(failure_alerts.c.sent_at.is_(None))) or 0


def pending(session: Session, limit: int = SHOWN) -> Listing:
    """Failures not yet in an accepted email, oldest first."""
    last_id = session.scalar(
        sa.select(sa.func.max(failure_alerts.c.id)).where(failure_alerts.c.sent_at.is_(None)))
    if last_id is None:
        return Listing([], 0)
    waiting = sa.and_(failure_alerts.c.sent_at.is_(None), failure_alerts.c.id <= last_id)
    total = session.scalar(sa.select(sa.func.count()).select_from(failure_alerts).where(waiting))
    rows = session.execute(
        sa.select(failure_alerts.c.job_id, failure_alerts.c.request_id, requests.c.type_code,
                  jobs.c.relation_id, jobs.c.store_id, failure_alerts.c.attempts,
                  failure_alerts.c.failed_at, failure_alerts.c.reason, requests.c.payload,
                  jobs.c.state)
        .join(jobs, jobs.c.id == failure_alerts.c.job_id)
        .outerjoin(requests, requests.c.id == failure_alerts.c.request_id)
        .where(waiting)
        .order_by(failure_alerts.c.id)
        .limit(limit)
    ).all()
    return Listing([_failure(row) for row in rows], total or 0, last_id)


def mark_sent(session: Session, last_id: int, *, now: datetime) -> int:
    """Every failure up to ``last_id`` was in the accepted email. In the caller's
    transaction (``queue.operations.retention.prune_history`` forgets it after a while)."""
    marked = changed_rows(session.execute(
        sa.update(failure_alerts)
        .where(failure_alerts.c.sent_at.is_(None), failure_alerts.c.id <= last_id)
        .values(sent_at=now)
    ))
    return marked


UNRESOLVED = (JobState.FAILED, JobState.RETRYING)


def unresolved(session: Session, limit: int = SHOWN) -> tuple[Listing, dict[str, int]]:
    """Jobs failed or retrying now, each with the request that holds it up; and the count
    of each state."""
    counts = {state.value: 0 for state in UNRESOLVED}
    for state, count in session.execute(
        sa.select(jobs.c.state, sa.func.count()).where(jobs.c.state.in_(UNRESOLVED))
        .group_by(jobs.c.state)
    ):
        counts[str(state)] = count
    earlier = requests.alias("earlier")
    stuck = (sa.select(sa.func.min(earlier.c.position))
             .where(earlier.c.job_id == jobs.c.id,
                    earlier.c.state.in_((RequestState.FAILED, RequestState.RETRYING)))
             .correlate(jobs)
             .scalar_subquery())
    rows = session.execute(
        sa.select(jobs.c.id, requests.c.id, requests.c.type_code, jobs.c.relation_id,
                  jobs.c.store_id, requests.c.attempts, requests.c.updated_at,
                  requests.c.last_error, requests.c.payload, jobs.c.state)
        .select_from(jobs)
        .join(requests, sa.and_(requests.c.job_id == jobs.c.id, requests.c.position == stuck))
        .where(jobs.c.state.in_(UNRESOLVED))
        .order_by(jobs.c.state, jobs.c.id)
        .limit(limit)
    ).all()
    return Listing([_failure(row) for row in rows], sum(counts.values())), counts


def first_line(text: str | None) -> str:
    return (text or "").strip().split("\n", 1)[0].rstrip()


def _failure(row: sa.Row) -> Failure:
    (job_id, request_id, type_code, relation_id, store_id, attempts, failed_at, reason,
     payload, state) = row
    masker = Masker(current_app.config["QUEUE_MASKED_KEYS"] if current_app else DEFAULT_WORDS)
    # The payload's secrets, hidden in the reason too (the digest hides them before it
    # stores a reason; this covers reasons stored before it did).
    secrets = masker.secrets_of_json(payload)
    return Failure(job_id, request_id, type_code, relation_id, store_id, attempts, failed_at,
                   hide(first_line(reason), secrets), _shown_payload(payload, masker, secrets),
                   str(state))


def _shown_payload(text: str | None, masker: Masker, secrets: frozenset[str]) -> str:
    if text is None:
        return ""
    shown = json.dumps(masker.mask(load_shown(text), secrets), ensure_ascii=False,
                       sort_keys=True)
    return shown if len(shown) <= PAYLOAD_SHOWN else shown[:PAYLOAD_SHOWN - 1] + "…"
