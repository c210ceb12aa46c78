"""PostgreSQL's one statement for a group of the digest's steps: each step's outcome and
start, for every step of the group whose shape has a statement of its own (the keys of
``postgresql.STEPS``), written by one statement in the group's transaction.

The steps travel as one JSON array (one parameter, whatever their number: the SQL text
stays the same, and stays prepared), which ``json_to_recordset`` turns into rows, one a
step (``k``, its place in the group). Each data-modifying CTE is one UPDATE (or INSERT)
``FROM`` those rows, with the guards and values of guards.py built against the rows'
columns rather than bind parameters (``guards.Source``); where the values differ by a
step's shape (its job completes, goes on, or starts its next request), a CASE takes the
shape's. As in the one-step statements, a step's parts apply only with its outcome's job:
a request and an attempt only for the rows whose job the outcome's UPDATE returned,
another job's start only after an outcome that applied.

The statement selects, for each step, whether its outcome applied and whether its start
did; the digest writes what did not the general way (writes.Writer), in the same
transaction. A job may appear in one step of the statement only (an UPDATE ``FROM`` that
joins a row to two steps would apply one of them): dialect.PostgreSQL.write_steps sends
a later step of the same job the general way.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

from ..jobs.models import Attempt, Job, Request
from . import guards
from .guards import constant
from .postgresql import Next, Succeeded

jobs = Job.__table__
requests = Request.__table__
attempts = Attempt.__table__

#: A step's row: its place, its shape (``Succeeded``'s and ``Next``'s values, or NULL for
#: no outcome, no start), the jobs and requests it names; then the parameters of its
#: writes (guards.PARAMETERS), but the digest's own (``worker``, one for the group).
KEYS: dict[str, Any] = {"k": sa.Integer(), "prev": sa.Text(), "next": sa.Text(),
                        "prev_job_id": sa.Integer(), "prev_request_id": sa.Integer(),
                        "next_job_id": sa.Integer(), "next_request_id": sa.Integer()}
SHARED = ("worker",)


def _columns() -> list[sa.ColumnClause]:
    def recordset(kind: Any) -> Any:
        # Strings as TEXT: a cast to VARCHAR(n) would cut a longer value, not refuse it.
        return sa.Text() if isinstance(kind, sa.String) else kind

    return [sa.column(name, recordset(kind)) for name, kind in
            {**KEYS, **{n: t for n, t in guards.PARAMETERS.items() if n not in SHARED}}.items()]


def _by_shape(table: sa.Table, cases: list[tuple[sa.ColumnElement[bool], guards.Values]],
              otherwise: guards.Values) -> guards.Values:
    """One UPDATE's values for rows of different shapes: the first of ``cases`` (a
    condition, its values) whose condition holds, else ``otherwise``. A column a shape
    does not set keeps its value for that shape's rows."""
    found = {}
    for name in dict.fromkeys(n for values in (*(v for _, v in cases), otherwise)
                              for n in values):
        kept = table.c[name]
        whens = [(condition, values.get(name, kept)) for condition, values in cases]
        last = otherwise.get(name, kept)
        while whens and whens[-1][1] is kept and last is kept:
            whens.pop()  # the same as every other row's
        found[name] = sa.case(*whens, else_=last)
    return found


def _group() -> sa.Select:
    rows = (sa.func.json_to_recordset(sa.bindparam("steps", type_=postgresql.JSON))
            .table_valued(*_columns()).render_derived(name="s", with_types=True))
    steps = sa.select(rows).cte("steps")
    s = steps.c

    def p(name: str) -> sa.ColumnElement[Any]:
        return guards.bound(name) if name in SHARED else s[name]

    def named(job_id: str) -> sa.ColumnElement[bool]:
        # The jobs the steps name, as one array: the planner reads them by key, where
        # left to join the rows it read every job of the guard's state (all running jobs,
        # on a busy queue) to find a few.
        ids = sa.select(sa.func.array_agg(s[job_id])).scalar_subquery()
        return jobs.c.id == sa.any_(sa.cast(ids, postgresql.ARRAY(sa.Integer)))

    completes = s.prev == constant(Succeeded.JOB_COMPLETES.value)
    same_job = s.next == constant(Next.SAME_JOB.value)
    # The outcome's job: let go, or renewed, or renewed and started (the start's values
    # last), as in postgresql._combined.
    prev_job = sa.update(jobs).where(
        guards.running("prev_job_id", p), named("prev_job_id"),
    ).values(_by_shape(
        jobs, [(completes, guards.end_job(p)),
               (same_job, {**guards.renew_job(p), **guards.start_job(p)})],
        otherwise=guards.renew_job(p),
    )).returning(s.k, s.next).cte("prev_job")
    prev_request = sa.update(requests).where(
        guards.request("prev_request_id", p), s.k == prev_job.c.k,
    ).values(guards.request_succeeded(p)).returning(s.k, requests.c.id).cte("prev_request")
    attempt = guards.attempt_succeeded(p)
    prev_attempt = sa.insert(attempts).from_select(
        ["request_id", *attempt],
        sa.select(prev_request.c.id, *attempt.values()).join_from(
            prev_request, steps, s.k == prev_request.c.k),
    ).returning(attempts.c.id).cte("prev_attempt")
    # Another job's start: only after its step's outcome applied, if it has one.
    next_job = sa.update(jobs).where(
        guards.startable("next_job_id", p), named("next_job_id"),
        s.next == constant(Next.OTHER_JOB.value),
        sa.or_(s.prev.is_(None), s.k.in_(sa.select(prev_job.c.k))),
    ).values(guards.start_job(p)).returning(s.k).cte("next_job")
    started = sa.union_all(
        sa.select(prev_job.c.k).where(prev_job.c.next == constant(Next.SAME_JOB.value)),
        sa.select(next_job.c.k),
    ).cte("started")
    next_request = sa.update(requests).where(
        guards.request("next_request_id", p), s.k.in_(sa.select(started.c.k)),
    ).values(guards.request_running(p)).returning(requests.c.id).cte("next_request")
    return sa.select(
        s.k,
        sa.or_(s.prev.is_(None), s.k.in_(sa.select(prev_job.c.k))).label("outcome"),
        sa.or_(s.next.is_(None), s.k.in_(sa.select(started.c.k))).label("start"),
    ).add_cte(prev_attempt, next_request).order_by(s.k)


#: The group's fast steps in one statement. Parameters: ``worker``, and ``steps``, the
#: JSON array of the steps' rows (see KEYS; a key left out reads as NULL).
WRITE_STEPS = _group()
