"""Requests per minute over the last hour, for the overview's throughput strip: how many
succeeded and failed (by the minute their attempt finished) and how many were in flight
(being executed at some moment of the minute).

One range of the index on ``attempts.finished_at``, grouped in the database by the minute
an attempt started and the minute it ended (so the rows sent back stay few whatever the
throughput), and the requests running now, found through the running jobs.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session

from ..queue.jobs.models import Attempt, Job, Request
from ..queue.jobs.states import JobState, Outcome, RequestState
from ..queue.store.per_job import rows_of_jobs

MINUTE = timedelta(minutes=1)
#: Minutes the strip shows, the current one last.
MINUTES = 60
#: How far past the current minute an attempt may end and still be read.
AHEAD = timedelta(days=1)

attempts = Attempt.__table__
requests = Request.__table__
jobs = Job.__table__


@dataclass(frozen=True)
class MinuteCount:
    minute: datetime
    succeeded: int
    failed: int
    #: Requests being executed at some moment of the minute.
    in_flight: int


class minute_of(sa.sql.expression.FunctionElement):
    """A time column cut to its minute, as text ``YYYY-MM-DD HH:MM`` (UTC, as stored)."""

    type = sa.String()
    inherit_cache = True


@compiles(minute_of)
def _sqlite_minute(element: minute_of, compiler: sa.sql.compiler.SQLCompiler,
                   **kw: object) -> str:
    # SQLite stores a time as ISO text: its first 16 characters are the minute.
    return f"substr({compiler.process(element.clauses, **kw)}, 1, 16)"


@compiles(minute_of, "postgresql")
def _postgresql_minute(element: minute_of, compiler: sa.sql.compiler.SQLCompiler,
                       **kw: object) -> str:
    return f"to_char({compiler.process(element.clauses, **kw)}, 'YYYY-MM-DD HH24:MI')"


@compiles(minute_of, "mysql")
@compiles(minute_of, "mariadb")
def _mysql_minute(element: minute_of, compiler: sa.sql.compiler.SQLCompiler,
                  **kw: object) -> str:
    # %% : the drivers' paramstyle reads a single % as a parameter.
    return f"DATE_FORMAT({compiler.process(element.clauses, **kw)}, '%%Y-%%m-%%d %%H:%%i')"


def floor_minute(moment: datetime) -> datetime:
    return moment.replace(second=0, microsecond=0)


def _parse(text: str, like: datetime) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=like.tzinfo)


def last_hour(session: Session, now: datetime) -> list[MinuteCount]:
    """Each of the last MINUTES minutes (the current one included), oldest first."""
    last = floor_minute(now)
    first = last - MINUTE * (MINUTES - 1)
    slots = {first + MINUTE * n: [0, 0, 0] for n in range(MINUTES)}
    flying = MinutesInFlight(first, last)
    started, ended = minute_of(attempts.c.started_at), minute_of(attempts.c.finished_at)
    # A range with an end (a day ahead: an attempt a host's clock ends later still
    # counts), so that PostgreSQL without statistics takes it for a small one, read
    # through the index (from the first minute on, it guessed a third of the table).
    spans = session.execute(
        sa.select(started, ended, attempts.c.outcome, sa.func.count())
        .where(attempts.c.finished_at >= first, attempts.c.finished_at < last + AHEAD)
        .group_by(started, ended, attempts.c.outcome))
    for began, finished, outcome, count in spans:
        end = _parse(finished, now)
        if end in slots:
            slots[end][0 if outcome == Outcome.SUCCEEDED else 1] += count
        flying.add(_parse(began, now), end, count)
    for began in _running_since(session):
        flying.add(floor_minute(began), last, 1)
    return [MinuteCount(minute, succeeded, failed, in_flight) for (minute, (succeeded, failed, _)),
            in_flight in zip(slots.items(), flying.per_minute(), strict=True)]


class MinutesInFlight:
    """Requests in flight per minute from ``first`` to ``last``: each span adds its count
    where it begins and takes it back after it ends, and a running sum reads them (a
    thousand requests running for hours cost a thousand additions, not one a minute)."""

    def __init__(self, first: datetime, last: datetime) -> None:
        self.first = first
        self.minutes = (last - first) // MINUTE + 1
        self.changes = [0] * (self.minutes + 1)

    def add(self, begin: datetime, end: datetime, count: int) -> None:
        """``count`` requests in flight from minute ``begin`` to minute ``end``, both
        included (cut to the strip's minutes)."""
        start = max(0, (begin - self.first) // MINUTE)
        stop = min(self.minutes - 1, (end - self.first) // MINUTE)
        if start <= stop:
            self.changes[start] += count
            self.changes[stop + 1] -= count

    def per_minute(self) -> list[int]:
        return list(itertools.accumulate(self.changes[:-1]))


def _running_since(session: Session) -> list[datetime]:
    """When each request running now started (its row's last update marked it running),
    found through the running jobs (``ix_jobs_state_id``), each one's by key: requests'
    state has no index."""
    running = sa.select(jobs.c.id).where(jobs.c.state == JobState.RUNNING)
    return list(session.scalars(rows_of_jobs(session, running, lambda match: sa.select(
        requests.c.updated_at).where(match(requests.c.job_id),
                                     requests.c.state == RequestState.RUNNING))))
