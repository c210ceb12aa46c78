"""When a digest's write applies, and what it writes: built once, for every way of writing a
step (writes.py, the general way; postgresql.py, PostgreSQL's one statement for a step;
postgresql_group.py, its one statement for a group of steps).

A write to a job applies only while this digest holds it (``held``: its id, and
``locked_by`` this digest's lease) and the job is in a state the write expects
(``running``, ``startable``). A request's write goes with its job's: the general way
writes it after the job's applied, the one statements only if the job's did (an EXISTS on
its CTE, or a join to its rows).

Each rule and each set of values takes its parameters from a ``Source``: ``bound`` (the
default) makes them bind parameters, one step's values; a group's statement passes the
columns of the recordset that holds one row per step, so the same rule applies to each
row.

``updated_at``: an outcome's rows take the time its call ended (``done``), a start's rows
the step's time (``now``). So a job whose next request starts in the same step ends with
the start's values, whichever way wrote it.

The parameters are named apart from the columns (an UPDATE takes a parameter named like a
column as a value for that column); the constants are written into the SQL text (a bound
constant of an UPDATE inside a CTE is lost).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import sqlalchemy as sa

from ...db import UTCDateTime
from ..jobs.models import Attempt, Job, Request
from ..jobs.states import JobState, Outcome, RequestState

jobs = Job.__table__
requests = Request.__table__
attempts = Attempt.__table__

#: The parameters of a step's writes, by name, and their types. Each job and request is
#: named by a parameter of its own (``job_id``, ``prev_job_id``...), typed as its id.
PARAMETERS: dict[str, Any] = {
    #: This digest (its lease's worker).
    "worker": jobs.c.locked_by.type,
    #: The lease's end, from the time of the write.
    "until": jobs.c.locked_until.type,
    #: The step's time: a start's rows.
    "now": UTCDateTime(),
    #: When the call ended: an outcome's rows.
    "done": UTCDateTime(),
    "job_state": jobs.c.state.type,
    "finished": jobs.c.finished_at.type,
    "next_attempt": jobs.c.next_attempt_at.type,
    "request_state": requests.c.state.type,
    "request_attempts": sa.Integer(),
    "request_result": requests.c.result.type,
    "request_error": requests.c.last_error.type,
    "attempt_number": sa.Integer(),
    "attempt_started": attempts.c.started_at.type,
    "attempt_due": attempts.c.due_at.type,
}

#: Where a rule takes its parameters from: the parameter's name to its expression.
Source = Callable[[str], sa.ColumnElement[Any]]


def bound(name: str) -> sa.ColumnElement[Any]:
    """The parameter as a bind parameter of the statement: one step's value."""
    return sa.bindparam(name, type_=PARAMETERS.get(name))


#: A job whose request may start: due, or running its previous request.
STARTABLE = (JobState.PENDING, JobState.RETRYING, JobState.RUNNING)


def constant(value: str) -> sa.ColumnElement:
    """``value`` written into the statement's text."""
    return sa.literal_column(f"'{value}'", sa.String)


def held(job_id: str, p: Source = bound) -> sa.ColumnElement[bool]:
    """The job the parameter ``job_id`` names is this digest's."""
    return sa.and_(jobs.c.id == p(job_id), jobs.c.locked_by == p("worker"))


def running(job_id: str, p: Source = bound) -> sa.ColumnElement[bool]:
    """The job is this digest's and running: its outcome may be written."""
    return sa.and_(held(job_id, p), jobs.c.state == constant(JobState.RUNNING))


def startable(job_id: str, p: Source = bound) -> sa.ColumnElement[bool]:
    """The job is this digest's and may start a request."""
    return sa.and_(held(job_id, p), jobs.c.state.in_([constant(s) for s in STARTABLE]))


def request(request_id: str, p: Source = bound) -> sa.ColumnElement[bool]:
    """The request the parameter ``request_id`` names."""
    return requests.c.id == p(request_id)


#: An UPDATE's values, by column.
Values = dict[str, Any]


def start_job(p: Source = bound) -> Values:
    """A request starts: its job (``startable``) runs, its lease renewed."""
    return dict(state=constant(JobState.RUNNING), locked_until=p("until"), updated_at=p("now"))


def renew_job(p: Source = bound) -> Values:
    """An outcome with more requests to come: the job (``running``) keeps its lease."""
    return dict(locked_until=p("until"), updated_at=p("done"))


def end_job(p: Source = bound) -> Values:
    """An outcome that ends the job's run (completed, failed, retrying later, ...): the job
    (``running``) is let go. Parameters: job_state, finished, next_attempt."""
    return dict(state=p("job_state"), finished_at=p("finished"),
                next_attempt_at=p("next_attempt"), locked_by=sa.null(), locked_until=sa.null(),
                updated_at=p("done"))


def request_running(p: Source = bound) -> Values:
    """The request that starts."""
    return dict(state=constant(RequestState.RUNNING), updated_at=p("now"))


def request_succeeded(p: Source = bound) -> Values:
    """The request that succeeded. Parameters: request_attempts, request_result."""
    return dict(state=constant(RequestState.SUCCEEDED), attempts=p("request_attempts"),
                result=p("request_result"), updated_at=p("done"))


def request_failed(p: Source = bound) -> Values:
    """The request that failed. Parameters: request_state, request_attempts,
    request_error."""
    return dict(state=p("request_state"), attempts=p("request_attempts"),
                last_error=p("request_error"), updated_at=p("done"))


def attempt_succeeded(p: Source = bound) -> Values:
    """The attempt of a request that succeeded, but its request's id. Parameters:
    attempt_number, attempt_started, attempt_due."""
    return dict(number=p("attempt_number"), started_at=p("attempt_started"),
                finished_at=p("done"), outcome=constant(Outcome.SUCCEEDED),
                due_at=p("attempt_due"))


START_JOB = start_job()
RENEW_JOB = renew_job()
END_JOB = end_job()
REQUEST_RUNNING = request_running()
REQUEST_SUCCEEDED = request_succeeded()
REQUEST_FAILED = request_failed()
