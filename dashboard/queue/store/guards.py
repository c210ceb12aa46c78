"""When a digest's write applies, and what it writes: built once, for both ways of writing a
step (writes.py, the general way; postgresql.py, PostgreSQL's one statement).

A write to a job applies only while this digest holds it (``held``: its id, and
``locked_by`` this digest's lease) and the job is in a state the write expects
(``running``, ``startable``). A request's write goes with its job's: the general way
writes it after the job's applied, the one statement only if the job's did (an EXISTS on
its CTE).

``updated_at``: an outcome's rows take the time its call ended (``done``), a start's rows
the step's time (``now``). So a job whose next request starts in the same step ends with
the start's values, whichever way wrote it.

The parameters are named apart from the columns (an UPDATE takes a parameter named like a
column as a value for that column); the constants are written into the SQL text (a bound
constant of an UPDATE inside a CTE is lost).
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from ...db import UTCDateTime
from ..jobs.models import Job, Request
from ..jobs.states import JobState, RequestState

jobs = Job.__table__
requests = Request.__table__

#: This digest (its lease's worker).
WORKER = sa.bindparam("worker", type_=jobs.c.locked_by.type)
#: The lease's end, from the time of the write.
UNTIL = sa.bindparam("until", type_=jobs.c.locked_until.type)
#: The step's time: a start's rows.
NOW = sa.bindparam("now", type_=UTCDateTime())
#: When the call ended: an outcome's rows.
DONE = sa.bindparam("done", type_=UTCDateTime())

#: A job whose request may start: due, or running its previous request.
STARTABLE = (JobState.PENDING, JobState.RETRYING, JobState.RUNNING)


def constant(value: str) -> sa.ColumnElement:
    """``value`` written into the statement's text."""
    return sa.literal_column(f"'{value}'", sa.String)


def held(job_id: str) -> sa.ColumnElement[bool]:
    """The job the parameter ``job_id`` names is this digest's."""
    return sa.and_(jobs.c.id == sa.bindparam(job_id), jobs.c.locked_by == WORKER)


def running(job_id: str) -> sa.ColumnElement[bool]:
    """The job is this digest's and running: its outcome may be written."""
    return sa.and_(held(job_id), jobs.c.state == constant(JobState.RUNNING))


def startable(job_id: str) -> sa.ColumnElement[bool]:
    """The job is this digest's and may start a request."""
    return sa.and_(held(job_id), jobs.c.state.in_([constant(s) for s in STARTABLE]))


def request(request_id: str) -> sa.ColumnElement[bool]:
    """The request the parameter ``request_id`` names."""
    return requests.c.id == sa.bindparam(request_id)


#: An UPDATE's values, by column.
Values = dict[str, Any]

#: A request starts: its job (``startable``) runs, its lease renewed.
START_JOB: Values = dict(state=constant(JobState.RUNNING), locked_until=UNTIL, updated_at=NOW)
#: An outcome with more requests to come: the job (``running``) keeps its lease.
RENEW_JOB: Values = dict(locked_until=UNTIL, updated_at=DONE)
#: An outcome that ends the job's run (completed, failed, retrying later, ...): the job
#: (``running``) is let go. Parameters: job_state, finished, next_attempt.
END_JOB: Values = dict(
    state=sa.bindparam("job_state", type_=jobs.c.state.type),
    finished_at=sa.bindparam("finished", type_=jobs.c.finished_at.type),
    next_attempt_at=sa.bindparam("next_attempt", type_=jobs.c.next_attempt_at.type),
    locked_by=sa.null(), locked_until=sa.null(), updated_at=DONE)
#: The request that starts.
REQUEST_RUNNING: Values = dict(state=constant(RequestState.RUNNING), updated_at=NOW)
_ATTEMPTS = sa.bindparam("request_attempts", type_=sa.Integer)
#: The request that succeeded. Parameters: request_attempts, request_result.
REQUEST_SUCCEEDED: Values = dict(
    state=constant(RequestState.SUCCEEDED), attempts=_ATTEMPTS,
    result=sa.bindparam("request_result", type_=requests.c.result.type), updated_at=DONE)
#: The request that failed. Parameters: request_state, request_attempts, request_error.
REQUEST_FAILED: Values = dict(
    state=sa.bindparam("request_state", type_=requests.c.state.type), attempts=_ATTEMPTS,
    last_error=sa.bindparam("request_error", type_=requests.c.last_error.type),
    updated_at=DONE)
