"""Recurring schedule entries as operators see and steer them: each entry's last run, next
runs and last error (:func:`status`), switched off and on (:func:`set_disabled`), or run
once now (:func:`enqueue_now`). The switch is kept in the ``schedules`` table, so it
outlives restarts and the file is never rewritten."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..jobs.models import Job
from ..store.repository import JobRepository
from .recurring import Entry, ScheduleState, upcoming

#: Next runs each entry shows.
SHOWN_NEXT = 3


@dataclass(frozen=True)
class EntryStatus:
    entry: Entry
    last_slot: datetime | None
    last_job_id: int | None
    last_job_state: str | None
    #: Its next slots (up to SHOWN_NEXT); none for an expression that names no time.
    next_slots: list[datetime]
    jobs: int
    disabled: bool = False
    #: What its last run raised (one line), and when; None once a run went through.
    error: str | None = None
    error_at: datetime | None = field(default=None)

    @property
    def next_slot(self) -> datetime | None:
        return self.next_slots[0] if self.next_slots else None


def status(session: Session, entries: Iterable[Entry], now: datetime) -> list[EntryStatus]:
    """Each entry with its last slot's job, its next slots, its switch and last error."""
    found = []
    states = {row.name: row for row in session.execute(sa.select(
        ScheduleState.name, ScheduleState.disabled, ScheduleState.error,
        ScheduleState.error_at))}
    for entry in entries:
        last = session.execute(
            sa.select(Job.schedule_slot, Job.id, Job.state)
            .where(Job.schedule_name == entry.name, Job.schedule_slot.is_not(None))
            .order_by(Job.schedule_slot.desc()).limit(1)).first()
        count = session.scalar(sa.select(sa.func.count()).select_from(Job)
                               .where(Job.schedule_name == entry.name))
        state = states.get(entry.name)
        nexts = upcoming(entry.cron, entry.timezone, now, SHOWN_NEXT)
        error = state.error if state is not None else None
        if not nexts and error is None:
            error = f"{entry.cron!r} names no time to run"
        found.append(EntryStatus(
            entry=entry, last_slot=last.schedule_slot if last else None,
            last_job_id=last.id if last else None,
            last_job_state=last.state.value if last else None,
            next_slots=nexts, jobs=count or 0,
            disabled=bool(state is not None and state.disabled), error=error,
            error_at=state.error_at if state is not None else None))
    return found


def set_disabled(session: Session, entry: Entry, disabled: bool, now: datetime) -> bool:
    """Switch the entry off (no digest makes its jobs) or on again; returns whether that
    changed anything. The caller commits (on SQLite, in a transaction that began for a write:
see write_lock.writing). An entry switched back on starts again from
    now: the slots it missed while off are not made up."""
    state = session.get(ScheduleState, entry.name, populate_existing=True)
    if state is None:
        session.add(ScheduleState(name=entry.name, since=now, disabled=disabled))
        return disabled
    if state.disabled == disabled:
        return False
    state.disabled = disabled
    if not disabled:
        state.since = now
    return True


def enqueue_now(session: Session, entry: Entry, now: datetime) -> Job:
    """One job of the entry, due now, outside its slots (its schedule_slot is empty, so it
    takes no slot's place); the caller commits."""
    job = entry.build(None)
    return JobRepository(session, clock=lambda: now).save(job)
