"""The rows of a few jobs (a page of them) read job by job, by key, whatever the planner's
statistics say.

``job_id IN (50 ids)`` is the plain way, and SQLite and MariaDB read it through the
job_id index. PostgreSQL, on a table not analyzed since a burst (no statistics: it takes
each id for one row in 200 of the table, a quarter of it for 50 ids), read all of
requests instead: 0.5-1.3 s at 3,000,000 requests, for each of a page's reads. There the
ids are a set of their own (``unnest`` of one array) and each one's rows are a LATERAL
subquery on its id, which can only be a lookup by key; OFFSET 0 keeps PostgreSQL from
folding it back into a join (as the claim's read of requests in ``postgresql.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Session

from ..database.engine_setup import is_postgresql
from ..jobs.models import Job

#: ``match(column)``: the condition that ``column`` (a job id) is one of the jobs read.
Match = Callable[[sa.ColumnElement[int]], sa.ColumnElement[bool]]


def rows_of_jobs(conn: sa.Connection | Session, ids: Sequence[int] | sa.Select,
                 read: Callable[[Match], sa.Select], order_by: Sequence[str] = ()
                 ) -> sa.Select:
    """The rows ``read(match)`` selects of the jobs ``ids`` (a list, or a query of one
    column of job ids), ordered by the columns it selects named in ``order_by``: ``read``
    selects, unordered, the rows of the jobs whose id ``match`` accepts."""
    bind = conn if isinstance(conn, sa.Connection) else conn.get_bind()
    if not is_postgresql(bind):
        query = read(lambda column: column.in_(ids))
    else:
        query = _job_by_job(ids, read)
    return query.order_by(*(query.selected_columns[name] for name in order_by))


def _job_by_job(ids: Sequence[int] | sa.Select, read: Callable[[Match], sa.Select]
                ) -> sa.Select:
    wanted: sa.FromClause
    if isinstance(ids, sa.Select):
        wanted = ids.subquery("wanted")
    else:
        # Typed as the ids are (integer[]): an array of another type (numeric) would
        # compare by a cast, past the index.
        ids_array = sa.literal(list(ids), ARRAY(Job.__table__.c.id.type))
        wanted = sa.func.unnest(ids_array).table_valued("id").render_derived("wanted")
    job_id = next(iter(wanted.c))
    one = read(lambda column: column == job_id).offset(0).lateral("one")
    return sa.select(*one.c).select_from(wanted.join(one, sa.true()))
