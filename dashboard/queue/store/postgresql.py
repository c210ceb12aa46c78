"""PostgreSQL's statements that do in one round trip what the general way does in a
transaction of several: the digest's claim with its jobs' requests, the digest's common
step (a request succeeded, the next one starts), and a save of any number of jobs.

Each is a single statement of data-modifying CTEs, atomic on its own, run outside a
transaction (see ``driver_path.autocommit``): no BEGIN, no COMMIT. ``dialect.PostgreSQL``
runs them; the other databases take the general way (claims.py, writes.py,
repository.py). The step's guards and values are the general way's (guards.py). A group
of steps (digest/steps.py) is not a statement a step: the steps of ``STEPS``'s shapes go
together in one statement, postgresql_group.py's, inside the group's transaction.
"""

from __future__ import annotations

import enum
import functools
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ...db import UTCDateTime
from ..database.driver_path import DriverStatement
from ..jobs.models import Attempt, Job, Request
from . import claims, due_jobs, guards
from .claims import Lease

jobs = Job.__table__
requests = Request.__table__
attempts = Attempt.__table__
JOBS, REQUESTS = jobs, requests
#: The columns a save takes from the objects; the times are the save's own.
JOB_FIELDS = ("relation_id", "source_id", "store_id", "state", "priority", "unique_key",
              "next_attempt_at", "schedule_name", "schedule_slot")
REQUEST_FIELDS = ("position", "type_code", "payload", "payload_search", "state", "attempts")
TIMES = {"job": ("created_at", "updated_at"),
         "request": ("created_at", "updated_at")}
_NOW = sa.bindparam("now", type_=UTCDateTime())


# -- the claim ------------------------------------------------------------------------


def _claimed() -> sa.CTE:
    """The claim in one statement, as a CTE to select from. It locks the due,
    unblocked jobs it can (``SKIP LOCKED``: those other digests are claiming are passed
    over), in ``due_jobs.claim_order``, and leases them; it returns their ids and what the
    digest needs of them. Parameters: see ``claim_parameters``."""
    # The locking read is the function lock_due_jobs (due_jobs.LOCK_DUE_JOBS): it walks
    # ix_jobs_due and stops at the batch even on a table not analyzed since a burst, where
    # the planner, left to itself, read and sorted every due job. Materialized: the read
    # runs once. Folded into the UPDATE as a subquery, it could be run again for the
    # UPDATE's rows and hand out more than ``limit`` jobs.
    locked = sa.func.lock_due_jobs(
        sa.bindparam("due_by", type_=jobs.c.next_attempt_at.type),
        sa.bindparam("now", type_=jobs.c.locked_until.type),
        sa.cast(sa.bindparam("limit", type_=sa.Integer), sa.Integer),
    )
    due = (
        sa.select(locked.label("id"))
        .cte("due")
        .prefix_with("MATERIALIZED", dialect="postgresql")
    )
    return (
        sa.update(jobs)
        .where(jobs.c.id.in_(sa.select(due.c.id)))
        .values(locked_by=sa.bindparam("worker", type_=jobs.c.locked_by.type),
                locked_until=sa.bindparam("until", type_=jobs.c.locked_until.type))
        .returning(jobs.c.id, jobs.c.priority, jobs.c.created_at, jobs.c.relation_id,
                   jobs.c.source_id, jobs.c.store_id, jobs.c.next_attempt_at)
        .cte("claimed")
    )


CLAIMED = _claimed()


def claim_parameters(lease: Lease, *, due_by: datetime, now: datetime, limit: int) -> dict:
    """The parameters of a statement that selects from ``CLAIMED``."""
    return {"worker": lease.worker, "until": lease.until(now), "due_by": due_by, "now": now,
            "limit": limit}


