"""The database connections of one digest process: a few, shared by all its jobs in flight.

A digest runs up to QUEUE_CONCURRENCY jobs at once, but a thread waiting on an API holds no
connection: it borrows one for each short transaction (a step, a claim, a connector turn)
and gives it back at once. ``Connections`` keeps at most ``size`` of them open, opened
when that many are needed at once and kept for the run; a thread that finds them all
busy waits for one. SQLite takes one writer at a time however many ask: one connection.

A connection the server refuses ("too many clients", "too many connections for role", a
server starting up) or loses (a restart) is waited for: tried again with backoff, with
one log line a minute, for up to ``wait_seconds`` (QUEUE_DB_WAIT_SECONDS); past that the
error is raised, and the run fails with it.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

import sqlalchemy as sa

from ..database.write_lock import IMMEDIATE

log = logging.getLogger("dashboard.digest")
T = TypeVar("T")

#: First and longest pause between two tries at a refused or lost connection.
FIRST_PAUSE, LAST_PAUSE = 0.05, 2.0
#: While it waits, the digest says so at most this often.
LOG_EVERY = 60.0
#: What servers say when they refuse a connection or lose one (PostgreSQL, MariaDB).
_WAITABLE = (
    "too many clients", "too many connections", "max_user_connections",
    "connection refused", "could not connect", "can't connect", "server closed",
    "terminating connection", "starting up", "shutting down", "in recovery",
    "not yet accepting connections", "server shutdown in progress",
    "lost connection", "gone away", "connection reset", "broken pipe",
    "no connection to the server", "consuming input failed", "connection was killed",
    "connection is closed", "eof detected", "server conn crashed",
)


def in_memory(engine: Any) -> bool:
    """An in-memory SQLite database: it lives in one connection, which threads can't share
    (SQLAlchemy gives each thread a database of its own)."""
    return engine.dialect.name == "sqlite" and engine.url.database in (None, "", ":memory:")


def pool_capacity(engine: Any) -> int | None:
    """How many connections ``engine``'s pool hands out at once; None: no limit."""
    pool = engine.pool
    size = getattr(pool, "size", None)
    overflow = getattr(pool, "_max_overflow", -1)
    if not callable(size) or overflow < 0:
        return None
    return size() + overflow


def shared_size(engine: Any, connections: int) -> int:
    """How many connections a digest's jobs share: QUEUE_DB_CONNECTIONS but the session's
    one; one on SQLite (one writer at a time). Refuses up front a pool too small."""
    if engine.dialect.name == "sqlite":
        return 1
    capacity = pool_capacity(engine)
    if capacity is not None and capacity < connections:
        raise ValueError(
            f"QUEUE_DB_CONNECTIONS is {connections}, but the engine's pool gives at most "
            f"{capacity}: create the engine with pool_size={connections}")
    return connections - 1


def waitable(error: BaseException, engine: Any) -> bool:
    """Whether ``error`` is a refused or lost connection to a database server, which a
    digest waits out (SQLite's errors are the file's: never)."""
    if engine.dialect.name == "sqlite" or not isinstance(error, sa.exc.DBAPIError):
        return False
    if error.connection_invalidated:
        return True
    text = str(error.orig if error.orig is not None else error).lower()
    return isinstance(error, sa.exc.OperationalError | sa.exc.InterfaceError) and any(
        words in text for words in _WAITABLE)


#: How many times a transaction the server ended to break a deadlock is done again.
DEADLOCK_TRIES = 5


def deadlocked(error: BaseException) -> bool:
    """Whether the server ended this transaction to break a deadlock (PostgreSQL 40P01,
    MariaDB 1213): it rolled the whole transaction back, so doing it again is safe."""
    orig = getattr(error, "orig", None)
    if getattr(orig, "sqlstate", None) == "40P01":
        return True
    args = getattr(orig, "args", None) or ()
    return isinstance(error, sa.exc.OperationalError) and args[:1] == (1213,)


def first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


