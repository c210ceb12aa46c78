"""Which jobs a claim may take, and in which order: the one definition of the relation
rule, the due states and the claim's order, from which every database's claim is made.

- ``blocker``/``holds_back``: a job waits while an earlier unfinished job
  (states.UNFINISHED_STATES) of its relation and source exists. MariaDB's claim
  (claims.py), ``claims.blocking_job`` and the dashboard's queries use them as they are.
- ``due_read``: the claim's read of due, free, unblocked jobs not held by a paused type
  (pauses.held), in ``claim_order``. Written out as SQL text from it: SQLite's claim
  (``SQLITE_DUE``, which needs ``INDEXED BY``) and PostgreSQL's function
  ``lock_due_jobs`` (``LOCK_DUE_JOBS``, whose body a migration creates: a change here
  needs a new migration that replaces the function with this text, which
  tests/integration/test_due_jobs.py asks for).

The states are written into the SQL text, not bound, as the partial indexes say them
(``ix_jobs_due``, ``ix_jobs_unfinished_relation``): with bound values neither SQLite nor
PostgreSQL's generic plan of a prepared claim or of the function can use those indexes.
"""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ..jobs.models import Job
from ..jobs.states import DUE_STATES, UNFINISHED_STATES, JobState
from .pauses import held

jobs = Job.__table__


def states_in(column: sa.ColumnElement, states: Iterable[JobState]) -> sa.ColumnElement[bool]:
    """``column`` is one of ``states``, the states written out."""
    return column.in_([sa.literal_column(f"'{state.value}'") for state in states])


def holds_back(earlier: sa.FromClause, job: sa.FromClause) -> list[sa.ColumnElement[bool]]:
    """``earlier`` is an earlier unfinished job of ``job``'s relation and source."""
    return [
        earlier.c.relation_id == job.c.relation_id,
        earlier.c.source_id == job.c.source_id,
        earlier.c.id < job.c.id,
        states_in(earlier.c.state, UNFINISHED_STATES),
    ]


def blocker(job: sa.TableClause | sa.Subquery) -> sa.Exists:
    """An earlier unfinished job of the same relation and source exists (``job``: the jobs
    table, or a selection of its rows with their id, relation_id and source_id)."""
    earlier = jobs.alias("earlier")
    return sa.exists().where(*holds_back(earlier, job))


def first_of_relations() -> sa.Select:
    """The id of the first (oldest) unfinished job of each relation and source: the jobs
    of a relation that nothing holds back, by ``holds_back``'s rule asked of the whole set
    at once (the dashboard's waiting lists on PostgreSQL). States written out, as the partial index
    ``ix_jobs_unfinished_relation`` says them, which PostgreSQL then reads in order."""
    unfinished = jobs.alias("unfinished")
    return (sa.select(sa.func.min(unfinished.c.id))
            .where(unfinished.c.relation_id.is_not(None),
                   states_in(unfinished.c.state, UNFINISHED_STATES))
            .group_by(unfinished.c.relation_id, unfinished.c.source_id))


def unblocked(job: sa.TableClause) -> sa.ColumnElement[bool]:
    """No earlier job holds ``job`` back. Only a job in a relation is asked about an
    earlier one (asked for every job, the databases walked every earlier job)."""
    return sa.or_(job.c.relation_id.is_(None), ~blocker(job))


def free(now: sa.ColumnElement | object) -> sa.ColumnElement[bool]:
    """No digest's lease on the job runs at ``now``."""
    return sa.or_(jobs.c.locked_until.is_(None), jobs.c.locked_until < now)


def due(due_by: sa.ColumnElement | object, now: sa.ColumnElement | object
        ) -> sa.ColumnElement[bool]:
    """The job is due by ``due_by`` and free at ``now`` (blocked or not)."""
    return sa.and_(states_in(jobs.c.state, DUE_STATES), jobs.c.next_attempt_at <= due_by,
                   free(now))


def claim_order(job: sa.FromClause) -> tuple[sa.ColumnElement, ...]:
    """The order claims take due jobs in: higher priority first, then oldest first."""
    return (job.c.priority.desc(), job.c.created_at, job.c.id)


def due_read(due_by: sa.ColumnElement, now: sa.ColumnElement,
             limit: sa.ColumnElement) -> sa.Select:
    """The ids of the due jobs a claim takes, in ``claim_order``, at most ``limit``."""
    return (
        sa.select(jobs.c.id)
        .where(due(due_by, now), unblocked(jobs), ~held(jobs))
        .order_by(*claim_order(jobs))
        .limit(limit)
    )


def _written_out(statement: sa.Select, dialect: sa.Dialect) -> str:
    """``statement``'s SQL for ``dialect``, its constants in it, a condition a line."""
    text = str(statement.compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
    text = text.replace(" AND ", "\n  AND ").replace(" ORDER BY ", "\nORDER BY ")
    return "\n".join(line.strip() if line.strip().startswith("LIMIT") else line.rstrip()
                     for line in text.splitlines())


def sqlite_due() -> str:
    """SQLite's claim as SQL text (parameters :due_by, :now, :limit), held to ix_jobs_due
    by ``INDEXED BY``, which SQLAlchemy has no way to say on SQLite."""
    text = _written_out(due_read(*(sa.literal_column(f":{name}")
                                   for name in ("due_by", "now", "limit"))), sqlite.dialect())
    head = "SELECT jobs.id\nFROM jobs\n"
    assert text.startswith(head), text
    return "SELECT jobs.id\nFROM jobs INDEXED BY ix_jobs_due\n" + text[len(head):]


#: SQLite's claim. Without ``INDEXED BY``, on a table without ANALYZE, SQLite read every
#: due job through ix_jobs_state_next_attempt and sorted them all for the oldest few; held
#: to ix_jobs_due, it walks the due jobs in order and stops at the batch.
SQLITE_DUE = sa.text(sqlite_due()).bindparams(
    sa.bindparam("due_by", type_=jobs.c.next_attempt_at.type),
    sa.bindparam("now", type_=jobs.c.locked_until.type),
    sa.bindparam("limit", type_=sa.Integer))


def lock_due_jobs_body() -> str:
    """The body of PostgreSQL's ``lock_due_jobs(due_by, free_at, batch)``: the read, with
    its rows locked, passing over those other digests are claiming (``SKIP LOCKED``)."""
    read = due_read(sa.literal_column("due_by"), sa.literal_column("free_at"),
                    sa.literal_column("batch")).with_for_update(skip_locked=True)
    return "\n" + _written_out(read, postgresql.dialect()) + "\n"


#: PostgreSQL's locking read, as a function that walks ix_jobs_due whatever the
#: statistics say (migration 0008 says why: sequential scans, bitmap scans and sorts
#: priced out; ``ROWS 10``, a batch, lets the statement that leases the jobs reach their
#: requests by key). A migration creates it from this text.
LOCK_DUE_JOBS = """
CREATE OR REPLACE FUNCTION lock_due_jobs(due_by timestamp, free_at timestamp, batch integer)
RETURNS SETOF integer
LANGUAGE sql VOLATILE
ROWS 10
SET enable_seqscan = off
SET enable_bitmapscan = off
SET enable_sort = off
AS $$""" + lock_due_jobs_body() + "$$\n"