def _claim_and_load() -> sa.Select:
    """PostgreSQL: the claim and the claimed jobs' requests in one statement. The requests
    are read job by job (LATERAL), by key: joined as one set, on tables not analyzed since
    a burst the planner guessed hundreds of requests per job and read all of requests.
    OFFSET 0 keeps PostgreSQL from folding the LATERAL back into such a join."""
    held = CLAIMED
    own = (sa.select(*claims.REQUEST_COLUMNS).where(requests.c.job_id == held.c.id)
           .offset(0).lateral("own"))
    return (
        sa.select(*own.c, held.c.relation_id, held.c.source_id, held.c.store_id,
                  claims.job_due_at(held))
        .select_from(held.join(own, sa.true()))
        .order_by(*due_jobs.claim_order(held), own.c.position)
    )


#: The claim and the claimed jobs' requests in one statement (parameters: see
#: ``claim_parameters``).
CLAIM_AND_LOAD = _claim_and_load()


# -- the digest's step ----------------------------------------------------------------


class Succeeded(enum.Enum):
    """What the outcome of a request that succeeded does to its job."""

    #: It was the job's last request: the job completes and is let go.
    JOB_COMPLETES = "completes"
    #: More requests follow: the job stays running, its lease renewed.
    JOB_GOES_ON = "goes on"


class Next(enum.Enum):
    """Whose request the step marks running after the outcome."""

    #: The next request of the job whose outcome the step writes.
    SAME_JOB = "same job"
    #: The first request of another job (or of a job, with no outcome before it).
    OTHER_JOB = "other job"


def _combined(prev: Succeeded | None, start: Next | None) -> sa.Select:
    """One statement: ``prev`` is the outcome of a request that succeeded (None: no
    outcome), ``start`` the request marked running after it (None: none). Selects whether
    each part applied. Each UPDATE's guard and values are the general way's (guards.py):
    a part applies only with the job's, as there."""
    ctes = []
    prev_job = next_job = None
    if prev is not None:
        if prev is Succeeded.JOB_COMPLETES:
            values = guards.END_JOB
        elif start is Next.SAME_JOB:  # renewed, then started: the start's values last
            values = {**guards.RENEW_JOB, **guards.START_JOB}
        else:
            values = guards.RENEW_JOB
        prev_job = sa.update(jobs).where(guards.running("prev_job_id")).values(
            values).returning(jobs.c.id).cte("prev_job")
        prev_request = sa.update(requests).where(
            guards.request("prev_request_id"), sa.exists(prev_job.select())
        ).values(guards.REQUEST_SUCCEEDED).returning(requests.c.id).cte("prev_request")
        attempt = guards.attempt_succeeded()
        ctes.append(sa.insert(attempts).from_select(
            ["request_id", *attempt], sa.select(prev_request.c.id, *attempt.values()),
        ).returning(attempts.c.id).cte("prev_attempt"))
    if start is Next.SAME_JOB:
        next_job = prev_job
    elif start is Next.OTHER_JOB:
        guard = [guards.startable("next_job_id")]
        if prev_job is not None:
            guard.append(sa.exists(prev_job.select()))
        next_job = sa.update(jobs).where(*guard).values(guards.START_JOB).returning(
            jobs.c.id).cte("next_job")
    if next_job is not None:
        ctes.append(sa.update(requests).where(
            guards.request("next_request_id"), sa.exists(next_job.select())
        ).values(guards.REQUEST_RUNNING).returning(requests.c.id).cte("next_request"))
    return sa.select(
        sa.exists(prev_job.select()) if prev_job is not None else sa.true(),
        sa.exists(next_job.select()) if next_job is not None else sa.true(),
    ).add_cte(*ctes)


#: The steps written in one statement, by (outcome, start). A failed request's outcome,
#: and a job given back, go the general way (see writes.py).
STEPS = {(prev, start): _combined(prev, start)
         for prev, start in ((None, Next.OTHER_JOB), (Succeeded.JOB_COMPLETES, None),
                             (Succeeded.JOB_COMPLETES, Next.OTHER_JOB),
                             (Succeeded.JOB_GOES_ON, Next.SAME_JOB),
                             (Succeeded.JOB_GOES_ON, None))}


# -- a save -----------------------------------------------------------------------------


