"""Running one request: its type's ``execute`` with its context, the secrets it was handed
hidden in what it logs and in its error, any failure caught and described; and the log
line of its outcome."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from ..jobs.masking import HidingLogger, Masker, hide
from ..jobs.payload import dump_json, load_json
from ..jobs.states import RequestState
from ..jobs.types import (
    JobInfo,
    PermanentFailure,
    RequestContext,
    RequestInfo,
    UnknownRequestType,
    registry,
)
from ..store.writes import Executed

log = logging.getLogger("dashboard.digest")


def due_by(due_at: datetime | None, started_at: datetime) -> datetime | None:
    """When an attempt that started at ``started_at`` was due: ``due_at``, but never after
    its start (a job run now, before its run-at time, was due at once)."""
    return None if due_at is None else min(due_at, started_at)


def execute(job: JobInfo, row: sa.Row, previous: Any, *, clock: Callable[[], datetime],
            masker: Masker, due_at: datetime | None = None) -> Executed:
    """Execute the request of ``row`` (as the digest read it), ``previous`` the result of
    the request before it, ``due_at`` when it could have started; a failure of any kind is
    an outcome, not an exception."""
    started = clock()
    due = due_by(due_at, started)
    # The secrets this request was handed: hidden in what it logs and in its error,
    # before either is stored, searched, e-mailed or written to a log.
    secrets = masker.secrets_of_json(row.payload) | masker.secrets(previous)
    try:
        type_cls = registry.get(row.type_code)
        context = RequestContext(
            job=job,
            request=RequestInfo(row.id, row.position, row.type_code, row.attempts + 1),
            previous_result=previous,
            connector=type_cls.connector,
            logger=HidingLogger(type_cls.connector.logger, secrets),
        )
        value = type_cls().execute(load_json(row.payload), context)
        text = dump_json(value, what="result")
    except Exception as exc:  # a type's failure of any kind fails the attempt
        own = isinstance(exc, PermanentFailure | UnknownRequestType)
        trace = None if isinstance(exc, UnknownRequestType) else traceback.format_exc()
        return Executed(
            ok=False,
            started_at=started,
            finished_at=clock(),
            error=hide(str(exc) if own else f"{type(exc).__name__}: {exc}", secrets),
            traceback=None if trace is None else hide(trace, secrets),
            permanent=isinstance(exc, PermanentFailure),
            due_at=due,
        )
    return Executed(ok=True, started_at=started, finished_at=clock(), result=text, due_at=due)


def log_outcome(job_id: int, row: sa.Row, executed: Executed, state: RequestState) -> None:
    """One line per request outcome, with its fields for log shippers (LOG_FORMAT=json)."""
    duration = (executed.finished_at - executed.started_at).total_seconds()
    reason = "" if executed.ok else f": {executed.error}"
    log.log(
        logging.WARNING if state == RequestState.FAILED else logging.INFO,
        "job %s request %s (%s) %s in %.3fs%s", job_id, row.id, row.type_code, state,
        duration, reason,
        extra={"job_id": job_id, "request_id": row.id, "type_code": row.type_code,
               "outcome": "succeeded" if executed.ok else "failed", "state": str(state),
               "duration": duration},
    )
