"""What the overview shows: jobs per state, the oldest due job, the last digest run, the
connectors' limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..queue.database.engine_setup import is_postgresql
from ..queue.digest import processes
from ..queue.digest.limits import declared_connectors, live_call
from ..queue.jobs.models import ConnectorCall, ConnectorRow, DigestRun, Job
from ..queue.jobs.states import DUE_STATES, JobState
from ..queue.store import due_jobs, pauses
from .ordering import COUNT_CAP

jobs = Job.__table__
connector_rows = ConnectorRow.__table__
calls = ConnectorCall.__table__


@dataclass(frozen=True)
class StateCount:
    state: JobState
    count: int
    #: "exact", "estimate" (from PostgreSQL's statistics) or "at least".
    kind: str = "exact"


@dataclass(frozen=True)
class DueJob:
    id: int
    due_since: datetime


def state_counts(session: Session, cap: int | None = None) -> list[StateCount]:
    """Jobs per state: exact up to ``cap`` (default COUNT_CAP, as the list counts), an index
    range scan, never the whole table; beyond, estimated (PostgreSQL) or "more than". The
    overview and ``/metrics`` both count this way.

    Each count walks ix_jobs_state_id and stops at the cap. PostgreSQL without statistics
    (a table as loaded, before autovacuum's first visit) expects any state to be rare, so
    it would gather the state's whole range into a bitmap first: 900,000 entries of
    "completed" at a million jobs, 110 ms, to count 10,001 of them. Bitmap scans are off
    for these statements there."""
    cap = COUNT_CAP if cap is None else cap
    counts = []
    estimates: dict[str, int] | None = None
    walk = is_postgresql(session.get_bind())
    if walk:  # for this transaction, until the RESET below (a rollback undoes it too)
        session.execute(sa.text("SET LOCAL enable_bitmapscan TO off"))
    for state in JobState:
        capped = sa.select(jobs.c.id).where(jobs.c.state == state).limit(cap + 1).subquery()
        count = session.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one()
        if count <= cap:
            counts.append(StateCount(state, count))
            continue
        if estimates is None:
            estimates = _postgres_estimates(session)
        estimate = estimates.get(state.value)
        if estimate is not None and estimate > cap:
            counts.append(StateCount(state, estimate, "estimate"))
        else:
            counts.append(StateCount(state, cap, "at least"))
    if walk:
        session.execute(sa.text("RESET enable_bitmapscan"))
    return counts


def _postgres_estimates(session: Session) -> dict[str, int]:
    """Jobs per state as PostgreSQL's planner statistics see them (ANALYZE keeps them)."""
    if not is_postgresql(session.get_bind()):
        return {}
    row = session.execute(sa.text(
        "SELECT c.reltuples, s.most_common_vals::text AS vals, s.most_common_freqs AS freqs "
        "FROM pg_class c LEFT JOIN pg_stats s ON s.tablename = c.relname "
        "AND s.attname = 'state' AND s.schemaname = current_schema() "
        "WHERE c.oid = to_regclass('jobs')")).one_or_none()
    if row is None or row.vals is None or row.reltuples <= 0:
        return {}
    values = row.vals.strip("{}").split(",")
    return {value.strip('"'): int(row.reltuples * freq) for value, freq in zip(
        values, row.freqs, strict=False)}


def oldest_due(session: Session, now: datetime) -> DueJob | None:
    """The job a digest could take now that has waited longest past its due time: never
    one that an earlier unfinished job of its relation holds back, nor one held by a
    paused type (one index walk per state, each stopping at the first job that nothing
    holds back)."""
    candidates = []
    for state in DUE_STATES:
        row = session.execute(
            sa.select(jobs.c.id, jobs.c.next_attempt_at)
            .where(jobs.c.state == state, jobs.c.next_attempt_at <= now, ~due_jobs.blocker(jobs),
                   ~pauses.held(jobs))
            .order_by(jobs.c.next_attempt_at, jobs.c.id).limit(1)
        ).one_or_none()
        if row is not None:
            candidates.append(DueJob(row.id, row.next_attempt_at))
    return min(candidates, key=lambda due: (due.due_since, due.id), default=None)


@dataclass(frozen=True)
class DigestSilence:
    """Jobs are due, and no digest has been seen for longer than expected."""

    #: When a digest was last seen; None: never.
    since: datetime | None
    #: The job a digest could take now that has waited longest.
    oldest_due: DueJob


def digest_silence(session: Session, now: datetime, expected_seconds: float,
                   due: DueJob | None) -> DigestSilence | None:
    """Whether to sound the alarm: ``due`` (the oldest job a digest could take now, see
    ``oldest_due``) waits and no digest has started a run or beaten its heartbeat for
    ``expected_seconds``. Blocked jobs never sound it: no digest could take them."""
    if due is None:
        return None
    seen = processes.last_seen(session)
    if seen is not None and (now - seen).total_seconds() <= expected_seconds:
        return None
    return DigestSilence(seen, due)


def last_run(session: Session, *, finished: bool = False) -> DigestRun | None:
    """The digest's latest run (with ``finished``: the latest that has ended), or None."""
    query = sa.select(DigestRun)
    if finished:
        query = query.where(DigestRun.finished_at.is_not(None))
    return session.scalars(
        query.order_by(DigestRun.started_at.desc(), DigestRun.id.desc()).limit(1)
    ).one_or_none()


@dataclass(frozen=True)
class ConnectorLoad:
    name: str
    rate_limit: float | None
    max_in_flight: int | None
    #: Calls whose digest holds their job (a killed digest's call no longer counts).
    in_flight: int


def connectors(session: Session, now: datetime) -> list[ConnectorLoad]:
    """Each limited connector: the limits the digests use (else as this process declares
    them, before any digest used it) and its calls in flight now."""
    in_flight: dict[str, int] = dict(session.execute(
        sa.select(calls.c.connector, sa.func.count()).where(live_call(now))
        .group_by(calls.c.connector)).all())
    found = {row.name: ConnectorLoad(row.name, row.rate_limit, row.max_in_flight,
                                     in_flight.get(row.name, 0))
             for row in session.execute(sa.select(
                 connector_rows.c.name, connector_rows.c.rate_limit,
                 connector_rows.c.max_in_flight))}
    for connector in declared_connectors():
        found.setdefault(connector.name, ConnectorLoad(
            connector.name, connector.rate_limit, connector.max_in_flight, 0))
    return sorted(found.values(), key=lambda load: load.name)
