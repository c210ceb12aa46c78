"""How a ``--loop`` digest learns of work between its runs, and sleeps until then.

- PostgreSQL: the triggers of migration 0021 send ``NOTIFY queue_jobs`` when a save
  commits, and when an update leaves a job due and free (retry, resume, run-now, a job
  given back). The worker LISTENs on a connection of its own (``Listener``) and runs as
  soon as one arrives.
- SQLite and MariaDB have no notifications: the worker polls (``Poller``) the highest job
  id, one index probe, every ``FAST_POLL`` seconds while work arrived in the last
  ``RECENT`` seconds, backing off to the interval when idle. A job made due by an update
  (an operator's retry or resume) waits for the interval there.
- On every database a job whose run-at or retry time comes wakes the worker at that time
  (``next_due``), and the interval stays the fallback: the worker runs at least that often.

A cron-run digest uses none of this: its pickup is the cron interval.
"""

from __future__ import annotations

import logging
import sqlite3
import time
from datetime import datetime
from typing import Any, Protocol

import sqlalchemy as sa

from ..jobs.models import Job
from .engine_setup import is_postgresql

log = logging.getLogger("dashboard.digest")

jobs = Job.__table__

#: The channel of migration 0021's triggers.
CHANNEL = "queue_jobs"
#: Seconds between polls while work arrived recently (SQLite, MariaDB).
FAST_POLL = 0.05
#: Seconds after work arrived that polls stay fast.
RECENT = 30.0
#: Longest block in one wait, so that a stop (a signal) is seen within it.
SLICE = 0.25

class Stoppable(Protocol):
    """What a wait needs of the digest: a sleep that a stop cuts short (``JobDigest``)."""

    def wait(self, seconds: float) -> None: ...

    @property
    def stopped(self) -> bool: ...


#: The poll: the highest job id. A save of any kind inserts, so a new save raises it.
NEWEST = sa.select(sa.func.max(jobs.c.id))


def next_due(conn: sa.Connection, after: datetime) -> datetime | None:
    """The earliest time after ``after`` that a pending or retrying job comes due (it may
    have passed); None if none. Two probes of ix_jobs_state_next_attempt (state,
    next_attempt_at), one a state."""
    def first(state: str) -> sa.ScalarSelect:
        return (sa.select(jobs.c.next_attempt_at)
                .where(jobs.c.state == state, jobs.c.next_attempt_at > after)
                .order_by(jobs.c.next_attempt_at).limit(1).scalar_subquery())

    row = conn.execute(sa.select(first("pending"), first("retrying"))).one()
    conn.rollback()
    return min((moment for moment in row if moment is not None), default=None)


def own_connection(engine: sa.Engine) -> Any:
    """A driver connection of the engine's, set up as its pool's are, taken out of the
    pool (the pool's connections stay for the runs), in autocommit: a statement sent on it
    is all that reaches the server."""
    pooled = engine.raw_connection()
    driver: Any = pooled.driver_connection
    pooled.detach()
    try:
        if callable(getattr(driver, "autocommit", None)):
            driver.autocommit(True)  # PyMySQL
        elif hasattr(driver, "autocommit") and not isinstance(driver, sqlite3.Connection):
            driver.autocommit = True  # psycopg
        # sqlite3: in autocommit already (engine_setup.py sets isolation_level None)
    except Exception:
        driver.close()
        raise
    return driver


class Poller:
    """Waits by polling the highest job id on a connection of its own (SQLite, MariaDB)."""

    def __init__(self, engine: sa.Engine, interval: float) -> None:
        self.engine = engine
        self.interval = max(interval, FAST_POLL)
        self._sql = str(NEWEST.compile(dialect=engine.dialect))
        self._driver: Any = None
        self._newest: int | None = None
        self._period = FAST_POLL
        self._fast_until = time.monotonic() + RECENT  # a worker just started is expected
        #: Polls sent: what the tests count.
        self.polls = 0

    def close(self) -> None:
        if self._driver is not None:
            _close_quietly(self._driver)
            self._driver = None

    def worked(self) -> None:
        """Work arrived: poll fast for the next RECENT seconds."""
        self._fast_until = time.monotonic() + RECENT
        self._period = FAST_POLL

    def poll(self) -> bool:
        """One statement, one index probe: True when a job was saved since the last one."""
        if self._driver is None:
            self._driver = own_connection(self.engine)
        self.polls += 1
        cursor = self._driver.cursor()
        try:
            cursor.execute(self._sql)
            newest = cursor.fetchone()[0] or 0
        finally:
            cursor.close()
        arrived = self._newest is not None and newest > self._newest
        self._newest = newest
        return arrived

    def wait(self, seconds: float, stop: Stoppable) -> bool:
        """Until a job is saved (True), ``seconds`` pass or ``stop`` stops (False). Polls
        every FAST_POLL while work arrived recently; else the period doubles at each empty
        poll, up to the interval."""
        deadline = time.monotonic() + seconds
        try:
            if self._newest is None:
                self.poll()
            while True:
                fast = time.monotonic() < self._fast_until
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                stop.wait(min(left, FAST_POLL if fast else self._period))
                if stop.stopped or time.monotonic() >= deadline:
                    return False
                if self.poll():
                    self.worked()
                    return True
                if not fast:
                    self._period = min(self._period * 2, self.interval)
        except Exception as error:  # the database is down: the run says so
            log.warning("could not poll for new jobs: %s", first_line(error))
            self.close()
            return False


class Listener:
    """Waits for ``NOTIFY queue_jobs`` on a connection of its own, taken out of the
    engine's pool (PostgreSQL with psycopg)."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine = engine
        self._driver: Any = None

    def close(self) -> None:
        if self._driver is not None:
            _close_quietly(self._driver)
            self._driver = None

    def worked(self) -> None:
        """Nothing to do: every save notifies."""

    def listen(self) -> None:
        """Open the connection and LISTEN (before the first run, so that no save between
        the run's claim and the wait is missed)."""
        if self._driver is not None:
            return
        driver = own_connection(self.engine)
        try:
            driver.execute(f"LISTEN {CHANNEL}")
        except Exception:
            _close_quietly(driver)
            raise
        self._driver = driver

    @property
    def listening(self) -> bool:
        return self._driver is not None

    def wait(self, seconds: float, stop: Stoppable) -> bool:
        """Until a notification (True), ``seconds`` pass or ``stop`` stops (False)."""
        deadline = time.monotonic() + seconds
        try:
            self.listen()
            while not stop.stopped:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                notified = list(self._driver.notifies(
                    timeout=min(left, SLICE), stop_after=1))
                if notified:
                    self._drain()
                    return True
        except Exception as error:  # the server went away: the run reports it
            log.warning("could not listen for new jobs: %s", first_line(error))
            self.close()
            stop.wait(max(0.0, deadline - time.monotonic()))  # the next wait listens again
        return False

    def _drain(self) -> None:
        """Read the notifications already come in: one run claims for them all."""
        for _ in self._driver.notifies(timeout=0, stop_after=1000):
            pass


def for_engine(engine: sa.Engine, interval: float) -> Listener | Poller:
    """A Listener on PostgreSQL through psycopg, else a Poller."""
    if is_postgresql(engine) and engine.dialect.driver == "psycopg":
        return Listener(engine)
    return Poller(engine, interval)


def _close_quietly(driver: Any) -> None:
    try:
        driver.close()
    except Exception:  # it may be broken already; it is let go either way
        pass


def first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__
