"""Which jobs a bulk action over a filter would change: counted and listed with a cap."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..queue.actions import APPLIES_TO
from ..queue.models import Job
from .filters import JobFilter
from .jobs import conditions

jobs = Job.__table__


def _query(found: JobFilter, action: str, upto: int | None) -> sa.Select:
    query = sa.select(jobs.c.id).where(*conditions(found), jobs.c.state.in_(APPLIES_TO[action]))
    if upto is not None:
        query = query.where(jobs.c.id <= upto)
    return query


def newest_match(session: Session, found: JobFilter, action: str) -> int | None:
    """The highest id the action would change now: later jobs are left out of a confirmed
    action, so a confirmation never covers jobs that arrived after it was shown."""
    return session.scalar(
        _query(found, action, None).order_by(jobs.c.id.desc()).limit(1))


def count_for_action(session: Session, found: JobFilter, action: str, *, upto: int | None,
                     cap: int) -> int:
    """How many jobs the action would change, counted up to ``cap + 1``."""
    capped = _query(found, action, upto).limit(cap + 1).subquery()
    return session.scalar(sa.select(sa.func.count()).select_from(capped))


def ids_for_action(session: Session, found: JobFilter, action: str, *, upto: int | None,
                   cap: int) -> list[int]:
    """The ids the action would change, newest first, at most ``cap``."""
    return list(session.scalars(
        _query(found, action, upto).order_by(jobs.c.id.desc()).limit(cap)))