class Connections:
    """At most ``size`` connections of ``engine``, borrowed one transaction at a time.

    ``stopped`` (an event) cuts a wait for the database short: the error is raised then.
    """

    def __init__(self, engine: sa.Engine, size: int, wait_seconds: float,
                 stopped: threading.Event | None = None) -> None:
        self.engine = engine
        self.size = size
        self.wait_seconds = wait_seconds
        self.stopped = stopped or threading.Event()
        self._free: list[sa.Connection] = []
        self._open = 0
        self._changed = threading.Condition()
        self._logged_at = -LOG_EVERY
        #: Per thread: inside ``run``, which waits for the database itself, a refused
        #: connection is not waited for again (one deadline, not one inside another).
        self._running = threading.local()
        #: False: a refused or lost connection is not waited for (what follows a failed
        #: run is best effort).
        self.patient = True
        #: The most connections open at once in this run.
        self.most = 0

    @property
    def open(self) -> int:
        with self._changed:
            return self._open

    @contextmanager
    def borrow(self) -> Iterator[sa.Connection]:
        """A connection for one transaction, given back at the end (rolled back if one is
        still open). A connection lost meanwhile is closed, and another opened next time."""
        conn = self._take()
        try:
            yield conn
        except BaseException as error:
            if conn.invalidated or waitable(error, self.engine):
                self._drop(conn)
                raise
            self._give(conn)
            raise
        else:
            self._give(conn)

    def run(self, work: Callable[[sa.Connection], T], *, again: Callable[
            [sa.Connection], T | None] | None = None) -> T:
        """``work(conn)`` on a borrowed connection; when the server refused or lost the
        connection, waited for and done again on another, for up to ``wait_seconds``.
        ``again(conn)``, if given, runs first on a retry: what it returns (not None)
        stands for the work, which the lost connection may have committed already.
        A transaction the server ended to break a deadlock is done again at once, up to
        DEADLOCK_TRIES times (the server rolled it back whole)."""
        waited_since: float | None = None
        pause = FIRST_PAUSE
        retry = False
        deadlocks = 0
        outer = not getattr(self._running, "on", False)
        self._running.on = True
        try:
            while True:
                try:
                    with self.borrow() as conn:
                        if retry and again is not None:
                            found = again(conn)
                            if found is not None:
                                return found
                        return work(conn)
                except sa.exc.DBAPIError as error:
                    if deadlocked(error) and deadlocks < DEADLOCK_TRIES:
                        deadlocks += 1
                        log.info("a transaction ended by the database to break a deadlock "
                                 "is done again (%d of %d)", deadlocks, DEADLOCK_TRIES)
                        continue
                    if not waitable(error, self.engine):
                        raise
                    waited_since = self._wait(error, waited_since, pause)
                    pause = min(pause * 2, LAST_PAUSE)
                    retry = True
        finally:
            if outer:
                self._running.on = False

    def close(self) -> None:
        """Close every connection (none may be borrowed)."""
        with self._changed:
            free, self._free = self._free, []
            self._open -= len(free)
        for conn in free:
            conn.close()

    # -- the pool -----------------------------------------------------------------------

    def _take(self) -> sa.Connection:
        with self._changed:
            while not self._free and self._open >= self.size:
                self._changed.wait()
            if self._free:
                return self._free.pop()
            self._open += 1
            self.most = max(self.most, self._open)
        try:
            return self._connect()
        except BaseException:
            with self._changed:
                self._open -= 1
                self._changed.notify()
            raise

    def _connect(self) -> sa.Connection:
        waited_since: float | None = None
        pause = FIRST_PAUSE
        while True:
            try:
                # On SQLite its transactions begin IMMEDIATE: each of them writes.
                return self.engine.connect().execution_options(**{IMMEDIATE: True})
            except sa.exc.DBAPIError as error:
                if not waitable(error, self.engine) or getattr(self._running, "on", False):
                    raise
                waited_since = self._wait(error, waited_since, pause)
                pause = min(pause * 2, LAST_PAUSE)

    def _wait(self, error: BaseException, since: float | None, pause: float) -> float:
        """Sleep ``pause`` before the next try; raise ``error`` once waited long enough."""
        now = time.monotonic()
        since = now if since is None else since
        if now - since >= self.wait_seconds or self.stopped.is_set() or not self.patient:
            raise error
        with self._changed:
            quiet = now - self._logged_at < LOG_EVERY
            if not quiet:
                self._logged_at = now
        if not quiet:
            log.warning("the database refused or lost the connection (%s); trying again "
                        "for up to %gs", first_line(error), self.wait_seconds)
        self.stopped.wait(min(pause, max(0.0, since + self.wait_seconds - now)))
        return since

    def _give(self, conn: sa.Connection) -> None:
        try:
            if conn.in_transaction():
                conn.rollback()
        except Exception:
            self._drop(conn)
            return
        with self._changed:
            self._free.append(conn)
            self._changed.notify()

    def _drop(self, conn: sa.Connection) -> None:
        try:
            conn.close()
        except Exception:  # already broken: nothing to give back
            pass
        with self._changed:
            self._open -= 1
            self._changed.notify()
