"""Retention: what is deleted once it is old.

``prune`` deletes finished jobs, with their requests, attempts and failure alerts, when
an operator says so (``flask prune``). ``prune_history`` forgets the bookkeeping nobody
asks about after a while (digest runs, alerts already sent, hourly attempt counts): the
digest calls it at the end of each run.

``prune`` deletes in batches, each its own short transaction, so the tables are never
locked for long; the children are deleted explicitly (not left to ON DELETE CASCADE), so
no orphan is left behind by a database or connection that does not enforce foreign keys.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ...db import changed_rows
from ..database.write_lock import begin_for_write
from ..jobs.models import Attempt, AttemptHour, DigestRun, FailureAlert, Job, Request
from ..jobs.states import JobState

jobs = Job.__table__
requests = Request.__table__
attempts = Attempt.__table__
failure_alerts = FailureAlert.__table__
runs = DigestRun.__table__
attempt_hours = AttemptHour.__table__

#: How long the bookkeeping is kept: a week of runs is enough for the overview; a sent
#: alert is only looked at while its email is recent; the overview's charts show a week
#: of hours.
RUNS_KEPT = timedelta(days=7)
SENT_ALERTS_KEPT = timedelta(days=30)
HOURS_KEPT = timedelta(days=8)
#: The most rows of each kind one call deletes: a --loop digest calls it every run, so a
#: backlog goes a batch per run without one long delete.
HISTORY_BATCH = 1000

#: The states a job can be pruned from: it will never run again unless an operator says so.
PRUNABLE_STATES = (JobState.COMPLETED, JobState.CANCELLED, JobState.FAILED)
#: Failed jobs wait for an operator; they are pruned only when asked for by name.
DEFAULT_STATES = (JobState.COMPLETED, JobState.CANCELLED)
BATCH_SIZE = 1000

#: The longest age taken (100 years).
MAX_AGE = timedelta(days=36500)
_AGE = re.compile(r"(\d+)([smhdw])")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """``"30d"`` -> 30 days; units s, m, h, d, w. ValueError, saying why, otherwise."""
    match = _AGE.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(
            f"{text!r} is not an age: write a whole number and a unit, "
            "s, m, h, d or w (e.g. 30d, 12h)")
    number, unit = match.groups()
    # Checked before timedelta(), which overflows past 999,999,999 days, and "now - age"
    # past year 1; no job is older than a century.
    unit_seconds = timedelta(**{_UNITS[unit]: 1}).total_seconds()
    if len(number) > 15 or int(number) * unit_seconds > MAX_AGE.total_seconds():
        raise ValueError(f"{text.strip()[:40]!r} is longer than {MAX_AGE.days}d; no job is "
                         "that old")
    return timedelta(**{_UNITS[unit]: int(number)})


def parse_states(text: str) -> tuple[JobState, ...]:
    """``"completed,failed"`` -> those states; ValueError for an unknown or unfinished one."""
    names = [name.strip().lower() for name in text.split(",") if name.strip()]
    if not names:
        raise ValueError("name at least one state")
    allowed = ", ".join(PRUNABLE_STATES)
    chosen: list[JobState] = []
    for name in names:
        if name not in JobState._value2member_map_:
            raise ValueError(f"unknown state {name!r}: choose from {allowed}")
        if JobState(name) not in PRUNABLE_STATES:
            raise ValueError(f"{name} jobs are not finished: only {allowed} jobs can be pruned")
        if JobState(name) not in chosen:
            chosen.append(JobState(name))
    return tuple(chosen)


@dataclass
class PruneResult:
    """What a prune deleted (or, in a dry run, would delete)."""

    jobs: int = 0
    requests: int = 0
    attempts: int = 0
    batches: int = 0


def _old(states: Iterable[JobState], cutoff: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(jobs.c.state.in_(list(states)), jobs.c.finished_at < cutoff)


def prune(
    session: Session,
    *,
    older_than: timedelta,
    now: datetime,
    states: Iterable[JobState] = DEFAULT_STATES,
    batch_size: int = BATCH_SIZE,
    dry_run: bool = False,
) -> PruneResult:
    """Delete jobs in ``states`` that finished more than ``older_than`` before ``now``.

    Commits the session first, then deletes ``batch_size`` jobs per transaction.
    """
    states = tuple(states)
    if not states or any(state not in PRUNABLE_STATES for state in states):
        raise ValueError(f"only {', '.join(PRUNABLE_STATES)} jobs can be pruned")
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    cutoff = now - older_than
    # Whatever the caller's session holds is its own: each batch is a transaction of its own.
    session.commit()
    if dry_run:
        return _count(session, _old(states, cutoff))
    result = PruneResult()
    after = 0
    while True:
        try:
            ids = _lock_batch(session, _old(states, cutoff), after, batch_size)
            if not ids:
                session.commit()
                return result
            _delete(session, ids, result)
            session.commit()
        except BaseException:
            session.rollback()
            raise
        result.batches += 1
        after = ids[-1]


def _lock_batch(session: Session, old: sa.ColumnElement[bool], after: int,
                size: int) -> list[int]:
    """The next ``size`` ids to delete, locked so no operator's retry changes them meanwhile
    (a job locked by someone else right now is skipped, and left for the next prune)."""
    query = sa.select(jobs.c.id).where(old, jobs.c.id > after).order_by(jobs.c.id).limit(size)
    if session.get_bind().dialect.name == "sqlite":
        begin_for_write(session)  # SQLite locks the whole database instead
    else:
        query = query.with_for_update(skip_locked=True)
    return list(session.scalars(query))


def delete_jobs(session: Session, ids: list[int]) -> PruneResult:
    """Delete these jobs with their requests, attempts and alerts, in the caller's
    transaction (an operator's delete, which checked their state)."""
    result = PruneResult()
    _delete(session, ids, result)
    return result


def _delete(session: Session, ids: list[int], result: PruneResult) -> None:
    of_jobs = sa.select(requests.c.id).where(requests.c.job_id.in_(ids))
    result.attempts += changed_rows(session.execute(
        sa.delete(attempts).where(attempts.c.request_id.in_(of_jobs))))
    result.requests += changed_rows(session.execute(
        sa.delete(requests).where(requests.c.job_id.in_(ids))))
    session.execute(sa.delete(failure_alerts).where(failure_alerts.c.job_id.in_(ids)))
    result.jobs += changed_rows(session.execute(sa.delete(jobs).where(jobs.c.id.in_(ids))))


def _count(session: Session, old: sa.ColumnElement[bool]) -> PruneResult:
    matching = sa.select(jobs.c.id).where(old)
    of_jobs = sa.select(requests.c.id).where(requests.c.job_id.in_(matching))
    try:
        result = PruneResult(
            jobs=session.execute(sa.select(sa.func.count()).select_from(jobs)
                                 .where(old)).scalar_one(),
            requests=session.execute(sa.select(sa.func.count()).select_from(requests)
                                     .where(requests.c.job_id.in_(matching))).scalar_one(),
            attempts=session.execute(sa.select(sa.func.count()).select_from(attempts)
                                     .where(attempts.c.request_id.in_(of_jobs))).scalar_one(),
        )
    finally:
        session.rollback()
    return result


@dataclass(frozen=True)
class HistoryPruned:
    """How many rows of each kind ``prune_history`` deleted."""

    runs: int
    sent_alerts: int
    hours: int


def prune_history(conn: sa.Connection | Session, *, now: datetime,
                  batch_size: int = HISTORY_BATCH) -> HistoryPruned:
    """Delete digest runs older than RUNS_KEPT, alerts sent longer ago than
    SENT_ALERTS_KEPT and hourly counts older than HOURS_KEPT, at most ``batch_size`` of
    each, in the caller's transaction.

    Each kind is found by a plain read, then deleted by key: a DELETE walking the index
    would lock the rows other digests are writing, and MariaDB's digests ending runs at
    once deadlocked on them.
    """
    old_runs = conn.scalars(sa.select(runs.c.id).where(
        runs.c.started_at < now - RUNS_KEPT).limit(batch_size)).all()
    if old_runs:
        conn.execute(sa.delete(runs).where(runs.c.id.in_(old_runs)))
    old_alerts = conn.scalars(sa.select(failure_alerts.c.id).where(
        failure_alerts.c.sent_at < now - SENT_ALERTS_KEPT).limit(batch_size)).all()
    if old_alerts:
        conn.execute(sa.delete(failure_alerts).where(failure_alerts.c.id.in_(old_alerts)))
    old_hours = conn.execute(sa.select(attempt_hours.c.hour, attempt_hours.c.type_code).where(
        attempt_hours.c.hour < now - HOURS_KEPT).limit(batch_size)).all()
    if old_hours:
        conn.execute(sa.delete(attempt_hours).where(
            sa.tuple_(attempt_hours.c.hour, attempt_hours.c.type_code).in_(old_hours)))
    return HistoryPruned(len(old_runs), len(old_alerts), len(old_hours))
