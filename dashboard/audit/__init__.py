"""The audit log: who did what to which jobs, when, and with which filter.

``record()`` takes a plain session, so the web views, the HTTP API and the CLI all write
the same entries.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..db import utcnow
from .models import AuditEntry, AuditJob

__all__ = [
    "AuditEntry", "AuditJob", "AuditPage", "entries", "entries_for_job", "forget", "job_ids_of",
    "record",
]


def record(
    session: Session,
    actor: str,
    action: str,
    job_ids: Iterable[int],
    filter: Mapping[str, Any] | None = None,
    detail: str | None = None,
    *,
    at: datetime | None = None,
    commit: bool = True,
) -> AuditEntry:
    """Write one entry for an action that changed ``job_ids`` (may be empty)."""
    ids = sorted(set(job_ids))
    entry = AuditEntry(
        at=at or utcnow(), actor=actor, action=action, job_count=len(ids),
        filter=json.dumps(dict(filter), sort_keys=True) if filter else None, detail=detail,
    )
    try:
        session.add(entry)
        session.flush()
        if ids:
            session.execute(sa.insert(AuditJob), [{"entry_id": entry.id, "job_id": i} for i in ids])
        if commit:
            session.commit()
    except BaseException:
        session.rollback()
        raise
    return entry


def forget(session: Session, entry: AuditEntry) -> None:
    """Take back, and commit, an entry written ahead of an action that did not happen after
    all (a run refused when the digest tried to take the job)."""
    entry_id = entry.id
    session.execute(sa.delete(AuditJob).where(AuditJob.entry_id == entry_id))
    session.execute(sa.delete(AuditEntry).where(AuditEntry.id == entry_id))
    session.commit()


@dataclass(frozen=True)
class AuditPage:
    entries: list[AuditEntry]
    #: The ``before`` value of the next (older) page, or None on the last page.
    next_before: int | None


def entries(session: Session, *, before: int | None = None, actor: str | None = None,
            job_id: int | None = None, limit: int = 50) -> AuditPage:
    """Entries, newest first, a page at a time (keyset on the id)."""
    query = sa.select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit + 1)
    if before is not None:
        query = query.where(AuditEntry.id < before)
    if actor:
        query = query.where(AuditEntry.actor == actor)
    if job_id is not None:
        query = query.where(AuditEntry.id.in_(
            sa.select(AuditJob.entry_id).where(AuditJob.job_id == job_id)))
    rows = list(session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(rows, rows[-1].id if more else None)


def entries_for_job(session: Session, job_id: int, limit: int = 20) -> list[AuditEntry]:
    return entries(session, job_id=job_id, limit=limit).entries


def job_ids_of(session: Session, entries: list[AuditEntry], per_entry: int = 20
               ) -> dict[int, list[int]]:
    """Up to ``per_entry`` job ids of each entry, for display (a bulk entry may have
    thousands: one small indexed query per entry reads only what is shown)."""
    found: dict[int, list[int]] = {}
    for entry in entries:
        found[entry.id] = [] if not entry.job_count else list(session.scalars(
            sa.select(AuditJob.job_id).where(AuditJob.entry_id == entry.id)
            .order_by(AuditJob.job_id).limit(per_entry)))
    return found
