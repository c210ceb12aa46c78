"""Bulk actions: which jobs an action over a filter would change, and changing them.

Callable from the web, the HTTP API and the CLI alike (no Flask here).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import audit
from ..queries.filters import JobFilter
from ..queries.jobs import conditions
from ..queries.permanence import permanent_job
from ..queue.database.write_lock import begin_for_write
from ..queue.jobs.models import Job
from ..queue.operations.actions import ACTION_FUNCTIONS, APPLIES_TO, ActionRefused

jobs = Job.__table__

#: What a bulk action acts on: the ticked jobs, every job matching a filter, or every
#: job. An empty filter matches every job, so that takes "all", chosen on purpose.
SCOPES = ("selected", "filter", "all")
#: A destructive action over more jobs than this asks the operator to type their number.
TYPED_ABOVE = 100


class ScopeRefused(ValueError):
    """A scope that does not fit the filter; the message says what to do instead."""


def check_scope(scope: str, found: JobFilter) -> None:
    """Refuse a scope that would act on other jobs than the operator chose."""
    if scope not in SCOPES:
        raise ScopeRefused(f"unknown scope {scope!r}: use {', '.join(SCOPES)}")
    if scope == "filter" and found.is_empty():
        raise ScopeRefused("the filter is empty, so it would act on every job; to act on "
                           "every job, choose the scope 'all' (\"every job\")")
    if scope == "all" and not found.is_empty():
        raise ScopeRefused(f"the scope 'all' acts on every job, but a filter is given "
                           f"({', '.join(found.to_params())}); use the scope 'filter' for "
                           "the matching jobs, or clear the filter")


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
    return session.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one()


def left_out(session: Session, found: JobFilter, action: str, *, upto: int | None,
             cap: int) -> dict[str, int]:
    """The jobs matching the filter (up to ``upto``) that the action does not apply to as
    they are now, counted per state (at most ``cap + 1`` in all): what the list counts
    and the confirmation does not."""
    query = sa.select(jobs.c.state).where(*conditions(found),
                                          jobs.c.state.not_in(APPLIES_TO[action]))
    if upto is not None:
        query = query.where(jobs.c.id <= upto)
    capped = query.limit(cap + 1).subquery()
    return {str(state): count for state, count in session.execute(
        sa.select(capped.c.state, sa.func.count()).group_by(capped.c.state)
        .order_by(sa.func.count().desc()))}


def count_permanent(session: Session, found: JobFilter | None, action: str, *,
                    upto: int | None, ids: list[int] | None, cap: int) -> int:
    """Of the jobs the action would change (``ids``, or those of the filter), how many
    failed permanently (see queries.permanence): a retry fails them the same way."""
    if ids is not None:
        query = sa.select(jobs.c.id).where(jobs.c.id.in_(ids))
    else:
        assert found is not None
        query = _query(found, action, upto)
    capped = query.where(permanent_job()).limit(cap + 1).subquery()
    return session.execute(sa.select(sa.func.count()).select_from(capped)).scalar_one()


def ids_for_action(session: Session, found: JobFilter, action: str, *, upto: int | None,
                   cap: int) -> list[int]:
    """The ids the action would change, newest first, at most ``cap``."""
    return list(session.scalars(
        _query(found, action, upto).order_by(jobs.c.id.desc()).limit(cap)))


@dataclass(frozen=True)
class BulkDone:
    """What a bulk action did."""

    changed: list[int]
    #: {refused id: reason}: jobs that changed state meanwhile, left as they are.
    refused: dict[int, str]
    #: The audit entry of the changed jobs (None when none changed): ``/jobs?action=ID``
    #: lists them.
    entry_id: int | None


def apply_bulk(session: Session, action: str, job_ids: list[int], *, actor: str, now: datetime,
               filter: Mapping[str, str] | None = None) -> BulkDone:
    """Apply ``action`` to each job and write one audit entry, all in one transaction,
    which the caller commits. Call it with no transaction open: it begins one that takes
    SQLite's write lock up front.

    Each job is still a compare-and-set update of the core, so a job that changed state
    meanwhile is refused (and left as it is) while the others go through. One transaction
    instead of one per job: 10,000 jobs take seconds, not a minute, and the audit entry
    can't miss a change.
    """
    changed: list[int] = []
    refused: dict[int, str] = {}
    begin_for_write(session)
    for job_id in job_ids:
        try:
            ACTION_FUNCTIONS[action](session, job_id, now)
        except ActionRefused as refusal:  # its update matched no row: nothing to undo
            refused[job_id] = str(refusal)
        else:
            changed.append(job_id)
    entry = audit.record(session, actor, f"bulk-{action}", changed, filter=filter,
                         detail=f"{len(changed)} changed, {len(refused)} refused",
                         at=now) if changed else None
    return BulkDone(changed, refused, entry.id if entry is not None else None)
