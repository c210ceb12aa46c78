"""Which failures are permanent: a retry fails the same way unless something outside the
queue changes first.

A failure is permanent when its request raised ``PermanentFailure``, or when its type is
unknown to this installation (no code to run it). Nothing stores the exception's class:
the digest gives every other failure its type's whole retry schedule, so a failed request
that stopped short of its ``max_attempts`` raised ``PermanentFailure``. One rule, read
here in Python (a row, a request) and in SQL (a filter, a count) from the same limits.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import sqlalchemy as sa

from ..queue.jobs import retry
from ..queue.jobs.models import Job, Request
from ..queue.jobs.settings import current
from ..queue.jobs.states import RequestState
from ..queue.jobs.types import registry

jobs = Job.__table__
requests = Request.__table__

#: What the pages call such a failure.
LABEL = "permanent"
FAILING = (RequestState.FAILED, RequestState.RETRYING)


def _max_attempts() -> tuple[int, dict[str, int]]:
    """The default ``max_attempts`` and each known type's own where it differs."""
    return _limits(current().settings.retry, tuple(registry.codes()))


@functools.lru_cache(maxsize=16)
def _limits(default: retry.RetryStrategy, codes: tuple[str, ...]) -> tuple[int, dict[str, int]]:
    # Read once per settings and set of types: Top errors asks for thousands of rows.
    own = {code: retry.for_type(code, default).max_attempts for code in codes}
    return default.max_attempts, {c: n for c, n in own.items() if n != default.max_attempts}


def judge() -> Callable[[str, RequestState, int], bool]:
    """``is_permanent`` with the limits read once, for many rows."""
    default, own = _max_attempts()
    known = frozenset(registry.codes())

    def permanent(type_code: str, state: RequestState, attempts: int) -> bool:
        if state not in FAILING:
            return False
        if type_code not in known:
            return True
        return state == RequestState.FAILED and attempts < own.get(type_code, default)
    return permanent


def is_permanent(type_code: str, state: RequestState, attempts: int) -> bool:
    """A failing request (failed or retrying) that a retry can't mend."""
    return judge()(type_code, state, attempts)


def permanent_request() -> sa.ColumnElement[bool]:
    """``is_permanent`` as a condition on the ``requests`` table."""
    default, own = _max_attempts()
    limit: sa.ColumnElement[int] = (
        sa.case(own, value=requests.c.type_code, else_=default) if own
        else sa.literal(default))
    return sa.and_(requests.c.state.in_(FAILING), sa.or_(
        requests.c.type_code.not_in(registry.codes()),
        sa.and_(requests.c.state == RequestState.FAILED, requests.c.attempts < limit)))


def permanent_job() -> sa.ColumnElement[bool]:
    """A job (on the ``jobs`` table) with a permanently failing request."""
    return sa.exists().where(requests.c.job_id == jobs.c.id, permanent_request())
