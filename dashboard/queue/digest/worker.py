"""The long-lived digest (``flask --app dashboard digest --loop``): runs, waits for work,
runs again, until it is stopped.

It is on the Digests page for as long as it lives: it writes its row when it starts,
beats it while idle as its runs' heartbeat does while they work, and deletes it when it
stops. Between runs it waits for work (wakeup.py): a notification on PostgreSQL, a cheap
poll elsewhere, the time the next scheduled job or retry comes due, or ``interval``
seconds at most.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime

import sqlalchemy as sa

from ..database import wakeup
from ..database.write_lock import IMMEDIATE
from . import processes
from .connections import waitable
from .job_digest import JobDigest

log = logging.getLogger("dashboard.digest")


def end_leases_of_gone(digest: JobDigest) -> list[str]:
    """At a digest process's start: give back the jobs held by this host's earlier digests
    that are gone (see processes.end_leases_of_gone), one line each. A database that
    refuses the connection skips it (the leases still end in their time): the run waits
    for the database as it does for every connection (see connections.py)."""
    try:
        with _writing(_engine(digest)) as conn:
            gone = processes.end_leases_of_gone(conn, digest.lease.worker,
                                                now=digest.clock())
    except sa.exc.DBAPIError as error:
        if not waitable(error, _engine(digest)):
            raise
        return []  # said by the run, which waits for the database (one line a minute)
    for worker in gone:  # each job taken over says so in a warning of its own
        log.info("digest %s of this host is gone; its jobs' leases end now", worker)
    return gone


class LoopWorker:
    """Runs ``digest`` (made with ``resident=True``) until it is stopped; ``echo`` gets
    each run's summary line."""

    def __init__(self, digest: JobDigest, *, interval: float, max_jobs: int | None = None,
                 max_seconds: float | None = None,
                 echo: Callable[[str], None] = print) -> None:
        self.digest = digest
        self.interval = interval
        self.max_jobs = max_jobs
        self.max_seconds = max_seconds
        self.echo = echo
        self.engine = _engine(digest)
        self.waiter = wakeup.for_engine(self.engine, interval)
        self._beat_every = processes.beat_seconds(digest.lease.seconds)
        #: When its row is beaten next, between runs (the runs don't write it: see
        #: JobDigest's ``resident``), however short the waits.
        self._next_beat = time.monotonic() + self._beat_every

    def run(self) -> None:
        digest = self.digest
        self._register_at_start()
        try:
            self._listen()
            while True:
                started = digest.clock()
                result = digest.execute(max_jobs=self.max_jobs, max_seconds=self.max_seconds)
                self.echo(f"digest: {result.summary()}")
                if digest.stopped:
                    return
                if time.monotonic() >= self._next_beat:  # runs one after the other
                    self._beat()
                if result.jobs:
                    self.waiter.worked()
                    continue
                self._wait(since=started)
                if digest.stopped:
                    return
        finally:
            self.waiter.close()
            self._forget()

    def _listen(self) -> None:
        if isinstance(self.waiter, wakeup.Listener):
            try:
                self.waiter.listen()
            except Exception as error:  # the run reports the database; waits try again
                log.warning("could not listen for new jobs: %s", wakeup.first_line(error))

    def _wait(self, since: datetime) -> None:
        """Until work arrives, the next job comes due, ``interval`` passes or a stop;
        beating the row meanwhile. ``since``: when the last run started. A job that came
        due after that, while the run went on, is due at once: the run claimed only what
        was due when it started."""
        until = time.monotonic() + self.interval
        due = self._next_due(since)
        if due is not None:
            # Wake just after the time (at once if it has passed).
            until = min(until, time.monotonic() + max(
                0.0, (due - self.digest.clock()).total_seconds()) + 0.001)
        while not self.digest.stopped:
            now = time.monotonic()
            if now >= until:
                return
            if now >= self._next_beat:
                self._beat()
            if self.waiter.wait(min(until, self._next_beat) - time.monotonic(), self.digest):
                return

    def _next_due(self, since: datetime) -> datetime | None:
        try:
            with self.engine.connect() as conn:
                return wakeup.next_due(conn, since)
        except sa.exc.DBAPIError:
            return None  # the database is down: the interval paces the next run

    def _register_at_start(self) -> None:
        """Write its row; a database that refuses or loses the connection (a restart)
        leaves the row to its first beat between runs, a second on at the soonest (a beat
        writes a missing row): the run meanwhile waits for the database, as it does for
        every connection (connections.py)."""
        try:
            self._register()
        except sa.exc.DBAPIError as error:
            if not waitable(error, self.engine):
                raise
            self._next_beat = time.monotonic() + 1.0

    def _register(self, conn: sa.Connection | None = None) -> None:
        """Write its row, on ``conn`` (in the caller's transaction) or in one of its own."""
        if conn is None:
            with _writing(self.engine) as own:
                return self._register(own)
        digest = self.digest
        processes.register(conn, digest.lease.worker, concurrency=digest.concurrency,
                           lease_seconds=digest.lease.seconds, now=digest.clock())
        processes.beat(conn, digest.lease.worker, now=digest.clock(), **self._counts())
        return None

    def _beat(self) -> None:
        self._next_beat = time.monotonic() + self._beat_every
        counts = self._counts()
        try:
            with _writing(self.engine) as conn:
                if not processes.beat(conn, self.digest.lease.worker,
                                      now=self.digest.clock(), **counts):
                    self._register(conn)  # its row was deleted: it is alive all the same
        except sa.exc.DBAPIError as error:  # the next beat tries again
            log.warning("could not beat the digest's row: %s", wakeup.first_line(error))

    def _forget(self) -> None:
        try:
            with self.engine.begin() as conn:
                processes.forget(conn, self.digest.lease.worker)
        except sa.exc.DBAPIError:  # the row turns stale and is pruned later
            log.warning("could not delete the row of digest %s", self.digest.lease.worker)

    def _counts(self) -> dict[str, int | None]:
        """Connections this process holds (the digest's count where it tells one, else
        its engine's pool, open in and out, and the listener's) and hung calls (none
        where the digest counts none: it then waits for every call)."""
        told = getattr(self.digest, "connections", None)
        connections = told() if callable(told) else told
        if connections is None:
            pool = self.engine.pool
            connections = sum(getattr(pool, name, lambda: 0)()
                              for name in ("checkedin", "checkedout"))
            connections += isinstance(self.waiter, wakeup.Listener) and self.waiter.listening
        hung = getattr(self.digest, "hung", 0)
        return {"connections": int(connections),
                "hung": int(hung() if callable(hung) else hung or 0)}


@contextmanager
def _writing(engine: sa.Engine) -> Iterator[sa.Connection]:
    """A transaction that reads, then writes: on SQLite it takes the write lock up front
    (BEGIN IMMEDIATE, see write_lock.py), so that it waits its turn behind other digests
    instead of failing with "database is locked"."""
    with engine.connect().execution_options(**{IMMEDIATE: True}) as conn, conn.begin():
        yield conn


def _engine(digest: JobDigest) -> sa.Engine:
    return digest.session.get_bind()  # type: ignore[return-value]
