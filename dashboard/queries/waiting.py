"""Jobs waiting to run, split by why they wait: due (a digest may take them now), blocked
(behind an earlier unfinished job of their relation) or scheduled (their time has not come).

Scheduled is one condition (``scheduled``), so that a job's run-at time can join its
retry time there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..queue.jobs.models import Job
from ..queue.jobs.states import DUE_STATES
from ..queue.store.due_jobs import blocker
from .ordering import capped_count

jobs = Job.__table__

def scheduled(now: datetime) -> sa.ColumnElement[bool]:
    """Waiting for its time: its retry time (next_attempt_at) is still ahead."""
    return sa.and_(jobs.c.state.in_(DUE_STATES), jobs.c.next_attempt_at > now)


def _time_has_come(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(jobs.c.state.in_(DUE_STATES), jobs.c.next_attempt_at <= now)


def blocked(now: datetime) -> sa.ColumnElement[bool]:
    """Its time has come, but an earlier unfinished job of its relation holds it back."""
    return sa.and_(_time_has_come(now), blocker(jobs))


def due(now: datetime) -> sa.ColumnElement[bool]:
    """Its time has come and nothing holds it back: the next digest run may take it."""
    return sa.and_(_time_has_come(now), ~blocker(jobs))


#: The job list's ``waiting`` filter.
CONDITIONS = {"due": due, "blocked": blocked, "scheduled": scheduled}


@dataclass(frozen=True)
class Count:
    count: int
    #: True: at least this many (the count stopped at its cap).
    capped: bool = False


@dataclass(frozen=True)
class Waiting:
    #: None, with ``come`` capped: more jobs whose time has come than the cap, due and
    #: blocked not told apart (that would read every one of them).
    due: Count | None
    blocked: Count | None
    scheduled: Count
    #: Jobs whose time has come, due or blocked.
    come: Count


def waiting(session: Session, now: datetime, cap: int) -> Waiting:
    """Due, blocked and scheduled jobs, each exact up to ``cap``; past it, "cap+" jobs due
    or blocked together, never a share of a sample (which would look exact and isn't).

    At most ``cap + 1`` jobs whose time has come are read (ix_jobs_state_next_attempt
    alone), each with one entry of ix_jobs_unfinished_relation to tell whether it is
    blocked."""
    come = sa.select(jobs.c.id, jobs.c.relation_id, jobs.c.source_id).where(
        _time_has_come(now)).limit(cap + 1).subquery("come")
    # SUM(CASE ...), not COUNT(*) FILTER: MariaDB has no FILTER.
    total, held = session.execute(sa.select(
        sa.func.count(), sa.func.sum(sa.case((blocker(come), 1), else_=0)))
        .select_from(come)).one()
    later = capped_count(session, [scheduled(now)], cap)
    scheduled_count = Count(min(later, cap), later > cap)
    if total > cap:
        return Waiting(None, None, scheduled_count, Count(cap, True))
    held = held or 0
    return Waiting(Count(total - held), Count(held), scheduled_count, Count(total))
