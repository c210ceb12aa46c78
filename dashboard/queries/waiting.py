"""Jobs waiting to run, split by why they wait: due (a digest may take them now), blocked
(behind an earlier unfinished job of their relation) or scheduled (their time has not come).

Scheduled is one condition (``scheduled``), so that a job's run-at time can join its
retry time there.

Due and blocked as list filters ask the relation rule (``due_jobs.blocker``) of every job
whose time has come. Asked job by job, as SQLite and MariaDB do (one index entry of
``ix_jobs_unfinished_relation``, or of ``ix_jobs_relation`` on MariaDB, a job), that is
cheap for thousands of waiting jobs; on PostgreSQL at a million jobs (45,000 whose time
has come, most of them blocked behind the first of their relation) a page of due jobs,
newest first, read tens of thousands of blocked ones first, and its count all of them:
2 seconds. There the rule is asked of the set at once: the first unfinished job of each
relation (``first_of_relations``: one ordered pass over ``ix_jobs_unfinished_relation``,
no table row) is the one job of it nothing holds back, so a waiting job is blocked
exactly when it has a relation and is not the first of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from ..queue.jobs.models import Job
from ..queue.jobs.states import DUE_STATES, UNFINISHED_STATES
from ..queue.store.due_jobs import blocker, first_of_relations
from .ordering import capped_count

jobs = Job.__table__

# A waiting job is itself unfinished: the first unfinished job of its relation is then
# either it (nothing holds it back) or an earlier one (which holds it back).
assert set(DUE_STATES) <= set(UNFINISHED_STATES)


def scheduled(now: datetime) -> sa.ColumnElement[bool]:
    """Waiting for its time: its retry time (next_attempt_at) is still ahead."""
    return sa.and_(jobs.c.state.in_(DUE_STATES), jobs.c.next_attempt_at > now)


def _time_has_come(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(jobs.c.state.in_(DUE_STATES), jobs.c.next_attempt_at <= now)


class _per_database(sa.sql.expression.FunctionElement):
    """One condition written two ways: ``_per_database(elsewhere, on_postgresql)``."""

    type = sa.Boolean()
    inherit_cache = True
    _is_implicitly_boolean = True  # a condition as it is, never "... = 1"


@compiles(_per_database)
def _elsewhere(element: _per_database, compiler: sa.sql.compiler.SQLCompiler,
               **kw: object) -> str:
    return f"({compiler.process(element.clauses.clauses[0], **kw)})"


@compiles(_per_database, "postgresql")
def _postgresql(element: _per_database, compiler: sa.sql.compiler.SQLCompiler,
                **kw: object) -> str:
    return f"({compiler.process(element.clauses.clauses[1], **kw)})"


def _held_back() -> sa.ColumnElement[bool]:
    """An earlier unfinished job of its relation holds the (waiting) job back: the
    relation rule job by job, or on PostgreSQL as "has a relation and is not its first"
    (an anti-join with the firsts, hashed once, never a probe a job). A join, which the
    planner may also run as a nested loop that computes the firsts again for each job:
    it does so only when it expects a handful of waiting jobs (with 20 of them in
    tests/integration/test_waiting_reads.py); statistics far older than the backlog
    could mislead it so (tests/integration/test_query_plans.py checks the plans with
    statistics and without)."""
    firsts = first_of_relations().cte("firsts")
    return _per_database(
        blocker(jobs),
        sa.and_(jobs.c.relation_id.is_not(None),
                ~sa.exists().where(firsts.c[0] == jobs.c.id)))


def _free() -> sa.ColumnElement[bool]:
    """Nothing holds the (waiting) job back: the negation of ``_held_back``. On PostgreSQL
    "is a first, or has no relation" as one semi-join with the firsts and the waiting jobs
    without a relation (an OR beside a subquery would be a subplan, run once a job when
    PostgreSQL misjudges its size, as it does before the first ANALYZE)."""
    alone = jobs.alias("alone")
    free = first_of_relations().union_all(
        sa.select(alone.c.id).where(alone.c.relation_id.is_(None),
                                    alone.c.state.in_(DUE_STATES))).cte("free")
    return _per_database(~blocker(jobs), jobs.c.id.in_(sa.select(free.c[0])))


def blocked(now: datetime) -> sa.ColumnElement[bool]:
    """Its time has come, but an earlier unfinished job of its relation holds it back."""
    return sa.and_(_time_has_come(now), _held_back())


def due(now: datetime) -> sa.ColumnElement[bool]:
    """Its time has come and nothing holds it back: the next digest run may take it."""
    return sa.and_(_time_has_come(now), _free())


#: The job list's ``waiting`` filter.
CONDITIONS = {"due": due, "blocked": blocked, "scheduled": scheduled}
#: Filters that ask the relation rule of the whole set on PostgreSQL: a page of them is
#: counted in its own statement, so that the firsts are computed once (``list_jobs``).
OF_THE_SET = frozenset({"due", "blocked"})


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

    The jobs whose time has come are counted first, up to ``cap + 1``
    (ix_jobs_state_next_attempt alone); only when they are no more than ``cap`` is each
    asked whether it is blocked (one entry of ix_jobs_unfinished_relation each)."""
    come_count = capped_count(session, [_time_has_come(now)], cap)
    later = capped_count(session, [scheduled(now)], cap)
    scheduled_count = Count(min(later, cap), later > cap)
    if come_count > cap:
        return Waiting(None, None, scheduled_count, Count(cap, True))
    come = sa.select(jobs.c.id, jobs.c.relation_id, jobs.c.source_id).where(
        _time_has_come(now)).limit(cap + 1).subquery("come")
    # SUM(CASE ...), not COUNT(*) FILTER: MariaDB has no FILTER.
    total, held = session.execute(sa.select(
        sa.func.count(), sa.func.sum(sa.case((blocker(come), 1), else_=0)))
        .select_from(come)).one()
    if total > cap:  # more came meanwhile
        return Waiting(None, None, scheduled_count, Count(cap, True))
    held = held or 0
    return Waiting(Count(total - held), Count(held), scheduled_count, Count(total))