def _insert_many() -> sa.Insert:
    """PostgreSQL: any number of jobs and their requests in one statement.

    The rows travel as two JSON arrays (one parameter each, whatever their length: the SQL
    text stays the same, and stays prepared), which ``json_to_recordset`` turns back into
    rows; a key left out of a row reads as NULL. The jobs' INSERT is a CTE; each request
    finds its job's new id by the job's number ``n`` in the call.

    Ids follow the rows' order: a sequence hands out ascending values in the order the
    ``ORDER BY`` feeds the rows (what SQLAlchemy's ``sort_by_parameter_order`` relies on
    too), so the n-th smallest new job id is the n-th job of the call.
    """
    def rows(name: str, table: sa.Table, fields: tuple[str, ...], numbers: tuple[str, ...]):
        # Strings as TEXT: a cast to VARCHAR(n) would cut a longer value, not refuse it.
        columns = [sa.column(n, sa.Integer) for n in numbers] + [
            sa.column(f, sa.Text if isinstance(table.c[f].type, sa.String) else table.c[f].type)
            for f in fields]
        return (sa.func.json_to_recordset(sa.bindparam(name, type_=postgresql.JSON))
                .table_valued(*columns).render_derived(name=name[0], with_types=True))

    jobs = rows("jobs", JOBS, JOB_FIELDS, ("n",))
    new_jobs = (
        sa.insert(JOBS)
        .from_select([*JOB_FIELDS, *TIMES["job"]],
                     sa.select(*(jobs.c[f] for f in JOB_FIELDS), _NOW, _NOW)
                     .order_by(jobs.c.n))
        .returning(JOBS.c.id)
        .cte("new_jobs")
    )
    numbered = sa.select(
        new_jobs.c.id, sa.func.row_number().over(order_by=new_jobs.c.id).label("n")
    ).cte("numbered")
    requests = rows("requests", REQUESTS, REQUEST_FIELDS, ("k", "n"))
    # A request whose search copy is its payload (no secret in it) comes without it.
    values = [sa.func.coalesce(requests.c[f], requests.c.payload) if f == "payload_search"
              else requests.c[f] for f in REQUEST_FIELDS]
    return (
        sa.insert(REQUESTS)
        .from_select(["job_id", *REQUEST_FIELDS, *TIMES["request"]],
                     sa.select(numbered.c.id, *values, _NOW, _NOW)
                     .join_from(requests, numbered, numbered.c.n == requests.c.n)
                     .order_by(requests.c.k))
        .returning(REQUESTS.c.id, REQUESTS.c.job_id)
    )


@functools.cache
def insert_one_job(requests: int) -> DriverStatement:
    """PostgreSQL: one job and its ``requests`` requests in one statement, plain VALUES
    (for a single job cheaper on the server than unpacking JSON: docs/benchmarks.md)."""
    new_job = (
        sa.insert(JOBS)
        .values({**{f: sa.bindparam(f"job_{f}", type_=JOBS.c[f].type) for f in JOB_FIELDS},
                 **dict.fromkeys(TIMES["job"], _NOW)})
        .returning(JOBS.c.id)
        .cte("new_job")
    )
    # One SELECT of parameters per request, k their order.
    selects = [sa.select(sa.literal_column(str(k)).label("k"),
                         *(sa.bindparam(f"r{k}_{f}", type_=REQUESTS.c[f].type).label(f)
                           for f in REQUEST_FIELDS))
               for k in range(requests)]
    rows = (selects[0] if requests == 1 else sa.union_all(*selects)).subquery("r")
    return DriverStatement(
        sa.insert(REQUESTS)
        .from_select(["job_id", *REQUEST_FIELDS, *TIMES["request"]],
                     sa.select(new_job.c.id, *(rows.c[f] for f in REQUEST_FIELDS), _NOW, _NOW)
                     .join_from(new_job, rows, sa.true())
                     .order_by(rows.c.k))
        .returning(REQUESTS.c.id, REQUESTS.c.job_id)
    )


INSERT_MANY = DriverStatement(_insert_many())
