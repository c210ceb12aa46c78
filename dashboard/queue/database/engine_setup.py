"""What each database needs from a connection for the queue to be correct: the
per-connection settings of an engine (``prepare_engine``), its options
(``engine_options``), and the servers it refuses.
"""

from __future__ import annotations

import select
import sqlite3
import time

import sqlalchemy as sa
from sqlalchemy import event

from . import sqlite_space
from .write_lock import begins_immediate

MIN_MARIADB = (10, 6)
MIN_MYSQL = (8, 0)
#: Seconds a SQLite statement waits for another connection's write.
SQLITE_BUSY_TIMEOUT = 30


class UnsupportedDatabase(RuntimeError):
    """The server lacks what the queue needs (SKIP LOCKED); the message names the minimum."""


def prepare_engine(engine: sa.Engine) -> None:
    """Register the per-connection settings of ``engine``'s database. Call once, before use."""
    if engine.dialect.name == "sqlite":
        _prepare_sqlite(engine)
    elif engine.dialect.name in ("mysql", "mariadb"):
        _prepare_mysql(engine)
    elif is_postgresql(engine) and engine.dialect.driver == "psycopg":
        _prepare_postgresql(engine)


def _prepare_sqlite(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, record):
        # Let SQLAlchemy's "begin" below decide how transactions start.
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys = ON")
        dbapi_connection.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT * 1000}")
        if engine.url.database not in (None, "", ":memory:"):
            use_write_ahead_log(dbapi_connection, SQLITE_BUSY_TIMEOUT)
            dbapi_connection.execute("PRAGMA synchronous = NORMAL")

    @event.listens_for(engine, "begin")
    def on_begin(connection):
        connection.exec_driver_sql("BEGIN IMMEDIATE" if begins_immediate(connection)
                                   else "BEGIN")

    sqlite_space.prepare(engine)  # the write-ahead log kept in bounds (a full disk)


def use_write_ahead_log(connection: sqlite3.Connection, patience: float) -> None:
    """Put a SQLite file in WAL mode (it stays in it), waiting up to ``patience`` seconds
    for another connection's write.

    On a new file the switch fails at once ("database is locked") while another
    connection holds a write, without the busy timeout's wait: the workers of a host that
    open a new file together would otherwise fail their first request.
    """
    deadline = time.monotonic() + patience
    while True:
        try:
            connection.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() >= deadline:
                raise
            time.sleep(0.01)


def is_postgresql(bind: sa.Connection | sa.Engine) -> bool:
    """Whether ``bind`` is PostgreSQL: the one test of it (see dialect.py)."""
    return bind.dialect.name == "postgresql"


#: The session settings each PostgreSQL connection starts with, before any of the URL's
#: own ``options`` (which win). No JIT compilation: it pays off for long analytical
#: queries, and this app's are short index reads; but it starts on a plan's estimated
#: cost, and on tables without statistics (as loaded, before autovacuum's first visit)
#: a page's read of 50 jobs' requests by key is estimated at millions, and compiled for
#: 30-100 ms, to run in 1 ms.
POSTGRESQL_OPTIONS = "-c jit=off"


def _prepare_postgresql(engine: sa.Engine) -> None:
    @event.listens_for(engine, "do_connect")
    def on_connect(dialect, record, cargs, cparams):
        # In the startup message: no round trip.
        cparams["options"] = " ".join(filter(None, (POSTGRESQL_OPTIONS,
                                                    cparams.get("options"))))

    @event.listens_for(engine, "checkout")
    def on_checkout(dbapi_connection, record, proxy):
        # Instead of pool_pre_ping's round trip at each checkout (one of a one-job save's
        # five, see docs/benchmarks.md): the pool then opens a new connection in place of
        # this one.
        if closed_by_server(dbapi_connection):
            raise sa.exc.DisconnectionError("the server closed this pooled connection")


def closed_by_server(dbapi_connection) -> bool:
    """Whether a pooled, idle psycopg connection is known dead, without a round trip.

    An idle connection has nothing to read. When the server ends it (a restart,
    ``pg_terminate_backend``, an idle timeout) it sends its reason and closes the socket,
    which then polls readable (or hung up). A false alarm only costs a new connection.
    """
    if dbapi_connection.closed or dbapi_connection.broken:
        return True
    poller = select.poll()
    poller.register(dbapi_connection.fileno(), select.POLLIN)
    return bool(poller.poll(0))


def _prepare_mysql(engine: sa.Engine) -> None:
    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, record):
        cursor = dbapi_connection.cursor()
        cursor.execute("SELECT VERSION()")
        version = cursor.fetchone()[0]
        cursor.close()
        check_mysql_version(version)


def check_mysql_version(version: str) -> None:
    """Refuse servers without ``SKIP LOCKED``: SQLAlchemy would emit it regardless."""
    numbers = tuple(int(part) for part in version.split("-")[0].split(".")[:2])
    if "mariadb" in version.lower():
        if numbers < MIN_MARIADB:
            raise UnsupportedDatabase(
                f"MariaDB {version} is too old: the queue needs MariaDB 10.6 or later "
                "(for SELECT ... FOR UPDATE SKIP LOCKED)"
            )
    elif numbers < MIN_MYSQL:
        raise UnsupportedDatabase(
            f"MySQL {version} is too old: the queue needs MySQL 8.0 or later "
            "(for SELECT ... FOR UPDATE SKIP LOCKED)"
        )


def engine_options(url: str, *, connections: int = 8) -> dict:
    """Engine options by database: MariaDB and MySQL read committed (fewer gap locks).

    PostgreSQL through psycopg needs no ``pool_pre_ping``: prepare_engine() checks pooled
    connections without a round trip. The pool keeps the ``connections`` a digest process
    uses at most (QUEUE_DB_CONNECTIONS, see connections.py), whatever its concurrency; a
    pool opens them only when they are used at once.
    """
    parsed = sa.make_url(url)
    name = parsed.get_backend_name()
    pool = {} if parsed.database in (None, "", ":memory:") else {
        "pool_size": max(5, connections)}
    if name in ("mysql", "mariadb"):
        return {"isolation_level": "READ COMMITTED", "pool_pre_ping": True,
                "pool_recycle": 3600, **pool}
    if name == "postgresql" and parsed.get_driver_name() != "psycopg":
        return {"pool_pre_ping": True, **pool}
    return pool
