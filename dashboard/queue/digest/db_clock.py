"""The database server's clock, as a digest goes by it.

Leases, due times and retry times are compared across hosts, so they must come from one
clock: the database server's. A digest reads the server's time when it first needs the
time and again at each heartbeat (``measure``), and from then on its clock is its host's
corrected by the offset it measured (:class:`DatabaseClock`), so that reading the time
costs no round trip. A host whose clock is more than ``QUEUE_CLOCK_SKEW_WARN`` seconds
off logs a warning once a minute, and its offset is kept in ``host_clocks`` for the
Digests page.

SQLite has no server: the database's clock is the clock of the host that opens the file,
on which every digest runs, so there is nothing to measure.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Mapped, mapped_column

from ...db import TABLE_ARGS, Base, UTCDateTime, utcnow
from .connections import waitable

log = logging.getLogger("dashboard.digest")


class HostClock(Base):
    """How far a host's clock was from the database server's when a digest on it last
    measured (see db_clock.py)."""

    __tablename__ = "host_clocks"

    host: Mapped[str] = mapped_column(sa.String(255), primary_key=True)
    #: The database's clock minus the host's, in seconds.
    offset_seconds: Mapped[float] = mapped_column(sa.Double)
    measured_at: Mapped[datetime] = mapped_column(UTCDateTime)

    __table_args__ = (TABLE_ARGS,)

host_clocks = HostClock.__table__

#: Seconds between two warnings of a skewed clock.
WARN_EVERY = 60.0


class db_epoch(sa.sql.expression.FunctionElement):
    """Now, in seconds since the epoch, by the database server's clock."""

    type = sa.Double()
    inherit_cache = True


@compiles(db_epoch)
def _sqlite_epoch(element: db_epoch, compiler: sa.sql.compiler.SQLCompiler, **kw: object) -> str:
    # Milliseconds; stable within a statement. SQLite runs on the digests' host anyway.
    return "((julianday('now') - 2440587.5) * 86400.0)"


@compiles(db_epoch, "postgresql")
def _postgresql_epoch(element: db_epoch, compiler: sa.sql.compiler.SQLCompiler,
                      **kw: object) -> str:
    return "CAST(EXTRACT(EPOCH FROM clock_timestamp()) AS DOUBLE PRECISION)"


@compiles(db_epoch, "mysql")
@compiles(db_epoch, "mariadb")
def _mysql_epoch(element: db_epoch, compiler: sa.sql.compiler.SQLCompiler, **kw: object) -> str:
    return "UNIX_TIMESTAMP(NOW(6))"


def server_offset(conn: sa.Connection, host: Callable[[], datetime] = utcnow) -> float:
    """The database's clock minus ``host``, in seconds, read in one round trip (the
    server's time is taken as the middle of it)."""
    before = host().timestamp()
    server = float(conn.execute(sa.select(db_epoch())).scalar_one())
    after = host().timestamp()
    return server - (before + after) / 2


class DatabaseClock:
    """A clock that reads like ``host`` corrected to the database server's time.

    The offset is measured on first use, on a connection of ``engine``'s, and again by
    each ``measure(connection)`` (the digest's heartbeat calls it).
    """

    def __init__(self, engine: sa.Engine, *, host: Callable[[], datetime] = utcnow,
                 warn_over: float = 5.0, hostname: str | None = None) -> None:
        self.engine = engine
        self.host = host
        self.warn_over = warn_over
        self.hostname = hostname or socket.gethostname()
        self.offset = 0.0
        self._measured = False
        self._next_try = 0.0
        self._warned_at: float | None = None
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        if not self._measured and time.monotonic() >= self._next_try:
            with self._lock:
                if not self._measured and time.monotonic() >= self._next_try:
                    self._first_measure()
        return self.host() + timedelta(seconds=self.offset)

    def _first_measure(self) -> None:
        """Measure on a connection of its own; a database that refuses it (a restart, a
        connection limit) leaves the host's time, tried again a second later, as the run
        waits for the database (connections.py) before it leases anything."""
        try:
            with self.engine.begin() as connection:
                self.measure(connection)
        except sa.exc.DBAPIError as error:
            if not waitable(error, self.engine):
                raise
            self._next_try = time.monotonic() + 1.0

    def measure(self, conn: sa.Connection) -> float:
        """Read the offset again, keep it for the Digests page, and warn (once a minute)
        if it is over the limit; the caller commits."""
        self.offset = server_offset(conn, self.host)
        self._measured = True
        record(conn, self.hostname, self.offset, now=self.host() + timedelta(
            seconds=self.offset))
        if abs(self.offset) > self.warn_over:
            self._warn()
        return self.offset

    def _warn(self) -> None:
        moment = time.monotonic()
        if self._warned_at is not None and moment - self._warned_at < WARN_EVERY:
            return
        self._warned_at = moment
        log.warning("the clock of host %s is %s the database server's by %.1fs (over "
                    "QUEUE_CLOCK_SKEW_WARN=%gs): leases and due times go by the database's "
                    "clock; set the host's time right (NTP)", self.hostname,
                    "behind" if self.offset > 0 else "ahead of", abs(self.offset),
                    self.warn_over)


def for_digest(clock: Callable[[], datetime], engine: sa.Engine,
               warn_over: float) -> Callable[[], datetime]:
    """The clock a digest goes by: the real clock corrected to the database server's;
    a clock of the caller's own (a test's) or SQLite's is used as it is."""
    if clock is not utcnow or engine.dialect.name == "sqlite":
        return clock
    return DatabaseClock(engine, warn_over=warn_over)


def record(conn: sa.Connection, hostname: str, offset: float, *, now: datetime) -> None:
    """Write the host's offset (its row, by key)."""
    values = {"offset_seconds": offset, "measured_at": now}
    updated = conn.execute(sa.update(host_clocks).where(host_clocks.c.host == hostname)
                           .values(values)).rowcount
    if not updated:
        try:
            with conn.begin_nested():
                conn.execute(sa.insert(host_clocks).values(host=hostname, **values))
        except sa.exc.IntegrityError:  # another digest of the host wrote it first
            pass


def skewed_hosts(conn: sa.Connection | sa.orm.Session, *, now: datetime, warn_over: float,
                 within: timedelta = timedelta(minutes=10)) -> list[sa.Row]:
    """The hosts whose clock was off by more than ``warn_over`` seconds when last measured,
    within ``within`` of ``now``: host, offset_seconds, measured_at."""
    return list(conn.execute(
        sa.select(host_clocks.c.host, host_clocks.c.offset_seconds, host_clocks.c.measured_at)
        .where(host_clocks.c.measured_at >= now - within,
               sa.func.abs(host_clocks.c.offset_seconds) > warn_over)
        .order_by(host_clocks.c.host)))
